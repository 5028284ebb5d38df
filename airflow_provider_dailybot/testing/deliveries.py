"""Deliveries of the fake DailyBot server: webhook envelopes POSTed to the subscriptions' ``hook_url``.

Each attempt, received or not, is kept as a :class:`DeliveryAttempt`. Delivery faults (drop,
duplicate, delay) are taken from the server's :class:`~.faults.FaultQueue`. The POST itself goes
through a replaceable :data:`Transport` (by default a shared ``requests.Session``).
"""

from __future__ import annotations

import copy
import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import requests

from airflow_provider_dailybot.testing.contract import check_event
from airflow_provider_dailybot.testing.faults import FaultQueue
from airflow_provider_dailybot.testing.samples import make_envelope, sample_body
from airflow_provider_dailybot.testing.state import REDACTED, State, Subscription
from airflow_provider_dailybot.testing.wire import USER_AGENT

log = logging.getLogger(__name__)

#: ``transport(url, headers, body, timeout) -> HTTP status`` replaces the HTTP POST of deliveries.
Transport = Callable[[str, dict[str, str], bytes, float], int]
_DROPPED = "dropped by an injected delivery fault"


@dataclass(frozen=True)
class DeliveryAttempt:
    """One outgoing webhook delivery (or one that an injected fault dropped).

    :param hook_id: The subscription's id.
    :param hook_url: The URL POSTed to.
    :param event: The event name.
    :param envelope: The JSON envelope sent.
    :param status: The receiver's HTTP status, or ``None`` when nothing was received.
    :param error: Why no status was received (connection error, timeout, dropped by a fault).
    :param sample: True for an ``immediate_sample_event`` delivery.
    :param started_at: Unix epoch seconds when the attempt started.
    :param duration: Seconds the attempt took.
    """

    hook_id: str
    hook_url: str
    event: str
    envelope: dict[str, Any]
    status: int | None
    error: str | None
    sample: bool
    started_at: float
    duration: float

    @property
    def ok(self) -> bool:
        """Whether the receiver answered with a 2xx status."""
        return self.status is not None and 200 <= self.status < 300


