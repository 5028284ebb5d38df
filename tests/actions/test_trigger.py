"""DailyBotNewCheckinResponsesTrigger: serialisation, polling the fake DailyBot, backoff and the cursor."""

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
from tests.actions.conftest import API_KEY, MemoryStateStore, airflow_version

RESPONSES = f"/v1/checkins/{seed.CHECKIN_ID}/responses/"


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


def test_without_a_state_store_the_cursor_lives_in_memory(fake: FakeDailyBotServer) -> None:
    """Airflow 3.1/3.2 have no asset state store: same trigger object keeps its cursor, a new one re-baselines."""
    if airflow_version() < (3, 3):
        # The documented 3.1 situation: the triggerer injects nothing and the base class has no store.
        assert not hasattr(DailyBotNewCheckinResponsesTrigger(checkin_id=seed.CHECKIN_ID), "asset_state_store")
    trigger = _trigger(Sleeper(_new(fake, user_id=seed.ALAN)))
    trigger.__dict__.pop("asset_state_store", None)
    (event,) = _collect(trigger, 1)
    assert trigger._memory_cursor is not None
    assert event["response_id"] in trigger._memory_cursor
    trigger.sleep = Sleeper(_new(fake, user_id=seed.GRACE))
    (again,) = _collect(trigger, 1)  # the same object (a watcher's run() re-entered) does not repeat Alan
    assert again["user"]["full_name"] == "Grace Hopper"


def test_polling_never_blocks_the_event_loop(fake: FakeDailyBotServer) -> None:
    fake.inject(delay=0.6, path=RESPONSES, times=2)
    sleeper = Sleeper(_new(fake, user_id=seed.ALAN))
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    async def main() -> float:
        beat = asyncio.create_task(ticker())
        stream = _trigger(sleeper).run()
        started = time.monotonic()
        await asyncio.wait_for(anext(stream), 10)
        await stream.aclose()
        beat.cancel()
        return time.monotonic() - started

    elapsed = asyncio.run(main())
    assert elapsed >= 1.2  # two slow polls
    assert ticks >= 60  # the loop kept ticking every 10 ms while DailyBot was slow


def test_a_trigger_watching_two_assets_keeps_its_cursor_in_memory(fake: FakeDailyBotServer) -> None:
    """Airflow's store needs an asset key when one trigger watches several assets; the trigger copes."""
    context = pytest.importorskip("airflow.sdk.execution_time.context")
    if not hasattr(context, "AssetStateStoreAccessors"):
        pytest.skip("Airflow < 3.3 has no asset state store")
    from airflow.sdk import Asset

    store = context.AssetStateStoreAccessors(inlets=[Asset("dailybot_a"), Asset("dailybot_b")])
    trigger = _trigger(Sleeper(_new(fake, user_id=seed.MARGARET)), store)
    (event,) = _collect(trigger, 1)
    assert event["user"]["full_name"] == "Margaret Hamilton"
    assert trigger._memory_cursor is not None
    assert event["response_id"] in trigger._memory_cursor
