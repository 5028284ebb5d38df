"""Parse cost of our operators: the rotation task group (create, delivery sensor, promote, delete)."""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG

from airflow_provider_dailybot.task_groups.webhook_rotation import dailybot_webhook_rotation

with DAG(
    dag_id="bench_parse_dailybot_operators",
    schedule="@weekly",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
) as dag:
    dailybot_webhook_rotation(channel="checkins", events=["followups.response.completed"], verify_timeout=600)
