"""Fixtures of the receiver's store tests: the real api-server app in-process on the sqlite metadata DB.

A channel is made with :func:`make_channel`, choosing how DAGs declare its asset (``DAG_SHAPES``), so
the consumer rule of ``webhooks/consumers.py`` can be exercised shape by shape. DAGs are written and
paused with the integration suite's helpers (``sync_dags``, ``set_dag`` of ``tests/integration/conftest.py``).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from airflow_provider_dailybot.testing.samples import make_envelope
from airflow_provider_dailybot.webhooks.channels import ChannelState, MetadataChannelStore, generate_secret
from tests.integration.conftest import DeclaredChannel, channel_events, consumer_dag, sync_dags

CHECKIN = "followups.response.completed"
#: How DAGs declare a channel's asset: "scheduled" (unpaused), "scheduled-paused", "name-ref" (unpaused,
#: ``Asset.ref(name=...)``), "inlets-paused" (a task reads it; DAG paused), "outlets" (unpaused producer),
#: "none" (no DAG).
DAG_SHAPES = ("scheduled", "scheduled-paused", "name-ref", "inlets-paused", "outlets", "none")


#: A channel made by :func:`make_channel` (``dag_id``: the DAG declaring its asset, if any).
Channel = DeclaredChannel


def envelope(hook_id: str | None = "hook-1", *, n: int = 0, **kwargs: Any) -> dict[str, Any]:
    """A check-in envelope; ``n`` changes its timestamp (so its dedupe key); ``hook_id=None``: no ``hook``."""
    made = make_envelope(CHECKIN, hook_id=hook_id or "", hook_name="Airflow", timestamp=1707154471.5 + n, **kwargs)
    if hook_id is None:
        del made["hook"]
    return made


def deliver(client: Any, channel: Channel, payload: Any, *, bearer: str | None = None) -> Any:
    headers = {"X-BEARER": channel.secret if bearer is None else bearer, "Content-Type": "application/json"}
    return client.post(channel.path, headers=headers, content=json.dumps(payload).encode())


def _dag(channel: str, dag_id: str, shape: str) -> Any:
    from airflow.providers.standard.operators.empty import EmptyOperator
    from airflow.sdk import DAG, Asset

    from airflow_provider_dailybot.webhooks.assets import dailybot_webhook_asset, webhook_asset_name

    if shape.startswith("scheduled"):
        return consumer_dag(channel, dag_id)
    asset = dailybot_webhook_asset(channel)
    schedule = [Asset.ref(name=webhook_asset_name(channel))] if shape == "name-ref" else None
    with DAG(dag_id=dag_id, schedule=schedule, catchup=False) as dag:
        if shape == "name-ref":
            EmptyOperator(task_id="declare", outlets=[asset])  # the asset itself must exist to be active
        elif shape == "inlets-paused":
            EmptyOperator(task_id="read", inlets=[asset])
        elif shape == "outlets":
            EmptyOperator(task_id="write", outlets=[asset])
        else:
            EmptyOperator(task_id="noop")
    return dag


@pytest.fixture
def client(receiver_client: Any) -> Any:
    """An in-process client of the real api-server app, without Airflow credentials (``receiver_client``)."""
    return receiver_client


@pytest.fixture
def make_channel(airflow_db: str) -> Callable[..., Channel]:
    """Return ``make(shape="scheduled")``: a new channel with a secret and DAGs of that shape (``DAG_SHAPES``)."""

    def make(shape: str = "scheduled") -> Channel:
        assert shape in DAG_SHAPES
        name = f"r-{uuid.uuid4().hex[:12]}"
        dag_id = None
        if shape != "none":
            dag_id = f"dag_{name.replace('-', '_')}"
            sync_dags(_dag(name, dag_id, shape), paused=shape.endswith("paused"))
        secret = generate_secret()
        state = ChannelState(channel=name)
        state.add_secret(secret)
        MetadataChannelStore().save(state)
        return Channel(name, secret, dag_id)

    return make


def rows(channel: Channel) -> list[Any]:
    """The channel's delivery rows, oldest first."""
    from airflow.utils.session import create_session

    from airflow_provider_dailybot.store.deliveries import list_deliveries

    with create_session() as session:
        return list(reversed(list_deliveries(session, channel=channel.name, limit=500)))


def events(channel: Channel) -> list[Any]:
    """The asset events of the channel's asset, oldest first (detached)."""
    return channel_events(channel.name)


@pytest.fixture(autouse=True)
def _fresh_caches() -> Iterator[None]:
    """Each test starts with empty per-process caches (states, consumers), as a new api-server would."""
    from airflow_provider_dailybot.webhooks.consumers import consumers
    from airflow_provider_dailybot.webhooks.receiver import channel_states

    channel_states.clear()
    consumers.clear()
    yield
    channel_states.clear()
    consumers.clear()
