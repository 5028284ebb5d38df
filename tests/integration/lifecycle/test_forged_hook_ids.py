"""Forged hook ids (issue 11, row 6) and repeated DELETEs, end to end with the fake DailyBot and the real receiver.

Whoever holds one bearer of a channel (anyone who saw one of its deliveries) can post an envelope whose
``hook.id`` names *any* subscription. Such a delivery is recorded, but it must never make the promote
operator delete that subscription at DailyBot, nor satisfy the delivery sensor of a new subscription.

The operators run as real tasks (``dag.test()``); the fake DailyBot delivers into the in-process
api-server app, and its request log shows every DELETE sent.
"""

from __future__ import annotations

import logging
import time
import uuid
from datetime import timedelta
from typing import Any

import pytest

from airflow_provider_dailybot.testing import FakeDailyBotServer, make_envelope
from airflow_provider_dailybot.webhooks.channels import hash_secret
from tests.integration.conftest import channel_events, consumer_dag, sync_dags
from tests.integration.dag_runs import task_states

pytestmark = pytest.mark.db

CHECKIN = "followups.response.completed"


# -- helpers -------------------------------------------------------------------------------------------
def new_channel(prefix: str) -> str:
    channel = f"{prefix}-{uuid.uuid4().hex[:10]}"
    sync_dags(consumer_dag(channel, f"consumer_{channel}".replace("-", "_")))  # declares the channel's asset
    return channel


def run_tasks(dag_id: str, *tasks: Any) -> dict[str, str]:
    """Run ``tasks`` (built by callables taking no argument) in sequence in a fresh DAG; return the states."""
    from airflow.sdk import DAG

    with DAG(dag_id=dag_id, schedule=None, catchup=False) as dag:
        previous = None
        for build in tasks:
            task = build()
            if previous is not None:
                previous >> task
            previous = task
    sync_dags(dag)
    return task_states(dag.test())


def create(channel: str, task_id: str, **kwargs: Any) -> Any:
    from airflow_provider_dailybot.operators.webhook_subscription import DailyBotCreateWebhookSubscriptionOperator

    return lambda: DailyBotCreateWebhookSubscriptionOperator(
        task_id=task_id, channel=channel, events=[CHECKIN], **kwargs
    )


def promote(channel: str, keep: str) -> Any:
    from airflow_provider_dailybot.operators.webhook_subscription import DailyBotPromoteWebhookSubscriptionOperator

    return lambda: DailyBotPromoteWebhookSubscriptionOperator(
        task_id="promote", channel=channel, subscription={"hook_id": keep}
    )


def verify(channel: str, hook_id: str) -> Any:
    from airflow_provider_dailybot.sensors.webhook_delivery import DailyBotWebhookDeliverySensor

    return lambda: DailyBotWebhookDeliverySensor(
        task_id="verify", channel=channel, hook_id=hook_id, timeout=3, poke_interval=0.5
    )


def recorded_ids(channel_state: Any, channel: str) -> list[str]:
    state = channel_state(channel)
    return [s.hook_id for s in state.subscriptions] if state else []


def wait_for_samples(fake: FakeDailyBotServer, count: int) -> None:
    deadline = time.monotonic() + 20
    while sum(1 for d in fake.deliveries if d.sample) < count:
        assert time.monotonic() < deadline, "the samples never arrived"
        time.sleep(0.05)


def deleted_hook_ids(fake: FakeDailyBotServer, since: int = 0) -> list[str]:
    """The hook id of every DELETE the fake DailyBot received (one per request, in order)."""
    found = []
    for request in fake.requests[since:]:
        if request.method != "DELETE":
            continue
        hook_id = request.query.get("hook_id") or (request.json or {}).get("hook_id")
        found.append(hook_id or request.path.rstrip("/").rsplit("/", 1)[-1])
    return found


def forge(client: Any, channel: str, bearer: str, hook_id: str) -> Any:
    """POST, with a real bearer of ``channel``, an envelope naming ``hook_id``."""
    envelope = make_envelope(CHECKIN, hook_id=hook_id, hook_name="forged", body={"forged": uuid.uuid4().hex})
    return client.post(f"/dailybot/webhooks/{channel}", json=envelope, headers={"X-BEARER": bearer})


def forged_event(channel: str, hook_id: str) -> Any:
    (event,) = [e for e in channel_events(channel) if (e.extra.get("hook") or {}).get("name") == "forged"]
    assert event.extra["hook"]["id"] == hook_id
    return event


