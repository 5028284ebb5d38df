"""Fixtures for running the example DAGs under ``dag.test()`` against the fake DailyBot and the real receiver.

The fake DailyBot delivers into the real api-server app in-process (its ``transport`` posts through a
FastAPI ``TestClient``), and the DAGs run on the session's sqlite metadata DB.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from urllib.parse import urlsplit

import pytest

from airflow_provider_dailybot.testing import FakeDailyBotServer

API_KEY = "sk-lifecycle-LEAKCANARY-5f3a9c"
PUBLIC_BASE = "http://127.0.0.1:8080"


@pytest.fixture
def receiver_client(api_app) -> Iterator[object]:
    from fastapi.testclient import TestClient

    with TestClient(api_app) as client:
        yield client


@pytest.fixture
def fake(receiver_client, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeDailyBotServer]:
    """A fake DailyBot whose deliveries reach the in-process receiver, and the connection pointing at it."""

    seen_bearers: dict[str, str] = {}

    def deliver(url: str, headers: dict[str, str], body: bytes, timeout: float) -> int:
        # Remember each subscription's secret as DailyBot sends it, to test it against the receiver later.
        hook_id = json.loads(body).get("hook", {}).get("id")
        if hook_id and headers.get("X-BEARER"):
            seen_bearers[hook_id] = headers["X-BEARER"]
        parts = urlsplit(url)
        assert f"{parts.scheme}://{parts.netloc}" == PUBLIC_BASE, url
        response = receiver_client.post(parts.path, content=body, headers=headers)
        return response.status_code

    monkeypatch.setenv("AIRFLOW__API__BASE_URL", PUBLIC_BASE)
    with FakeDailyBotServer(api_key=API_KEY, transport=deliver) as server:
        server.seen_bearers = seen_bearers  # type: ignore[attr-defined]
        monkeypatch.setenv(
            "AIRFLOW_CONN_DAILYBOT_DEFAULT",
            json.dumps({"conn_type": "dailybot", "host": server.base_url, "password": API_KEY}),
        )
        yield server


@pytest.fixture
def channel_state() -> Callable[[str], object]:
    """Read a channel's state from the metadata DB (what the receiver reads)."""
    from airflow_provider_dailybot.webhooks.channels import MetadataChannelStore

    def _load(channel: str):
        return MetadataChannelStore().load(channel)

    return _load


@pytest.fixture
def example_dag(airflow_db) -> Callable[[str], object]:
    """Load an example DAG from ``dags_examples/`` (the DAGs folder of the test session)."""
    try:
        from airflow.dag_processing.dagbag import DagBag  # Airflow 3.2+
    except ImportError:
        from airflow.models.dagbag import DagBag  # Airflow 3.1

    bag = DagBag()
    assert bag.import_errors == {}

    def _get(dag_id: str):
        return bag.dags[dag_id]

    return _get


def post_delivery(receiver_client, channel: str, bearer: str | None, *, event: str = "kudos.posted") -> int:
    """POST a DailyBot delivery to the receiver as DailyBot would and return the status."""
    import time

    from airflow_provider_dailybot.testing import make_envelope

    envelope = make_envelope(event, hook_id="manual-probe", hook_name="probe", timestamp=time.time())
    headers = {"X-BEARER": bearer} if bearer else {}
    return receiver_client.post(f"/dailybot/webhooks/{channel}", json=envelope, headers=headers).status_code


def task_states(dag_run) -> dict[str, str]:
    """Map task id to final state of a DAG run returned by ``dag.test()``."""
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session

    with create_session() as session:
        run = session.get(DagRun, dag_run.id) if hasattr(dag_run, "id") else dag_run
        return {ti.task_id: str(ti.state) for ti in run.get_task_instances(session=session)}
