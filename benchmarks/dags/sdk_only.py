"""Parse-cost baseline: the rotation shape (4 tasks in a group, a sensor with an asset inlet), ``airflow.sdk`` only."""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG, Asset, BaseOperator, BaseSensorOperator, TaskGroup


class CreateSubscription(BaseOperator):
    """Stands for the create operator."""

    def execute(self, context):
        return {"hook_id": "x"}


class WaitForDelivery(BaseSensorOperator):
    """Stands for the delivery sensor."""

    def poke(self, context):
        return True


class PromoteSubscription(BaseOperator):
    """Stands for the promote operator."""

    def execute(self, context):
        return None


class DeleteSubscription(BaseOperator):
    """Stands for the delete (rollback) operator."""

    def execute(self, context):
        return None


with (
    DAG(
        dag_id="bench_parse_sdk_only",
        schedule="@weekly",
        start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
        catchup=False,
        max_active_runs=1,
    ) as dag,
    TaskGroup("rotate_checkins"),
):
    create = CreateSubscription(task_id="create_new_subscription")
    verify = WaitForDelivery(
        task_id="verify_new_subscription",
        inlets=[Asset(name="dailybot_checkins", uri="dailybot://webhooks/checkins")],
        mode="reschedule",
        poke_interval=5,
        timeout=600,
    )
    promote = PromoteSubscription(task_id="promote_new_subscription")
    rollback = DeleteSubscription(task_id="rollback_unverified_subscription")
    create >> verify >> promote >> rollback.as_teardown(setups=create)
