"""Verify a DailyBot webhook subscription by waiting for one of its deliveries at the receiver."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseSensorOperator, PokeReturnValue

from airflow_provider_dailybot.operators.webhook_subscription import UI_COLOR, UI_FG_COLOR, subscription_field
from airflow_provider_dailybot.webhooks.assets import dailybot_webhook_asset, validate_channel_name

if TYPE_CHECKING:
    from airflow.sdk import Context


def _parse_since(value: object) -> datetime | None:
    if value is None or value == "" or value == "None":
        return None
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(f"since must be an ISO 8601 time, got {value!r}") from None
    else:
        raise TypeError(f"since must be an ISO 8601 string or a datetime, got {type(value).__name__}")
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def delivered_by(extra: dict[str, Any]) -> list[str]:
    """Return the hook ids that delivered a recorded event (the receiver merges duplicates into one event).

    A hook id the receiver flagged as disagreeing with its secret (``hook_id_mismatch``) is left out. This
    list is informational: whether a delivery proves anything is decided with the channel's bindings
    (:class:`~airflow_provider_dailybot.webhooks.bindings.ChannelBindings`).

    :param extra: The asset event's ``extra`` as written by the receiver.
    """
    from airflow_provider_dailybot.webhooks.bindings import DELIVERED_BY_KEY, DELIVERIES_KEY, event_deliveries

    if DELIVERIES_KEY in extra:
        return [h for h in (extra.get(DELIVERED_BY_KEY) or []) if isinstance(h, str)]
    return [d.hook_id for d in event_deliveries(extra)]  # an event of a 0.1 receiver


def recent_asset_events(context: Context, asset: Any, *, since: datetime | None, limit: int) -> list[Any]:
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


class DailyBotWebhookDeliverySensor(BaseSensorOperator):
    """Wait until a delivery from a given DailyBot subscription has been recorded on a receiver channel.

    DailyBot has no API to read a subscription back, so the only proof that a subscription works is a
    delivery arriving: the immediate sample event requested at creation, or any real event. The sensor
    reads the channel asset's events through the task's ``inlet_events`` (the asset is added to
    ``inlets``), looks only at events recorded since the subscription's creation (minus
    ``clock_skew``), at most ``max_events`` of them per poke, and succeeds when one was delivered by
    ``hook_id`` **with that subscription's own secret** (also when the receiver merged it as a
    duplicate of another subscription's delivery: such an event can be older than ``since`` by up to
    the receiver's dedupe window, which the sensor therefore adds to its look-back).

    The subscription must be recorded in the channel state (the create operator records it): its
    record binds its secret to its hook id. A delivery that names ``hook_id`` but was authenticated
    with another secret of the channel (anyone who saw a delivery holds one) never satisfies the
    sensor, nor does an event recorded by a 0.1 receiver (which kept no secret reference).
    The matching delivery (event, timestamp, hook, delivery id; not the body) is returned to XCom.

    It defaults to ``mode="reschedule"``: no worker slot is held between pokes. It does not defer,
    because Airflow triggers cannot read asset events (``inlet_events`` exists only in a task's
    context), and a reschedule poke costs one small Execution-API query.

    On Airflow 3.1 ``inlet_events[asset]`` is a plain list of *every* event of the asset (no
    ``after``/``limit``); the sensor then filters in Python, which costs more on a busy channel.

    .. code-block:: python

        verify = DailyBotWebhookDeliverySensor(
            task_id="verify", channel="checkins", subscription=create.output, timeout=300
        )

    :param channel: The receiver channel (not templated: it sets the task's ``inlets``).
    :param subscription: The create operator's XCom (``create.output``); supplies ``hook_id``,
        ``hook_url`` and ``created_at``. (templated)
    :param hook_id: The hook id, instead of ``subscription``. (templated)
    :param since: ISO time after which deliveries count; defaults to the subscription's
        ``created_at``. (templated)
    :param hook_url: The subscription's URL, for messages only. (templated)
    :param clock_skew: Seconds subtracted from ``since`` for clock differences between worker and api-server.
    :param max_events: Most recent events read per poke.
    """

    template_fields: Sequence[str] = ("subscription", "hook_id", "since", "hook_url")
    ui_color = UI_COLOR
    ui_fgcolor = UI_FG_COLOR

    def __init__(
        self,
        *,
        channel: str,
        subscription: Any = None,
        hook_id: str | None = None,
        since: str | datetime | None = None,
        hook_url: str | None = None,
        clock_skew: float = 5.0,
        max_events: int = 500,
        mode: str = "reschedule",
        poke_interval: float = 5.0,
        timeout: float = 600.0,
        **kwargs: Any,
    ) -> None:
        self.channel = validate_channel_name(channel)
        self.asset = dailybot_webhook_asset(self.channel)
        inlets = list(kwargs.pop("inlets", None) or [])
        if self.asset not in inlets:
            inlets.append(self.asset)
        super().__init__(inlets=inlets, mode=mode, poke_interval=poke_interval, timeout=timeout, **kwargs)
        if not isinstance(max_events, int) or isinstance(max_events, bool) or max_events < 1:
            raise ValueError(f"max_events must be a positive integer, got {max_events!r}")
        if not isinstance(clock_skew, (int, float)) or clock_skew < 0:
            raise ValueError(f"clock_skew must be a non-negative number of seconds, got {clock_skew!r}")
        self.subscription = subscription
        self.hook_id = hook_id
        self.since = since
        self.hook_url = hook_url
        self.clock_skew = float(clock_skew)
        self.max_events = max_events

    def _target(self) -> tuple[str, datetime | None, str | None]:
        hook_id = self.hook_id or subscription_field(self.subscription, "hook_id")
        if not isinstance(hook_id, str) or not hook_id.strip() or hook_id == "None":
            raise ValueError(f"No hook id to verify (got {hook_id!r}): pass hook_id, or subscription=<create>.output")
        since = _parse_since(self.since or subscription_field(self.subscription, "created_at"))
        hook_url = self.hook_url or subscription_field(self.subscription, "hook_url")
        return hook_id.strip(), since, hook_url if isinstance(hook_url, str) else None

    def _recent_events(self, context: Context, since: datetime | None) -> list[Any]:
        from airflow_provider_dailybot.webhooks.config import receiver_dedupe_window_seconds

        # The receiver merges a duplicate into the ORIGINAL event (adding the hook id to delivered_by),
        # which may have been recorded up to the dedupe window before this subscription existed.
        lookback = self.clock_skew + receiver_dedupe_window_seconds()
        floor = since - timedelta(seconds=lookback) if since is not None else None
        return recent_asset_events(context, self.asset, since=floor, limit=self.max_events)

    def _bindings(self, hook_id: str) -> Any:
        from airflow_provider_dailybot.webhooks.bindings import ChannelBindings
        from airflow_provider_dailybot.webhooks.channels import TaskChannelStore

        bindings = ChannelBindings(TaskChannelStore().load(self.channel))
        if bindings.ref_of(hook_id) is None:
            raise ValueError(
                f"Subscription {hook_id} is not recorded for channel {self.channel!r}: only a subscription whose "
                "record binds its secret to its hook id (DailyBotCreateWebhookSubscriptionOperator records it) can "
                "be verified, since any holder of a channel secret can post a delivery naming any hook id"
            )
        return bindings

    def poke(self, context: Context) -> bool | PokeReturnValue:
        from airflow_provider_dailybot.webhooks.bindings import event_deliveries

        hook_id, since, _ = self._target()
        bindings = self._bindings(hook_id)
        events = self._recent_events(context, since)
        for event in events:
            extra = dict(event.extra or {})
            if any(bindings.verifies(d, hook_id) for d in event_deliveries(extra)):
                delivery = {
                    "hook_id": hook_id,
                    "channel": self.channel,
                    "event": extra.get("event"),
                    "event_timestamp": extra.get("event_timestamp"),
                    "delivery_id": extra.get("delivery_id"),
                    "recorded_at": event.timestamp.isoformat(),
                    "delivered_by": delivered_by(extra),
                }
                self.log.info("Subscription %s delivered %s at %s", hook_id, delivery["event"], delivery["recorded_at"])
                return PokeReturnValue(is_done=True, xcom_value=delivery)
        if len(events) >= self.max_events:
            self.log.warning(
                "Channel %s had %d or more events since %s; raise max_events if the delivery is older",
                self.channel,
                self.max_events,
                since,
            )
        self.log.info(
            "No delivery from subscription %s on channel %s yet (%d recent events)", hook_id, self.channel, len(events)
        )
        return False

    def execute(self, context: Context) -> Any:
        # airflow.exceptions re-exports the Task SDK's class on 3.3 and defines it on 3.1.
        from airflow.exceptions import AirflowSensorTimeout

        hook_id, since, hook_url = self._target()
        try:
            return super().execute(context)
        except AirflowSensorTimeout as err:
            raise AirflowSensorTimeout(
                f"No delivery from DailyBot webhook subscription {hook_id} ({hook_url or 'unknown URL'}) reached "
                f"channel {self.channel!r} within {self.timeout:g} s since {since}. Check that DailyBot can reach the "
                "URL (public address, TLS), that the receiver runs on the api-server, and that a DAG declares "
                f"the channel's asset. ({err})"
            ) from err
