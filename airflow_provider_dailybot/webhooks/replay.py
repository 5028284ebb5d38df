"""Replay: record stored "no consumer" deliveries as asset events once a DAG consumes their channel.

A delivery that arrived while no DAG consumed its channel's asset is kept in the delivery table with
its payload (outcome ``no_consumer``). :func:`replay_deliveries` (``airflow dailybot deliveries
replay``) records such deliveries now, exactly as the receiver would have: the same ``extra``
(:func:`~.asset_events.build_event_extra`, with every subscription that delivered it), through
``AssetManager.register_asset_change(source_is_api=True)``, then
:func:`~airflow_provider_dailybot.store.deliveries.mark_recorded` in the same transaction.

**Never twice.** Only rows without an asset event are candidates (``deliveries_to_replay``), locked
``FOR UPDATE SKIP LOCKED`` on PostgreSQL and MySQL so two replays share the work; and
``mark_recorded`` changes a row only while it has no asset event. If it reports that another replay
got there first (SQLite, which has no row locks), the whole batch is rolled back, its asset events
with it, and the batch is selected again. A delivery asked for by id that is already recorded is
reported and skipped.

**A consumer** is what makes Airflow act on the event: the channel's asset is active and at least one
DAG that is neither paused nor stale schedules on it (directly, or by the asset's name or URI).
``register_asset_change`` queues runs only for unpaused DAGs, so recording while every consumer is
paused would create an event that starts nothing; such deliveries stay stored (reported as waiting).
"""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from airflow_provider_dailybot.webhooks import metrics
from airflow_provider_dailybot.webhooks.asset_events import build_event_extra, merge_delivery
from airflow_provider_dailybot.webhooks.assets import webhook_asset_name, webhook_asset_uri

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

#: Rows recorded per transaction.
DEFAULT_BATCH_SIZE = 100
#: Most deliveries one replay records unless told otherwise.
DEFAULT_REPLAY_LIMIT = 10_000
#: Most ids reported per list of a :class:`ReplayReport` (the counts stay exact).
MAX_REPORTED_IDS = 1000


@dataclass
class ReplayReport:
    """What a replay did (or, with ``dry_run``, would do).

    :param recorded: ``(delivery_id, asset_event_id)`` of each delivery recorded (asset event id 0 in a dry run).
    :param waiting: Delivery ids left stored because their channel still has no consumer.
    :param already_recorded: Delivery ids asked for by id that were already recorded (skipped).
    :param unknown: Delivery ids asked for by id that are not stored.
    :param recorded_count: How many were recorded (``recorded`` lists at most :data:`MAX_REPORTED_IDS`).
    :param waiting_count: How many are waiting.
    """

    recorded: list[tuple[str, int]] = field(default_factory=list)
    waiting: list[str] = field(default_factory=list)
    already_recorded: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    recorded_count: int = 0
    waiting_count: int = 0

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON-ready report."""
        return {
            "recorded": [{"delivery_id": d, "asset_event_id": e} for d, e in self.recorded],
            "recorded_count": self.recorded_count,
            "waiting": self.waiting,
            "waiting_count": self.waiting_count,
            "already_recorded": self.already_recorded,
            "unknown": self.unknown,
        }


#: Batches in a row that may lose the race to another replay before this one gives up.
MAX_LOST_RACES = 10


class _LostRace(Exception):
    """Another replay recorded a row of this batch first."""


class _AssetGone(Exception):
    """The channel's asset disappeared while the batch was recorded."""


def consumer_asset(session: Session, channel: str) -> Any:
    """Return the channel's ``AssetModel`` when a DAG consumes it (see the module docstring), else None.

    :param session: A metadata-database session.
    :param channel: The channel name.
    """
    from airflow.models.asset import (
        AssetActive,
        AssetModel,
        DagScheduleAssetNameReference,
        DagScheduleAssetReference,
        DagScheduleAssetUriReference,
    )
    from airflow.models.dag import DagModel
    from sqlalchemy import and_, select

    name, uri = webhook_asset_name(channel), webhook_asset_uri(channel)
    asset = session.scalar(
        select(AssetModel)
        .join(AssetActive, and_(AssetActive.name == AssetModel.name, AssetActive.uri == AssetModel.uri))
        .where(AssetModel.name == name, AssetModel.uri == uri)
        .limit(1)
    )
    if asset is None:
        return None
    live = and_(DagModel.is_paused.is_(False), DagModel.is_stale.is_(False))
    for ref, condition in (
        (DagScheduleAssetReference, DagScheduleAssetReference.asset_id == asset.id),
        (DagScheduleAssetNameReference, DagScheduleAssetNameReference.name == name),
        (DagScheduleAssetUriReference, DagScheduleAssetUriReference.uri == uri),
    ):
        found = session.scalar(
            select(DagModel.dag_id).join(ref, ref.dag_id == DagModel.dag_id).where(condition, live).limit(1)
        )
        if found is not None:
            return asset
    return None


def replay_extra(row: Any) -> dict[str, Any]:
    """Return the asset event ``extra`` of a stored delivery, as the receiver would have recorded it.

    :param row: A stored ``no_consumer`` row (with its payload).
    :raises ValueError: When the row has no payload or it is not JSON.
    """
    if row.payload is None:
        raise ValueError(f"delivery {row.delivery_id} has no stored payload")
    envelope = json.loads(row.payload)
    first, *others = list(row.deliveries) or [None]
    extra = build_event_extra(
        row.channel,
        envelope,
        row.delivery_id,
        ref=first.secret_ref if first is not None else None,
        hook_id_mismatch=bool(first is not None and first.hook_id_mismatch),
    )
    for delivery in others:
        extra = merge_delivery(extra, delivery)
    return extra


