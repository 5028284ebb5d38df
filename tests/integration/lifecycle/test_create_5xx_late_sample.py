"""A 5xx on create is ambiguous: DailyBot may have created the subscription, and its sample arrives later.

DailyBot creates the subscription, answers the create with a 503 and only then sends the
``immediate_sample_event`` delivery. The create task must fail with the typed server error but keep the
new secret registered (a 5xx is not a refusal), so that the late sample is accepted and names the
subscription DailyBot created; the next rotation then finds that unrecorded subscription through its
delivery, deletes it and converges to one subscription with one accepted secret.

The sample is held in the fake's transport until the failed run is over, so it arrives *after* the
create task has handled the 5xx, whatever the threads' timing (without the hold it races the task's
error handling, which is how treating a 5xx as a refusal went unnoticed).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

from airflow_provider_dailybot.exceptions import DailyBotServerError
from airflow_provider_dailybot.testing import FakeDailyBotServer
from airflow_provider_dailybot.webhooks.channels import hash_secret
from tests.integration.conftest import channel_events, post_delivery
from tests.integration.dag_runs import task_states
from tests.integration.lifecycle.test_rotation_faults import SUBSCRIPTION_PATH, _establish, _rerun_converges, rotation

__all__ = ["rotation"]

pytestmark = pytest.mark.db

#: Seconds to wait for a delivery thread of the fake to reach the gate or to finish.
DELIVERY_WAIT = 10.0


class DeliveryGate:
    """Holds the fake's deliveries until :meth:`release`, then passes them to the transport it replaced.

    :param fake: The fake DailyBot whose ``transport`` to wrap (restored by :meth:`close`).
    """

    def __init__(self, fake: FakeDailyBotServer) -> None:
        self._fake = fake
        self._deliver = fake.transport
        self._released = threading.Event()
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        self._in_flight = 0
        self.held_urls: list[str] = []
        fake.transport = self

    def __call__(self, url: str, headers: dict[str, str], body: bytes, timeout: float) -> int:
        with self._arrived:
            self.held_urls.append(url)
            self._in_flight += 1
            self._arrived.notify_all()
        try:
            if not self._released.wait(DELIVERY_WAIT * 6):
                raise TimeoutError("the test never released the held delivery")
            return int(self._deliver(url, headers, body, timeout))
        finally:
            with self._arrived:
                self._in_flight -= 1
                self._arrived.notify_all()

    def wait_held(self, count: int) -> list[str]:
        """Block until ``count`` deliveries are being held; return their URLs."""
        with self._arrived:
            if not self._arrived.wait_for(lambda: len(self.held_urls) >= count, DELIVERY_WAIT):
                raise TimeoutError(f"{count} delivery(ies) expected at the gate, got {len(self.held_urls)}")
            return list(self.held_urls)

    def release(self) -> None:
        """Let the held deliveries (and every later one) through."""
        self._released.set()

    def close(self) -> None:
        """Release everything, wait for the held deliveries to reach the receiver, restore the transport.

        Waiting matters when a test failed before releasing: the receiver must still be up when they land.
        """
        self.release()
        with self._arrived:
            self._arrived.wait_for(lambda: self._in_flight == 0, DELIVERY_WAIT)
        self._fake.transport = self._deliver


@pytest.fixture
def gate(fake: FakeDailyBotServer) -> Iterator[Any]:
    """Install a :class:`DeliveryGate` on the fake; call it to start holding deliveries."""
    gates: list[DeliveryGate] = []

    def install() -> DeliveryGate:
        gates.append(DeliveryGate(fake))
        return gates[-1]

    yield install
    for g in gates:
        g.close()


def test_sample_after_a_5xx_on_create_is_accepted_and_the_rerun_converges(
    fake, rotation, channel_state, receiver_client, task_errors, gate
):
    channel, make_dag = rotation
    previous = _establish(fake, rotation, channel_state, receiver_client)
    deliveries_before = len(fake.deliveries)
    held = gate()
    # DailyBot creates the subscription (its sample is queued), then answers the create with a 503.
    fault = fake.inject(status=503, method="POST", path=SUBSCRIPTION_PATH, after_processing=True)

    run = make_dag().test()

    # The create task failed with the typed server error, after one request (a POST is not retried on 5xx).
    states = task_states(run)
    assert states[f"rotate_{channel}.create_new_subscription"] == "failed"
    assert states[f"rotate_{channel}.promote_new_subscription"] == "upstream_failed"
    (create_error,) = [e for e in task_errors if e.task == "create_new_subscription"]
    assert isinstance(create_error.error, DailyBotServerError)
    assert create_error.error.status_code == 503
    assert fault.hits == 1
    # DailyBot did create it: a subscription the channel does not know, whose sample has not arrived yet.
    (orphan,) = [s for s in fake.subscriptions if s.id != previous.id]
    assert [s.hook_id for s in channel_state(channel).subscriptions] == [previous.id]
    assert held.wait_held(1) == [orphan.hook_url]
    assert len(fake.deliveries) == deliveries_before

    # Now the sample arrives at the receiver: it is accepted and recorded as delivered by the orphan.
    events_before = len(channel_events(channel))
    held.release()
    (sample,) = fake.wait_for_deliveries(deliveries_before + 1, DELIVERY_WAIT)[deliveries_before:]
    assert (sample.hook_id, sample.sample, sample.status) == (orphan.id, True, 202), "the late sample was refused"
    # A 5xx is ambiguous: the new secret stayed registered next to the previous one.
    assert sorted(channel_state(channel).secret_sha256) == sorted([previous.bearer_sha256, orphan.bearer_sha256])
    events = channel_events(channel)
    assert len(events) == events_before + 1
    assert events[-1].extra["delivered_by"] == [orphan.id]
    # The previous subscription kept working throughout.
    assert post_delivery(receiver_client, channel, fake.seen_bearers[previous.id]) == 202

    # The next rotation deletes the orphan (found through its sample) and retires both old secrets.
    _rerun_converges(fake, rotation, channel_state, receiver_client, previous)
    assert orphan.id not in {s.id for s in fake.subscriptions}
    assert hash_secret(fake.seen_bearers[orphan.id]) not in channel_state(channel).secret_sha256
    assert post_delivery(receiver_client, channel, fake.seen_bearers[orphan.id]) == 401
