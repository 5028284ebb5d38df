"""The message, kudos and export operators under ``dag.test()`` against the fake DailyBot (real metadata DB)."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pendulum
import pytest

from airflow_provider_dailybot.operators.export import (
    DailyBotExportCheckinResponsesOperator,
    DailyBotExportFormResponsesOperator,
    json_line,
)
from airflow_provider_dailybot.operators.kudos import DailyBotGiveKudosOperator
from airflow_provider_dailybot.operators.message import DailyBotSendMessageOperator
from airflow_provider_dailybot.testing import FakeDailyBotServer, seed
from tests.conftest import API_KEY
from tests.integration.dag_runs import all_xcom_text, run_dag, task_states, xcom

pytestmark = pytest.mark.db
START = pendulum.datetime(2025, 1, 1, tz="UTC")


def _one_task_dag(sync_dag: Any, dag_id: str, operator: type[Any], *, schedule: Any = None, **task: Any) -> Any:
    """A DAG of one ``operator(**task)``, written to the metadata DB (``sync_dag``) so ``dag.test()`` runs it."""
    from airflow.sdk import DAG

    with DAG(dag_id=dag_id, schedule=schedule, start_date=START, catchup=False) as dag:
        operator(**task)
    return sync_dag(dag)


def test_send_message_operator(fake: FakeDailyBotServer, sync_dag: Any) -> None:
    dag = _one_task_dag(
        sync_dag,
        "op_send_message",
        DailyBotSendMessageOperator,
        task_id="announce",
        message="Load of {{ ds }} done by {{ task.task_id }}",
        target_teams=["{{ params.team }}"],
        target_channels="C0DATA",
        buttons=[{"label": "Run {{ run_id }}", "button_type": "link", "url": "https://airflow.example.com"}],
        params={"team": seed.ENGINEERING_TEAM},
    )
    run = run_dag(dag, logical_date=pendulum.datetime(2025, 1, 7, tz="UTC"))

    assert task_states(run) == {"announce": "success"}
    (sent,) = fake.sent_messages
    assert sent["message"] == "Load of 2025-01-07 done by announce"
    assert sent["target_teams"] == [seed.ENGINEERING_TEAM]
    assert sent["target_channels"] == ["C0DATA"]
    assert sent["buttons"][0]["label"] == f"Run {run.run_id}"
    assert xcom(run, "announce") == {"bot_message_id": sent["bot_message_id"]}
    assert API_KEY not in all_xcom_text(run)


def test_give_kudos_operator(fake: FakeDailyBotServer, sync_dag: Any) -> None:
    dag = _one_task_dag(
        sync_dag,
        "op_give_kudos",
        DailyBotGiveKudosOperator,
        task_id="thanks",
        receivers=[seed.GRACE, "{{ params.second }}"],
        content="Thanks for keeping {{ dag.dag_id }} green",
        company_value="Ownership",
        params={"second": seed.ALAN},
    )
    run = run_dag(dag)

    assert task_states(run) == {"thanks": "success"}
    (given,) = fake.kudos
    assert given["content"] == "Thanks for keeping op_give_kudos green"
    assert [r["uuid"] for r in given["receivers"]] == [seed.GRACE, seed.ALAN]
    assert xcom(run, "thanks") == {"kudos_id": str(given["id"]), "receivers": [seed.GRACE, seed.ALAN]}
    assert API_KEY not in all_xcom_text(run)


def test_operators_refuse_a_missing_recipient_at_parse_time() -> None:
    with pytest.raises(ValueError, match="at least one of target_users"):
        DailyBotSendMessageOperator(task_id="x", message="hi", target_teams=[])
    with pytest.raises(ValueError, match="at least one receiver"):
        DailyBotGiveKudosOperator(task_id="y", receivers=[], content="thanks")


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_export_of_a_multi_page_range_equals_the_fake_and_is_written_once_per_interval(
    fake: FakeDailyBotServer, sync_dag: Any, tmp_path: Path
) -> None:
    fake.default_page_size = 3  # 19 responses: 7 pages
    dag = _one_task_dag(
        sync_dag,
        "op_export_range",
        DailyBotExportCheckinResponsesOperator,
        task_id="export",
        checkin_id=seed.CHECKIN_ID,
        date_start="{{ macros.ds_add(ds, -4) }}",
        date_end="{{ ds }}",
        destination=f"file://{tmp_path}/standups/{{{{ macros.ds_add(ds, -4) }}}}_{{{{ ds }}}}.jsonl",
    )
    first = run_dag(dag, logical_date=pendulum.datetime(2025, 1, 10, tz="UTC"))
    target = tmp_path / "standups" / "2025-01-06_2025-01-10.jsonl"
    expected = fake.checkin_responses(date_start="2025-01-06", date_end="2025-01-10")

    assert task_states(first) == {"export": "success"}
    assert len(expected) == 19
    assert _lines(target) == expected
    assert target.read_bytes() == b"".join(json_line(row) for row in expected)
    assert sum(1 for r in fake.requests if r.path.endswith("/responses/")) == 7
    summary = xcom(first, "export")
    assert summary == {
        "path": f"file://{target}",
        "rows": 19,
        "date_start": "2025-01-06",
        "date_end": "2025-01-10",
        "source": "checkin",
        "checkin_id": seed.CHECKIN_ID,
    }
    content = target.read_bytes()

    # The same interval again (a re-run or a backfill): the same object, the same bytes, not appended.
    second = run_dag(dag, logical_date=pendulum.datetime(2025, 1, 10, tz="UTC"))
    assert xcom(second, "export") == summary
    assert target.read_bytes() == content
    assert sorted(p.name for p in target.parent.iterdir()) == [target.name]
    assert API_KEY not in all_xcom_text(second)


def test_export_defaults_to_the_data_interval_and_keeps_the_old_object_on_failure(
    fake: FakeDailyBotServer, sync_dag: Any, tmp_path: Path
) -> None:
    fake.default_page_size = 2
    dag = _one_task_dag(
        sync_dag,
        "op_export_interval",
        DailyBotExportCheckinResponsesOperator,
        schedule="@daily",
        task_id="export",
        checkin_id=seed.CHECKIN_ID,
        destination=f"{tmp_path}/daily/{{{{ ds }}}}.jsonl",  # an absolute local path works too
        retries=0,
    )
    run = run_dag(dag, logical_date=pendulum.datetime(2025, 1, 8, tz="UTC"))
    target = tmp_path / "daily" / "2025-01-08.jsonl"
    assert xcom(run, "export")["rows"] == 4
    assert [row["has_issue"] for row in _lines(target)] == [False, True, False, False]
    before = target.read_bytes()

    fake.add_checkin_response(user_id=seed.GRACE, response_date="2025-01-08", plan="A late second answer")
    fault = fake.inject(status=500, path=f"/v1/checkins/{seed.CHECKIN_ID}/responses/", times=3)
    failed = run_dag(dag, logical_date=pendulum.datetime(2025, 1, 8, tz="UTC"))
    assert task_states(failed) == {"export": "failed"}
    assert target.read_bytes() == before  # nothing is written until every page was read

    assert fault.remaining == 0  # three attempts of the first page, as the hook's retry policy allows
    rerun = run_dag(dag, logical_date=pendulum.datetime(2025, 1, 8, tz="UTC"))
    assert xcom(rerun, "export")["rows"] == 5
    assert _lines(target) == fake.checkin_responses(date_start="2025-01-08", date_end="2025-01-08")


def test_form_export(fake: FakeDailyBotServer, sync_dag: Any, tmp_path: Path) -> None:
    dag = _one_task_dag(
        sync_dag,
        "op_export_form",
        DailyBotExportFormResponsesOperator,
        task_id="export_form",
        form_id=seed.FORM_ID,
        date_start="2025-01-01",
        date_end="2025-01-31",
        destination=f"file://{tmp_path}/forms/incidents-2025-01.jsonl",
    )
    run = run_dag(dag)
    target = tmp_path / "forms" / "incidents-2025-01.jsonl"
    assert _lines(target) == fake.organisation.form_responses[seed.FORM_ID]
    assert xcom(run, "export_form")["rows"] == 3
    assert xcom(run, "export_form")["form_id"] == seed.FORM_ID


def test_export_date_range_rules(fake: FakeDailyBotServer, tmp_path: Path) -> None:
    export = DailyBotExportCheckinResponsesOperator(
        task_id="export", checkin_id=seed.CHECKIN_ID, destination=f"file://{tmp_path}/x.jsonl"
    )
    new_york = SimpleNamespace(timezone=pendulum.timezone("America/New_York"))
    interval = {
        "dag": new_york,
        "data_interval_start": pendulum.datetime(2025, 1, 7, 5, tz="UTC"),
        "data_interval_end": pendulum.datetime(2025, 1, 8, 5, tz="UTC"),
    }
    assert export._date_range(interval) == ("2025-01-07", "2025-01-07")  # the DAG's calendar day
    with pytest.raises(ValueError, match="no data interval"):
        export.execute({})  # type: ignore[arg-type]
    for bad in ("relative/path.jsonl", "s3://bucket/folder/", ""):
        export.destination = bad
        with pytest.raises(ValueError, match="destination"):
            export.execute({"data_interval_start": "2025-01-07", "data_interval_end": "2025-01-07"})  # type: ignore[arg-type]
    assert fake.requests == []