# -- row 6: a forged hook id never becomes a deletion target -------------------------------------------
def test_forged_hook_id_does_not_delete_another_channels_subscription(fake, channel_state, receiver_client):
    mine, theirs = new_channel("mine"), new_channel("theirs")
    assert set(run_tasks(f"create_{mine}".replace("-", "_"), create(mine, "old"), create(mine, "new")).values()) == {
        "success"
    }
    assert set(run_tasks(f"create_{theirs}".replace("-", "_"), create(theirs, "other")).values()) == {"success"}
    old, new = recorded_ids(channel_state, mine)
    (other,) = recorded_ids(channel_state, theirs)
    wait_for_samples(fake, 3)

    # B's bearer (anyone who saw one of B's deliveries has it) with C's hook id.
    response = forge(receiver_client, mine, fake.seen_bearers[new], other)
    assert response.status_code == 202, response.text  # recorded: nothing is lost

    before = len(fake.requests)
    states = run_tasks(f"promote_{mine}".replace("-", "_"), promote(mine, new))
    assert states == {"promote": "success"}
    assert other not in deleted_hook_ids(fake, before), "promote sent a DELETE for another channel's subscription"
    assert {s.id for s in fake.subscriptions} == {new, other}, "C must still exist, A must be gone"
    assert old in deleted_hook_ids(fake, before)
    assert recorded_ids(channel_state, mine) == [new]
    assert recorded_ids(channel_state, theirs) == [other]

    # The forged delivery is recorded and flagged, with a reference to the secret that sent it.
    from airflow_provider_dailybot.webhooks.bindings import secret_ref

    event = forged_event(mine, other)
    assert event.extra["hook_id_mismatch"] is True
    assert other not in event.extra["delivered_by"]
    assert event.extra["secret_ref"] == secret_ref(hash_secret(fake.seen_bearers[new]))
    assert event.extra["deliveries"] == [
        {"hook_id": other, "secret_ref": event.extra["secret_ref"], "hook_id_mismatch": True}
    ]


def test_forgery_before_the_subscription_is_recorded_is_caught_when_promote_decides(
    fake, channel_state, receiver_client
):
    """The sample arrives before create records the subscription, so a forgery then is not flagged on arrival."""
    from airflow_provider_dailybot.hooks.dailybot import DailyBotHook
    from airflow_provider_dailybot.webhooks.channels import (
        ChannelSubscription,
        MetadataChannelStore,
        generate_secret,
    )
    from airflow_provider_dailybot.webhooks.config import channel_hook_url

    mine, theirs = new_channel("mine"), new_channel("theirs")
    assert set(run_tasks(f"create_{mine}".replace("-", "_"), create(mine, "old")).values()) == {"success"}
    assert set(run_tasks(f"create_{theirs}".replace("-", "_"), create(theirs, "other")).values()) == {"success"}
    (old,) = recorded_ids(channel_state, mine)
    (other,) = recorded_ids(channel_state, theirs)

    # What the create operator does, with a forgery between the sample and the record.
    secret = generate_secret()
    store = MetadataChannelStore()
    state = store.load(mine)
    digest = state.add_secret(secret)
    store.save(state)
    created = DailyBotHook().create_webhook_subscription(
        hook_url=channel_hook_url(mine), events=[CHECKIN], bearer=secret, immediate_sample_event=True
    )
    assert forge(receiver_client, mine, secret, other).status_code == 202
    assert forged_event(mine, other).extra.get("hook_id_mismatch", False) is False  # the secret had no binding yet
    state = store.load(mine)
    state.add_subscription(
        ChannelSubscription(hook_id=created.id, hook_url=created.hook_url, events=[CHECKIN], secret_sha256=digest)
    )
    store.save(state)
    wait_for_samples(fake, 3)

    before = len(fake.requests)
    assert run_tasks(f"promote_{mine}".replace("-", "_"), promote(mine, created.id)) == {"promote": "success"}
    assert deleted_hook_ids(fake, before) == [old], "only the recorded old subscription is deleted"
    assert {s.id for s in fake.subscriptions} == {created.id, other}


