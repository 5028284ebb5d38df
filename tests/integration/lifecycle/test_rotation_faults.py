"""Rotation invariants under faults injected into the fake DailyBot.

For each failing step: the previous subscription and secret keep working, the half-created new
subscription is removed (no orphan at DailyBot), and re-running the rotation (a task retry or a new
run) converges to exactly one subscription whose secret is the only one accepted.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from airflow_provider_dailybot.webhooks.channels import hash_secret
from tests.integration.conftest import channel_events, post_delivery, sync_dags
from tests.integration.dag_runs import task_states

pytestmark = pytest.mark.db

SUBSCRIPTION_PATH = "/v1/webhook-subscription/"


@pytest.fixture
def rotation(airflow_db, fake):
    """Build (and register) a rotation DAG for a fresh channel; returns (channel, make_dag)."""
    from airflow.sdk import DAG

    from airflow_provider_dailybot.task_groups.webhook_rotation import dailybot_webhook_rotation

    channel = f"rot-{uuid.uuid4().hex[:10]}"

    def make_dag(*, retries: int = 0, verify_timeout: float = 3.0):
        with DAG(dag_id=f"rotate_{channel}_{retries}", schedule=None, catchup=False) as dag:
            dailybot_webhook_rotation(
                channel=channel,
                events=["followups.response.completed"],
                verify_timeout=verify_timeout,
                poke_interval=0.5,
                retries=retries,
                retry_delay=timedelta(seconds=0),
            )
        sync_dags(dag)
        return dag

    return channel, make_dag


def _only_subscription(fake, channel_state, channel, receiver_client):
    """Assert the converged state: one subscription at DailyBot, only its secret accepted; return it."""
    (sub,) = fake.subscriptions
    state = channel_state(channel)
    assert [s.hook_id for s in state.subscriptions] == [sub.id]
    assert state.secret_sha256 == [sub.bearer_sha256]
    assert post_delivery(receiver_client, channel, fake.seen_bearers[sub.id]) == 202
    return sub


def _establish(fake, rotation, channel_state, receiver_client):
    channel, make_dag = rotation
    run = make_dag().test()
    assert set(task_states(run).values()) == {"success"}
    return _only_subscription(fake, channel_state, channel, receiver_client)


def _previous_still_works(fake, channel_state, channel, receiver_client, previous):
    assert [s.id for s in fake.subscriptions] == [previous.id], "no orphan and the previous one is kept"
    state = channel_state(channel)
    assert [s.hook_id for s in state.subscriptions] == [previous.id]
    assert hash_secret(fake.seen_bearers[previous.id]) in state.secret_sha256
    assert post_delivery(receiver_client, channel, fake.seen_bearers[previous.id]) == 202
    # Real events keep flowing from the previous subscription.
    (delivery,) = fake.emit("followups.response.completed")
    assert (delivery.hook_id, delivery.status) == (previous.id, 202)


def _rerun_converges(fake, rotation, channel_state, receiver_client, previous):
    channel, make_dag = rotation
    run = make_dag().test()
    assert set(task_states(run).values()) == {"success"}
    sub = _only_subscription(fake, channel_state, channel, receiver_client)
    assert sub.id != previous.id
    assert post_delivery(receiver_client, channel, fake.seen_bearers[previous.id]) == 401


def test_sample_never_arrives(fake, rotation, channel_state, receiver_client):
    channel, make_dag = rotation
    previous = _establish(fake, rotation, channel_state, receiver_client)
    fake.deliver_samples = False

    run = make_dag().test()
    states = task_states(run)
    assert states[f"rotate_{channel}.create_new_subscription"] == "success"
    assert states[f"rotate_{channel}.verify_new_subscription"] == "failed"
    assert states[f"rotate_{channel}.promote_new_subscription"] == "upstream_failed"
    assert states[f"rotate_{channel}.rollback_unverified_subscription"] == "success"
    _previous_still_works(fake, channel_state, channel, receiver_client, previous)

    fake.deliver_samples = True
    _rerun_converges(fake, rotation, channel_state, receiver_client, previous)


def test_create_fails(fake, rotation, channel_state, receiver_client):
    channel, make_dag = rotation
    previous = _establish(fake, rotation, channel_state, receiver_client)
    fake.inject(status=500, method="POST", path=SUBSCRIPTION_PATH)

    run = make_dag().test()
    assert task_states(run)[f"rotate_{channel}.create_new_subscription"] == "failed"
    _previous_still_works(fake, channel_state, channel, receiver_client, previous)
    _rerun_converges(fake, rotation, channel_state, receiver_client, previous)


def test_create_answer_lost_leaves_no_orphan_after_rerun(fake, rotation, channel_state, receiver_client):
    channel, make_dag = rotation
    previous = _establish(fake, rotation, channel_state, receiver_client)
    # DailyBot creates the subscription (and sends its sample) but the answer is a 500.
    fake.inject(status=500, method="POST", path=SUBSCRIPTION_PATH, after_processing=True)

    run = make_dag().test()
    assert task_states(run)[f"rotate_{channel}.create_new_subscription"] == "failed"
    assert len(fake.subscriptions) == 2  # the unrecorded one exists at DailyBot for now
    assert post_delivery(receiver_client, channel, fake.seen_bearers[previous.id]) == 202

    _rerun_converges(fake, rotation, channel_state, receiver_client, previous)


def test_delete_of_the_old_subscription_fails(fake, rotation, channel_state, receiver_client):
    channel, make_dag = rotation
    previous = _establish(fake, rotation, channel_state, receiver_client)
    fake.inject(status=503, method="DELETE", path=SUBSCRIPTION_PATH, times=20)

    run = make_dag().test()
    states = task_states(run)
    assert states[f"rotate_{channel}.verify_new_subscription"] == "success"
    assert states[f"rotate_{channel}.promote_new_subscription"] == "failed"
    # Both subscriptions work; an event delivered by both is recorded once.
    assert len(fake.subscriptions) == 2
    state = channel_state(channel)
    assert len(state.subscriptions) == 2
    for sub in fake.subscriptions:
        assert post_delivery(receiver_client, channel, fake.seen_bearers[sub.id]) == 202
    before = len(channel_events(channel))
    deliveries = fake.emit("followups.response.completed")
    assert sorted(d.status for d in deliveries) == [202, 202]
    assert len(channel_events(channel)) == before + 1
    merged = channel_events(channel)[-1].extra["delivered_by"]
    assert sorted(merged) == sorted(s.id for s in fake.subscriptions)

    fake.clear_faults()
    _rerun_converges(fake, rotation, channel_state, receiver_client, previous)


def test_task_retry_of_a_failed_delete_converges(fake, rotation, channel_state, receiver_client):
    channel, make_dag = rotation
    previous = _establish(fake, rotation, channel_state, receiver_client)
    # The first promote attempt uses up the fault (3 hook attempts); Airflow's retry then succeeds.
    fake.inject(status=503, method="DELETE", path=SUBSCRIPTION_PATH, times=3)

    run = make_dag(retries=1).test()
    assert set(task_states(run).values()) == {"success"}
    sub = _only_subscription(fake, channel_state, channel, receiver_client)
    assert sub.id != previous.id
