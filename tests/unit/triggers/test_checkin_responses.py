"""DailyBotNewCheckinResponsesTrigger: serialisation, polling the fake DailyBot, backoff and the cursor.

Everything is asserted through what the trigger yields and what the fake DailyBot saw, never its
private state or the wall clock: scripts end with :func:`no_more_polls`, so a trigger that misses an
expected event fails at once instead of polling until a timeout.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import time
from collections.abc import Callable
from typing import Any

import pytest

from airflow_provider_dailybot.exceptions import DailyBotNotFoundError, DailyBotServerError
from airflow_provider_dailybot.testing import FakeDailyBotServer, seed
from airflow_provider_dailybot.triggers.checkin_responses import (
    STATE_KEY_PREFIX,
    DailyBotNewCheckinResponsesTrigger,
    blockers_of,
)
from tests.conftest import API_KEY, airflow_version

RESPONSES = f"/v1/checkins/{seed.CHECKIN_ID}/responses/"


class MemoryStateStore:
    """The async accessors of Airflow 3.3's asset state store (``aget``/``aset``), kept in a dict.

    Stands in for the store the triggerer injects into a watcher's trigger; values go through JSON
    as they would in the metadata DB.
    """

    def __init__(self) -> None:
        self.values: dict[str, str] = {}
        self.writes = 0

    async def aget(self, key: str, default: Any = None) -> Any:
        return json.loads(self.values[key]) if key in self.values else default

    async def aset(self, key: str, value: Any) -> None:
        self.values[key] = json.dumps(value)
        self.writes += 1


class Sleeper:
    """Replaces the trigger's ``asyncio.sleep``: records each wait, then runs the next scripted action."""

    def __init__(self, *actions: Callable[[], Any] | None) -> None:
        self.waits: list[float] = []
        self.actions = list(actions)

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        action = self.actions.pop(0) if self.actions else None
        if action is not None:
            action()
        await asyncio.sleep(0)


def _trigger(sleeper: Sleeper | None = None, store: Any = None, **kwargs: Any) -> DailyBotNewCheckinResponsesTrigger:
    kwargs.setdefault("checkin_id", seed.CHECKIN_ID)
    kwargs.setdefault("poll_interval", 30.0)
    trigger = DailyBotNewCheckinResponsesTrigger(**kwargs)
    if sleeper is not None:
        trigger.sleep = sleeper
    trigger.asset_state_store = store  # what the triggerer of Airflow 3.3 injects (None: no store)
    return trigger


def _collect(trigger: DailyBotNewCheckinResponsesTrigger, count: int, timeout: float = 15.0) -> list[dict[str, Any]]:
    async def run() -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = []
        stream = trigger.run()
        try:
            while len(events) < count:
                event = await asyncio.wait_for(anext(stream), timeout)
                events.append(event.payload)
        finally:
            await stream.aclose()
        return events

    return asyncio.run(run())


def _new(fake: FakeDailyBotServer, **kwargs: Any) -> Callable[[], Any]:
    return lambda: fake.add_checkin_response(**kwargs)


def no_more_polls() -> None:
    """The last action of a script: the trigger polled again without yielding what the test expected."""
    raise AssertionError("the trigger polled again after the scripted responses without yielding the expected event")


def _assert_resumes_from_its_cursor(
    fake: FakeDailyBotServer, trigger: DailyBotNewCheckinResponsesTrigger, *, first_user: str, first_name: str
) -> None:
    """Run ``trigger`` (scripted to add ``first_user``'s response) to its first event, then run it again.

    Katherine answers while the trigger is stopped and Grace during the second run: the second run
    must announce both (it resumed from the first run's cursor) and not the first run's response.
    """
    (first,) = _collect(trigger, 1)
    assert first["user"]["uuid"] == first_user
    assert first["user"]["full_name"] == first_name

    fake.add_checkin_response(user_id=seed.KATHERINE)
    trigger.sleep = Sleeper(_new(fake, user_id=seed.GRACE), no_more_polls)
    again = _collect(trigger, 2)
    assert [e["user"]["full_name"] for e in again] == ["Katherine Johnson", "Grace Hopper"]
    assert first["response_id"] not in {e["response_id"] for e in again}