def test_ambiguous_unrecorded_subscription_is_kept_and_its_secret_retired(
    fake, channel_state, receiver_client, caplog, capfd
):
    """A lost create answer: the orphan is deleted only when its secret was seen with no other hook id."""
    from airflow_provider_dailybot.hooks.dailybot import DailyBotHook
    from airflow_provider_dailybot.webhooks.channels import ChannelState, MetadataChannelStore, generate_secret
    from airflow_provider_dailybot.webhooks.config import channel_hook_url

    mine, theirs = new_channel("mine"), new_channel("theirs")
    assert set(run_tasks(f"create_{theirs}".replace("-", "_"), create(theirs, "other")).values()) == {"success"}
    (other,) = recorded_ids(channel_state, theirs)

    # Two subscriptions DailyBot created while the create task saw an error: their secrets stay
    # registered, nothing is recorded; each identifies itself with its sample.
    store = MetadataChannelStore()
    orphans = {}
    for name in ("clean", "forged"):
        secret = generate_secret()
        state = store.load(mine) or ChannelState(channel=mine)
        state.add_secret(secret)
        store.save(state)
        created = DailyBotHook().create_webhook_subscription(
            hook_url=channel_hook_url(mine), events=[CHECKIN], bearer=secret, immediate_sample_event=True
        )
        orphans[name] = (created.id, secret)
    wait_for_samples(fake, 3)
    # Someone who saw the second orphan's sample names the other channel's subscription with its secret.
    assert forge(receiver_client, mine, orphans["forged"][1], other).status_code == 202

    assert set(run_tasks(f"create_{mine}".replace("-", "_"), create(mine, "new")).values()) == {"success"}
    (new,) = recorded_ids(channel_state, mine)
    caplog.set_level(logging.INFO)
    before = len(fake.requests)
    assert run_tasks(f"promote_{mine}".replace("-", "_"), promote(mine, new)) == {"promote": "success"}

    sent = set(deleted_hook_ids(fake, before))
    assert orphans["clean"][0] in sent, "an orphan that identified itself unambiguously is deleted"
    assert other not in sent
    assert orphans["forged"][0] not in sent, "an orphan whose secret was seen with two hook ids is not deleted"
    assert {s.id for s in fake.subscriptions} == {new, other, orphans["forged"][0]}
    state = channel_state(mine)
    assert state.secret_sha256 == [hash_secret(fake.seen_bearers[new])], "every other secret is retired"
    assert not state.accepts(orphans["forged"][1])
    out, err = capfd.readouterr()
    assert "not deleting 2 hook id(s)" in caplog.text + out + err


# -- row 6: a forged delivery never verifies a subscription ------------------------------------------
def test_sensor_is_not_satisfied_by_a_delivery_forged_with_another_secret(fake, channel_state, receiver_client):
    mine = new_channel("mine")
    assert set(run_tasks(f"create_{mine}".replace("-", "_"), create(mine, "old")).values()) == {"success"}
    (old,) = recorded_ids(channel_state, mine)
    wait_for_samples(fake, 1)
    fake.deliver_samples = False  # the new subscription's sample never comes (e.g. DailyBot cannot reach us)
    assert set(run_tasks(f"create_new_{mine}".replace("-", "_"), create(mine, "new")).values()) == {"success"}
    (new,) = [h for h in recorded_ids(channel_state, mine) if h != old]

    # The old subscription's bearer, naming the new subscription.
    assert forge(receiver_client, mine, fake.seen_bearers[old], new).status_code == 202

    verify_dag = f"verify_{mine}".replace("-", "_")
    assert run_tasks(verify_dag, verify(mine, new)) == {"verify": "failed"}, "the forgery verified the subscription"
    assert forged_event(mine, new).extra["hook_id_mismatch"] is True

    # Control: a real event, which the new subscription delivers with its own secret, verifies it.
    attempts = fake.emit(CHECKIN)
    assert sorted(a.status for a in attempts) == [202, 202]
    assert run_tasks(verify_dag, verify(mine, new)) == {"verify": "success"}


# -- "also observed": a clean promote re-deleted every hook id seen in 8 days ----------------------
def test_promote_never_sends_a_delete_for_a_hook_id_already_deleted(fake, channel_state, receiver_client):
    from airflow.sdk import DAG

    from airflow_provider_dailybot.task_groups.webhook_rotation import dailybot_webhook_rotation

    channel = new_channel("rot")
    with DAG(dag_id=f"rotate_{channel}".replace("-", "_"), schedule=None, catchup=False) as dag:
        dailybot_webhook_rotation(
            channel=channel, events=[CHECKIN], verify_timeout=5, poke_interval=0.5, retry_delay=timedelta(0)
        )
    sync_dags(dag)

    kept: list[str] = []
    deletes: list[list[str]] = []
    for _ in range(3):
        before = len(fake.requests)
        assert set(task_states(dag.test()).values()) == {"success"}
        deletes.append(deleted_hook_ids(fake, before))
        (sub,) = fake.subscriptions
        kept.append(sub.id)
        fake.emit(CHECKIN)  # real events from the current subscription, as over a week
    first, second, third = kept
    assert deletes[0] == []
    assert deletes[1] == [first]
    assert deletes[2] == [second], "the third rotation re-sent a DELETE for a subscription already gone"

    before = len(fake.requests)
    assert run_tasks(f"again_{channel}".replace("-", "_"), promote(channel, third)) == {"promote": "success"}
    assert deleted_hook_ids(fake, before) == [], "a promote with nothing left to delete sent DELETEs"
    assert channel_state(channel).deleted_hook_ids == [first, second]
