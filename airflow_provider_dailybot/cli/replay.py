"""``airflow dailybot deliveries replay``: the command around the receiver's own replay.

The recording is :func:`airflow_provider_dailybot.webhooks.recording.replay_deliveries`, the code
path the receiver records with (same ``extra``, same "consumer" rule from
:mod:`~airflow_provider_dailybot.webhooks.consumers`, each delivery claimed by its row so it is never
recorded twice, also by two replays at once). This module adds what a person at a terminal needs
around it: which of the named delivery ids are unknown or already recorded, a dry run that records
nothing, and how many selected deliveries still wait for a consumer afterwards.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

#: Most delivery ids listed per line of the report (the counts stay exact).
MAX_REPORTED_IDS = 1000


@dataclass
class ReplayReport:
    """What a replay did, or with a dry run would do.

    :param recorded: Delivery ids recorded (a dry run: that would be recorded), oldest first.
    :param waiting: How many selected deliveries stay stored: their channel has no consumer yet.
    :param waiting_channels: The channels of those.
    :param already_recorded: Named delivery ids that were recorded before (skipped: never twice).
    :param unknown: Named delivery ids that are not stored.
    :param over_limit: Selected deliveries with a consumer left for another replay by ``--limit``.
    """

    recorded: list[str] = field(default_factory=list)
    waiting: int = 0
    waiting_channels: list[str] = field(default_factory=list)
    already_recorded: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    over_limit: int = 0

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON-ready report (id lists cut at :data:`MAX_REPORTED_IDS`)."""
        return {
            "recorded": self.recorded[:MAX_REPORTED_IDS],
            "recorded_count": len(self.recorded),
            "waiting_count": self.waiting,
            "waiting_channels": self.waiting_channels,
            "already_recorded": self.already_recorded[:MAX_REPORTED_IDS],
            "unknown": self.unknown[:MAX_REPORTED_IDS],
            "over_limit": self.over_limit,
        }


@dataclass(frozen=True)
class Selection:
    """Which stored deliveries a replay is about (ANDed; at least one is set).

    :param ids: Receiver-assigned delivery ids.
    :param channel: A channel.
    :param since: Received at or after (timezone-aware).
    :param until: Received before (timezone-aware).
    """

    ids: Collection[str] | None = None
    channel: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def __post_init__(self) -> None:
        if self.ids is None and self.channel is None and self.since is None and self.until is None:
            raise ValueError("name delivery ids, or select with --channel and/or --since/--until")

    def waiting_query(self, columns: tuple[Any, ...]) -> Any:
        """Return a ``SELECT columns`` of the selected deliveries still waiting for a consumer."""
        from sqlalchemy import select

        from airflow_provider_dailybot.store.models import OUTCOME_NO_CONSUMER, delivery_table

        t = delivery_table.c
        query = select(*columns).where(t.outcome == OUTCOME_NO_CONSUMER, t.asset_event_id.is_(None))
        if self.ids is not None:
            query = query.where(t.delivery_id.in_(sorted(set(self.ids))))
        if self.channel is not None:
            query = query.where(t.channel == self.channel)
        if self.since is not None:
            query = query.where(t.received_at >= self.since)
        if self.until is not None:
            query = query.where(t.received_at < self.until)
        return query


def _named(session: Session, selection: Selection, report: ReplayReport) -> None:
    from airflow_provider_dailybot.store.deliveries import get_delivery

    for delivery_id in sorted(set(selection.ids or ())):
        row = get_delivery(session, delivery_id)
        if row is None:
            report.unknown.append(delivery_id)
        elif row.asset_event_id is not None:
            report.already_recorded.append(delivery_id)


def _survey(session: Session, selection: Selection, report: ReplayReport, *, limit: int, dry_run: bool) -> None:
    """Read the selected rows still waiting (recording nothing): who has a consumer now, who does not."""
    from airflow_provider_dailybot.store.models import delivery_table
    from airflow_provider_dailybot.webhooks.consumers import find_consumed_asset

    t = delivery_table.c
    consumed: dict[str, bool] = {}
    channels: set[str] = set()
    ready: list[str] = []
    for delivery_id, channel in session.execute(selection.waiting_query((t.delivery_id, t.channel)).order_by(t.id)):
        if channel not in consumed:
            consumed[channel] = find_consumed_asset(session, channel) is not None
        if consumed[channel]:
            ready.append(delivery_id)
        else:
            report.waiting += 1
            channels.add(channel)
    report.waiting_channels = sorted(channels)
    if dry_run:
        report.recorded, ready = ready[:limit], ready[limit:]
    report.over_limit = len(ready)


def replay(session: Session, selection: Selection, *, limit: int, dry_run: bool = False) -> ReplayReport:
    """Replay the selected stored deliveries (or with ``dry_run`` say what a replay would record).

    :param session: A metadata-database session without pending work.
    :param selection: Which deliveries.
    :param limit: Most deliveries recorded.
    :param dry_run: Record nothing.
    """
    from airflow_provider_dailybot.webhooks.recording import replay_deliveries

    report = ReplayReport()
    _named(session, selection, report)
    session.rollback()
    if not dry_run:
        ids = sorted(set(selection.ids)) if selection.ids is not None else None
        report.recorded = replay_deliveries(
            session, ids=ids, channel=selection.channel, since=selection.since, until=selection.until, limit=limit
        )
    _survey(session, selection, report, limit=limit, dry_run=dry_run)
    session.rollback()
    return report
