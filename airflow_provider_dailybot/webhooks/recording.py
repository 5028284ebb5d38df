"""Recording deliveries in the metadata database: the receiver's transaction, the consumer rule, replays.

The receiver (:mod:`.receiver`) calls :func:`record_delivery` from a worker thread of the api-server;
``airflow dailybot deliveries replay`` calls :func:`replay_deliveries`. Tasks never import this module
(Airflow 3 workers have no metadata-database access).

**One transaction per delivery** (``create_session(scoped=False)``, as the api-server's ``SessionDep``):

1. :func:`~airflow_provider_dailybot.store.deliveries.insert_delivery`: ``INSERT … ON CONFLICT
   (channel, dedupe_key) DO NOTHING``. The unique index decides what is a duplicate, with the same
   answer in every api-server worker and replica; there is no window and no lock of our own.
2. A new delivery on a channel with a consumer: ``AssetManager.register_asset_change`` (exactly as
   ``POST /api/v2/assets/events`` records an event: the asset event, the DAG run queue of the
   unpaused DAGs scheduled on the asset, the listeners), then
   :func:`~airflow_provider_dailybot.store.deliveries.mark_recorded`; one commit holds both.
   Where Airflow accepts a ``callback_sink`` (3.3), the listeners are called after the commit, so
   they never hear of an event that was rolled back.
3. A new delivery without a consumer: only the row, outcome ``no_consumer``, with the body (its only
   copy), so that :func:`replay_deliveries` can record it later.
4. A duplicate: its hook id and secret reference are added to the stored row and, once recorded, to
   the original asset event's ``extra`` (:func:`~.asset_events.merge_delivery`, which the sensor
   reads ``delivered_by`` from) when they are new to it; otherwise nothing is written.

What one delivery stores: a row of ``dailybot_delivery`` (a few hundred bytes) and, once recorded,
one asset event whose ``extra`` holds the body. The body is kept once: in the row while the delivery
waits for a consumer, in the asset event after that. There is no audit-log row: the table is the log.

Which channels have a consumer, and how long that answer is cached, is decided in :mod:`.consumers`.
"""

from __future__ import annotations

import inspect
import json
import logging
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import cache
from typing import TYPE_CHECKING, Any

from airflow_provider_dailybot.store.deliveries import add_delivery_hook, insert_delivery, mark_recorded
from airflow_provider_dailybot.store.models import OUTCOME_NO_CONSUMER, OUTCOME_RECORDED, TABLE_NAME, delivery_table
from airflow_provider_dailybot.store.records import DeliveryRecord, NewDelivery
from airflow_provider_dailybot.webhooks import metrics
from airflow_provider_dailybot.webhooks.asset_events import (
    DELIVERY_ID_KEY,
    MAX_DELIVERIES_PER_EVENT,
    MISMATCH_KEY,
    SECRET_REF_KEY,
    Delivery,
    build_event_extra,
    event_hook_id,
    merge_delivery,
)
from airflow_provider_dailybot.webhooks.consumers import ChannelAsset, consumers, find_consumed_asset

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

#: The answer's outcome for a repeated delivery (the table has no such outcome: a duplicate gets no row).
OUTCOME_DUPLICATE = "duplicate"
#: Most deliveries one :func:`replay_deliveries` call records unless told otherwise.
DEFAULT_REPLAY_LIMIT = 1000
#: Candidates :func:`replay_deliveries` reads per query.
REPLAY_PAGE_SIZE = 500
# A consumer found by the cached lookup may have lost its asset just before the event is written.
_RECORD_ATTEMPTS = 2

_t = delivery_table.c


@dataclass(frozen=True)
class RecordedDelivery:
    """What :func:`record_delivery` did with one delivery.

    :param delivery_id: The receiver-assigned id of the stored delivery (the original one for a duplicate).
    :param outcome: ``"recorded"``, ``"duplicate"`` or ``"no_consumer"``; a duplicate of a delivery
        still waiting for a consumer is ``"no_consumer"`` too.
    :param duplicate: True when the delivery repeated a stored one (nothing new was recorded).
    :param asset_event_id: The asset event holding the delivery; None while it has no consumer.
    """

    delivery_id: str
    outcome: str
    duplicate: bool
    asset_event_id: int | None


class _AssetGone(Exception):
    """The channel's asset was deleted between the consumer lookup and the event."""


