"""Concurrent writers of one channel's state, interleaved one register operation at a time (issue 13, item 5).

0.1 kept a channel in one Variable that each create task read, changed and wrote back: two creates
interleaved lose a secret hash, and that subscription's deliveries get 401. The store now writes
change records in slots of their own; the same interleavings (and a few hundred random ones, in both
the listing mode of Airflow 3.3 and the walking mode of 3.1) never lose anything.
"""

from __future__ import annotations

import functools
import itertools
import json
from collections.abc import Callable, Sequence
from typing import Any

import pytest

from airflow_provider_dailybot.webhooks.channel_log import LogFull, SlotLog
from airflow_provider_dailybot.webhooks.channels import (
    ChannelChange,
    ChannelState,
    ChannelSubscription,
    hash_secret,
    record_key_prefix,
    variable_key,
)
from tests.integration.state.interleaving import (
    DictRegisters,
    GatedRegisters,
    RegistersStore,
    Scheduler,
    legacy_add_secret,
    round_robin,
    scripted,
    seeded,
)

CHANNEL = "checkins"
RANDOM_SCHEDULES = 150
MODES = pytest.mark.parametrize("listing", [True, False], ids=["listing (3.3+)", "walking (3.1)"])


def secret_hash(name: str) -> str:
    return hash_secret(f"secret-{name}")


def subscription(name: str) -> ChannelSubscription:
    return ChannelSubscription(
        hook_id=f"hook-{name}",
        hook_url=f"https://airflow.example.com/dailybot/webhooks/{CHANNEL}",
        events=["followups.response.completed"],
        secret_sha256=secret_hash(name),
    )


def create_actor(store: RegistersStore, name: str) -> Callable[[], int]:
    """What the create operator does to the store: accept its secret, then record its subscription there."""

    def run() -> int:
        slot = store.append(ChannelChange(CHANNEL, accept_sha256=[secret_hash(name)]))
        recorded = ChannelChange(CHANNEL, accept_sha256=[secret_hash(name)], subscriptions=[subscription(name)])
        store.rewrite(recorded, slot)
        return slot

    return run


def run_creates(
    registers: DictRegisters, choose: Callable[[Sequence[str]], str], names: Sequence[str]
) -> tuple[Scheduler, dict[str, Any]]:
    scheduler = Scheduler(choose)
    gated = GatedRegisters(registers, scheduler)
    outcomes = scheduler.run({name: create_actor(RegistersStore(gated), name) for name in names})
    for name, outcome in outcomes.items():
        assert outcome.error is None, f"{name}: {outcome.error!r} after {scheduler.trace}"
    return scheduler, {name: outcome.value for name, outcome in outcomes.items()}


def assert_nothing_lost(registers: DictRegisters, names: Sequence[str], trace: object) -> ChannelState:
    state = RegistersStore(registers).load(CHANNEL)
    assert state is not None
    assert sorted(state.secret_sha256) == sorted(secret_hash(n) for n in names), trace
    assert sorted(s.hook_id for s in state.subscriptions) == sorted(f"hook-{n}" for n in names), trace
    assert all(state.accepts(f"secret-{n}") for n in names)
    return state


# -- the 0.1 code path ---------------------------------------------------------------------------------
def test_the_0_1_read_modify_write_loses_a_secret_when_two_creates_interleave() -> None:
    """Both read the document before either writes: the second write drops the first one's hash."""
    registers = DictRegisters(listing=True)
    scheduler = Scheduler(scripted(["a", "b", "a", "b"]))
    gated = GatedRegisters(registers, scheduler)
    scheduler.run({n: (lambda n=n: legacy_add_secret(gated, CHANNEL, secret_hash(n))) for n in "ab"})

    assert [(actor, op) for actor, op, _ in scheduler.trace] == [("a", "get"), ("b", "get"), ("a", "set"), ("b", "set")]
    state = ChannelState.from_json(CHANNEL, registers.values[variable_key(CHANNEL)])
    assert state.secret_sha256 == [secret_hash("b")]  # a's secret is lost: its subscription would get 401
    assert not state.accepts("secret-a")


def test_every_0_1_interleaving_in_which_both_read_first_loses_a_secret() -> None:
    """Of the six interleavings of two read-then-write creates, four lose one of the two secrets."""
    lost = 0
    for order in set(itertools.permutations("aabb")):
        registers = DictRegisters(listing=True)
        scheduler = Scheduler(scripted(order))
        gated = GatedRegisters(registers, scheduler)
        scheduler.run({n: (lambda n=n, g=gated: legacy_add_secret(g, CHANNEL, secret_hash(n))) for n in "ab"})
        state = ChannelState.from_json(CHANNEL, registers.values[variable_key(CHANNEL)])
        lost += len(state.secret_sha256) < 2
    assert lost == 4


