"""The example DAGs, parsed by Airflow's own ``DagBag``: no import error, the DAGs, tasks and operators they document.

Each file is parsed on its own (its parse time is reported) and the whole the package's ``example_dags/`` folder
once, as the dag-processor reads it. The expected shape below is what the examples' docstrings and
``docs/`` promise: which DAG ids exist, which tasks each has, the operator class behind each task,
the dependencies and teardowns. A new example file without an entry here fails the folder test.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_dailybot.operators.export import DailyBotExportCheckinResponsesOperator
from airflow_provider_dailybot.operators.message import DailyBotSendMessageOperator
from airflow_provider_dailybot.operators.webhook_subscription import (
    DailyBotCreateWebhookSubscriptionOperator,
    DailyBotDeleteWebhookSubscriptionOperator,
    DailyBotPromoteWebhookSubscriptionOperator,
)
from airflow_provider_dailybot.sensors.webhook_delivery import DailyBotWebhookDeliverySensor
from airflow_provider_dailybot.testing import seed
from airflow_provider_dailybot.triggers.checkin_responses import DailyBotNewCheckinResponsesTrigger
from airflow_provider_dailybot.webhooks.assets import dailybot_webhook_asset
from tests.conftest import REPO_ROOT

EXAMPLES_DIR = REPO_ROOT / "airflow_provider_dailybot" / "example_dags"
EXAMPLES = sorted(p for p in EXAMPLES_DIR.glob("*.py") if p.name != "__init__.py")
#: The environment variables the examples read at parse time (cleared for the default shape).
EXAMPLE_ENV = (
    "DAILYBOT_CHECKIN_ID",
    "DAILYBOT_BLOCKER_SOURCE",
    "DAILYBOT_CHANNEL",
    "DAILYBOT_ALERT_TEAM",
    "DAILYBOT_POLL_INTERVAL",
    "DAILYBOT_EXPORT_BASE",
    "DAILYBOT_EXPORT_CONN_ID",
    "DAILYBOT_SUMMARY_TEAM",
    "DAILYBOT_LIFECYCLE_CHANNEL",
)
#: Stands for a ``@task``-decorated function (Airflow's private ``_PythonDecoratedOperator``).
TASK_DECORATOR = "@task"


@dataclass(frozen=True)
class Task:
    """What a task of an example must be: its operator class, the tasks right after it, whether it is a teardown."""

    operator: type | str
    downstream: frozenset[str] = frozenset()
    teardown: bool = False
    mapped: bool = False


def _rotation(group: str) -> dict[str, Task]:
    create, verify, promote, rollback = (
        f"{group}.{name}"
        for name in (
            "create_new_subscription",
            "verify_new_subscription",
            "promote_new_subscription",
            "rollback_unverified_subscription",
        )
    )
    return {
        create: Task(DailyBotCreateWebhookSubscriptionOperator, frozenset({verify, promote, rollback})),
        verify: Task(DailyBotWebhookDeliverySensor, frozenset({promote})),
        promote: Task(DailyBotPromoteWebhookSubscriptionOperator, frozenset({rollback})),
        rollback: Task(DailyBotDeleteWebhookSubscriptionOperator, teardown=True),
    }


#: file stem -> dag_id -> task_id -> Task, with none of :data:`EXAMPLE_ENV` set.
EXPECTED: dict[str, dict[str, dict[str, Task]]] = {
    "dailybot_blocker_alert": {
        "dailybot_blocker_alert": {
            "find_blockers": Task(TASK_DECORATOR, frozenset({"alert_team"})),
            "alert_team": Task(DailyBotSendMessageOperator, mapped=True),
        }
    },
    "dailybot_checkin_completed": {
        "dailybot_checkin_completed": {"summarize_checkins": Task(TASK_DECORATOR)},
    },
    "dailybot_standup_export": {
        "dailybot_standup_export": {"export_standups": Task(DailyBotExportCheckinResponsesOperator)},
    },
    "dailybot_webhook_lifecycle": {
        "dailybot_webhook_lifecycle": {
            "create_subscription": Task(
                DailyBotCreateWebhookSubscriptionOperator, frozenset({"verify_delivery", "delete_subscription"})
            ),
            "verify_delivery": Task(DailyBotWebhookDeliverySensor, frozenset({"delete_subscription"})),
            "delete_subscription": Task(DailyBotDeleteWebhookSubscriptionOperator, teardown=True),
        }
    },
    "dailybot_webhook_rotation": {"dailybot_webhook_rotation": _rotation("rotate_checkins")},
}


def _dagbag(folder: Path) -> Any:
    try:
        from airflow.dag_processing.dagbag import DagBag  # Airflow 3.2+
    except ImportError:
        from airflow.models.dagbag import DagBag  # type: ignore[no-redef]  # Airflow 3.1
    return DagBag(dag_folder=str(folder))


def _assert_tasks(dag: Any, expected: dict[str, Task]) -> None:
    from airflow.providers.standard.operators.python import PythonOperator

    assert sorted(dag.task_ids) == sorted(expected), dag.dag_id
    for task_id, want in expected.items():
        task = dag.get_task(task_id)
        where = f"{dag.dag_id}.{task_id}"
        if want.operator == TASK_DECORATOR:
            assert task.operator_name == TASK_DECORATOR, where
            assert issubclass(task.operator_class, PythonOperator), where
        else:
            # operator_class: the class itself for a plain task, the class being mapped for a mapped one.
            assert task.operator_class is want.operator, where
        assert task.downstream_task_ids == set(want.downstream), where
        assert task.is_teardown is want.teardown, where
        assert (type(task).__name__ == "MappedOperator") is want.mapped, where


@pytest.fixture
def example_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No example environment variable set: the examples' defaults."""
    for name in EXAMPLE_ENV:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_dag_file_parses_to_the_documented_dags(path: Path, example_env: Any, report_figure: Any) -> None:
    assert path.stem in EXPECTED, f"{path.name} is a new example: add its DAGs and tasks to EXPECTED"
    bag = _dagbag(path)
    assert bag.import_errors == {}
    assert sorted(bag.dag_ids) == sorted(EXPECTED[path.stem])
    for dag_id, tasks in EXPECTED[path.stem].items():
        dag = bag.dags[dag_id]
        assert Path(dag.fileloc).resolve() == path
        assert "example" in dag.tags
        assert "dailybot" in dag.tags
        assert dag.doc_md, f"{dag_id} has no documentation"
        _assert_tasks(dag, tasks)
    (stat,) = bag.dagbag_stats  # one file, one stat
    assert (stat.dag_num, stat.task_num) == (len(bag.dags), sum(len(t) for t in EXPECTED[path.stem].values()))
    duration = stat.duration.total_seconds() if hasattr(stat.duration, "total_seconds") else float(stat.duration)
    report_figure(f"parse time of {path.name}: {duration * 1000:.1f} ms ({len(bag.dags)} DAG)")


