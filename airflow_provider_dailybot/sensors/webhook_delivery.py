"""Verify a DailyBot webhook subscription by waiting for one of its deliveries at the receiver."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseSensorOperator, PokeReturnValue

from airflow_provider_dailybot.operators._base import (
    UI_COLOR,
    UI_FG_COLOR,
    channel_inlets,
    check_static,
    require_number,
    require_text,
    subscription_field,
    target_hook_id,
)
from airflow_provider_dailybot.webhooks.asset_events import (
    DELIVERY_ID_KEY,
    EVENT_KEY,
    EVENT_TIMESTAMP_KEY,
    delivered_by,
    event_deliveries,
    recent_asset_events,
)

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


def sensor_timeout_class() -> type[Exception]:
    """Return the ``AirflowSensorTimeout`` class that Airflow's ``BaseSensorOperator`` raises.

    The Task SDK defines it (``airflow.sdk.exceptions``) from Airflow 3.2 on, and ``airflow.exceptions``
    only re-exports it with a deprecation warning; Airflow 3.1 defines it in ``airflow.exceptions``.
    """
    try:
        from airflow.sdk.exceptions import AirflowSensorTimeout
    except ImportError:  # Airflow 3.1
        from airflow.exceptions import AirflowSensorTimeout  # type: ignore[no-redef,unused-ignore]
    return AirflowSensorTimeout


class DailyBotWebhookDeliverySensor(BaseSensorOperator):
    """Wait until a delivery from a given DailyBot subscription has been recorded on a receiver channel.

    DailyBot has no API to read a subscription back, so the only proof that a subscription works is a
    delivery arriving: the immediate sample event requested at creation, or any real event. The sensor
    reads the channel asset's events through the task's ``inlet_events`` (the asset is added to
    ``inlets``), looks only at events recorded since the subscription's creation (minus
    ``clock_skew``), at most ``max_events`` of them per poke, and succeeds when one was delivered by
    ``hook_id`` **with that subscription's own secret** (also when the receiver merged it as a
    duplicate of another subscription's delivery: such an event is older than ``since``, by seconds
    during a rotation; the sensor looks back ``[dailybot] receiver_dedupe_window_seconds`` further).

    The subscription must be recorded in the channel state (the create operator records it): its
    record binds its secret to its hook id. A delivery that names ``hook_id`` but was authenticated
    with another secret of the channel (anyone who saw a delivery holds one) never satisfies the
    sensor, nor does an event recorded by a 0.1 receiver (which kept no secret reference).
    The matching delivery (event, timestamp, hook, delivery id; not the body) is returned to XCom.

    It defaults to ``mode="poke"`` with ``poke_interval=5`` and ``timeout=300``: the delivery it
    waits for is the immediate sample, which DailyBot sends within seconds of the subscription's
    creation, so the expected wait is far below the minute from which Airflow recommends
    ``mode="reschedule"`` (whose pokes should be at least 60 s apart). Measured on Airflow 3.3 with
    the LocalExecutor and the fake DailyBot (create → verify, 2 cores):

    * sample already recorded at the first poke (the usual case): both modes succeed on the first
      poke, holding a worker slot about 1 s; verified 1.3 to 1.8 s after the create task ended;
    * sample 20 s late: poke (5 s) holds one slot 21 s and verifies 21.6 s after create; reschedule
      (60 s) holds a slot twice for under 1 s each but verifies 62.5 s after create, so the rotation
      (and its promote) ends a minute later, and every reschedule starts the task again (a new
      process, a new pod on Kubernetes, a DAG-file parse); reschedule with a 5 s interval (the 0.1
      default) was marked failed by the scheduler: the executor's "success" for one poke arrived
      after the next poke was queued (apache/airflow#71172, still open).

    So poke mode frees the worker for good sooner and avoids that race; the short ``timeout``
    bounds what a subscription whose sample never arrives can hold (5 minutes of one slot). For a
    long wait (e.g. verifying with a real event rather than the sample) pass ``mode="reschedule"``
    with ``poke_interval`` of 60 s or more. The sensor does not defer, because Airflow triggers
    cannot read asset events (``inlet_events`` exists only in a task's context).

    On Airflow 3.1 ``inlet_events[asset]`` is a plain list of *every* event of the asset (no
    ``after``/``limit``); the sensor then filters in Python, which costs more on a busy channel.

    .. code-block:: python

        verify = DailyBotWebhookDeliverySensor(
            task_id="verify", channel="checkins", subscription=create.output
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
    :param mode: ``"poke"`` (default) or ``"reschedule"`` (then use a ``poke_interval`` of 60 s or more).
    :param poke_interval: Seconds between pokes (default 5).
    :param timeout: Seconds to wait for the delivery before failing (default 300).
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
        mode: str = "poke",
        poke_interval: float = 5.0,
        timeout: float = 300.0,
        **kwargs: Any,
    ) -> None:
        self.channel, self.asset, inlets = channel_inlets(channel, kwargs.pop("inlets", None))
        super().__init__(inlets=inlets, mode=mode, poke_interval=poke_interval, timeout=timeout, **kwargs)
        check_static(f"{type(self).__name__} {self.task_id!r}", {
            "hook_id": (hook_id, require_text("hook_id")),
            "since": (since, _parse_since),
            "clock_skew": (clock_skew, require_number("clock_skew", inclusive=True)),
            "max_events": (max_events, require_number("max_events", integer=True)),
        }, templated=self.template_fields)  # fmt: skip
        self.subscription = subscription
        self.hook_id = hook_id
        self.since = since
        self.hook_url = hook_url
        self.clock_skew = float(clock_skew)
        self.max_events = max_events

    def _target(self) -> tuple[str, datetime | None, str | None]:
        hook_id = target_hook_id(self.hook_id, self.subscription, purpose="verify")
        since = _parse_since(self.since or subscription_field(self.subscription, "created_at"))
        hook_url = self.hook_url or subscription_field(self.subscription, "hook_url")
        return hook_id, since, hook_url if isinstance(hook_url, str) else None

    def _recent_events(self, context: Context, since: datetime | None) -> list[Any]:
        from airflow_provider_dailybot.webhooks.config import receiver_dedupe_window_seconds

        # The receiver merges a duplicate into the ORIGINAL event (adding the hook id to delivered_by), recorded
        # before this subscription existed: seconds before during a rotation. The 0.1 window (which now only
        # bounds the upgrade's backfill) is kept as the look-back past the subscription's creation.
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
        hook_id, since, _ = self._target()
        bindings = self._bindings(hook_id)
        events = self._recent_events(context, since)
        for event in events:
            extra = dict(event.extra or {})
            if any(bindings.verifies(d, hook_id) for d in event_deliveries(extra)):
                delivery = {
                    "hook_id": hook_id,
                    "channel": self.channel,
                    "event": extra.get(EVENT_KEY),
                    "event_timestamp": extra.get(EVENT_TIMESTAMP_KEY),
                    "delivery_id": extra.get(DELIVERY_ID_KEY),
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
        AirflowSensorTimeout = sensor_timeout_class()

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