# -- the change records ----------------------------------------------------------------------------------
@MODES
def test_the_same_interleaving_loses_nothing_with_change_records(listing: bool) -> None:
    """Round robin, one operation each: every slot is contended, and still both creates are recorded."""
    registers = DictRegisters(listing=listing)
    scheduler, slots = run_creates(registers, round_robin(), "ab")
    assert len(set(slots.values())) == 2
    assert_nothing_lost(registers, "ab", scheduler.trace)
    assert variable_key(CHANNEL) not in registers.values  # the base document is never written


@MODES
@pytest.mark.parametrize("writers", [2, 3])
def test_random_interleavings_of_concurrent_creates_never_lose_a_secret(listing: bool, writers: int) -> None:
    names = "abc"[:writers]
    for seed in range(RANDOM_SCHEDULES):
        registers = DictRegisters(listing=listing)
        scheduler, slots = run_creates(registers, seeded(seed), names)
        assert len(set(slots.values())) == writers, (seed, slots)  # a slot never has two owners
        assert_nothing_lost(registers, names, (seed, scheduler.trace))
        # A later writer, alone, gets the next slot at once (slots given up under contention are skipped).
        later = RegistersStore(registers)
        later.load(CHANNEL)
        assert later.append(ChannelChange(CHANNEL, accept_sha256=[secret_hash("later")])) > max(slots.values())


@MODES
def test_the_creates_of_0_1_channels_add_to_the_base_document(listing: bool) -> None:
    """A channel written by 0.1 keeps its secrets and subscriptions; concurrent creates add theirs."""
    registers = DictRegisters(listing=listing)
    old = ChannelState(channel=CHANNEL)
    old.add_secret("secret-old")
    old.add_subscription(subscription("old"))
    registers.values[variable_key(CHANNEL)] = old.to_json()  # exactly what 0.1 stored

    scheduler, _ = run_creates(registers, seeded(7), "ab")
    state = RegistersStore(registers).load(CHANNEL)
    assert state is not None
    assert state.secret_sha256[0] == secret_hash("old")
    assert sorted(state.secret_sha256) == sorted(secret_hash(n) for n in ("old", "a", "b")), scheduler.trace
    assert next(s.hook_id for s in state.subscriptions) == "hook-old"
    assert registers.values[variable_key(CHANNEL)] == old.to_json()  # untouched


