"""The lifecycle and rotation example DAGs under ``dag.test()`` against the fake DailyBot and the real receiver."""

from __future__ import annotations

import pytest

from airflow_provider_dailybot.webhooks.channels import hash_secret
from tests.integration.conftest import post_delivery
from tests.integration.dag_runs import task_states

pytestmark = pytest.mark.db

CREATE_XCOM_KEYS = {"hook_id", "hook_url", "channel", "events", "created_at"}


def _xcom(dag_run, task_id):
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        row = session.scalar(
            select(XComModel).where(
                XComModel.dag_id == dag_run.dag_id, XComModel.run_id == dag_run.run_id, XComModel.task_id == task_id
            )
        )
        return None if row is None else XComModel.deserialize_value(row)


def test_lifecycle_dag_creates_verifies_and_deletes(fake, example_dag, channel_state, receiver_client):
    run = example_dag("dailybot_webhook_lifecycle").test()

    assert task_states(run) == {
        "create_subscription": "success",
        "verify_delivery": "success",
        "delete_subscription": "success",
    }
    created = _xcom(run, "create_subscription")
    assert set(created) == CREATE_XCOM_KEYS
    assert created["channel"] == "lifecycle"
    assert created["hook_url"] == "http://127.0.0.1:8080/dailybot/webhooks/lifecycle"
    verified = _xcom(run, "verify_delivery")
    assert verified["hook_id"] == created["hook_id"]
    assert verified["event"] == "followups.response.completed"
    # The sample reached the receiver, and nothing is left at DailyBot or in the channel state.
    (sample,) = fake.deliveries
    assert (sample.hook_id, sample.sample, sample.status) == (created["hook_id"], True, 202)
    assert fake.subscriptions == []
    state = channel_state("lifecycle")
    assert state.subscriptions == []
    assert state.secret_sha256 == []
    # The subscription's secret is retired: the receiver refuses it now.
    assert post_delivery(receiver_client, "lifecycle", fake.seen_bearers[created["hook_id"]]) == 401
    # The secret never reached XCom.
    assert fake.seen_bearers[created["hook_id"]] not in repr(created) + repr(verified)


def test_rotation_dag_replaces_the_subscription_and_its_secret(fake, example_dag, channel_state, receiver_client):
    dag = example_dag("dailybot_webhook_rotation")
    first = dag.test()
    assert set(task_states(first).values()) == {"success"}
    (old,) = fake.subscriptions
    old_bearer = fake.seen_bearers[old.id]
    assert post_delivery(receiver_client, "checkins", old_bearer) == 202

    second = dag.test()
    assert set(task_states(second).values()) == {"success"}
    (new,) = fake.subscriptions
    assert new.id != old.id
    new_bearer = fake.seen_bearers[new.id]
    state = channel_state("checkins")
    assert [s.hook_id for s in state.subscriptions] == [new.id]
    assert state.secret_sha256 == [hash_secret(new_bearer)] == [new.bearer_sha256]
    assert post_delivery(receiver_client, "checkins", new_bearer) == 202
    assert post_delivery(receiver_client, "checkins", old_bearer) == 401
    promoted = _xcom(second, "rotate_checkins.promote_new_subscription")
    assert promoted["deleted"] == [old.id]
    assert promoted["retired_secrets"] == 1
