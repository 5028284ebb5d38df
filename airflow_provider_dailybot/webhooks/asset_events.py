"""The ``AssetEvent.extra`` contract between the webhook receiver (writer) and the tasks (readers).

The receiver records every accepted delivery as an asset event of its channel's asset; this module
defines that event's ``extra`` once, for both sides:

* the keys (:data:`DELIVERY_ID_KEY`, :data:`EVENT_KEY` …), so no reader retypes a literal;
* :func:`build_event_extra`, what the receiver stores, and :func:`merge_delivery`, how a duplicate
  delivery is merged into the recorded event;
* the per-delivery record :class:`Delivery` with its non-reversible :func:`secret_ref`, and
  :func:`event_deliveries` / :func:`delivered_by`, how a task reads them back (also from events of
  a 0.1 receiver);
* :func:`recent_asset_events`, how a task reads a channel's events through ``inlet_events``.

Which hook id a delivery may *speak for* (the secret → hook id bindings of a channel) is decided in
:mod:`.bindings`, on top of this contract.

Pure functions over dicts; no Airflow import (a task's context is only read by duck typing).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

#: Key of the receiver-assigned delivery id.
DELIVERY_ID_KEY = "delivery_id"
#: Key of the duplicate-detection key (:func:`delivery_dedupe_key`).
DEDUPE_KEY = "dedupe_key"
#: Key of the channel the delivery arrived on.
CHANNEL_KEY = "channel"
#: Key of the DailyBot event name (e.g. ``followups.response.completed``).
EVENT_KEY = "event"
#: Key of DailyBot's event timestamp, as it was sent.
EVENT_TIMESTAMP_KEY = "event_timestamp"
#: Key of ``{"id", "name"}`` of the hook (subscription) the first delivery named.
HOOK_KEY = "hook"
#: Key of the event's body, as DailyBot sent it.
BODY_KEY = "body"
#: Key of the secret reference of the event's first delivery.
SECRET_REF_KEY = "secret_ref"
#: Key of the list of ``{"hook_id", "secret_ref", "hook_id_mismatch"}`` of every delivery merged into the event.
DELIVERIES_KEY = "deliveries"
#: Key of the flag set when the event's own ``hook.id`` disagrees with its secret's binding at record time.
MISMATCH_KEY = "hook_id_mismatch"
#: Key of the hook ids that delivered the event and agreed with their secret's binding at record time.
DELIVERED_BY_KEY = "delivered_by"
#: Most deliveries listed in one event's ``deliveries`` (DailyBot sends an event once per subscription).
MAX_DELIVERIES_PER_EVENT = 100


def secret_ref(secret_sha256: str) -> str:
    """Return the reference of a secret stored in asset events: 16 hex of ``sha256("ref:" + secret_sha256)``.

    It identifies which of a channel's secrets authenticated a delivery without revealing the secret or
    the hash the channel stores (which the receiver compares presented secrets against).

    :param secret_sha256: Lower-case hex SHA-256 of the secret.
    """
    return hashlib.sha256(("ref:" + secret_sha256).encode("ascii")).hexdigest()[:16]


@dataclass(frozen=True)
class Delivery:
    """One delivery merged into an asset event.

    :param hook_id: The hook id the envelope named.
    :param secret_ref: Reference of the secret that authenticated it; None for an event of a 0.1 receiver.
    :param hook_id_mismatch: True when the receiver found, at record time, that the secret is bound to
        another hook id.
    """

    hook_id: str
    secret_ref: str | None
    hook_id_mismatch: bool = False

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON-ready dict stored under ``extra["deliveries"]``."""
        return {"hook_id": self.hook_id, SECRET_REF_KEY: self.secret_ref, MISMATCH_KEY: self.hook_id_mismatch}