def test_serialize_round_trips_json_safe_kwargs_without_secrets(fake: FakeDailyBotServer) -> None:
    trigger = DailyBotNewCheckinResponsesTrigger(
        checkin_id=seed.CHECKIN_ID, poll_interval=5, only_blockers=True, max_consecutive_failures=2
    )
    classpath, kwargs = trigger.serialize()
    module, name = classpath.rsplit(".", 1)
    cls = getattr(importlib.import_module(module), name)
    assert cls is DailyBotNewCheckinResponsesTrigger
    assert cls(**json.loads(json.dumps(kwargs))).serialize() == (classpath, kwargs)
    assert kwargs == {
        "checkin_id": seed.CHECKIN_ID,
        "dailybot_conn_id": "dailybot_default",
        "poll_interval": 5.0,
        "lookback_days": 1,
        "only_blockers": True,
        "emit_existing": False,
        "max_consecutive_failures": 2,
        "backoff_max": 600.0,
    }
    assert API_KEY not in repr(trigger)


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"checkin_id": ""}, ValueError),
        ({"poll_interval": 0}, ValueError),
        ({"lookback_days": -1}, ValueError),
        ({"lookback_days": 2.0}, ValueError),
        ({"max_consecutive_failures": 0}, ValueError),
        ({"only_blockers": "yes"}, TypeError),
        ({"dailybot_conn_id": " "}, ValueError),
    ],
)
def test_constructor_arguments_are_validated(kwargs: dict[str, Any], error: type[Exception]) -> None:
    with pytest.raises(error):
        DailyBotNewCheckinResponsesTrigger(**{"checkin_id": seed.CHECKIN_ID, **kwargs})


def test_one_event_per_new_response_after_the_baseline(fake: FakeDailyBotServer) -> None:
    fake.add_checkin_response(user_id=seed.GRACE, done="Already there before the watcher started")
    sleeper = Sleeper(
        _new(fake, user_id=seed.ALAN, blocker="The VPN is down"),
        lambda: (_new(fake, user_id=seed.KATHERINE)(), _new(fake, user_id=seed.MARGARET)()),
    )
    events = _collect(_trigger(sleeper), 3)

    assert [e["user"]["full_name"] for e in events] == ["Alan Turing", "Katherine Johnson", "Margaret Hamilton"]
    assert [e["has_blocker"] for e in events] == [True, False, False]
    assert events[0]["blockers"] == [{"question": "Any blockers?", "answer": "The VPN is down"}]
    assert all(e["checkin_id"] == seed.CHECKIN_ID for e in events)
    assert len({e["response_id"] for e in events}) == 3
    assert events[1]["response"] == fake.checkin_responses()[-2]
    assert sleeper.waits == [30.0, 30.0]
    json.dumps(events)  # payloads are stored as asset-event extras: JSON only
    assert API_KEY not in json.dumps(events)


def test_only_blockers(fake: FakeDailyBotServer) -> None:
    sleeper = Sleeper(
        lambda: (_new(fake, user_id=seed.GRACE)(), _new(fake, user_id=seed.ALAN, blocker="Waiting for review")())
    )
    (event,) = _collect(_trigger(sleeper, only_blockers=True), 1)
    assert event["user"]["full_name"] == "Alan Turing"
    assert blockers_of(event["response"]) == event["blockers"]


def test_backs_off_on_503_then_recovers(fake: FakeDailyBotServer) -> None:
    sleeper = Sleeper(lambda: (fake.inject(status=503, path=RESPONSES, times=3), _new(fake, user_id=seed.ALAN)()))
    (event,) = _collect(_trigger(sleeper, poll_interval=2.0), 1)

    assert event["user"]["full_name"] == "Alan Turing"
    assert sleeper.waits == [2.0, 2.0, 4.0, 8.0]  # poll, then exponential backoff
    assert [r.status for r in fake.requests if r.path == RESPONSES] == [200, 503, 503, 503, 200]


def test_retry_after_is_honoured_and_the_backoff_is_capped(fake: FakeDailyBotServer) -> None:
    fake.inject(status=429, retry_after=7, path=RESPONSES)
    fake.inject(status=502, path=RESPONSES, times=2)
    sleeper = Sleeper(None, None, None, _new(fake, user_id=seed.GRACE))
    _collect(_trigger(sleeper, poll_interval=1.0, backoff_max=3.0), 1)
    assert sleeper.waits == [3.0, 2.0, 3.0, 1.0]  # Retry-After 7 capped at 3, then 2 and 4 capped at 3


def test_gives_up_after_max_consecutive_failures(fake: FakeDailyBotServer) -> None:
    fake.inject(status=500, path=RESPONSES, times=10)
    sleeper = Sleeper()
    with pytest.raises(DailyBotServerError):
        _collect(_trigger(sleeper, poll_interval=1.0, max_consecutive_failures=3), 1)
    assert sleeper.waits == [1.0, 2.0]
    assert len([r for r in fake.requests if r.path == RESPONSES]) == 3


def test_a_wrong_checkin_fails_at_once(fake: FakeDailyBotServer) -> None:
    sleeper = Sleeper()
    with pytest.raises(DailyBotNotFoundError):
        _collect(_trigger(sleeper, checkin_id="no-such-checkin"), 1)
    assert sleeper.waits == []


