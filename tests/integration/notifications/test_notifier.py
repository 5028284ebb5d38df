"""DailyBotNotifier: a failing task sends exactly one rendered DailyBot message (dag.test on the real DB)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pendulum
import pytest

from airflow_provider_dailybot.notifications.dailybot import DailyBotNotifier, send_dailybot_notification
from airflow_provider_dailybot.testing import FakeDailyBotServer, seed
from tests.conftest import API_KEY, airflow_version
from tests.integration.dag_runs import run_dag, task_states

pytestmark = pytest.mark.db


def _failing_dag(dag_id: str, notifier: DailyBotNotifier, tasks: tuple[str, ...] = ("load",)) -> Any:
    from airflow.sdk import DAG, task

    with DAG(dag_id=dag_id, schedule=None, start_date=pendulum.datetime(2025, 1, 1, tz="UTC"), catchup=False) as dag:
        for task_id in tasks:

            @task(task_id=task_id, on_failure_callback=notifier, retries=0)
            def boom() -> None:
                raise RuntimeError("the warehouse is on fire")

            boom()
    return dag


def test_failed_task_sends_exactly_one_rendered_message(
    fake: FakeDailyBotServer, sync_dag: Any, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    notifier = DailyBotNotifier(target_teams=[seed.ENGINEERING_TEAM], target_users=seed.MARGARET)
    dag = sync_dag(_failing_dag("notifier_failure", notifier))
    run = run_dag(dag, logical_date=pendulum.datetime(2025, 1, 8, tz="UTC"))

    assert task_states(run) == {"load": "failed"}
    (message,) = fake.sent_messages
    text = message["message"]
    assert "task *load* of DAG *notifier_failure*: failed" in text
    assert f"(run {run.run_id}, try 1)" in text
    if airflow_version() >= (3, 3):
        # Airflow 3.1 adds the exception to the callback context only in a real task process, not under
        # dag.test(); the template then leaves the line out.
        assert "Error: the warehouse is on fire" in text
    assert "Logs: http" in text
    assert message["target_teams"] == [seed.ENGINEERING_TEAM]
    assert message["target_users"] == [seed.MARGARET]
    assert API_KEY not in str(message)
    (request,) = [r for r in fake.requests if r.path == "/v1/send-message/"]
    assert request.method == "POST"
    output = capsys.readouterr()
    assert "Sent a DailyBot message" in output.out + output.err + caplog.text  # the output was captured
    assert API_KEY not in output.out + output.err + caplog.text


def test_custom_template_and_one_notifier_shared_by_two_tasks(fake: FakeDailyBotServer, sync_dag: Any) -> None:
    notifier = send_dailybot_notification(
        message="{{ dag.dag_id }}.{{ ti.task_id }} failed on {{ ds }}",
        target_channels=[{"id": "C0ALERTS", "thread": "1700000000.1"}],
        buttons=[{"label": "Logs", "button_type": "link", "url": "{{ ti.log_url }}"}],
    )
    dag = sync_dag(_failing_dag("notifier_shared", notifier, tasks=("extract", "load")))
    run_dag(dag, logical_date=pendulum.datetime(2025, 1, 9, tz="UTC"))

    texts = sorted(m["message"] for m in fake.sent_messages)
    assert texts == ["notifier_shared.extract failed on 2025-01-09", "notifier_shared.load failed on 2025-01-09"]
    for message in fake.sent_messages:
        assert message["target_channels"] == [{"id": "C0ALERTS", "thread": "1700000000.1"}]
        assert message["buttons"][0]["url"].startswith("http")
        assert "{{" not in message["buttons"][0]["url"]


def test_success_callback_names_the_state(fake: FakeDailyBotServer, sync_dag: Any) -> None:
    from airflow.sdk import DAG, task

    notifier = DailyBotNotifier(target_teams=seed.DESIGN_TEAM)
    with DAG(
        dag_id="notifier_success", schedule=None, start_date=pendulum.datetime(2025, 1, 1, tz="UTC"), catchup=False
    ) as dag:

        @task(on_success_callback=notifier)
        def fine() -> int:
            return 1

        fine()
    run_dag(sync_dag(dag))
    (message,) = fake.sent_messages
    assert "task *fine* of DAG *notifier_success*: success" in message["message"]
    assert "Error:" not in message["message"]


def test_async_notify_for_deadline_alerts(fake: FakeDailyBotServer) -> None:
    """Deadline alerts await the notifier class with a reduced context (no dag, no ti) in the triggerer."""
    context = {"dag_run": {"dag_id": "nightly", "run_id": "scheduled__2025-01-08", "state": "running"}}

    async def fire() -> None:
        await DailyBotNotifier(target_teams=[seed.ENGINEERING_TEAM], context=context)  # type: ignore[arg-type]

    asyncio.run(fire())
    (message,) = fake.sent_messages
    assert message["message"] == "Airflow DAG *nightly*: running (run scheduled__2025-01-08)"


def test_arguments_are_validated_before_any_request(fake: FakeDailyBotServer) -> None:
    with pytest.raises(ValueError, match="at least one of target_users"):
        DailyBotNotifier()
    with pytest.raises(ValueError, match="non-empty string"):
        DailyBotNotifier(message=" ", target_teams=[seed.DESIGN_TEAM])
    notifier = DailyBotNotifier(target_teams=["not-a-uuid"])
    with pytest.raises(ValueError, match="target_teams item 'not-a-uuid' is not a UUID"):
        notifier({"dag": None})
    assert fake.requests == []


def test_an_api_error_is_raised_after_one_attempt(fake: FakeDailyBotServer) -> None:
    from airflow_provider_dailybot.exceptions import DailyBotServerError

    fake.inject(status=503, path="/v1/send-message/", times=3)
    notifier = DailyBotNotifier(message="x", target_teams=[seed.DESIGN_TEAM])
    with pytest.raises(DailyBotServerError):
        notifier({})
    assert len(fake.requests) == 1  # a POST that may have been processed is never repeated
    assert fake.sent_messages == []


def test_a_deadline_alert_with_the_notifier_serializes() -> None:
    """SLA-style alerts: Airflow 3.1+ deadline alerts take the notifier class as an async callback."""
    from datetime import timedelta

    from airflow.providers.standard.operators.empty import EmptyOperator
    from airflow.sdk import DAG
    from airflow.sdk.definitions.deadline import AsyncCallback, DeadlineAlert, DeadlineReference

    try:
        from airflow.serialization.serialized_objects import DagSerialization as Serializer
    except ImportError:  # Airflow 3.1
        from airflow.serialization.serialized_objects import SerializedDAG as Serializer

    alert = DeadlineAlert(
        reference=DeadlineReference.DAGRUN_QUEUED_AT,
        interval=timedelta(hours=1),
        callback=AsyncCallback(DailyBotNotifier, kwargs={"target_teams": [seed.ENGINEERING_TEAM]}),
    )
    with DAG(
        "notifier_deadline", schedule=None, start_date=pendulum.datetime(2025, 1, 1, tz="UTC"), deadline=alert
    ) as dag:
        EmptyOperator(task_id="work")
    serialized = json.dumps(Serializer.to_dict(dag))
    assert "airflow_provider_dailybot.notifications.dailybot.DailyBotNotifier" in serialized
    assert seed.ENGINEERING_TEAM in serialized
