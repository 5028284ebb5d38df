"""Fixtures of the integration tests: the fake DailyBot delivering into the real api-server app, declared channels.

The suite's fake DailyBot (``fake``: the shipped plugin's ``dailybot_fake_server``) delivers here into the
real api-server app in-process: its ``transport`` posts through a FastAPI ``TestClient``, and DAGs run
under ``dag.test()`` on the session's sqlite metadata DB (helpers in ``dag_runs.py``).

The receiver needs the channel's asset in the metadata DB, which only a parsed DAG creates. The
``declare_channel`` fixture builds a small DAG scheduled on the channel's asset and writes it to the
DB the way the dag-processor does (``update_dag_parsing_results_in_db``; the recipe of the provider
guide, §5.2 C), then stores the channel's Variable with a fresh secret.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import pytest

from airflow_provider_dailybot.testing import FakeDailyBotServer
from airflow_provider_dailybot.webhooks.channels import ChannelState, MetadataChannelStore, generate_secret
from tests.conftest import conn_json
from tests.integration.faults import HOOK_ATTEMPTS, HOOK_TIMEOUT, TaskError, operator_classes

RECEIVER = "/dailybot"
#: The public base URL of the api-server as the DAGs see it (``[api] base_url``); the fake's deliveries to it
#: reach the in-process app.
PUBLIC_BASE = "http://127.0.0.1:8080"


@dataclass
class DeclaredChannel:
    """A channel whose asset a synced DAG declares and whose Variable accepts ``secret``."""

    name: str
    secret: str
    dag_id: str | None

    @property
    def path(self) -> str:
        return f"{RECEIVER}/webhooks/{self.name}"


def unique_channel(prefix: str = "t") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def sync_dags(*dags: Any, paused: bool = False) -> None:
    """Write DAGs to the metadata DB as the dag-processor would (creates their assets and asset_active rows).

    They are unpaused by default, as with ``dags_are_paused_at_creation = False``: a paused DAG scheduled on a
    channel's asset is no consumer, and the receiver would store the channel's deliveries as "no consumer".

    :param paused: Leave the DAGs paused instead.
    """
    from airflow.dag_processing.bundles.manager import DagBundlesManager
    from airflow.dag_processing.collection import update_dag_parsing_results_in_db
    from airflow.serialization.serialized_objects import LazyDeserializedDAG
    from airflow.utils.session import create_session

    with create_session() as session:
        DagBundlesManager().sync_bundles_to_db(session=session)
        session.commit()
        update_dag_parsing_results_in_db(
            "dags-folder", None, [LazyDeserializedDAG.from_dag(dag) for dag in dags], {}, None, set(), session=session
        )
    for dag in dags:
        set_dag(dag.dag_id, is_paused=paused)


def consumer_dag(channel: str, dag_id: str) -> Any:
    """A DAG scheduled on the channel's asset (what a user's consumer DAG looks like)."""
    from airflow.providers.standard.operators.empty import EmptyOperator
    from airflow.sdk import DAG

    from airflow_provider_dailybot.webhooks.assets import dailybot_webhook_asset

    with DAG(dag_id=dag_id, schedule=[dailybot_webhook_asset(channel)], catchup=False) as dag:
        EmptyOperator(task_id="noop")
    return dag


def set_dag(dag_id: str, **values: Any) -> None:
    """Update the DAG's row (``is_paused``, ``is_stale``)."""
    from airflow.models.dag import DagModel
    from airflow.utils.session import create_session
    from sqlalchemy import update

    with create_session() as session:
        session.execute(update(DagModel).where(DagModel.dag_id == dag_id).values(**values))


def unpause(dag_id: str) -> None:
    """Unpause the DAG (its row in the metadata DB)."""
    set_dag(dag_id, is_paused=False)


@pytest.fixture(scope="session")
def receiver_client(api_app: Any) -> Iterator[Any]:
    """An in-process client of the real api-server app (lifespan entered), *without* any Airflow credentials."""
    from fastapi.testclient import TestClient

    with TestClient(api_app) as client:
        yield client


@pytest.fixture
def declare_channel(airflow_db: str) -> Callable[..., DeclaredChannel]:
    """Return ``make(declared=True, name=None)`` creating a channel with a secret (and a DAG declaring its asset)."""

    def make(*, declared: bool = True, name: str | None = None) -> DeclaredChannel:
        channel = name or unique_channel()
        dag_id = None
        if declared:
            dag_id = f"consumer_{channel.replace('-', '_')}"
            sync_dags(consumer_dag(channel, dag_id))
        secret = generate_secret()
        state = ChannelState(channel=channel)
        state.add_secret(secret)
        MetadataChannelStore().save(state)
        return DeclaredChannel(name=channel, secret=secret, dag_id=dag_id)

    return make


def add_channel_secret(channel: str) -> str:
    """Accept one more, new secret on the stored channel (as a rotation's first step) and return it."""
    store = MetadataChannelStore()
    state = store.load(channel)
    assert state is not None
    secret = generate_secret()
    state.add_secret(secret)
    store.save(state)
    return secret


def channel_events(channel: str) -> list[Any]:
    """All asset events of a channel's asset, oldest first (detached ORM rows)."""
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    from airflow_provider_dailybot.webhooks.assets import webhook_asset_name

    with create_session() as session:
        rows = session.scalars(
            select(AssetEvent)
            .join(AssetModel, AssetModel.id == AssetEvent.asset_id)
            .where(AssetModel.name == webhook_asset_name(channel))
            .order_by(AssetEvent.id)
        ).all()
        session.expunge_all()
        return list(rows)


