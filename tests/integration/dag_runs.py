"""DAG runs on the real metadata DB: run a DAG, read its task states and XComs, feed it asset events.

DAGs run under ``dag.test()`` on the session's sqlite DB. Inline test DAGs are written to the DB first
(``sync_dags`` in ``conftest.py``, the recipe of the provider guide §5.2 C); the example DAGs are parsed
from the package's ``example_dags/``, the DAG bundle of the test session. Runs that must carry asset
events (what the scheduler attaches to an asset-triggered run) get them through :func:`consuming`.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from typing import Any

import pytest


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
