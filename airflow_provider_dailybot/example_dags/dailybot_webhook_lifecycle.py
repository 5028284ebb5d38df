"""Create a DailyBot webhook subscription, prove it delivers, then delete it.

What it shows: the whole lifecycle of a subscription in one manually triggered run.

1. ``create_subscription`` generates a fresh ``X-BEARER`` secret, registers its hash with the receiver
   channel, and creates a subscription whose ``hook_url`` is the channel's public URL, asking DailyBot
   for an immediate sample delivery. Its XCom is ``{hook_id, hook_url, channel, events, created_at}``.
2. ``verify_delivery`` waits (poke mode, every 5 s, at most 300 s: the sample arrives within seconds)
   until the sample is recorded on the channel's asset, and returns the delivery.
3. ``delete_subscription`` is a teardown: it deletes the subscription and retires its secret even when
   the verification failed, so nothing is left behind at DailyBot.

What it needs:

* a ``dailybot`` connection ``dailybot_default`` (API key of an organization admin);
* the provider installed on the api-server (it mounts the receiver at ``/dailybot``) and
  ``[api] base_url`` (or ``[dailybot] receiver_base_url``) set to an address DailyBot can reach,
  e.g. a public https URL in front of the api-server;
* the channel name in ``DAILYBOT_LIFECYCLE_CHANNEL`` (default ``lifecycle``).
"""

from __future__ import annotations

import os

import pendulum
from airflow.sdk import DAG

from airflow_provider_dailybot.operators.webhook_subscription import (
    DailyBotCreateWebhookSubscriptionOperator,
    DailyBotDeleteWebhookSubscriptionOperator,
)
from airflow_provider_dailybot.sensors.webhook_delivery import DailyBotWebhookDeliverySensor

CHANNEL = os.environ.get("DAILYBOT_LIFECYCLE_CHANNEL", "lifecycle")

with DAG(
    dag_id="dailybot_webhook_lifecycle",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["example", "dailybot"],
    doc_md=__doc__,
):
    # [START howto_operator_dailybot_create_webhook_subscription]
    create = DailyBotCreateWebhookSubscriptionOperator(
        task_id="create_subscription",
        channel=CHANNEL,
        events=["followups.response.completed", "kudos.posted"],
    )
    # [END howto_operator_dailybot_create_webhook_subscription]

    # [START howto_sensor_dailybot_webhook_delivery]
    verify = DailyBotWebhookDeliverySensor(
        task_id="verify_delivery",
        channel=CHANNEL,
        subscription=create.output,
        poke_interval=5,
        timeout=300,
    )
    # [END howto_sensor_dailybot_webhook_delivery]

    # [START howto_operator_dailybot_delete_webhook_subscription]
    delete = DailyBotDeleteWebhookSubscriptionOperator(task_id="delete_subscription", subscription=create.output)
    # [END howto_operator_dailybot_delete_webhook_subscription]

    create >> verify >> delete.as_teardown(setups=create)
