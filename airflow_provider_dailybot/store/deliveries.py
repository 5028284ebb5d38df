"""Queries on the delivery table; every function takes the caller's SQLAlchemy ``Session``.

Only :func:`purge_older_than` commits (once per batch); everything else runs in the caller's
transaction, so the receiver writes a delivery row and its asset event in one commit.

Duplicate detection is :func:`insert_delivery`: one insert against ``UNIQUE(channel, dedupe_key)``.

* PostgreSQL and SQLite: ``INSERT … ON CONFLICT (channel, dedupe_key) DO NOTHING RETURNING id``.
  A new delivery costs that one statement; a duplicate one more (the original, by the same index).
* MySQL: ``INSERT … ON DUPLICATE KEY UPDATE id = id`` followed by a locking read of the key (a plain
  read would use the transaction's snapshot, which may predate the row). ``INSERT IGNORE`` is not
  used: it also turns truncation and other errors into warnings.

Concurrent inserts of one key wait on the unique index for the first to commit or roll back, so
every api-server worker and replica gets the same answer: exactly one inserts, the others see its row.

The records are defined in :mod:`.records` and importable from here.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError

from airflow_provider_dailybot.store.models import OUTCOME_NO_CONSUMER, OUTCOME_RECORDED, OUTCOMES, delivery_table
from airflow_provider_dailybot.store.records import DeliveryRecord, InsertResult, NewDelivery, timestamp_text
from airflow_provider_dailybot.webhooks.asset_events import DELIVERIES_KEY, Delivery, event_deliveries, merge_delivery

if TYPE_CHECKING:
    from sqlalchemy.orm import Session
    from sqlalchemy.sql import Select

__all__ = [
    "DEFAULT_LIST_LIMIT",
    "MAX_LIST_LIMIT",
    "MAX_PURGE_BATCH_SIZE",
    "DeliveryRecord",
    "InsertResult",
    "NewDelivery",
    "add_delivery_hook",
    "count_older_than",
    "deliveries_to_replay",
    "get_delivery",
    "insert_delivery",
    "list_deliveries",
    "mark_recorded",
    "purge_older_than",
    "timestamp_text",
]

#: Rows :func:`list_deliveries` returns unless told otherwise.
DEFAULT_LIST_LIMIT = 100
#: Most rows one :func:`list_deliveries` or :func:`deliveries_to_replay` call returns.
MAX_LIST_LIMIT = 500
#: Largest batch :func:`purge_older_than` deletes in one transaction.
MAX_PURGE_BATCH_SIZE = 10_000
# A duplicate's original may be purged between the conflict and the read; the insert is then retried.
_INSERT_ATTEMPTS = 3

_t = delivery_table.c


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def _checked_time(value: datetime | None, label: str) -> datetime | None:
    if value is not None and (not isinstance(value, datetime) or value.utcoffset() is None):
        raise ValueError(f"{label} must be a timezone-aware datetime, got {value!r}")
    return value


def _checked_limit(limit: int) -> int:
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise ValueError(f"limit must be a positive integer, got {limit!r}")
    return min(limit, MAX_LIST_LIMIT)


def _records(session: Session, query: Select[Any]) -> list[DeliveryRecord]:
    return [DeliveryRecord.from_row(dict(row)) for row in session.execute(query).mappings()]


def _by_key(session: Session, channel: str, dedupe_key: str, *, locking: bool) -> DeliveryRecord | None:
    query = select(delivery_table).where(_t.channel == channel, _t.dedupe_key == dedupe_key)
    if locking:
        query = query.with_for_update(read=True)
    found = _records(session, query)
    return found[0] if found else None


def _dialect_insert(dialect: str) -> Any:
    """Return the ``insert`` of PostgreSQL or SQLite (both have ``on_conflict_do_nothing``)."""
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as postgresql_insert

        return postgresql_insert
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert


def _insert_or_conflict(session: Session, row: NewDelivery, dialect: str) -> InsertResult | None:
    """Insert ``row`` or find the row it conflicts with; None when that row vanished in between."""
    values = row.values()
    if dialect in ("postgresql", "sqlite"):
        statement = (
            _dialect_insert(dialect)(delivery_table)
            .values(**values)
            .on_conflict_do_nothing(index_elements=[_t.channel, _t.dedupe_key])
            .returning(_t.id)
        )
        new_id = session.execute(statement).scalar()
        if new_id is not None:
            return InsertResult(DeliveryRecord.inserted(int(new_id), row), True)
        original = _by_key(session, row.channel, row.dedupe_key, locking=False)
        return InsertResult(original, False) if original is not None else None
    if dialect == "mysql":
        from sqlalchemy.dialects.mysql import insert as mysql_insert

        session.execute(mysql_insert(delivery_table).values(**values).on_duplicate_key_update(id=_t.id))
        stored = _by_key(session, row.channel, row.dedupe_key, locking=True)
        if stored is None:
            if get_delivery(session, row.delivery_id) is not None:  # the update fired on the other unique key
                raise IntegrityError("INSERT INTO dailybot_delivery", None, ValueError("delivery_id is already used"))
            return None
        return InsertResult(stored, stored.delivery_id == row.delivery_id)
    raise NotImplementedError(f"the DailyBot delivery store supports PostgreSQL, MySQL and SQLite, not {dialect}")


def insert_delivery(session: Session, row: NewDelivery) -> InsertResult:
    """Insert a delivery unless its ``(channel, dedupe_key)`` is stored; return the stored row either way.

    The caller commits. A concurrent insert of the same key waits until the first transaction ends,
    then sees its row (committed) or inserts (rolled back): exactly one insert wins.

    :param session: The session (its transaction holds the new row until the caller commits).
    :param row: The delivery.
    :return: ``InsertResult(record, inserted=True)`` for a new delivery; for a duplicate the original
        row with ``inserted=False`` (nothing is written: fold the duplicate in with
        :func:`add_delivery_hook`).
    :raises sqlalchemy.exc.IntegrityError: When ``row.delivery_id`` is already used by another row.
    """
    dialect = _dialect(session)
    for _ in range(_INSERT_ATTEMPTS):
        result = _insert_or_conflict(session, row, dialect)
        if result is not None:
            return result
    raise RuntimeError(f"the delivery row for {row.channel!r} was deleted while a duplicate of it was inserted")


def mark_recorded(session: Session, id: int, asset_event_id: int, *, recorded_at: datetime | None = None) -> bool:
    """Note that row ``id`` is now recorded as asset event ``asset_event_id``; drop its stored payload.

    Only a row without an asset event changes, so two replays of one delivery cannot both record it:
    the second gets False (roll its asset event back).

    :param session: The session; the caller commits.
    :param id: The row id.
    :param asset_event_id: The id of the asset event that now holds the delivery.
    :param recorded_at: When the asset event was written; now (UTC) by default.
    :return: True when the row changed; False when it is unknown or already recorded.
    """
    moment = _checked_time(recorded_at, "recorded_at") or datetime.now(tz=timezone.utc)
    result = session.execute(
        update(delivery_table)
        .where(_t.id == id, _t.asset_event_id.is_(None))
        .values(outcome=OUTCOME_RECORDED, asset_event_id=asset_event_id, recorded_at=moment, payload=None)
    )
    return bool(getattr(result, "rowcount", 0) == 1)


def add_delivery_hook(session: Session, row: DeliveryRecord | int, delivery: Delivery) -> bool:
    """Add a duplicate's delivery (hook id, secret reference) to a stored row, unless it is there.

    The row is locked first (``SELECT … FOR UPDATE``; on SQLite a no-op write takes the database's
    write lock), so concurrent duplicates of one event never lose each other's hook. The list keeps at
    most ``MAX_DELIVERIES_PER_EVENT`` entries, as the asset event's extra does
    (:func:`~airflow_provider_dailybot.webhooks.asset_events.merge_delivery`).

    :param session: The session; the caller commits (the lock is held until then).
    :param row: The stored row (``InsertResult.record``) or its id.
    :param delivery: The duplicate's delivery.
    :return: True when the list changed (the caller then updates the asset event's extra too).
    """
    row_id = row if isinstance(row, int) else row.id
    query = select(_t.deliveries).where(_t.id == row_id)
    if _dialect(session) == "sqlite":
        session.execute(update(delivery_table).where(_t.id == row_id).values(id=_t.id))
    else:
        query = query.with_for_update()
    stored = session.execute(query).scalar_one_or_none()
    if stored is None:
        return False
    current = [d.to_dict() for d in event_deliveries({DELIVERIES_KEY: stored if isinstance(stored, list) else []})]
    merged = merge_delivery({DELIVERIES_KEY: current}, delivery)[DELIVERIES_KEY]
    if merged == current:
        return False
    session.execute(update(delivery_table).where(_t.id == row_id).values(deliveries=merged))
    return True


def get_delivery(session: Session, delivery_id: str) -> DeliveryRecord | None:
    """Return the row of a receiver-assigned delivery id, or None.

    :param session: The session.
    :param delivery_id: The id the receiver answered with (and the asset event's ``extra["delivery_id"]``).
    """
    found = _records(session, select(delivery_table).where(_t.delivery_id == delivery_id))
    return found[0] if found else None


def _filtered(
    query: Select[Any], *, channel: str | None, since: datetime | None, until: datetime | None
) -> Select[Any]:
    if channel is not None:
        query = query.where(_t.channel == channel)
    if _checked_time(since, "since") is not None:
        query = query.where(_t.received_at >= since)
    if _checked_time(until, "until") is not None:
        query = query.where(_t.received_at < until)
    return query


def list_deliveries(
    session: Session,
    *,
    channel: str | None = None,
    event: str | None = None,
    outcome: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = DEFAULT_LIST_LIMIT,
    before_id: int | None = None,
) -> list[DeliveryRecord]:
    """Return stored deliveries, newest (highest id) first, one page at a time.

    Keyset pagination: pass the last row's ``id`` of a page as ``before_id`` to get the next page.

    :param session: The session.
    :param channel: Only this channel.
    :param event: Only this DailyBot event name.
    :param outcome: Only this outcome (``"recorded"`` or ``"no_consumer"``).
    :param since: Only deliveries received at or after this time (timezone-aware).
    :param until: Only deliveries received before this time (timezone-aware).
    :param limit: Most rows to return; capped at :data:`MAX_LIST_LIMIT`.
    :param before_id: Only rows with a smaller id.
    :raises ValueError: For an unknown outcome, a naive datetime or a limit below 1.
    """
    if outcome is not None and outcome not in OUTCOMES:
        raise ValueError(f"outcome must be one of {sorted(OUTCOMES)}, got {outcome!r}")
    query = _filtered(select(delivery_table), channel=channel, since=since, until=until)
    if event is not None:
        query = query.where(_t.event == event)
    if outcome is not None:
        query = query.where(_t.outcome == outcome)
    if before_id is not None:
        query = query.where(_t.id < before_id)
    return _records(session, query.order_by(_t.id.desc()).limit(_checked_limit(limit)))


def deliveries_to_replay(
    session: Session,
    *,
    ids: Collection[int] | None = None,
    delivery_ids: Collection[str] | None = None,
    channel: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int,
) -> list[DeliveryRecord]:
    """Return stored "no consumer" deliveries to record now, oldest first, and lock them.

    On PostgreSQL and MySQL the rows are selected ``FOR UPDATE SKIP LOCKED``: two replays running at
    once share the work instead of recording a delivery twice. Record each as an asset event, call
    :func:`mark_recorded`, then commit (which releases the locks); loop until an empty list.

    :param session: The session; the caller commits.
    :param ids: Only these row ids.
    :param delivery_ids: Only these receiver-assigned delivery ids.
    :param channel: Only this channel.
    :param since: Only deliveries received at or after this time (timezone-aware).
    :param until: Only deliveries received before this time (timezone-aware).
    :param limit: Most rows to return; capped at :data:`MAX_LIST_LIMIT`.
    """
    query = _filtered(
        select(delivery_table).where(_t.outcome == OUTCOME_NO_CONSUMER, _t.asset_event_id.is_(None)),
        channel=channel,
        since=since,
        until=until,
    )
    if ids is not None:
        query = query.where(_t.id.in_(list(ids)))
    if delivery_ids is not None:
        query = query.where(_t.delivery_id.in_(list(delivery_ids)))
    query = query.order_by(_t.id).limit(_checked_limit(limit))
    if _dialect(session) != "sqlite":
        query = query.with_for_update(skip_locked=True)
    return _records(session, query)


def count_older_than(session: Session, cutoff: datetime) -> int:
    """Return how many rows :func:`purge_older_than` would delete (received before ``cutoff``).

    :param session: The session.
    :param cutoff: Timezone-aware time.
    """
    _checked_time(cutoff, "cutoff")
    return int(
        session.execute(select(func.count()).select_from(delivery_table).where(_t.received_at < cutoff)).scalar_one()
    )


def purge_older_than(session: Session, cutoff: datetime, *, batch_size: int = 1000) -> int:
    """Delete the rows received before ``cutoff``, ``batch_size`` rows per transaction.

    Each batch selects the ids of the oldest rows by the ``received_at`` index, deletes them by
    primary key and commits, so no transaction holds more than ``batch_size`` row locks, and a purge
    interrupted half-way keeps what it deleted. The session must hold no other pending work: it is
    committed after every batch.

    A purged delivery is no longer a duplicate of anything: keep rows longer than DailyBot may
    redeliver (``[dailybot] receiver_retention_days``, 30 days by default).

    :param session: The session.
    :param cutoff: Timezone-aware time; rows received strictly before it are deleted.
    :param batch_size: Rows per transaction, 1 to :data:`MAX_PURGE_BATCH_SIZE`.
    :return: How many rows were deleted.
    """
    _checked_time(cutoff, "cutoff")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or not 0 < batch_size <= MAX_PURGE_BATCH_SIZE:
        raise ValueError(f"batch_size must be an integer from 1 to {MAX_PURGE_BATCH_SIZE}, got {batch_size!r}")
    deleted = 0
    while True:
        ids = list(
            session.scalars(
                select(_t.id).where(_t.received_at < cutoff).order_by(_t.received_at, _t.id).limit(batch_size)
            )
        )
        if ids:
            session.execute(delete(delivery_table).where(_t.id.in_(ids)))
        session.commit()
        deleted += len(ids)
        if len(ids) < batch_size:
            return deleted
