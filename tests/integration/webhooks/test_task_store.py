"""Rotating a channel's secret from a task (``TaskChannelStore`` over ``airflow.sdk.Variable``) under ``dag.test()``."""

from __future__ import annotations

from typing import Any

import pytest

from airflow_provider_dailybot.testing.samples import make_envelope
from airflow_provider_dailybot.webhooks.channels import MetadataChannelStore, generate_secret, hash_secret
from tests.integration.conftest import DeclaredChannel, sync_dags

pytestmark = pytest.mark.db


def rotation_dag(channel: str, new_hash: str, old_hash: str) -> Any:
    from airflow.sdk import DAG, task

    with DAG(dag_id=f"rotate_{channel.replace('-', '_')}", schedule=None, catchup=False) as dag:

        @task
        def rotate() -> list[str]:
            from airflow_provider_dailybot.webhooks.channels import TaskChannelStore

            store = TaskChannelStore()
            state = store.load(channel)
            if state is None:
                raise RuntimeError("the task could not read the channel")
            state.add_secret_hash(new_hash)
            state.remove_secret(secret_sha256=old_hash)
            store.save(state)
            reread = store.load(channel)
            assert reread is not None
            return reread.secret_sha256

        rotate()
    return dag


def test_task_rotates_the_secret_and_the_receiver_follows(receiver_client: Any, declare_channel: Any) -> None:
    from airflow.utils.state import DagRunState

    channel: DeclaredChannel = declare_channel()
    new_secret = generate_secret()
    dag = rotation_dag(channel.name, hash_secret(new_secret), hash_secret(channel.secret))
    sync_dags(dag)

    run = dag.test()

    assert run.state == DagRunState.SUCCESS
    state = MetadataChannelStore().load(channel.name)
    assert state is not None
    assert state.secret_sha256 == [hash_secret(new_secret)]

    payload = make_envelope("kudos.posted", hook_id="h", hook_name="n", timestamp=1.0)
    old = receiver_client.post(channel.path, json=payload, headers={"X-BEARER": channel.secret})
    new = receiver_client.post(channel.path, json=payload, headers={"X-BEARER": new_secret})
    assert old.status_code == 401
    assert new.status_code == 202
