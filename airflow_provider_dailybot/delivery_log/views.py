"""What the delivery log shows, read from the delivery table: pages of rows, one delivery, its payload.

Shared by the JSON API (:mod:`.api`), the HTML page (:mod:`.page`) and the CLI. The queries are the
store's (:mod:`airflow_provider_dailybot.store.deliveries`); this module turns their rows into
JSON-ready dicts and finds each delivery's payload:

* a delivery stored without a consumer keeps its raw body in the row (``payload``);
* a recorded delivery's payload lives once, in its asset event's ``extra`` (the row's copy is
  dropped when it is recorded), so it is read from ``asset_event`` by id: the envelope's ``event``,
  ``event_timestamp``, ``hook`` and ``body``;
* an asset event that Airflow's ``db clean`` deleted leaves the payload unavailable (the row stays).

Bounds: a page holds at most :data:`~.filters.MAX_PAGE_SIZE` rows, and payloads are loaded for a
page only up to :data:`PREVIEW_MAX_BYTES` each (larger ones are shown on the delivery's own page,
whose size the receiver already bounded by ``[dailybot] receiver_max_body_bytes``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from airflow_provider_dailybot.delivery_log.filters import DeliveryFilter
from airflow_provider_dailybot.webhooks.asset_events import BODY_KEY, EVENT_KEY, EVENT_TIMESTAMP_KEY, HOOK_KEY

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

#: Largest payload (in bytes, as received) loaded for a row of a list page.
PREVIEW_MAX_BYTES = 64 * 1024
#: Characters of a payload shown in a row of the list page.
PREVIEW_CHARS = 2000

#: Where a payload was read from.
SOURCE_STORED = "stored"  # the delivery row (stored without a consumer)
SOURCE_ASSET_EVENT = "asset_event"  # the asset event it was recorded as
SOURCE_UNAVAILABLE = "unavailable"  # recorded, but the asset event is gone (``airflow db clean``)
SOURCE_NOT_LOADED = "not_loaded"  # over PREVIEW_MAX_BYTES on a list page

_ENVELOPE_KEYS = (EVENT_KEY, EVENT_TIMESTAMP_KEY, HOOK_KEY, BODY_KEY)


@dataclass(frozen=True)
class Payload:
    """A delivery's payload as the log shows it.

    :param source: One of ``stored``, ``asset_event``, ``unavailable``, ``not_loaded``.
    :param value: The decoded JSON (None unless loaded).
    :param text: The raw text when it is not valid JSON (a row written by something else).
    """

    source: str
    value: Any = None
    text: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return ``{"source", "value"}`` (and ``"text"`` for a payload that is not JSON)."""
        data: dict[str, Any] = {"source": self.source, "value": self.value}
        if self.text is not None:
            data["text"] = self.text
        return data

    def pretty(self, limit: int | None = None) -> str:
        """Return the payload as indented JSON text, cut after ``limit`` characters (with a marker).

        :param limit: Most characters; None for all.
        """
        if self.text is not None:
            shown = self.text
        elif self.source in (SOURCE_STORED, SOURCE_ASSET_EVENT):
            shown = json.dumps(self.value, indent=2, ensure_ascii=False, sort_keys=False)
        else:
            return ""
        if limit is not None and len(shown) > limit:
            return shown[:limit] + f"\n… ({len(shown) - limit} more characters)"
        return shown


@dataclass(frozen=True)
class DeliveryPage:
    """One page of the log.

    :param rows: The deliveries of the page, newest first, as :func:`summary` dicts.
    :param payloads: Payload by row id (list pages: previews within :data:`PREVIEW_MAX_BYTES`).
    :param next_before_id: The ``before_id`` of the next (older) page; None on the last page.
    """

    rows: list[dict[str, Any]]
    payloads: dict[int, Payload]
    next_before_id: int | None


def _iso(value: object) -> str | None:
    return value.isoformat() if isinstance(value, datetime) else (None if value is None else str(value))