def test_the_cursor_survives_a_restart_in_the_state_store(fake: FakeDailyBotServer) -> None:
    store = MemoryStateStore()
    first = _collect(_trigger(Sleeper(_new(fake, user_id=seed.ALAN)), store), 1)
    saved = json.loads(store.values[STATE_KEY_PREFIX + seed.CHECKIN_ID])
    assert list(saved["seen"]) == [first[0]["response_id"]]

    # A new trigger instance (triggerer restart) reads the cursor: Alan is not announced again.
    second = _collect(_trigger(Sleeper(_new(fake, user_id=seed.GRACE)), store), 1)
    assert [e["user"]["full_name"] for e in second] == ["Grace Hopper"]
    assert len(json.loads(store.values[STATE_KEY_PREFIX + seed.CHECKIN_ID])["seen"]) == 2


def test_emit_existing_announces_the_window_when_there_is_no_cursor(fake: FakeDailyBotServer) -> None:
    fake.add_checkin_response(user_id=seed.KATHERINE)
    fake.add_checkin_response(
        user_id=seed.MARGARET, response_date=time.strftime("%Y-%m-%d", time.gmtime(time.time() - 86400))
    )
    events = _collect(_trigger(Sleeper(), MemoryStateStore(), emit_existing=True), 2)
    assert sorted(e["user"]["full_name"] for e in events) == ["Katherine Johnson", "Margaret Hamilton"]


def test_without_a_state_store_the_same_trigger_resumes_from_its_cursor(fake: FakeDailyBotServer) -> None:
    """Airflow 3.1/3.2 have no asset state store: the same trigger object keeps its cursor in memory.

    Between two ``run()`` calls of one trigger object (a watcher re-entered), a response arrives: a
    trigger that kept its cursor announces it, one that lost its cursor would take it as the new
    baseline and stay silent. The response announced by the first run is not announced again.
    """
    if airflow_version() < (3, 3):
        # The documented 3.1 situation: the triggerer injects nothing and the base class has no store.
        assert not hasattr(DailyBotNewCheckinResponsesTrigger(checkin_id=seed.CHECKIN_ID), "asset_state_store")
    trigger = _trigger(Sleeper(_new(fake, user_id=seed.ALAN), no_more_polls))
    trigger.__dict__.pop("asset_state_store", None)
    _assert_resumes_from_its_cursor(fake, trigger, first_user=seed.ALAN, first_name="Alan Turing")


#: How long the fake takes to answer the slow poll: far longer than a few turns of an idle event loop.
SLOW_ANSWER = 2.0


def test_polling_never_blocks_the_event_loop(fake: FakeDailyBotServer) -> None:
    """While DailyBot is slow to answer, other coroutines on the triggerer's loop keep running.

    A probe coroutine waits until the slow request has reached the fake (the fault counts a hit when
    the request arrives, the request is recorded once it is answered), lets the loop turn a few more
    times, then checks that the answer has still not been sent. A trigger that called DailyBot on the
    event loop would hold the loop for the whole request: the probe could only run after the answer.
    """
    slow = fake.inject(delay=SLOW_ANSWER, path=RESPONSES)  # the baseline poll
    sleeper = Sleeper(_new(fake, user_id=seed.ALAN), no_more_polls)

    def answered() -> bool:
        return any(r.path == RESPONSES for r in fake.requests)

    async def probe() -> bool:
        while slow.hits == 0:
            await asyncio.sleep(0.001)
        for _ in range(10):
            await asyncio.sleep(0)
        return not answered()

    async def main() -> tuple[bool, dict[str, Any]]:
        prober = asyncio.create_task(probe())
        stream = _trigger(sleeper).run()
        try:
            event = await asyncio.wait_for(anext(stream), 10 + SLOW_ANSWER)
        finally:
            await stream.aclose()
        return await asyncio.wait_for(prober, 5), event.payload

    ran_during_the_request, payload = asyncio.run(main())
    assert ran_during_the_request, "the probe could only run after DailyBot had answered: the loop was blocked"
    assert slow.hits == 1
    assert payload["user"]["full_name"] == "Alan Turing"  # and the slow poll was still used as the baseline


def test_a_trigger_watching_two_assets_keeps_its_cursor_in_memory(fake: FakeDailyBotServer) -> None:
    """Airflow's store needs an asset key when one trigger watches several assets; the trigger copes."""
    context = pytest.importorskip("airflow.sdk.execution_time.context")
    if not hasattr(context, "AssetStateStoreAccessors"):
        pytest.skip("Airflow < 3.3 has no asset state store")
    from airflow.sdk import Asset

    store = context.AssetStateStoreAccessors(inlets=[Asset("dailybot_a"), Asset("dailybot_b")])
    trigger = _trigger(Sleeper(_new(fake, user_id=seed.MARGARET), no_more_polls), store)
    _assert_resumes_from_its_cursor(fake, trigger, first_user=seed.MARGARET, first_name="Margaret Hamilton")
