"""Operators that create, delete and promote DailyBot webhook subscriptions of a receiver channel.

A *channel* is a named endpoint of the provider's webhook receiver (``/dailybot/webhooks/<channel>`` on
the api-server) paired with the asset :func:`~airflow_provider_dailybot.webhooks.assets.dailybot_webhook_asset`.
Its state (the SHA-256 hashes of the accepted ``X-BEARER`` secrets and the subscriptions feeding it)
lives in Airflow Variables (:mod:`airflow_provider_dailybot.webhooks.channels`). These operators keep
that state and DailyBot in step; each run that changes it adds a change record of its own (never a
rewrite of what another task wrote), so operators running at the same time on one channel never
lose each other's changes:

* :class:`DailyBotCreateWebhookSubscriptionOperator` generates a fresh secret, registers its hash with
  the channel, creates the subscription and records it;
* :class:`DailyBotDeleteWebhookSubscriptionOperator` deletes a subscription and retires its secret;
* :class:`DailyBotPromoteWebhookSubscriptionOperator` keeps one verified subscription and deletes every
  other subscription of the channel, retiring their secrets (the last step of a rotation).

Nothing here does I/O when a DAG file is parsed; the hook is built on first use inside ``execute``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from airflow_provider_dailybot.operators._base import (
    DEFAULT_CONN_ID,
    UI_COLOR,
    UI_FG_COLOR,
    DailyBotBaseOperator,
    _DailyBotOperator,
    channel_inlets,
    optional_channel,
    require_bool,
    require_event_names,
    require_number,
    require_text,
    require_timedelta,
    require_uuids,
    static_hook_url,
    subscription_field,
    target_hook_id,
    utc_now_iso,
)

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_provider_dailybot.webhooks.asset_events import Delivery

# The base class, colours, DEFAULT_CONN_ID and subscription_field moved to ._base (and connection.py);
# they stay importable from here.
__all__ = [
    "DEFAULT_CONN_ID",
    "UI_COLOR",
    "UI_FG_COLOR",
    "DailyBotCreateWebhookSubscriptionOperator",
    "DailyBotDeleteWebhookSubscriptionOperator",
    "DailyBotPromoteWebhookSubscriptionOperator",
    "_DailyBotOperator",
    "subscription_field",
]


class DailyBotCreateWebhookSubscriptionOperator(DailyBotBaseOperator):
    """Create a DailyBot webhook subscription that delivers to a receiver channel (or to any URL).

    For a ``channel``, the operator generates a fresh ``X-BEARER`` secret (masked in logs; only its
    SHA-256 is kept, in a change record of the channel's state of this task's own), registers it with
    the channel *before* creating the subscription (so the immediate sample delivery is accepted),
    creates the subscription with ``immediate_sample_event`` and records it in the same record. The
    ``hook_url`` defaults to the channel's public URL (``[api] base_url`` + ``/dailybot/webhooks/<channel>``, see
    :func:`~airflow_provider_dailybot.webhooks.config.channel_hook_url`).

    Returns (XCom) ``{"hook_id", "hook_url", "channel", "events", "created_at"}``; never the secret.

    If DailyBot's answer is lost (timeout, dropped connection, 5xx) the subscription may exist anyway:
    the secret's hash stays registered so that such a subscription's deliveries still identify it, and
    :class:`DailyBotPromoteWebhookSubscriptionOperator` retires it with the other leftovers. A clear
    refusal (4xx) unregisters the secret at once.

    .. code-block:: python

        create = DailyBotCreateWebhookSubscriptionOperator(
            task_id="create_subscription",
            channel="checkins",
            events=["followups.response.completed"],
        )

    :param events: DailyBot event names to subscribe to. (templated)
    :param channel: Receiver channel the subscription delivers to. (templated)
    :param hook_url: Explicit delivery URL; defaults to the channel's URL. Without a channel, an
        external receiver's URL. (templated)
    :param bearer: Secret for an external ``hook_url`` without a channel; take it from a Connection or
        Variable through a template, never hard-code it. Ignored for channels (a fresh one is generated).
        (templated)
    :param name: Subscription name shown in DailyBot; defaults to ``airflow <dag_id> <channel>``. (templated)
    :param subscribed_objects: Check-in or form UUIDs to limit the subscription to. (templated)
    :param immediate_sample_event: Ask DailyBot for a sample delivery right away (default True), which
        :class:`~airflow_provider_dailybot.sensors.webhook_delivery.DailyBotWebhookDeliverySensor` waits for.
    :param allow_unknown_events: Let through event names the provider does not know yet.
    :param allow_insecure_hook_url: Accept a plain-http ``hook_url`` to a non-loopback host.
    :param dailybot_conn_id: The DailyBot connection. (templated)
    """

    template_fields: Sequence[str] = (
        "events",
        "channel",
        "hook_url",
        "bearer",
        "name",
        "subscribed_objects",
        "dailybot_conn_id",
    )
    template_fields_renderers = {"events": "json", "subscribed_objects": "json"}

    def __init__(
        self,
        *,
        events: list[str] | str,
        channel: str | None = None,
        hook_url: str | None = None,
        bearer: str | None = None,
        name: str | None = None,
        subscribed_objects: list[str] | str | None = None,
        immediate_sample_event: bool = True,
        allow_unknown_events: bool = False,
        allow_insecure_hook_url: bool = False,
        dailybot_conn_id: str = DEFAULT_CONN_ID,
        **kwargs: Any,
    ) -> None:
        super().__init__(dailybot_conn_id=dailybot_conn_id, **kwargs)
        self.events = events
        self.channel = channel
        self.hook_url = hook_url
        self.bearer = bearer
        self.name = name
        self.subscribed_objects = subscribed_objects
        self.immediate_sample_event = immediate_sample_event
        self.allow_unknown_events = allow_unknown_events
        self.allow_insecure_hook_url = allow_insecure_hook_url
        if channel in (None, "") and hook_url in (None, ""):
            raise ValueError(
                f"{type(self).__name__} {self.task_id!r}: give a receiver channel, or an explicit hook_url for an "
                "external receiver"
            )
        self.check_static({
            "events": (events, require_event_names("events", allow_unknown=allow_unknown_events)),
            "channel": (channel or None, optional_channel),
            "hook_url": (hook_url or None, static_hook_url(allow_insecure=allow_insecure_hook_url is True)),
            "name": (name or None, require_text("name")),
            "subscribed_objects": (subscribed_objects, require_uuids("subscribed_objects")),
            "immediate_sample_event": (immediate_sample_event, require_bool("immediate_sample_event")),
            "allow_unknown_events": (allow_unknown_events, require_bool("allow_unknown_events")),
            "allow_insecure_hook_url": (allow_insecure_hook_url, require_bool("allow_insecure_hook_url")),
        })  # fmt: skip

    def execute(self, context: Context) -> dict[str, Any]:
        from airflow.sdk.log import mask_secret

        from airflow_provider_dailybot.events import validate_event_names
        from airflow_provider_dailybot.exceptions import DailyBotApiError, DailyBotServerError
        from airflow_provider_dailybot.hooks.dailybot import validate_hook_url
        from airflow_provider_dailybot.webhooks.channels import (
            ChannelChange,
            ChannelSubscription,
            generate_secret,
            hash_secret,
        )
        from airflow_provider_dailybot.webhooks.config import channel_hook_url

        # Validate everything before any request or state change.
        channel = optional_channel(self.channel)
        if channel is None and not self.hook_url:
            raise ValueError("Give a receiver channel, or an explicit hook_url for an external receiver")
        hook_url = validate_hook_url(
            self.hook_url or channel_hook_url(str(channel)), allow_insecure=self.allow_insecure_hook_url
        )
        events = validate_event_names(
            [self.events] if isinstance(self.events, str) else self.events,
            allow_unknown=self.allow_unknown_events,
            argument="events",
        )
        if not isinstance(self.immediate_sample_event, bool):
            raise TypeError(f"immediate_sample_event must be a bool, got {self.immediate_sample_event!r}")
        objects = self.subscribed_objects
        if isinstance(objects, str):
            objects = [objects]
        name = self.name or f"airflow {context['dag'].dag_id} {channel or 'external'}"

        # Resolve and check the connection first: a task that cannot call DailyBot must not register a secret.
        _ = self.hook.settings

        if channel is not None:
            secret: str | None = generate_secret()
        else:
            secret = self.bearer or None
            if secret is None:
                self.log.warning("No bearer for %s: its receiver cannot authenticate DailyBot's deliveries", hook_url)
        if secret:
            mask_secret(secret)
        secret_hash = hash_secret(secret) if secret else None

        # The secret is accepted before the subscription exists (its sample arrives at once), in a change
        # record of this task's own that it rewrites below: no other task's change can be lost.
        slot: int | None = None
        if channel is not None and secret_hash is not None:
            slot = self._record_change(ChannelChange(channel, accept_sha256=[secret_hash]))

        created_at = utc_now_iso()
        try:
            subscription = self.hook.create_webhook_subscription(
                hook_url=hook_url,
                events=events,
                subscribed_objects=objects,
                name=name,
                bearer=secret,
                immediate_sample_event=self.immediate_sample_event,
                allow_unknown_events=self.allow_unknown_events,
                allow_insecure_hook_url=self.allow_insecure_hook_url,
            )
        except DailyBotApiError as err:
            definitely_refused = err.status_code is not None and not isinstance(err, DailyBotServerError)
            if channel is not None and secret_hash is not None and slot is not None and definitely_refused:
                self._record_change(ChannelChange(channel, retire_sha256=[secret_hash]), slot=slot)
            raise
        # Any other error (timeout, dropped connection) is ambiguous: the secret stays registered.

        if channel is not None and secret_hash is not None and slot is not None:
            record = ChannelSubscription(
                hook_id=subscription.id,
                hook_url=subscription.hook_url,
                events=list(subscription.events),
                secret_sha256=secret_hash,
                created_at=created_at,
            )
            self._record_change(ChannelChange(channel, accept_sha256=[secret_hash], subscriptions=[record]), slot=slot)
        self.log.info("Created DailyBot subscription %s -> %s for %s", subscription.id, subscription.hook_url, events)
        return {
            "hook_id": subscription.id,
            "hook_url": subscription.hook_url,
            "channel": channel,
            "events": list(subscription.events),
            "created_at": created_at,
        }


class DailyBotDeleteWebhookSubscriptionOperator(DailyBotBaseOperator):
    """Delete a DailyBot webhook subscription and retire its secret from the channel.

    "Already gone" counts as success by default, so the operator works as an Airflow teardown:

    .. code-block:: python

        create = DailyBotCreateWebhookSubscriptionOperator(task_id="create", channel="checkins", events=[...])
        delete = DailyBotDeleteWebhookSubscriptionOperator(task_id="delete", subscription=create.output)
        create >> ... >> delete.as_teardown(setups=create)

    Returns (XCom) ``{"hook_id", "channel", "deleted"}`` (``deleted`` is False when it was already gone).

    :param subscription: The create operator's XCom (``create.output``); supplies ``hook_id``,
        ``hook_url`` and ``channel``. (templated)
    :param hook_id: The hook id, instead of ``subscription``. (templated)
    :param hook_url: The subscription's URL, sent along as some DailyBot versions expect. (templated)
    :param channel: The receiver channel whose state to update. (templated)
    :param missing_ok: Treat "not found" as success (default True).
    :param keep_if_verified_by: Task id of a delivery sensor; when that task pushed a delivery (the
        subscription was verified), nothing is deleted. Used as the rollback of a rotation.
    :param dailybot_conn_id: The DailyBot connection. (templated)
    """

    template_fields: Sequence[str] = ("subscription", "hook_id", "hook_url", "channel", "dailybot_conn_id")

    def __init__(
        self,
        *,
        subscription: Any = None,
        hook_id: str | None = None,
        hook_url: str | None = None,
        channel: str | None = None,
        missing_ok: bool = True,
        keep_if_verified_by: str | None = None,
        dailybot_conn_id: str = DEFAULT_CONN_ID,
        **kwargs: Any,
    ) -> None:
        super().__init__(dailybot_conn_id=dailybot_conn_id, **kwargs)
        self.subscription = subscription
        self.hook_id = hook_id
        self.hook_url = hook_url
        self.channel = channel
        self.missing_ok = missing_ok
        self.keep_if_verified_by = keep_if_verified_by
        self.check_static({
            "hook_id": (hook_id, require_text("hook_id")),
            "hook_url": (hook_url or None, static_hook_url(allow_insecure=True)),
            "channel": (channel or None, optional_channel),
            "missing_ok": (missing_ok, require_bool("missing_ok")),
            "keep_if_verified_by": (keep_if_verified_by, require_text("keep_if_verified_by")),
        })  # fmt: skip

    def execute(self, context: Context) -> dict[str, Any]:
        hook_id = target_hook_id(self.hook_id, self.subscription, purpose="delete")
        hook_url = self.hook_url or subscription_field(self.subscription, "hook_url") or None
        channel = optional_channel(self.channel or subscription_field(self.subscription, "channel"))
        if self.keep_if_verified_by:
            verified = context["ti"].xcom_pull(task_ids=self.keep_if_verified_by)
            if verified:
                self.log.info("Subscription %s was verified by %s: keeping it", hook_id, self.keep_if_verified_by)
                return {"hook_id": hook_id, "channel": channel, "deleted": False}
        deleted = self.hook.delete_webhook_subscription(hook_id, hook_url=hook_url, missing_ok=self.missing_ok)
        if channel is not None:
            self._record_deletion(channel, hook_id)
        return {"hook_id": hook_id, "channel": channel, "deleted": deleted}

    def _record_deletion(self, channel: str, hook_id: str) -> None:
        """Record that ``hook_id`` is deleted; retire its secret unless another recorded subscription sends it."""
        from airflow_provider_dailybot.webhooks.channels import MAX_HOOK_ID_LENGTH, ChannelChange

        state = self._load_state(channel)
        removed = state.remove_subscription(hook_id)
        retire = []
        if removed is not None and not state.subscriptions_with_secret(removed.secret_sha256):
            retire = [h for h in state.secret_sha256 if h == removed.secret_sha256]
        deleted = [hook_id] if 0 < len(hook_id) <= MAX_HOOK_ID_LENGTH else []
        if removed is None and not retire and (not deleted or hook_id in state.deleted_hook_ids):
            return  # nothing to add: already recorded as deleted
        self._record_change(ChannelChange(channel, retire_sha256=retire, deleted_hook_ids=deleted))


class DailyBotPromoteWebhookSubscriptionOperator(DailyBotBaseOperator):
    """Make one verified subscription the only one of its channel: delete every other, retire their secrets.

    The last step of a rotation:

    * every other subscription recorded for the channel is deleted at DailyBot ("already gone" is
      fine) and forgotten;
    * so is every *unrecorded* subscription that delivered to the channel within ``orphan_lookback``
      (found through the channel asset's events): a subscription DailyBot created although the create
      call failed (a lost answer) identifies itself with its first delivery, the immediate sample. A
      hook id counts only when it was delivered with a secret of this channel that no recorded
      subscription sends and that was seen with no other hook id
      (:func:`~airflow_provider_dailybot.webhooks.bindings.unrecorded_subscriptions`); a hook id named
      with another subscription's secret is never deleted, an ambiguous one is logged and kept;
    * hook ids already deleted (``deleted_hook_ids`` of the channel state) are not sent again;
    * every secret hash not used by the kept subscription is retired, which also silences an
      unrecorded subscription that never delivered (DailyBot has no API to list subscriptions).

    If a delete fails, the operator raises after handling the others; the failed one stays recorded
    and its secret stays accepted, so the channel keeps working subscriptions and a retry converges.

    :param channel: The receiver channel (not templated: it sets the task's ``inlets``).
    :param subscription: The create operator's XCom of the subscription to keep. (templated)
    :param orphan_lookback: How far back to look for deliveries of unrecorded subscriptions.
    :param max_events: Most recent channel events read when looking for them.
    :param dailybot_conn_id: The DailyBot connection. (templated)
    """

    template_fields: Sequence[str] = ("subscription", "dailybot_conn_id")

    def __init__(
        self,
        *,
        channel: str,
        subscription: Any,
        orphan_lookback: timedelta = timedelta(days=8),
        max_events: int = 1000,
        dailybot_conn_id: str = DEFAULT_CONN_ID,
        **kwargs: Any,
    ) -> None:
        self.channel, self.asset, inlets = channel_inlets(channel, kwargs.pop("inlets", None))
        super().__init__(dailybot_conn_id=dailybot_conn_id, inlets=inlets, **kwargs)
        self.subscription = subscription
        self.orphan_lookback = orphan_lookback
        self.max_events = max_events
        self.check_static({
            "orphan_lookback": (orphan_lookback, require_timedelta("orphan_lookback")),
            "max_events": (max_events, require_number("max_events", integer=True)),
        })  # fmt: skip

    def _recent_deliveries(self, context: Context) -> list[Delivery]:
        """The deliveries (hook id and secret reference) recorded on the channel within ``orphan_lookback``."""
        from airflow_provider_dailybot.webhooks.asset_events import event_deliveries, recent_asset_events

        since = datetime.now(tz=timezone.utc) - self.orphan_lookback
        events = recent_asset_events(context, self.asset, since=since, limit=self.max_events)
        return [d for event in events for d in event_deliveries(dict(event.extra or {}))]

    def execute(self, context: Context) -> dict[str, Any]:
        from airflow_provider_dailybot.exceptions import DailyBotError
        from airflow_provider_dailybot.webhooks.bindings import ChannelBindings, unrecorded_subscriptions
        from airflow_provider_dailybot.webhooks.channel_changes import chunked_changes

        keep_id = subscription_field(self.subscription, "hook_id")
        if not isinstance(keep_id, str) or not keep_id:
            raise ValueError(
                f"subscription must be the create operator's XCom with a hook_id, got {self.subscription!r}"
            )
        state = self._load_state(self.channel)
        if state.get_subscription(keep_id) is None:
            raise ValueError(
                f"Subscription {keep_id} is not recorded for channel {self.channel!r}; refusing to delete others"
            )
        recorded = {s.hook_id: s.hook_url for s in state.subscriptions if s.hook_id != keep_id}
        orphans, ambiguous = unrecorded_subscriptions(
            self._recent_deliveries(context),
            ChannelBindings(state),
            exclude={keep_id, *recorded, *state.deleted_hook_ids},
        )
        if ambiguous:
            self.log.warning(
                "Channel %s: not deleting %d hook id(s) delivered with a secret that was also seen with other hook "
                "ids (someone holding it named them; their secrets are retired all the same): %s",
                self.channel,
                len(ambiguous),
                ", ".join(h[:64] for h in ambiguous[:20]),
            )
        targets = {**recorded, **dict.fromkeys(orphans)}
        deleted: list[str] = []
        already_gone: list[str] = []
        failures: list[str] = []
        for hook_id, hook_url in targets.items():
            try:
                existed = self.hook.delete_webhook_subscription(hook_id, hook_url=hook_url, missing_ok=True)
            except DailyBotError as err:
                failures.append(f"{hook_id}: {err}")
                continue
            state.remove_subscription(hook_id)
            (deleted if existed else already_gone).append(hook_id)
        in_use = {s.secret_sha256 for s in state.subscriptions}
        retired = [h for h in state.secret_sha256 if h not in in_use]
        # One change record of this task's own (a few for a very long list); nothing another task wrote is rewritten.
        for change in chunked_changes(self.channel, retire_sha256=retired, deleted_hook_ids=deleted + already_gone):
            self._record_change(change)
        self.log.info(
            "Channel %s: kept %s, deleted %s (%d unrecorded), retired %d secret(s)",
            self.channel,
            keep_id,
            deleted or "nothing",
            len(orphans),
            len(retired),
        )
        if failures:
            raise DailyBotError(
                f"Channel {self.channel!r}: could not delete {len(failures)} previous subscription(s); they keep "
                f"working until a retry deletes them: {'; '.join(failures)}"
            )
        return {
            "channel": self.channel,
            "kept": keep_id,
            "deleted": deleted,
            "already_gone": already_gone,
            "retired_secrets": len(retired),
        }
