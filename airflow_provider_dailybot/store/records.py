"""The typed rows of the delivery table: what an insert takes and what the queries return.

:class:`NewDelivery` checks every value against the column sizes before it reaches the database, so
an insert never fails (or, on MySQL, truncates) half-way through a receiver transaction.
:meth:`NewDelivery.from_envelope` builds one from a parsed envelope the way the receiver stores it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from airflow_provider_dailybot.store.models import (
    DELIVERY_ID_LENGTH,
    EVENT_LENGTH,
    EVENT_TIMESTAMP_LENGTH,
    HOOK_ID_LENGTH,
    OUTCOME_NO_CONSUMER,
    OUTCOMES,
)
from airflow_provider_dailybot.webhooks.asset_events import (
    MAX_DELIVERIES_PER_EVENT,
    Delivery,
    delivery_dedupe_key,
    event_deliveries,
)
from airflow_provider_dailybot.webhooks.assets import validate_channel_name

_DEDUPE_KEY = re.compile(r"[0-9a-f]{64}")


def timestamp_text(value: object) -> str | None:
    """Return an envelope's ``event_timestamp`` as the text stored in the table (``None`` when absent).

    A string is kept as sent; a number is written as JSON writes it (``1700000000``, ``1700000000.5``).

    :param value: The envelope's ``event_timestamp``.
    """
    if value is None:
        return None
    return value if isinstance(value, str) else json.dumps(value)


def _aware(value: datetime | None, label: str) -> None:
    if value is not None and value.utcoffset() is None:
        raise ValueError(f"{label} must be a timezone-aware datetime, got {value!r}")


@dataclass(frozen=True)
class _DeliveryFields:
    """The columns that a delivery to insert and a stored delivery share.

    :param delivery_id: The receiver-assigned id (a uuid4 string, at most 36 characters).
    :param channel: The channel name.
    :param dedupe_key: The envelope's ``delivery_dedupe_key`` (64 lower-case hex).
    :param event: DailyBot's event name.
    :param event_timestamp: DailyBot's event timestamp as text (:func:`timestamp_text`), or None.
    :param hook_id: The hook id the (first) delivery named, or None.
    :param deliveries: The subscriptions that delivered the event, oldest first (normally one).
    :param received_at: First receipt (timezone-aware; UTC when read back).
    :param outcome: ``"recorded"`` or ``"no_consumer"``.
    """

    delivery_id: str
    channel: str
    dedupe_key: str
    event: str
    event_timestamp: str | None
    hook_id: str | None
    deliveries: tuple[Delivery, ...]
    received_at: datetime
    outcome: str


@dataclass(frozen=True)
class NewDelivery(_DeliveryFields):
    """A delivery to insert (see :func:`~airflow_provider_dailybot.store.deliveries.insert_delivery`).

    Its first fields are those of every delivery (``delivery_id`` to ``outcome``: see
    :class:`_DeliveryFields`); then:

    :param payload: The raw JSON body, kept while the outcome is ``"no_consumer"``; None otherwise.
    :param payload_bytes: Size of the body in bytes.
    :param asset_event_id: The asset event's id when it is already written, else None.
    :param recorded_at: When the asset event was written; defaults to ``received_at`` when
        ``asset_event_id`` is set.
    :raises ValueError: When a value does not fit its column.
    """

    payload: str | None
    payload_bytes: int
    asset_event_id: int | None = None
    recorded_at: datetime | None = field(default=None)

    def __post_init__(self) -> None:
        validate_channel_name(self.channel)
        if not isinstance(self.delivery_id, str) or not 0 < len(self.delivery_id) <= DELIVERY_ID_LENGTH:
            raise ValueError(f"delivery_id must be 1 to {DELIVERY_ID_LENGTH} characters, got {self.delivery_id!r}")
        if not isinstance(self.dedupe_key, str) or _DEDUPE_KEY.fullmatch(self.dedupe_key) is None:
            raise ValueError("dedupe_key must be 64 lower-case hex characters (a SHA-256)")
        if not isinstance(self.event, str) or not 0 < len(self.event) <= EVENT_LENGTH:
            raise ValueError(f"event must be 1 to {EVENT_LENGTH} characters")
        if self.event_timestamp is not None and len(self.event_timestamp) > EVENT_TIMESTAMP_LENGTH:
            raise ValueError(f"event_timestamp must be at most {EVENT_TIMESTAMP_LENGTH} characters")
        if self.hook_id is not None and not 0 < len(self.hook_id) <= HOOK_ID_LENGTH:
            raise ValueError(f"hook_id must be 1 to {HOOK_ID_LENGTH} characters")
        if len(self.deliveries) > MAX_DELIVERIES_PER_EVENT:
            raise ValueError(f"at most {MAX_DELIVERIES_PER_EVENT} deliveries are kept per event")
        if self.outcome not in OUTCOMES:
            raise ValueError(f"outcome must be one of {sorted(OUTCOMES)}, got {self.outcome!r}")
        if isinstance(self.payload_bytes, bool) or not isinstance(self.payload_bytes, int) or self.payload_bytes < 0:
            raise ValueError(f"payload_bytes must be a non-negative integer, got {self.payload_bytes!r}")
        if not isinstance(self.received_at, datetime):
            raise ValueError(f"received_at must be a datetime, got {self.received_at!r}")
        _aware(self.received_at, "received_at")
        _aware(self.recorded_at, "recorded_at")
        if self.outcome == OUTCOME_NO_CONSUMER and self.asset_event_id is not None:
            raise ValueError("a delivery with the outcome no_consumer has no asset event")
        if self.outcome != OUTCOME_NO_CONSUMER and self.payload is not None:
            raise ValueError("the payload is kept only while the outcome is no_consumer (the asset event holds it)")

    @classmethod
    def from_envelope(
        cls,
        channel: str,
        envelope: Mapping[str, Any],
        raw_body: bytes,
        *,
        delivery_id: str,
        outcome: str,
        delivery: Delivery | None = None,
        received_at: datetime | None = None,
    ) -> NewDelivery:
        """Return the row of a delivery as the receiver stores it.

        The payload (``raw_body`` as text) is kept only for the outcome ``"no_consumer"``; a recorded
        delivery's body lives in its asset event.

        :param channel: The channel the delivery arrived on.
        :param envelope: The parsed envelope (``parse_delivery``).
        :param raw_body: The request body as received (its size is stored; its text for "no consumer").
        :param delivery_id: The receiver-assigned id.
        :param outcome: ``"recorded"`` or ``"no_consumer"``.
        :param delivery: The subscription that delivered it (hook id, secret reference, mismatch flag);
            None when the envelope names no hook id.
        :param received_at: When it was received; now (UTC) by default.
        """
        hook = envelope.get("hook")
        hook_id = hook.get("id") if isinstance(hook, dict) else None
        return cls(
            delivery_id=delivery_id,
            channel=channel,
            dedupe_key=delivery_dedupe_key(envelope),
            event=envelope["event"],
            event_timestamp=timestamp_text(envelope.get("event_timestamp")),
            hook_id=hook_id if isinstance(hook_id, str) and hook_id else None,
            deliveries=(delivery,) if delivery is not None else (),
            received_at=received_at or datetime.now(tz=timezone.utc),
            outcome=outcome,
            payload=raw_body.decode(json.detect_encoding(raw_body)) if outcome == OUTCOME_NO_CONSUMER else None,
            payload_bytes=len(raw_body),
        )

    def values(self) -> dict[str, Any]:
        """Return the column values of the insert (every column but ``id``)."""
        recorded_at = self.recorded_at
        if recorded_at is None and self.asset_event_id is not None:
            recorded_at = self.received_at
        return {
            "delivery_id": self.delivery_id,
            "channel": self.channel,
            "dedupe_key": self.dedupe_key,
            "event": self.event,
            "event_timestamp": self.event_timestamp,
            "hook_id": self.hook_id,
            "deliveries": [d.to_dict() for d in self.deliveries],
            "received_at": self.received_at,
            "outcome": self.outcome,
            "asset_event_id": self.asset_event_id,
            "recorded_at": recorded_at,
            "payload": self.payload,
            "payload_bytes": self.payload_bytes,
        }


@dataclass(frozen=True)
class DeliveryRecord(_DeliveryFields):
    """A stored row of ``dailybot_delivery`` (see :mod:`~airflow_provider_dailybot.store.models`).

    Its first fields are those of every delivery (``delivery_id`` to ``outcome``: see
    :class:`_DeliveryFields`); then:

    :param id: The row id.
    :param asset_event_id: The asset event's id once recorded.
    :param recorded_at: When the asset event was written.
    :param payload: The raw body while the outcome is ``"no_consumer"``, else None.
    :param payload_bytes: Size of the body.
    """

    id: int
    asset_event_id: int | None
    recorded_at: datetime | None
    payload: str | None
    payload_bytes: int

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> DeliveryRecord:
        """Return the record of a selected row (a ``RowMapping`` of every column).

        :param row: The row, by column name.
        """
        stored = row["deliveries"]
        if isinstance(stored, str):  # a driver that hands JSON back as text
            stored = json.loads(stored)
        return cls(
            id=int(row["id"]),
            delivery_id=row["delivery_id"],
            channel=row["channel"],
            dedupe_key=row["dedupe_key"],
            event=row["event"],
            event_timestamp=row["event_timestamp"],
            hook_id=row["hook_id"],
            deliveries=tuple(event_deliveries({"deliveries": stored if isinstance(stored, list) else []})),
            received_at=row["received_at"],
            outcome=row["outcome"],
            asset_event_id=row["asset_event_id"],
            recorded_at=row["recorded_at"],
            payload=row["payload"],
            payload_bytes=int(row["payload_bytes"]),
        )

    @classmethod
    def inserted(cls, row_id: int, new: NewDelivery) -> DeliveryRecord:
        """Return the record of ``new`` just inserted with id ``row_id`` (no read-back).

        :param row_id: The id the database assigned.
        :param new: The inserted delivery.
        """
        values = new.values()
        return cls(id=row_id, **{**values, "deliveries": new.deliveries})


@dataclass(frozen=True)
class InsertResult:
    """What :func:`~airflow_provider_dailybot.store.deliveries.insert_delivery` found.

    :param record: The stored row: the new one, or for a duplicate the original (read after the
        conflict, so it reflects every committed change).
    :param inserted: True when this call inserted the row; False for a duplicate of ``record``.
    """

    record: DeliveryRecord
    inserted: bool

    @property
    def duplicate(self) -> bool:
        """True when the delivery repeated the stored ``record`` (nothing was inserted)."""
        return not self.inserted

    @property
    def id(self) -> int:
        """The row id of ``record``."""
        return self.record.id
