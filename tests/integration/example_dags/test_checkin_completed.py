"""The example consumer DAG ``dailybot_checkin_completed``: parsing, channel override, and processing every event."""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest

from airflow_provider_dailybot.testing.samples import make_envelope, sample_body
from airflow_provider_dailybot.webhooks.assets import dailybot_webhook_asset
from airflow_provider_dailybot.webhooks.receiver import build_event_extra
from tests.conftest import REPO_ROOT

DAG_FILE = REPO_ROOT / "airflow_provider_dailybot" / "example_dags" / "dailybot_checkin_completed.py"
CHECKIN = "followups.response.completed"


def load_dag_module(monkeypatch: pytest.MonkeyPatch, channel: str | None = None) -> ModuleType:
    if channel is None:
        monkeypatch.delenv("DAILYBOT_CHANNEL", raising=False)
    else:
        monkeypatch.setenv("DAILYBOT_CHANNEL", channel)
    spec = importlib.util.spec_from_file_location("example_dailybot_checkin_completed", DAG_FILE)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, module)
    spec.loader.exec_module(module)
    return module


def event(payload: dict[str, Any], delivery_id: str) -> Any:
    """An item of ``triggering_asset_events`` as far as the DAG reads it: ``extra``, no ``id``."""
    asset = SimpleNamespace(name="dailybot_checkins", uri="dailybot://webhooks/checkins")
    return SimpleNamespace(asset=asset, source_aliases=[], extra=build_event_extra("checkins", payload, delivery_id))


def accessor(events: list[Any]) -> Any:
    """The real mapping Airflow passes as ``triggering_asset_events``."""
    from airflow.sdk.execution_time.context import TriggeringAssetEventsAccessor

    return TriggeringAssetEventsAccessor.build(events)


def test_dag_is_scheduled_on_the_channel_asset(monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow.sdk import AssetAll

    module = load_dag_module(monkeypatch)
    dag = module.dailybot_checkin_completed()
    assert dag.dag_id == "dailybot_checkin_completed"
    condition = dag.timetable.asset_condition
    assert isinstance(condition, AssetAll)
    assert list(condition.objects) == [dailybot_webhook_asset("checkins")]

    other = load_dag_module(monkeypatch, "team-a")
    assert list(other.dailybot_checkin_completed().timetable.asset_condition.objects) == [
        dailybot_webhook_asset("team-a")
    ]


def test_dag_parses_without_import_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    try:
        from airflow.dag_processing.dagbag import DagBag  # Airflow 3.2+
    except ImportError:
        from airflow.models.dagbag import DagBag  # type: ignore[no-redef]  # Airflow 3.1

    monkeypatch.delenv("DAILYBOT_CHANNEL", raising=False)
    bag = DagBag(dag_folder=str(DAG_FILE))
    assert bag.import_errors == {}
    dag = bag.dags["dailybot_checkin_completed"]
    assert [t.task_id for t in dag.tasks] == ["summarize_checkins"]


def test_summary_names_who_completed_and_the_blockers(monkeypatch: pytest.MonkeyPatch) -> None:
    module = load_dag_module(monkeypatch)
    payload = make_envelope(CHECKIN, hook_id="h", hook_name="n", timestamp=1.0)
    summary = module.summarize_checkin(build_event_extra("checkins", payload, "d-1"))
    body = sample_body(CHECKIN)
    blocked_questions = [uuid for uuid, blocked in body["blockers_status"].items() if blocked]
    assert summary["who"] == body["user"]["full_name"]
    assert summary["delivery_id"] == "d-1"
    assert summary["blocked"] is True
    assert [b["answer"] for b in summary["blockers"]] == [body["content"][q] for q in blocked_questions]

    anonymous = {**payload, "body": {**body, "is_anonymous": True, "has_issue": False, "blockers_status": {}}}
    quiet = module.summarize_checkin(build_event_extra("checkins", anonymous, "d-2"))
    assert quiet["who"] == "anonymous"
    assert quiet["blocked"] is False
    assert quiet["blockers"] == []

    flagged = {**payload, "body": {**body, "has_issue": True, "blockers_status": {}}}
    only_flag = module.summarize_checkin(build_event_extra("checkins", flagged, "d-3"))
    assert only_flag["blocked"] is True  # has_issue alone blocks, with no question to name
    assert only_flag["blockers"] == [{"question": None, "answer": None}]


def test_task_processes_every_triggering_event(monkeypatch: pytest.MonkeyPatch) -> None:
    """Several deliveries can arrive in one run (apache/airflow#56050): none may be dropped."""
    module = load_dag_module(monkeypatch)
    task = module.dailybot_checkin_completed().get_task("summarize_checkins")
    body = sample_body(CHECKIN)
    events = [
        event(make_envelope(CHECKIN, hook_id="h", hook_name="n", timestamp=1.0), "d-1"),
        event(make_envelope("kudos.posted", hook_id="h", hook_name="n", timestamp=2.0), "d-2"),
        event(make_envelope(CHECKIN, hook_id="h", hook_name="n", timestamp=3.0, body={**body, "has_issue": False,
                                                                                        "blockers_status": {}}), "d-3"),
    ]  # fmt: skip

    result = task.python_callable(triggering_asset_events=accessor(events))

    assert result["deliveries"] == 3
    assert [c["delivery_id"] for c in result["checkins"]] == ["d-1", "d-3"]
    assert result["skipped_events"] == {"kudos.posted": 1}
    assert result["blocked"] == [body["user"]["full_name"]]
    assert task.python_callable(triggering_asset_events=accessor([]))["deliveries"] == 0
