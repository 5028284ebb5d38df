"""Fixtures of the webhook receiver tests: a client of the real api-server app and declared channels.

The receiver needs the channel's asset in the metadata DB, which only a parsed DAG creates. The
``declare_channel`` fixture builds a small DAG scheduled on the channel's asset and writes it to the
DB the way the dag-processor does (``update_dag_parsing_results_in_db``; the recipe of the provider
guide, §5.2 C), then stores the channel's Variable with a fresh secret.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from airflow_provider_dailybot.webhooks.channels import ChannelState, MetadataChannelStore, generate_secret

RECEIVER = "/dailybot"


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


def sync_dags(*dags: Any) -> None:
    """Write DAGs to the metadata DB as the dag-processor would (creates their assets and asset_active rows)."""
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


def consumer_dag(channel: str, dag_id: str) -> Any:
    """A DAG scheduled on the channel's asset (what a user's consumer DAG looks like)."""
    from airflow.providers.standard.operators.empty import EmptyOperator
    from airflow.sdk import DAG

    from airflow_provider_dailybot.webhooks.assets import dailybot_webhook_asset

    with DAG(dag_id=dag_id, schedule=[dailybot_webhook_asset(channel)], catchup=False) as dag:
        EmptyOperator(task_id="noop")
    return dag


def unpause(dag_id: str) -> None:
    from airflow.models.dag import DagModel
    from airflow.utils.session import create_session
    from sqlalchemy import update

    with create_session() as session:
        session.execute(update(DagModel).where(DagModel.dag_id == dag_id).values(is_paused=False))


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
            unpause(dag_id)  # a paused DAG is no consumer: its deliveries would be stored as no_consumer
        secret = generate_secret()
        state = ChannelState(channel=channel)
        state.add_secret(secret)
        MetadataChannelStore().save(state)
        return DeclaredChannel(name=channel, secret=secret, dag_id=dag_id)

    return make


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