def summary(row: Any) -> dict[str, Any]:
    """Return the JSON-ready dict of a delivery row (no payload).

    :param row: A :class:`~airflow_provider_dailybot.store.records.DeliveryRecord` (or any row with its attributes).
    """
    deliveries = [d.to_dict() if hasattr(d, "to_dict") else dict(d) for d in (row.deliveries or ())]
    return {
        "id": row.id,
        "delivery_id": row.delivery_id,
        "channel": row.channel,
        "event": row.event,
        "event_timestamp": row.event_timestamp,
        "hook_id": row.hook_id,
        "deliveries": deliveries,
        "received_at": _iso(row.received_at),
        "outcome": row.outcome,
        "asset_event_id": row.asset_event_id,
        "recorded_at": _iso(row.recorded_at),
        "payload_bytes": row.payload_bytes,
    }


def _stored_payload(text: str) -> Payload:
    try:
        return Payload(SOURCE_STORED, json.loads(text))
    except ValueError:
        return Payload(SOURCE_STORED, None, text)


def _envelope(extra: object) -> Payload:
    if not isinstance(extra, dict):
        return Payload(SOURCE_UNAVAILABLE)
    return Payload(SOURCE_ASSET_EVENT, {key: extra[key] for key in _ENVELOPE_KEYS if key in extra})


def _asset_event_extras(session: Session, ids: Iterable[int]) -> dict[int, object]:
    from airflow.models.asset import AssetEvent
    from sqlalchemy import select

    wanted = sorted(set(ids))
    if not wanted:
        return {}
    return {event_id: extra for event_id, extra in session.execute(
        select(AssetEvent.id, AssetEvent.extra).where(AssetEvent.id.in_(wanted))
    )}  # fmt: skip


def payloads(session: Session, rows: Sequence[Any], *, max_bytes: int | None = PREVIEW_MAX_BYTES) -> dict[int, Payload]:
    """Return the payload of each row, by row id, reading the asset events of recorded rows in one query.

    :param session: A metadata-database session.
    :param rows: Delivery rows.
    :param max_bytes: Rows whose ``payload_bytes`` exceed this get ``not_loaded``; None loads all.
    """
    found: dict[int, Payload] = {}
    event_rows: list[Any] = []
    for row in rows:
        if max_bytes is not None and (row.payload_bytes or 0) > max_bytes:
            found[row.id] = Payload(SOURCE_NOT_LOADED)
        elif row.payload is not None:
            found[row.id] = _stored_payload(row.payload)
        elif row.asset_event_id is not None:
            event_rows.append(row)
        else:
            found[row.id] = Payload(SOURCE_UNAVAILABLE)
    extras = _asset_event_extras(session, (row.asset_event_id for row in event_rows))
    for row in event_rows:
        extra = extras.get(row.asset_event_id)
        found[row.id] = _envelope(extra) if extra is not None else Payload(SOURCE_UNAVAILABLE)
    return found


def list_page(session: Session, flt: DeliveryFilter, *, with_payloads: bool = False) -> DeliveryPage:
    """Return one page of deliveries matching ``flt``, newest first.

    :param session: A metadata-database session.
    :param flt: The filter (its ``limit`` and ``before_id`` select the page).
    :param with_payloads: Also load payload previews (the HTML page); the JSON list has none.
    """
    from airflow_provider_dailybot.store.deliveries import list_deliveries

    rows = list(list_deliveries(session, **flt.store_kwargs(extra_rows=1)))
    more = len(rows) > flt.limit
    rows = rows[: flt.limit]
    previews = payloads(session, rows) if with_payloads else {}
    return DeliveryPage([summary(row) for row in rows], previews, rows[-1].id if more and rows else None)


def find_delivery(session: Session, delivery_id: str) -> tuple[dict[str, Any], Payload] | None:
    """Return the summary and full payload of one delivery, or None when there is no such delivery.

    :param session: A metadata-database session.
    :param delivery_id: The receiver-assigned id (already checked by ``filters.checked_delivery_id``).
    """
    from airflow_provider_dailybot.store.deliveries import get_delivery

    row = get_delivery(session, delivery_id)
    if row is None:
        return None
    return summary(row), payloads(session, [row], max_bytes=None)[row.id]
