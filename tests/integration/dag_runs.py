"""Fixtures of the action tests: the fake DailyBot (seeded organisation) and DAG runs on the real metadata DB.

DAGs run under ``dag.test()`` on the session's sqlite DB. Inline test DAGs are written to the DB first
(``sync_dags``, the recipe of the provider guide §5.2 C); the example DAGs are parsed from
``dags_examples/``, the DAG bundle of the test session. Runs that must carry asset events (what the
scheduler attaches to an asset-triggered run) get them through :func:`consuming`.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from airflow_provider_dailybot.testing import FakeDailyBotServer
from tests.webhooks.conftest import sync_dags

#: Recognisable so that a leak is easy to find in any output.
API_KEY = "sk-actions-LEAKCANARY-8e1f0c27d4"


def conn_json(server: FakeDailyBotServer, **extra: Any) -> str:
    conn: dict[str, Any] = {"conn_type": "dailybot", "host": server.base_url, "password": server.api_key}
    if extra:
        conn["extra"] = extra
    return json.dumps(conn)


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeDailyBotServer]:
    """The fake DailyBot with its seeded organisation, and ``dailybot_default`` pointing at it."""
    with FakeDailyBotServer(api_key=API_KEY) as server:
        monkeypatch.setenv("AIRFLOW_CONN_DAILYBOT_DEFAULT", conn_json(server))
        yield server


@pytest.fixture
def hook(fake: FakeDailyBotServer) -> Iterator[Any]:
    """A hook on the fake whose retries do not sleep."""
    from airflow_provider_dailybot.hooks.dailybot import DailyBotHook
    from airflow_provider_dailybot.retries import RetryPolicy

    hook = DailyBotHook(retry_policy=RetryPolicy(max_attempts=3, sleep=lambda _: None))
    yield hook
    hook.close()


def run_dag(dag: Any, **kwargs: Any) -> Any:
    """``dag.test()`` and return the run; its task instances are read with :func:`task_states`."""
    return dag.test(**kwargs)


def task_states(run: Any) -> dict[str, str]:
    """``{task_id (or task_id[map_index]): state}`` of a finished run, read from the metadata DB."""
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        rows = session.scalars(
            select(TaskInstance).where(TaskInstance.dag_id == run.dag_id, TaskInstance.run_id == run.run_id)
        ).all()
        return {(ti.task_id if ti.map_index < 0 else f"{ti.task_id}[{ti.map_index}]"): str(ti.state) for ti in rows}


def xcom(run: Any, task_id: str, map_index: int = -1) -> Any:
    """The return value a task of a finished run pushed, as stored in the metadata DB."""
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        row = session.scalars(
            select(XComModel).where(
                XComModel.dag_id == run.dag_id,
                XComModel.run_id == run.run_id,
                XComModel.task_id == task_id,
                XComModel.map_index == map_index,
                XComModel.key == "return_value",
            )
        ).one()
        return XComModel.deserialize_value(row)


def all_xcom_text(run: Any) -> str:
    """Every XCom value of a run, as stored (to check that no secret reached XCom)."""
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        rows = session.scalars(
            select(XComModel).where(XComModel.dag_id == run.dag_id, XComModel.run_id == run.run_id)
        ).all()
        return json.dumps([str(row.value) for row in rows])


@pytest.fixture
def sync_dag(airflow_db: str) -> Callable[[Any], Any]:
    """Write an inline DAG to the metadata DB (so ``dag.test()`` can run it) and return it."""

    def _sync(dag: Any) -> Any:
        sync_dags(dag)
        return dag

    return _sync


@contextlib.contextmanager
def consuming(monkeypatch: pytest.MonkeyPatch, asset_event_ids: list[int]) -> Iterator[None]:
    """Make the next ``dag.test()`` run consume these asset events, as an asset-triggered run does.

    ``dag.test()`` always creates a manual run; the scheduler would attach the queued asset events to
    an asset-triggered run (``consumed_asset_events``), which is what tasks read as
    ``triggering_asset_events``. The run is created by ``airflow.models.dagrun.get_or_create_dagrun``,
    wrapped here to attach the events right after.
    """
    import airflow.models.dagrun as dagrun_module
    from airflow.models.asset import AssetEvent
    from sqlalchemy import select

    original = dagrun_module.get_or_create_dagrun

    def create_and_attach(**kwargs: Any) -> Any:
        run = original(**kwargs)
        session = kwargs["session"]
        events = session.scalars(select(AssetEvent).where(AssetEvent.id.in_(asset_event_ids))).all()
        run.consumed_asset_events.extend(events)
        session.commit()
        return run

    with monkeypatch.context() as patch:
        patch.setattr(dagrun_module, "get_or_create_dagrun", create_and_attach)
        yield


def asset_event_ids(asset_name: str) -> list[int]:
    """Ids of the asset events recorded for an asset, oldest first."""
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        return list(
            session.scalars(
                select(AssetEvent.id)
                .join(AssetModel, AssetModel.id == AssetEvent.asset_id)
                .where(AssetModel.name == asset_name)
                .order_by(AssetEvent.id)
            ).all()
        )


class MemoryStateStore:
    """The async accessors of Airflow 3.3's asset state store (``aget``/``aset``), kept in a dict.

    Stands in for the store the triggerer injects into a watcher's trigger; values go through JSON
    as they would in the metadata DB.
    """

    def __init__(self) -> None:
        self.values: dict[str, str] = {}
        self.writes = 0

    async def aget(self, key: str, default: Any = None) -> Any:
        return json.loads(self.values[key]) if key in self.values else default

    async def aset(self, key: str, value: Any) -> None:
        self.values[key] = json.dumps(value)
        self.writes += 1


def airflow_version() -> tuple[int, int]:
    from airflow import __version__

    major, minor = __version__.split(".")[:2]
    return int(major), int(minor)