def total_events() -> int:
    from airflow.models.asset import AssetEvent
    from airflow.utils.session import create_session
    from sqlalchemy import func, select

    with create_session() as session:
        return int(session.scalar(select(func.count()).select_from(AssetEvent)) or 0)


def post_delivery(receiver_client: Any, channel: str, bearer: str | None, *, event: str = "kudos.posted") -> int:
    """POST a DailyBot delivery to the receiver as DailyBot would and return the status."""
    import time

    from airflow_provider_dailybot.testing import make_envelope

    envelope = make_envelope(event, hook_id="manual-probe", hook_name="probe", timestamp=time.time())
    headers = {"X-BEARER": bearer} if bearer else {}
    return receiver_client.post(f"/dailybot/webhooks/{channel}", json=envelope, headers=headers).status_code


@pytest.fixture
def seen_bearers() -> dict[str, str]:
    """Each subscription's secret as the fake DailyBot sent it (``hook id -> X-BEARER``), to test it later."""
    return {}


@pytest.fixture
def dailybot_fake_server_options(
    dailybot_fake_server_options: dict[str, Any],
    receiver_client: Any,
    seen_bearers: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> dict[str, Any]:
    """The suite's fake DailyBot options, with a ``transport`` delivering into the in-process receiver."""

    def deliver(url: str, headers: dict[str, str], body: bytes, timeout: float) -> int:
        hook_id = json.loads(body).get("hook", {}).get("id")
        if hook_id and headers.get("X-BEARER"):
            seen_bearers[hook_id] = headers["X-BEARER"]
        parts = urlsplit(url)
        assert f"{parts.scheme}://{parts.netloc}" == PUBLIC_BASE, url
        return int(receiver_client.post(parts.path, content=body, headers=headers).status_code)

    monkeypatch.setenv("AIRFLOW__API__BASE_URL", PUBLIC_BASE)
    return {**dailybot_fake_server_options, "transport": deliver}


@pytest.fixture
def fake(fake: FakeDailyBotServer, seen_bearers: dict[str, str]) -> FakeDailyBotServer:
    """The suite's ``fake``, delivering into the in-process receiver; ``fake.seen_bearers`` the secrets it sent."""
    fake.seen_bearers = seen_bearers  # type: ignore[attr-defined]
    return fake


@pytest.fixture
def fast_fake(fake: FakeDailyBotServer, monkeypatch: pytest.MonkeyPatch) -> FakeDailyBotServer:
    """The ``fake``, with the connection's timeout and attempts lowered so faults cost little time."""
    monkeypatch.setenv(
        "AIRFLOW_CONN_DAILYBOT_DEFAULT", conn_json(fake, timeout=HOOK_TIMEOUT, max_attempts=HOOK_ATTEMPTS)
    )
    return fake


@pytest.fixture
def lenient_client(api_app: Any) -> Iterator[Any]:
    """A client of the real api-server app that reports server errors as 5xx answers instead of raising them."""
    from fastapi.testclient import TestClient

    with TestClient(api_app, raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def channel_state() -> Callable[[str], object]:
    """Read a channel's state from the metadata DB (what the receiver reads)."""

    def _load(channel: str) -> object:
        return MetadataChannelStore().load(channel)

    return _load


@pytest.fixture
def example_dag(airflow_db: str) -> Callable[[str], Any]:
    """Return ``load(dag_id)``: an example DAG parsed now from ``example_dags/``, written to the metadata DB.

    The example DAGs' shape follows environment variables (the standup export has its ``tell_team``
    task only with ``DAILYBOT_SUMMARY_TEAM``), so each call parses with the environment the test set
    and writes that DAG to the DB, the version its ``dag.test()`` then runs. Airflow 3.1's ``dag.test()``
    writes nothing when the DB already holds a version of the DAG: it would run the version an earlier
    test's bundle parse wrote under another environment, and its execution API would not find the task
    (``TaskNotFound``). Airflow 3.3 re-parses the DAG's bundle on every ``dag.test()`` call
    (apache/airflow#64884), so there the write here changes nothing.
    """
    try:
        from airflow.dag_processing.dagbag import DagBag  # Airflow 3.2+
    except ImportError:
        from airflow.models.dagbag import DagBag  # Airflow 3.1

    def _load(dag_id: str) -> Any:
        bag = DagBag()
        assert bag.import_errors == {}
        dag = bag.dags[dag_id]
        sync_dags(dag)
        return dag

    return _load


@pytest.fixture
def sync_dag(airflow_db: str) -> Callable[[Any], Any]:
    """Write an inline DAG to the metadata DB (so ``dag.test()`` can run it) and return it."""

    def _sync(dag: Any) -> Any:
        sync_dags(dag)
        return dag

    return _sync


@pytest.fixture
def task_errors(monkeypatch: pytest.MonkeyPatch) -> list[TaskError]:
    """Record the exception each provider task raised (and re-raise it unchanged)."""
    try:  # Airflow 3.2+
        from airflow.sdk.exceptions import AirflowRescheduleException
    except ImportError:  # Airflow 3.1
        from airflow.exceptions import AirflowRescheduleException  # type: ignore[no-redef]

    records: list[TaskError] = []
    for cls in operator_classes():

        def spy(self: Any, context: Any, _original: Callable[..., Any] = cls.execute) -> Any:
            try:
                return _original(self, context)
            except AirflowRescheduleException:
                raise
            except Exception as err:
                records.append(TaskError(self.task_id.rsplit(".", 1)[-1], context["ti"].try_number, err))
                raise

        monkeypatch.setattr(cls, "execute", spy)
    return records
