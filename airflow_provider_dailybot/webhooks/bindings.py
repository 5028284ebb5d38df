"""Which hook id a delivery may speak for: the binding of each channel secret to one subscription.

DailyBot authenticates a delivery only with a static ``X-BEARER`` secret, and the envelope's
``hook.id`` is whatever the sender wrote. Anyone who saw one delivery of a channel holds a secret of
that channel and can name *any* hook id. So a hook id read from an asset event proves nothing by
itself; what does is the pair (hook id, secret that authenticated it):

* the receiver stores, for every delivery merged into an event, the hook id and a **secret
  reference** (:func:`secret_ref`: 16 hex characters of ``sha256("ref:" + secret_sha256)``, neither
  the secret nor its stored hash) under ``extra["deliveries"]``;
* a subscription recorded in the channel state binds its secret to its hook id. A delivery whose
  secret is bound to *another* hook id is a mismatch: recorded, flagged, and never used to verify or
  delete a subscription;
* the binding is checked when the delivery is recorded *and again* when a task decides (the sample
  delivery arrives before the create task records the subscription, so at that moment the secret
  is not bound yet).

Events written by a 0.1 receiver carry no secret reference: they are read (``delivered_by``) but
never verify a subscription nor make a hook id a deletion target.

Pure functions over ``AssetEvent.extra`` dicts and :class:`~.channels.ChannelState`; no Airflow import.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from airflow_provider_dailybot.webhooks.channels import ChannelState

#: Key, in ``AssetEvent.extra``, of the secret reference of the event's first delivery.
SECRET_REF_KEY = "secret_ref"
#: Key of the list of ``{"hook_id", "secret_ref", "hook_id_mismatch"}`` of every delivery merged into the event.
DELIVERIES_KEY = "deliveries"
#: Key of the flag set when the event's own ``hook.id`` disagrees with its secret's binding at record time.
MISMATCH_KEY = "hook_id_mismatch"
#: Key of the hook ids that delivered the event and agreed with their secret's binding at record time.
DELIVERED_BY_KEY = "delivered_by"
#: Most deliveries listed in one event's ``deliveries`` (DailyBot sends an event once per subscription).
MAX_DELIVERIES_PER_EVENT = 100

BOUND, MISMATCH, UNBOUND, LEGACY = "bound", "mismatch", "unbound", "legacy"


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
        return {"hook_id": self.hook_id, "secret_ref": self.secret_ref, MISMATCH_KEY: self.hook_id_mismatch}


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
            ref = item.get("secret_ref")
            mismatch = item.get(MISMATCH_KEY) is True
            found.append(Delivery(item["hook_id"], ref if isinstance(ref, str) else None, mismatch))
        return found
    hook_ids = [h for h in (extra.get(DELIVERED_BY_KEY) or []) if isinstance(h, str) and h]
    first = (extra.get("hook") or {}).get("id") if isinstance(extra.get("hook"), dict) else None
    if isinstance(first, str) and first and first not in hook_ids:
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
    delivered_by = [h for h in (extra.get(DELIVERED_BY_KEY) or []) if isinstance(h, str)]
    if not delivery.hook_id_mismatch and delivery.hook_id not in delivered_by:
        delivered_by.append(delivery.hook_id)
    merged[DELIVERED_BY_KEY] = delivered_by
    return merged


class ChannelBindings:
    """The secret → hook id bindings of one channel, as its recorded subscriptions define them.

    :param state: The channel's state (read when the decision is made, not when the event was recorded).
    """

    def __init__(self, state: ChannelState | None) -> None:
        self._bound: dict[str, set[str]] = {}
        self._ref_of_hook: dict[str, str] = {}
        for sub in state.subscriptions if state is not None else []:
            ref = secret_ref(sub.secret_sha256)
            self._bound.setdefault(ref, set()).add(sub.hook_id)
            self._ref_of_hook[sub.hook_id] = ref

    def ref_of(self, hook_id: str) -> str | None:
        """Return the secret reference of the recorded subscription ``hook_id``, or None when it is not recorded.

        :param hook_id: A hook id.
        """
        return self._ref_of_hook.get(hook_id)

    def is_bound(self, ref: str) -> bool:
        """Return True when a recorded subscription sends the secret with reference ``ref``.

        :param ref: A secret reference.
        """
        return ref in self._bound

    def classify(self, delivery: Delivery) -> str:
        """Return how ``delivery`` relates to the bindings.

        :data:`BOUND`: its secret is bound to its hook id; :data:`MISMATCH`: bound to another hook id;
        :data:`UNBOUND`: no recorded subscription sends its secret; :data:`LEGACY`: no secret reference.

        :param delivery: A delivery read from an event (or about to be recorded).
        """
        if delivery.secret_ref is None:
            return LEGACY
        hooks = self._bound.get(delivery.secret_ref)
        if hooks is None:
            return UNBOUND
        return BOUND if delivery.hook_id in hooks else MISMATCH

    def verifies(self, delivery: Delivery, hook_id: str) -> bool:
        """Return True when ``delivery`` proves that the recorded subscription ``hook_id`` delivers.

        It must name ``hook_id`` and have been authenticated with that subscription's own secret.

        :param delivery: A delivery read from an event.
        :param hook_id: The recorded subscription to verify.
        """
        expected = self._ref_of_hook.get(hook_id)
        return expected is not None and delivery.hook_id == hook_id and delivery.secret_ref == expected


def unrecorded_subscriptions(
    deliveries: Iterable[Delivery], bindings: ChannelBindings, *, exclude: Iterable[str] = ()
) -> tuple[list[str], list[str]]:
    """Find hook ids of subscriptions this channel created but never recorded (a lost create answer).

    A hook id qualifies only when it was delivered with a secret of the channel that no recorded
    subscription sends, and that secret was seen with exactly this one hook id. A secret seen with
    several hook ids is ambiguous (someone holding it named other hook ids): none of them qualifies.

    :param deliveries: The deliveries of the channel's recent events.
    :param bindings: The channel's current bindings.
    :param exclude: Hook ids never returned (the kept subscription, recorded ones, already deleted ones).
    :returns: ``(deletable, ambiguous)``, each sorted.
    """
    hooks_by_ref: dict[str, set[str]] = {}
    for delivery in deliveries:
        if delivery.secret_ref is not None:
            hooks_by_ref.setdefault(delivery.secret_ref, set()).add(delivery.hook_id)
    skip = set(exclude)
    deletable: set[str] = set()
    ambiguous: set[str] = set()
    for ref, hooks in hooks_by_ref.items():
        if bindings.is_bound(ref):
            continue  # its subscription is recorded: any other hook id named with this secret is a mismatch
        (deletable if len(hooks) == 1 else ambiguous).update(hooks - skip)
    return sorted(deletable), sorted(ambiguous - deletable)