def _waiting_channels(session: Session, channel: str | None, delivery_ids: Collection[str] | None) -> list[str]:
    from sqlalchemy import select

    from airflow_provider_dailybot.store.models import OUTCOME_NO_CONSUMER, delivery_table

    t = delivery_table.c
    query = select(t.channel).where(t.outcome == OUTCOME_NO_CONSUMER, t.asset_event_id.is_(None)).distinct()
    if channel is not None:
        query = query.where(t.channel == channel)
    if delivery_ids is not None:
        query = query.where(t.delivery_id.in_(list(delivery_ids)))
    return sorted(session.scalars(query))


def _record_batch(session: Session, asset: Any, rows: list[Any]) -> list[tuple[str, int]]:
    from airflow.assets.manager import asset_manager

    from airflow_provider_dailybot.store.deliveries import mark_recorded

    done: list[tuple[str, int]] = []
    for row in rows:
        event = asset_manager.register_asset_change(
            asset=asset, extra=replay_extra(row), source_is_api=True, session=session
        )
        if event is None:  # the asset vanished meanwhile: nothing of this batch is kept
            raise _AssetGone
        session.flush()
        if not mark_recorded(session, row.id, event.id):
            raise _LostRace
        done.append((row.delivery_id, event.id))
    return done


def _count_waiting(session: Session, channel: str, filters: dict[str, Any], report: ReplayReport) -> None:
    from sqlalchemy import func, select

    from airflow_provider_dailybot.store.models import OUTCOME_NO_CONSUMER, delivery_table

    t = delivery_table.c
    query = select(t.delivery_id).where(
        t.channel == channel, t.outcome == OUTCOME_NO_CONSUMER, t.asset_event_id.is_(None)
    )
    if filters["delivery_ids"] is not None:
        query = query.where(t.delivery_id.in_(list(filters["delivery_ids"])))
    if filters["since"] is not None:
        query = query.where(t.received_at >= filters["since"])
    if filters["until"] is not None:
        query = query.where(t.received_at < filters["until"])
    report.waiting_count += int(session.scalar(select(func.count()).select_from(query.subquery())) or 0)
    room = max(0, MAX_REPORTED_IDS - len(report.waiting))
    if room:
        report.waiting.extend(session.scalars(query.order_by(t.id).limit(room)))


def replay_deliveries(
    session: Session,
    *,
    delivery_ids: Collection[str] | None = None,
    channel: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = DEFAULT_REPLAY_LIMIT,
    batch_size: int = DEFAULT_BATCH_SIZE,
    dry_run: bool = False,
) -> ReplayReport:
    """Record stored "no consumer" deliveries whose channel now has a consumer; commit per batch.

    Select by delivery ids, by channel, by time range, or any combination (all ANDed). At least one
    selector is required, so a bare call never records everything by accident.

    :param session: A metadata-database session; it is committed after every batch.
    :param delivery_ids: Only these receiver-assigned ids.
    :param channel: Only this channel.
    :param since: Only deliveries received at or after this time (timezone-aware).
    :param until: Only deliveries received before this time (timezone-aware).
    :param limit: Most deliveries recorded by this call.
    :param batch_size: Deliveries recorded per transaction (1 to 500).
    :param dry_run: Record nothing; report what would be recorded (up to ``limit``, at most 500 per channel).
    :raises ValueError: Without any selector, or with a bad ``limit`` / ``batch_size``.
    """
    from airflow_provider_dailybot.store.deliveries import MAX_LIST_LIMIT, deliveries_to_replay, get_delivery

    if delivery_ids is None and channel is None and since is None and until is None:
        raise ValueError("name delivery ids, a channel or a time range to replay")
    if limit < 1 or not 0 < batch_size <= MAX_LIST_LIMIT:
        raise ValueError(f"limit must be positive and batch_size 1 to {MAX_LIST_LIMIT}")
    report = ReplayReport()
    wanted = sorted(set(delivery_ids)) if delivery_ids is not None else None
    for delivery_id in wanted or ():
        row = get_delivery(session, delivery_id)
        if row is None:
            report.unknown.append(delivery_id)
        elif row.asset_event_id is not None:
            report.already_recorded.append(delivery_id)
    filters: dict[str, Any] = {"delivery_ids": wanted, "since": since, "until": until}
    for name in _waiting_channels(session, channel, wanted):
        asset = consumer_asset(session, name)
        if asset is None:
            _count_waiting(session, name, filters, report)
            continue
        lost = 0
        while report.recorded_count < limit:
            size = min(MAX_LIST_LIMIT if dry_run else batch_size, limit - report.recorded_count)
            rows = deliveries_to_replay(session, channel=name, limit=size, **filters)
            if not rows:
                break
            if dry_run:
                report.recorded_count += len(rows)
                report.recorded.extend((r.delivery_id, 0) for r in rows[: MAX_REPORTED_IDS - len(report.recorded)])
                session.rollback()
                break
            try:
                done = _record_batch(session, asset, rows)
            except _LostRace:
                session.rollback()
                lost += 1
                if lost >= MAX_LOST_RACES:
                    raise RuntimeError("another replay keeps recording the same deliveries; try again later") from None
                continue
            except _AssetGone:
                session.rollback()
                _count_waiting(session, name, filters, report)
                break
            session.commit()
            metrics.replayed(name, len(done))
            report.recorded_count += len(done)
            report.recorded.extend(done[: max(0, MAX_REPORTED_IDS - len(report.recorded))])
    session.rollback()
    return report