def delivery_identity(envelope: Mapping[str, Any]) -> str:
    """Return the canonical ASCII JSON of an envelope's event, event timestamp and body (what is hashed).

    The hook is left out on purpose, so the same event delivered by two subscriptions has one key.

    :param envelope: A parsed envelope (see :func:`~.envelope.parse_delivery`).
    """
    identity = {
        EVENT_KEY: envelope.get(EVENT_KEY),
        EVENT_TIMESTAMP_KEY: envelope.get(EVENT_TIMESTAMP_KEY),
        BODY_KEY: envelope.get(BODY_KEY),
    }
    return json.dumps(identity, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def delivery_dedupe_key(envelope: Mapping[str, Any]) -> str:
    """Return the duplicate-detection key of an envelope: SHA-256 of :func:`delivery_identity`.

    :param envelope: A parsed envelope (see :func:`~.envelope.parse_delivery`).
    """
    return hashlib.sha256(delivery_identity(envelope).encode("ascii")).hexdigest()


def build_event_extra(
    channel: str,
    envelope: Mapping[str, Any],
    delivery_id: str,
    *,
    ref: str | None = None,
    hook_id_mismatch: bool = False,
) -> dict[str, Any]:
    """Return the ``AssetEvent.extra`` recorded for a delivery.

    :param channel: The channel the delivery arrived on.
    :param envelope: The parsed envelope.
    :param delivery_id: The id the receiver assigned to the delivery.
    :param ref: The :func:`secret_ref` of the secret that authenticated the delivery; when None the
        extra has the 0.1 shape (no ``secret_ref``, ``deliveries`` or ``hook_id_mismatch``).
    :param hook_id_mismatch: The secret is bound to a subscription with another hook id: the hook id is
        kept in ``hook`` and ``deliveries`` but left out of ``delivered_by``.
    """
    hook = envelope.get(HOOK_KEY) or {}
    hook_id = hook.get("id") or None
    extra: dict[str, Any] = {
        DELIVERY_ID_KEY: delivery_id,
        DEDUPE_KEY: delivery_dedupe_key(envelope),
        CHANNEL_KEY: channel,
        EVENT_KEY: envelope[EVENT_KEY],
        EVENT_TIMESTAMP_KEY: envelope.get(EVENT_TIMESTAMP_KEY),
        HOOK_KEY: {"id": hook.get("id"), "name": hook.get("name")},
        BODY_KEY: envelope[BODY_KEY],
        DELIVERED_BY_KEY: [hook_id] if hook_id and not hook_id_mismatch else [],
    }
    if ref is not None:
        extra[SECRET_REF_KEY] = ref
        extra[DELIVERIES_KEY] = [Delivery(hook_id, ref, hook_id_mismatch).to_dict()] if hook_id else []
        extra[MISMATCH_KEY] = hook_id_mismatch
    return extra


def event_hook_id(extra: Mapping[str, Any]) -> str | None:
    """Return the hook id the event's first delivery named (``extra["hook"]["id"]``), or None.

    :param extra: The asset event's ``extra``.
    """
    hook = extra.get(HOOK_KEY)
    hook_id = hook.get("id") if isinstance(hook, dict) else None
    return hook_id if isinstance(hook_id, str) and hook_id else None


def event_deliveries(extra: Mapping[str, Any]) -> list[Delivery]:
    """Return the deliveries of a recorded event, oldest first.

    For an event of a 0.1 receiver (no ``deliveries`` list) these are its ``delivered_by`` hook ids and
    ``hook.id``, without a secret reference.

    :param extra: The asset event's ``extra``.
    """
    listed = extra.get(DELIVERIES_KEY)
    if isinstance(listed, list):
        found: list[Delivery] = []
        for item in listed:
            if not isinstance(item, dict) or not isinstance(item.get("hook_id"), str) or not item["hook_id"]:
                continue
            ref = item.get(SECRET_REF_KEY)
            mismatch = item.get(MISMATCH_KEY) is True
            found.append(Delivery(item["hook_id"], ref if isinstance(ref, str) else None, mismatch))
        return found
    hook_ids = [h for h in (extra.get(DELIVERED_BY_KEY) or []) if isinstance(h, str) and h]
    first = event_hook_id(extra)
    if first is not None and first not in hook_ids:
        hook_ids.insert(0, first)
    return [Delivery(h, None) for h in hook_ids]


def merge_delivery(extra: Mapping[str, Any], delivery: Delivery) -> dict[str, Any]:
    """Return ``extra`` with ``delivery`` (a duplicate of the event) added; ``extra`` is not changed.

    The pair is added to ``deliveries`` and, unless it is a mismatch, the hook id to ``delivered_by``;
    an event holds at most :data:`MAX_DELIVERIES_PER_EVENT` distinct pairs, after which nothing is added.

    :param extra: The recorded event's ``extra``.
    :param delivery: The duplicate delivery.
    """
    merged = dict(extra)
    deliveries = event_deliveries(extra)
    pairs = {(d.hook_id, d.secret_ref) for d in deliveries}
    if (delivery.hook_id, delivery.secret_ref) in pairs:
        merged[DELIVERIES_KEY] = [d.to_dict() for d in deliveries]
        return merged
    if len(deliveries) >= MAX_DELIVERIES_PER_EVENT:
        return merged  # full: the event keeps what it has (DailyBot sends an event once per subscription)
    deliveries.append(delivery)
    merged[DELIVERIES_KEY] = [d.to_dict() for d in deliveries]
    hook_ids = [h for h in (extra.get(DELIVERED_BY_KEY) or []) if isinstance(h, str)]
    if not delivery.hook_id_mismatch and delivery.hook_id not in hook_ids:
        hook_ids.append(delivery.hook_id)
    merged[DELIVERED_BY_KEY] = hook_ids
    return merged


def delivered_by(extra: Mapping[str, Any]) -> list[str]:
    """Return the hook ids that delivered a recorded event (the receiver merges duplicates into one event).

    A hook id the receiver flagged as disagreeing with its secret (``hook_id_mismatch``) is left out. This
    list is informational: whether a delivery proves anything is decided with the channel's bindings
    (:class:`~airflow_provider_dailybot.webhooks.bindings.ChannelBindings`).

    :param extra: The asset event's ``extra`` as written by the receiver.
    """
    if DELIVERIES_KEY in extra:
        return [h for h in (extra.get(DELIVERED_BY_KEY) or []) if isinstance(h, str)]
    return [d.hook_id for d in event_deliveries(extra)]  # an event of a 0.1 receiver


def recent_asset_events(context: Mapping[str, Any], asset: Any, *, since: datetime | None, limit: int) -> list[Any]:
    """Return the newest ``limit`` events of ``asset`` recorded at or after ``since``, read via ``inlet_events``.

    The asset must be in the task's ``inlets``. A fresh accessor is taken on every call (a held one
    caches its first result). On Airflow 3.1 the accessor is a plain list of every event of the asset,
    filtered here in Python.

    :param context: The task's context.
    :param asset: The asset, as declared in ``inlets``.
    :param since: Earliest recording time to include; ``None`` for no lower bound.
    :param limit: Most events to return.
    """
    accessor = context["inlet_events"][asset]
    if hasattr(accessor, "after"):
        if since is not None:
            accessor = accessor.after(since.isoformat())
        return list(accessor.ascending(False).limit(limit))
    events = [e for e in accessor if since is None or e.timestamp >= since]
    events.sort(key=lambda e: e.timestamp, reverse=True)
    return events[:limit]