class Deliveries:
    """Sends envelopes to subscriptions and keeps every attempt.

    :param state: The server's state (its lock guards the attempts too).
    :param faults: Where delivery faults are taken from.
    :param timeout: Seconds the default transport waits for a receiver.
    :param transport: Replaces the HTTP POST; ``None`` uses ``requests``.
    """

    def __init__(self, state: State, faults: FaultQueue, timeout: float, transport: Transport | None) -> None:
        self._state = state
        self._faults = faults
        self.timeout = timeout
        self.transport: Transport = transport or self._requests_transport
        self._attempts: list[DeliveryAttempt] = []
        self._finished = threading.Condition(state.lock)
        self._session: requests.Session | None = None

    @property
    def attempts(self) -> list[DeliveryAttempt]:
        """Copies of the finished attempts, oldest first."""
        with self._state.lock:
            return copy.deepcopy(self._attempts)

    def clear(self) -> None:
        """Forget every attempt."""
        with self._state.lock:
            self._attempts.clear()

    def close(self) -> None:
        """Close the default transport's connections."""
        with self._state.lock:
            session, self._session = self._session, None
        if session is not None:
            session.close()

    def wait_for(self, count: int, timeout: float) -> list[DeliveryAttempt]:
        """Block until at least ``count`` attempts have finished; return them all.

        :param count: How many attempts to wait for.
        :param timeout: Seconds to wait before raising :class:`TimeoutError`.
        """
        deadline = time.monotonic() + timeout
        with self._finished:
            while len(self._attempts) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(
                        f"expected {count} webhook deliveries within {timeout} s, saw {len(self._attempts)}"
                    )
                self._finished.wait(remaining)
            return copy.deepcopy(self._attempts)

    def emit(self, event: str, body: dict[str, Any] | None, *, wait: bool) -> list[DeliveryAttempt]:
        """Deliver ``event`` to every subscription to it (see :meth:`FakeDailyBotServer.emit`).

        :param event: A known DailyBot event name.
        :param body: The envelope ``body``; ``None``: the event's sample body.
        :param wait: Deliver in this thread and return the attempts, else in the background.
        """
        name = check_event(event)
        payload = sample_body(name) if body is None else body
        timestamp = time.time()
        targets = self._state.subscribers(name)

        def run() -> list[DeliveryAttempt]:
            return [a for target in targets for a in self.deliver(target, name, payload, timestamp)]

        if wait:
            return run()
        background(run)
        return []

    def deliver_sample(self, subscription: Subscription, event: str) -> None:
        """Send the ``immediate_sample_event`` delivery of a new subscription, in the background.

        :param subscription: The new subscription.
        :param event: Its first event.
        """
        background(lambda: self.deliver(subscription, event, sample_body(event), time.time(), sample=True))

    def deliver(
        self, subscription: Subscription, event: str, body: dict[str, Any], timestamp: float, *, sample: bool = False
    ) -> list[DeliveryAttempt]:
        """Deliver one envelope to one subscription, under the next matching delivery fault.

        :param subscription: Where to.
        :param event: The event name.
        :param body: The envelope's ``body``.
        :param timestamp: The envelope's ``event_timestamp``.
        :param sample: Whether this is an ``immediate_sample_event`` delivery.
        :return: The attempts made (none, one or two).
        """
        public = subscription.public
        envelope = make_envelope(event, hook_id=public.id, hook_name=public.name, body=body, timestamp=timestamp)
        fault = self._faults.take_delivery(event)
        if fault is not None and fault.delay:
            time.sleep(fault.delay)
        if fault is not None and fault.drop:
            dropped = DeliveryAttempt(
                public.id, public.hook_url, event, envelope, None, _DROPPED, sample, time.time(), 0.0
            )
            self._finish(dropped)
            return [dropped]
        copies = 2 if fault is not None and fault.duplicate else 1
        return [self._post(subscription, event, envelope, sample) for _ in range(copies)]

    def _post(self, subscription: Subscription, event: str, envelope: dict[str, Any], sample: bool) -> DeliveryAttempt:
        public, bearer = subscription.public, subscription.bearer
        headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT}
        if bearer is not None:
            headers["X-BEARER"] = bearer
        started_at, started = time.time(), time.monotonic()
        status: int | None = None
        error: str | None = None
        try:
            status = int(self.transport(public.hook_url, headers, json.dumps(envelope).encode(), self.timeout))
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
            if bearer:
                error = error.replace(bearer, REDACTED)
        duration = time.monotonic() - started
        attempt = DeliveryAttempt(
            public.id, public.hook_url, event, envelope, status, error, sample, started_at, duration
        )
        if error is None:
            log.debug("Delivered %s to hook %s: HTTP %s", event, public.id, status)
        else:
            log.info("Delivering %s to hook %s failed: %s", event, public.id, error)
        self._finish(attempt)
        return attempt

    def _finish(self, attempt: DeliveryAttempt) -> None:
        with self._finished:
            self._attempts.append(attempt)
            self._finished.notify_all()

    def _requests_transport(self, url: str, headers: dict[str, str], body: bytes, timeout: float) -> int:
        with self._state.lock:
            if self._session is None:
                self._session = requests.Session()  # urllib3's pool is thread-safe; connections are reused
            session = self._session
        with session.post(url, data=body, headers=headers, timeout=timeout, allow_redirects=False) as response:
            return response.status_code


def background(target: Callable[[], object]) -> None:
    """Run ``target`` in a daemon thread (deliveries must not hold up the answer that caused them).

    :param target: What to run.
    """
    threading.Thread(target=target, name="fake-dailybot-delivery", daemon=True).start()
