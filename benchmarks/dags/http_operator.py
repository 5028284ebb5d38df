"""Parse cost of the peer: the same rotation shape with ``HttpOperator`` and ``HttpSensor``."""

from __future__ import annotations

import pendulum
from airflow.providers.http.operators.http import HttpOperator
from airflow.providers.http.sensors.http import HttpSensor
from airflow.sdk import DAG, Asset, TaskGroup

with (
    DAG(
        dag_id="bench_parse_http_operator",
        schedule="@weekly",
        start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
        catchup=False,
        max_active_runs=1,
    ) as dag,
    TaskGroup("rotate_checkins"),
):
    create = HttpOperator(
        task_id="create_new_subscription",
        http_conn_id="dailybot_http",
        method="POST",
        endpoint="v1/webhook-subscription/",
        data='{"hook_url": "https://airflow.example.com/dailybot/webhooks/checkins"}',
        headers={"Content-Type": "application/json"},
    )
    verify = HttpSensor(
        task_id="verify_new_subscription",
        http_conn_id="airflow_api",
        endpoint="api/v2/assets/events",
        inlets=[Asset(name="dailybot_checkins", uri="dailybot://webhooks/checkins")],
        mode="reschedule",
        poke_interval=5,
        timeout=600,
    )
    promote = HttpOperator(
        task_id="promote_new_subscription",
        http_conn_id="dailybot_http",
        method="DELETE",
        endpoint="v1/webhook-subscription/",
    )
    rollback = HttpOperator(
        task_id="rollback_unverified_subscription",
        http_conn_id="dailybot_http",
        method="DELETE",
        endpoint="v1/webhook-subscription/",
    )
    create >> verify >> promote >> rollback.as_teardown(setups=create)