# -- writing the asset event --------------------------------------------------------------------------
@cache
def _accepts_callback_sink() -> bool:
    from airflow.assets.manager import asset_manager

    return "callback_sink" in inspect.signature(asset_manager.register_asset_change).parameters


def _asset_key(asset: ChannelAsset) -> Any:
    """Return the unique key (name, URI) ``register_asset_change`` looks the asset up by."""
    try:  # Airflow 3.2+
        from airflow.serialization.definitions.assets import SerializedAssetUniqueKey

        return SerializedAssetUniqueKey(name=asset.name, uri=asset.uri)
    except ImportError:  # Airflow 3.1
        from airflow.sdk.definitions.asset import AssetUniqueKey

        return AssetUniqueKey(name=asset.name, uri=asset.uri)


def _register(session: Session, asset: ChannelAsset, extra: dict[str, Any], callbacks: list[Callable[[], None]]) -> int:
    """Record ``extra`` as an event of ``asset`` the way ``POST /api/v2/assets/events`` does; return its id.

    :raises _AssetGone: When the asset no longer exists.
    """
    from airflow.assets.manager import asset_manager

    kwargs: dict[str, Any] = {"callback_sink": callbacks} if _accepts_callback_sink() else {}
    event = asset_manager.register_asset_change(
        asset=_asset_key(asset), extra=extra, source_is_api=True, session=session, **kwargs
    )
    if event is None:
        raise _AssetGone
    session.flush()
    return int(event.id)


def _notify(callbacks: list[Callable[[], None]]) -> None:
    """Run the listener notifications Airflow handed back, after the commit (they log their own errors)."""
    for callback in callbacks:
        callback()


# -- the receiver's transaction -----------------------------------------------------------------------
def delivery_of(extra: Mapping[str, Any]) -> Delivery | None:
    """Return the subscription record (hook id, secret reference, mismatch) of a delivery's ``extra``.

    :param extra: The extra built by :func:`~.asset_events.build_event_extra`; None when it names no hook id.
    """
    hook_id = event_hook_id(extra)
    if hook_id is None:
        return None
    ref = extra.get(SECRET_REF_KEY)
    return Delivery(hook_id, ref if isinstance(ref, str) else None, extra.get(MISMATCH_KEY) is True)


def _listed(record: DeliveryRecord, delivery: Delivery) -> bool:
    """True when folding ``delivery`` into ``record`` would change nothing (listed already, or full)."""
    if len(record.deliveries) >= MAX_DELIVERIES_PER_EVENT:
        return True
    return any((d.hook_id, d.secret_ref) == (delivery.hook_id, delivery.secret_ref) for d in record.deliveries)


def _merge_into_event(session: Session, asset_event_id: int, delivery: Delivery) -> None:
    """Add ``delivery`` to the asset event's ``extra`` (gone, e.g. by ``airflow db clean``: nothing to do)."""
    from airflow.models.asset import AssetEvent

    event = session.get(AssetEvent, asset_event_id)
    if event is None or not isinstance(event.extra, dict):
        return
    merged = merge_delivery(event.extra, delivery)
    if merged != event.extra:
        event.extra = merged
        session.flush()


def _fold_duplicate(session: Session, original: DeliveryRecord, delivery: Delivery | None) -> RecordedDelivery:
    """Answer a duplicate of ``original``; add its subscription to the row and the event when it is new."""
    from sqlalchemy import select

    event_id = original.asset_event_id
    if delivery is not None and not _listed(original, delivery) and add_delivery_hook(session, original.id, delivery):
        # The row is locked now; a replay may have recorded it since it was read.
        event_id = session.scalar(select(_t.asset_event_id).where(_t.id == original.id))
        if event_id is not None:
            _merge_into_event(session, event_id, delivery)
    outcome = OUTCOME_DUPLICATE if event_id is not None else OUTCOME_NO_CONSUMER
    return RecordedDelivery(original.delivery_id, outcome, True, event_id)


