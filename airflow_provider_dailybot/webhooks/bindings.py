"""Which hook id a delivery may speak for: the binding of each channel secret to one subscription.

DailyBot authenticates a delivery only with a static ``X-BEARER`` secret, and the envelope's
``hook.id`` is whatever the sender wrote. Anyone who saw one delivery of a channel holds a secret of
that channel and can name *any* hook id. So a hook id read from an asset event proves nothing by
itself; what does is the pair (hook id, secret that authenticated it):

* the receiver stores, for every delivery merged into an event, the hook id and a **secret
  reference** (:func:`~.asset_events.secret_ref`: 16 hex characters of ``sha256("ref:" + secret_sha256)``, neither
  the secret nor its stored hash) under ``extra["deliveries"]``;
* a subscription recorded in the channel state binds its secret to its hook id. A delivery whose
  secret is bound to *another* hook id is a mismatch: recorded, flagged, and never used to verify or
  delete a subscription;
* the binding is checked when the delivery is recorded *and again* when a task decides (the sample
  delivery arrives before the create task records the subscription, so at that moment the secret
  is not bound yet).

Events written by a 0.1 receiver carry no secret reference: they are read (``delivered_by``) but
never verify a subscription nor make a hook id a deletion target.

Pure functions over ``AssetEvent.extra`` dicts (their shape is :mod:`.asset_events`) and
:class:`~.channel_state.ChannelState`; no Airflow import.
"""

from __future__ import annotations

from collections.abc import Iterable

from airflow_provider_dailybot.webhooks.asset_events import (
    DELIVERED_BY_KEY,
    DELIVERIES_KEY,
    MAX_DELIVERIES_PER_EVENT,
    MISMATCH_KEY,
    SECRET_REF_KEY,
    Delivery,
    event_deliveries,
    merge_delivery,
    secret_ref,
)
from airflow_provider_dailybot.webhooks.channels import ChannelState

# The extra's keys, Delivery, secret_ref, event_deliveries and merge_delivery live in .asset_events (the
# AssetEvent.extra contract); they are re-exported here so existing imports from this module keep working.
__all__ = [
    "BOUND",
    "DELIVERED_BY_KEY",
    "DELIVERIES_KEY",
    "LEGACY",
    "MAX_DELIVERIES_PER_EVENT",
    "MISMATCH",
    "MISMATCH_KEY",
    "SECRET_REF_KEY",
    "UNBOUND",
    "ChannelBindings",
    "Delivery",
    "event_deliveries",
    "merge_delivery",
    "secret_ref",
    "unrecorded_subscriptions",
]

BOUND, MISMATCH, UNBOUND, LEGACY = "bound", "mismatch", "unbound", "legacy"


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
