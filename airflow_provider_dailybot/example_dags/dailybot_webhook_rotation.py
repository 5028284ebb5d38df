"""Rotate the webhook subscription (and its secret) of a receiver channel every week, losing no event.

What it shows: :func:`~airflow_provider_dailybot.task_groups.webhook_rotation.dailybot_webhook_rotation`,
which creates a new subscription with a fresh secret, waits for its sample delivery, then deletes
the previous subscription(s) and retires their secrets. Until the new one is verified the old one
keeps delivering; an event delivered by both during the overlap is recorded once. If any step fails,
the previous subscription and secret keep working and the half-created one is removed; the next run
(or a retry) converges.

What it needs: the ``dailybot_default`` connection, the receiver reachable at a public URL
(``[api] base_url``), and the channel name in ``DAILYBOT_CHANNEL`` (default ``checkins``), the channel the
``dailybot_checkin_completed`` DAG consumes. The first run simply creates the channel's subscription.
"""

from __future__ import annotations

import os
from datetime import timedelta

import pendulum
from airflow.sdk import DAG

from airflow_provider_dailybot.task_groups.webhook_rotation import dailybot_webhook_rotation

CHANNEL = os.environ.get("DAILYBOT_CHANNEL", "checkins")

with DAG(
    dag_id="dailybot_webhook_rotation",
    schedule="@weekly",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    tags=["example", "dailybot"],
    doc_md=__doc__,
):
    # [START howto_task_group_dailybot_webhook_rotation]
    dailybot_webhook_rotation(
        channel=CHANNEL,
        events=["followups.response.completed"],
        verify_timeout=600,
        retries=2,
        retry_delay=timedelta(minutes=1),
    )
    # [END howto_task_group_dailybot_webhook_rotation]
