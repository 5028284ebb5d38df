"""A task group that rotates a receiver channel's DailyBot webhook subscription without losing an event."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow.sdk import TaskGroup

from airflow_provider_dailybot.connection import DEFAULT_CONN_ID
from airflow_provider_dailybot.operators._base import check_static, require_event_names, require_number, require_uuids
from airflow_provider_dailybot.operators.webhook_subscription import (
    DailyBotCreateWebhookSubscriptionOperator,
    DailyBotDeleteWebhookSubscriptionOperator,
    DailyBotPromoteWebhookSubscriptionOperator,
)
from airflow_provider_dailybot.sensors.webhook_delivery import DailyBotWebhookDeliverySensor
from airflow_provider_dailybot.webhooks.assets import validate_channel_name


def dailybot_webhook_rotation(
    *,
    channel: str,
    events: Sequence[str],
    group_id: str | None = None,
    name: str | None = None,
    subscribed_objects: Sequence[str] | None = None,
    verify_timeout: float = 300.0,
    poke_interval: float = 5.0,
    dailybot_conn_id: str = DEFAULT_CONN_ID,
    **task_kwargs: Any,
) -> TaskGroup:
    """Build the rotation of a channel's subscription: new secret → create → verify → promote → retire old.

    Tasks (ids inside the group):

    ``create_new_subscription``
        A fresh secret is registered with the channel and a new subscription is created with
        ``immediate_sample_event`` (the old subscription and secret keep working).
    ``verify_new_subscription``
        Waits (poke mode, every ``poke_interval`` seconds, at most ``verify_timeout``) for a delivery from
        the new subscription, normally its sample, which arrives within seconds (see
        :class:`~airflow_provider_dailybot.sensors.webhook_delivery.DailyBotWebhookDeliverySensor` for
        why poke mode).
    ``promote_new_subscription``
        Deletes every other subscription of the channel at DailyBot and retires their secrets. An event
        delivered by both subscriptions during the overlap is recorded once (the receiver deduplicates).
    ``rollback_unverified_subscription`` (teardown of the create task)
        If the new subscription was not verified, deletes it and retires its secret, so a failed
        rotation leaves the previous subscription and secret working and no orphan at DailyBot. When
        verification succeeded it does nothing.

    Re-running a failed rotation (a task retry or a new run) converges: promote keeps only the newest
    verified subscription and retires every other secret, including one registered by a create
    whose answer was lost.

    .. code-block:: python

        with DAG("rotate", schedule="@weekly", start_date=pendulum.datetime(2026, 1, 1), catchup=False):
            dailybot_webhook_rotation(channel="checkins", events=["followups.response.completed"])

    :param channel: The receiver channel whose subscription is rotated.
    :param events: The event names the new subscription subscribes to.
    :param group_id: Task group id; defaults to ``rotate_<channel>``.
    :param name: Subscription name shown in DailyBot.
    :param subscribed_objects: Check-in or form UUIDs to limit the subscription to.
    :param verify_timeout: Seconds to wait for the new subscription's first delivery (default 300).
    :param poke_interval: Seconds between verification pokes (default 5).
    :param dailybot_conn_id: The DailyBot connection.
    :param task_kwargs: Passed to every task (e.g. ``retries``, ``retry_delay``).
    """
    channel = validate_channel_name(channel)
    if isinstance(events, str) or not isinstance(events, Sequence):
        raise TypeError(f"events must be a list of DailyBot event names, got {type(events).__name__}")
    check_static(f"dailybot_webhook_rotation {channel!r}", {
        "events": (events, require_event_names("events")),
        "verify_timeout": (verify_timeout, require_number("verify_timeout")),
        "poke_interval": (poke_interval, require_number("poke_interval")),
        "subscribed_objects": (subscribed_objects, require_uuids("subscribed_objects")),
    })  # fmt: skip
    with TaskGroup(group_id or f"rotate_{channel}") as group:
        create = DailyBotCreateWebhookSubscriptionOperator(
            task_id="create_new_subscription",
            channel=channel,
            events=list(events),
            name=name,
            subscribed_objects=list(subscribed_objects) if subscribed_objects is not None else None,
            immediate_sample_event=True,
            dailybot_conn_id=dailybot_conn_id,
            **task_kwargs,
        )
        verify = DailyBotWebhookDeliverySensor(
            task_id="verify_new_subscription",
            channel=channel,
            subscription=create.output,
            timeout=verify_timeout,
            poke_interval=poke_interval,
            **task_kwargs,
        )
        promote = DailyBotPromoteWebhookSubscriptionOperator(
            task_id="promote_new_subscription",
            channel=channel,
            subscription=create.output,
            dailybot_conn_id=dailybot_conn_id,
            **task_kwargs,
        )
        rollback = DailyBotDeleteWebhookSubscriptionOperator(
            task_id="rollback_unverified_subscription",
            subscription=create.output,
            keep_if_verified_by=verify.task_id,
            dailybot_conn_id=dailybot_conn_id,
            **task_kwargs,
        )
        create >> verify >> promote >> rollback.as_teardown(setups=create)
    return group