def record_delivery(
    channel: str,
    envelope: Mapping[str, Any],
    raw_body: bytes,
    extra: dict[str, Any],
    *,
    received_at: datetime | None = None,
) -> RecordedDelivery:
    """Store one authenticated delivery and, when its channel has a consumer, record it as an asset event.

    One transaction (see the module docstring); call it from a worker thread, not the event loop.
    Database errors propagate with nothing committed.

    :param channel: The channel the delivery arrived on.
    :param envelope: The parsed envelope.
    :param raw_body: The body as received (stored while the delivery waits for a consumer).
    :param extra: The asset event extra (:func:`~.asset_events.build_event_extra`); its
        ``delivery_id`` is the row's.
    :param received_at: When the request arrived; now (UTC) by default.
    """
    from airflow.utils.session import create_session

    delivery = delivery_of(extra)
    moment = received_at or datetime.now(tz=timezone.utc)
    for attempt in range(_RECORD_ATTEMPTS):
        callbacks: list[Callable[[], None]] = []
        with create_session(scoped=False) as session:
            asset = consumers.lookup(session, channel)
            row = NewDelivery.from_envelope(
                channel,
                envelope,
                raw_body,
                delivery_id=extra[DELIVERY_ID_KEY],
                outcome=OUTCOME_RECORDED if asset is not None else OUTCOME_NO_CONSUMER,
                delivery=delivery,
                received_at=moment,
            )
            stored = insert_delivery(session, row)
            if not stored.inserted:
                answer = _fold_duplicate(session, stored.record, delivery)
                session.commit()
                return answer
            if asset is None:
                session.commit()
                return RecordedDelivery(row.delivery_id, OUTCOME_NO_CONSUMER, False, None)
            try:
                event_id = _register(session, asset, extra, callbacks)
            except _AssetGone:
                session.rollback()
                consumers.forget(channel)
                if attempt + 1 < _RECORD_ATTEMPTS:
                    continue
                raise RuntimeError(f"the asset of channel {channel!r} keeps disappearing") from None
            mark_recorded(session, stored.id, event_id)
            session.commit()
        _notify(callbacks)
        return RecordedDelivery(row.delivery_id, OUTCOME_RECORDED, False, event_id)
    raise AssertionError("unreachable")  # pragma: no cover


# -- replays ------------------------------------------------------------------------------------------
def replay_extra(record: DeliveryRecord) -> dict[str, Any]:
    """Return the asset event ``extra`` of a stored delivery, as the receiver would have recorded it.

    The first subscription that delivered it is the event's own; the others are merged in as
    duplicates. A delivery that named no hook id kept no secret reference (the row lists only hook ids),
    so its event has the 0.1 shape.

    :param record: A stored row with its payload.
    :raises ValueError: When the row has no payload, or the payload is not JSON.
    """
    if record.payload is None:
        raise ValueError(f"delivery {record.delivery_id} has no stored payload")
    envelope = json.loads(record.payload)
    first = record.deliveries[0] if record.deliveries else None
    others = record.deliveries[1:]
    extra = build_event_extra(
        record.channel,
        envelope,
        record.delivery_id,
        ref=first.secret_ref if first is not None else None,
        hook_id_mismatch=first is not None and first.hook_id_mismatch,
    )
    for delivery in others:
        extra = merge_delivery(extra, delivery)
    return extra


def _replay_candidates(
    session: Session,
    *,
    ids: Collection[str] | None,
    channel: str | None,
    since: datetime | None,
    until: datetime | None,
    after_id: int,
    limit: int,
) -> list[tuple[int, str]]:
    from sqlalchemy import select

    query = select(_t.id, _t.channel).where(
        _t.outcome == OUTCOME_NO_CONSUMER, _t.asset_event_id.is_(None), _t.id > after_id
    )
    if ids is not None:
        query = query.where(_t.delivery_id.in_(list(ids)))
    if channel is not None:
        query = query.where(_t.channel == channel)
    if since is not None:
        query = query.where(_t.received_at >= since)
    if until is not None:
        query = query.where(_t.received_at < until)
    return [(int(i), str(c)) for i, c in session.execute(query.order_by(_t.id).limit(limit))]


def _replay_one(session: Session, row_id: int, asset: ChannelAsset) -> str | None:
    """Record row ``row_id`` as an event of ``asset`` and commit; None when another replay got it first.

    The row is its own lock: the ``UPDATE … WHERE outcome = 'no_consumer'`` that claims it waits for
    a concurrent claim to commit and then matches nothing (SQLite serialises the two writes).

    :raises _AssetGone: When the asset no longer exists (rolled back).
    """
    from sqlalchemy import select, update

    claimed = session.execute(
        update(delivery_table)
        .where(_t.id == row_id, _t.outcome == OUTCOME_NO_CONSUMER, _t.asset_event_id.is_(None))
        .values(outcome=OUTCOME_RECORDED)
    )
    if getattr(claimed, "rowcount", 0) != 1:
        session.rollback()
        return None
    selected = session.execute(select(delivery_table).where(_t.id == row_id)).mappings().one()
    record = DeliveryRecord.from_row(dict(selected))
    callbacks: list[Callable[[], None]] = []
    try:
        event_id = _register(session, asset, replay_extra(record), callbacks)
    except BaseException:
        session.rollback()
        raise
    mark_recorded(session, row_id, event_id)
    session.commit()
    _notify(callbacks)
    return record.delivery_id