@MODES
def test_a_delete_and_two_creates_at_once_keep_every_change(listing: bool) -> None:
    """The delete retires the old secret, the creates add theirs: all three changes are in the state."""
    for seed in range(RANDOM_SCHEDULES // 3):
        registers = DictRegisters(listing=listing)
        base = ChannelState(channel=CHANNEL)
        base.add_secret("secret-old")
        base.add_subscription(subscription("old"))
        registers.values[variable_key(CHANNEL)] = base.to_json()
        scheduler = Scheduler(seeded(seed))
        gated = GatedRegisters(registers, scheduler)
        deleter = RegistersStore(gated)

        def delete(deleter: RegistersStore = deleter) -> None:
            # What the delete operator does: read the state, then record its change in a record of its own.
            state = deleter.load(CHANNEL)
            assert state is not None
            assert state.get_subscription("hook-old") is not None
            deleter.append(ChannelChange(CHANNEL, retire_sha256=[secret_hash("old")], deleted_hook_ids=["hook-old"]))

        actors = {n: create_actor(RegistersStore(gated), n) for n in "ab"}
        outcomes = scheduler.run({**actors, "delete": delete})
        assert all(o.error is None for o in outcomes.values()), (seed, outcomes)

        state = RegistersStore(registers).load(CHANNEL)
        assert state is not None
        assert sorted(state.secret_sha256) == sorted([secret_hash("a"), secret_hash("b")]), (seed, scheduler.trace)
        assert sorted(s.hook_id for s in state.subscriptions) == ["hook-a", "hook-b"]
        assert state.deleted_hook_ids == ["hook-old"]
        assert not state.accepts("secret-old")


@MODES
def test_a_read_sees_every_create_that_finished_before_it_started(listing: bool) -> None:
    """Linearizable reads: a load running among appends misses none that had finished when it began."""
    for seed in range(RANDOM_SCHEDULES):
        registers = DictRegisters(listing=listing)
        scheduler = Scheduler(seeded(seed))
        gated = GatedRegisters(registers, scheduler)
        actors: dict[str, Callable[[], Any]] = {n: create_actor(RegistersStore(gated), n) for n in "abc"}
        actors["reader"] = functools.partial(RegistersStore(gated).load, CHANNEL)
        outcomes = scheduler.run(actors)
        reader = outcomes.pop("reader")
        assert reader.error is None, (seed, reader.error)
        seen = set() if reader.value is None else set(reader.value.secret_sha256)
        done_before = {n for n, o in outcomes.items() if o.finished is not None and o.finished <= (reader.started or 0)}
        assert {secret_hash(n) for n in done_before} <= seen, (seed, done_before, scheduler.trace)


def test_an_abandoned_slot_is_skipped_by_walkers_and_appenders() -> None:
    """A slot left with only its door (every contender gave up) neither ends a walk nor blocks an append."""
    registers = DictRegisters(listing=False)
    log = SlotLog(registers, record_key_prefix(CHANNEL), max_slots=10, description="test")
    registers.values[f"{record_key_prefix(CHANNEL)}claim.000000.door"] = "someone"
    assert log.append("first") == 1
    fresh = SlotLog(registers, record_key_prefix(CHANNEL), max_slots=10, description="test")
    assert fresh.records() == [(1, "first")]
    assert fresh.end == 2


@MODES
def test_a_log_with_more_records_than_the_bound_is_refused(listing: bool) -> None:
    registers = DictRegisters(listing=listing)
    writer = SlotLog(registers, record_key_prefix(CHANNEL), max_slots=3, description="test")
    for value in ("a", "b", "c"):
        writer.append(value)
    with pytest.raises(LogFull):
        writer.append("d")
    assert [v for _, v in SlotLog(registers, record_key_prefix(CHANNEL), max_slots=3, description="t").records()] == [
        "a",
        "b",
        "c",
    ]
    registers.values[SlotLog(registers, record_key_prefix(CHANNEL), max_slots=3, description="t").record_key(3)] = "x"
    with pytest.raises(LogFull):
        SlotLog(registers, record_key_prefix(CHANNEL), max_slots=3, description="t").records()


def test_records_are_plain_json_that_names_no_secret() -> None:
    registers = DictRegisters(listing=True)
    store = RegistersStore(registers)
    slot = store.append(ChannelChange(CHANNEL, accept_sha256=[secret_hash("a")], subscriptions=[subscription("a")]))
    stored = json.loads(registers.values[f"{record_key_prefix(CHANNEL)}change.{slot:06d}"])
    assert stored["accept_sha256"] == [secret_hash("a")]
    assert stored["subscriptions"][0]["hook_id"] == "hook-a"
    assert "secret-a" not in json.dumps(registers.values)


def test_a_walk_is_not_ended_by_a_slot_won_between_its_reads() -> None:
    """The winner of slot 0 writes its record and removes its door between the walker's two reads of slot 0.

    b passed slot 0 (its door was up) and finished in slot 1 before the walk began, so the walk must
    find b: it reads slot 0's record again instead of ending there.
    """
    registers = DictRegisters(listing=False)
    a_claims_slot_0 = ["a"] * 6  # get record, get door, set x, get record, get door, set door
    b_all = ["b"] * 13  # sees slot 0 taken (2 reads), claims slot 1 (10 operations), rewrites its record
    reader_starts = ["reader"] * 3  # get base document, list (unsupported), get record of slot 0: none yet
    a_wins = ["a"] * 4  # get x, set record, delete x, delete door
    scheduler = Scheduler(scripted([*a_claims_slot_0, *b_all, *reader_starts, *a_wins]))
    gated = GatedRegisters(registers, scheduler)
    outcomes = scheduler.run({
        "a": create_actor(RegistersStore(gated), "a"),
        "b": create_actor(RegistersStore(gated), "b"),
        "reader": lambda: RegistersStore(gated).load(CHANNEL),
    })  # fmt: skip
    assert outcomes["b"].value == 1
    assert outcomes["a"].value == 0
    assert outcomes["b"].finished is not None
    assert outcomes["reader"].started is not None
    assert outcomes["b"].finished <= outcomes["reader"].started
    seen = outcomes["reader"].value
    assert seen is not None
    assert secret_hash("b") in seen.secret_sha256
    # The schedule did what it is meant to: slot 0 was won between the walker's first two reads of it.
    trace = scheduler.trace
    reads = [i for i, (actor, _, _) in enumerate(trace) if actor == "reader"]
    first, door = reads[2], reads[3]
    assert trace[first][1:] == ("get", f"{record_key_prefix(CHANNEL)}change.000000")
    assert trace[door][1:] == ("get", f"{record_key_prefix(CHANNEL)}claim.000000.door")
    between = [(op, key) for actor, op, key in trace[first:door] if actor == "a"]
    assert ("set", f"{record_key_prefix(CHANNEL)}change.000000") in between
    assert ("delete", f"{record_key_prefix(CHANNEL)}claim.000000.door") in between