def test_the_examples_folder_parses_as_the_dag_processor_reads_it(example_env: Any) -> None:
    assert sorted(p.stem for p in EXAMPLES) == sorted(EXPECTED)
    bag = _dagbag(EXAMPLES_DIR)
    assert bag.import_errors == {}
    assert sorted(bag.dag_ids) == sorted(dag_id for dags in EXPECTED.values() for dag_id in dags)
    assert len(bag.dagbag_stats) == len(EXAMPLES)


def test_the_examples_follow_their_environment(example_env: pytest.MonkeyPatch) -> None:
    """What the examples' docstrings say the environment changes: poll source, summary task, channel names."""
    from airflow.sdk import AssetAll

    example_env.setenv("DAILYBOT_CHECKIN_ID", seed.CHECKIN_ID)
    example_env.setenv("DAILYBOT_POLL_INTERVAL", "45")
    example_env.setenv("DAILYBOT_SUMMARY_TEAM", seed.ENGINEERING_TEAM)
    example_env.setenv("DAILYBOT_CHANNEL", "team-a")
    example_env.setenv("DAILYBOT_LIFECYCLE_CHANNEL", "smoke")
    bag = _dagbag(EXAMPLES_DIR)
    assert bag.import_errors == {}

    # Blocker alert: with a check-in id it polls, through an AssetWatcher running the provider's trigger.
    blocker = bag.dags["dailybot_blocker_alert"]
    _assert_tasks(blocker, EXPECTED["dailybot_blocker_alert"]["dailybot_blocker_alert"])
    (asset,) = blocker.timetable.asset_condition.objects
    assert asset.name == f"dailybot_checkin_{seed.CHECKIN_ID}_blockers"
    (watcher,) = asset.watchers
    assert isinstance(watcher.trigger, DailyBotNewCheckinResponsesTrigger)
    assert (watcher.trigger.checkin_id, watcher.trigger.poll_interval) == (seed.CHECKIN_ID, 45.0)
    assert watcher.trigger.only_blockers is True

    # Standup export: a summary team adds the message task after the export.
    _assert_tasks(
        bag.dags["dailybot_standup_export"],
        {
            "export_standups": Task(DailyBotExportCheckinResponsesOperator, frozenset({"tell_team"})),
            "tell_team": Task(DailyBotSendMessageOperator),
        },
    )
    assert bag.dags["dailybot_standup_export"].get_task("export_standups").checkin_id == seed.CHECKIN_ID

    # The channel: the rotation's task group and the consumer's asset follow it.
    _assert_tasks(bag.dags["dailybot_webhook_rotation"], _rotation("rotate_team-a"))
    consumer = bag.dags["dailybot_checkin_completed"].timetable.asset_condition
    assert isinstance(consumer, AssetAll)
    assert list(consumer.objects) == [dailybot_webhook_asset("team-a")]
    lifecycle = bag.dags["dailybot_webhook_lifecycle"]
    assert lifecycle.get_task("create_subscription").channel == "smoke"
    assert lifecycle.get_task("verify_delivery").channel == "smoke"