def replay_deliveries(
    session: Session,
    *,
    ids: Collection[str] | None = None,
    channel: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = DEFAULT_REPLAY_LIMIT,
) -> list[str]:
    """Record stored ``no_consumer`` deliveries whose channel now has a consumer; return their delivery ids.

    Each delivery is recorded exactly as the receiver would have recorded it on arrival (same
    ``extra``, every subscription that delivered it, ``register_asset_change``) and committed on
    its own, so an interrupted replay keeps what it did. A delivery already recorded is never
    recorded again, also when two replays run at once (see :func:`_replay_one`); a delivery whose
    channel still has no consumer stays stored as ``no_consumer``. The filters are ANDed; none
    selects every waiting delivery. Whether a channel has a consumer is decided once per call.

    :param session: A metadata-database session without pending work (committed per delivery).
    :param ids: Only these receiver-assigned delivery ids (as answered by the receiver).
    :param channel: Only this channel.
    :param since: Only deliveries received at or after this time (timezone-aware).
    :param until: Only deliveries received before this time (timezone-aware).
    :param limit: Most deliveries recorded by this call (at least 1).
    :return: The delivery ids recorded, in the order they were received.
    :raises ValueError: For a limit below 1 or a naive datetime.
    """
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise ValueError(f"limit must be a positive integer, got {limit!r}")
    for label, value in (("since", since), ("until", until)):
        if value is not None and value.utcoffset() is None:
            raise ValueError(f"{label} must be a timezone-aware datetime, got {value!r}")
    wanted = sorted(set(ids)) if ids is not None else None
    assets: dict[str, ChannelAsset | None] = {}
    replayed: list[str] = []
    after_id = 0
    while len(replayed) < limit:
        page = _replay_candidates(
            session, ids=wanted, channel=channel, since=since, until=until, after_id=after_id, limit=REPLAY_PAGE_SIZE
        )
        session.rollback()  # end the read before the first claim
        if not page:
            break
        for row_id, row_channel in page:
            after_id = row_id
            if row_channel not in assets:
                assets[row_channel] = find_consumed_asset(session, row_channel)
                session.rollback()
            asset = assets[row_channel]
            if asset is None:
                continue
            try:
                delivery_id = _replay_one(session, row_id, asset)
            except _AssetGone:
                assets[row_channel] = None
                continue
            if delivery_id is not None:
                replayed.append(delivery_id)
                metrics.replayed(row_channel)
                if len(replayed) >= limit:
                    break
    waiting = sorted(name for name, asset in assets.items() if asset is None)
    if waiting:
        log.info("DailyBot deliveries left waiting for a consumer on channel(s): %s", ", ".join(waiting))
    return replayed


# -- availability -------------------------------------------------------------------------------------
def database_unavailable(err: BaseException) -> bool:
    """Return True when ``err`` means the metadata database cannot be used now (answered 503, retried later).

    Connection failures and timeouts (``OperationalError``, ``InterfaceError``, a pool timeout, an
    invalidated connection), and the delivery table missing (``airflow db migrate`` not run yet).

    :param err: An exception raised while reading or writing the metadata database.
    """
    from sqlalchemy import exc

    if isinstance(err, (exc.OperationalError, exc.InterfaceError, exc.TimeoutError, exc.DisconnectionError)):
        return True
    if isinstance(err, exc.DBAPIError) and err.connection_invalidated:
        return True
    return isinstance(err, exc.ProgrammingError) and TABLE_NAME in str(err.orig)


def database_reachable() -> bool:
    """Return True when a ``SELECT 1`` on the metadata database succeeds.

    Airflow's Variable lookup logs and swallows database errors (it then answers "no such
    Variable"), so the receiver asks this before it refuses a channel it found no state for.
    """
    from airflow.utils.session import create_session
    from sqlalchemy import text

    try:
        with create_session(scoped=False) as session:
            session.execute(text("SELECT 1"))
    except Exception as err:
        if database_unavailable(err):
            return False
        raise
    return True
