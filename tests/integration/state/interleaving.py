"""Run writers of a channel's state step by step, one register operation at a time, in an order the test picks.

Each actor runs in a thread of its own; before every register operation (a Variable get, set, delete
or listing) it stops at a gate, and the scheduler lets exactly one waiting actor through, chosen by
``choose``. Between two gates an actor runs alone, so an interleaving is a plain sequence of
operations: the same schedule gives the same run, and a failing one can be replayed.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from airflow_provider_dailybot.webhooks.channel_log import Registers
from airflow_provider_dailybot.webhooks.channels import (
    ChannelState,
    _VariableChannelStore,
    variable_key,
)

GATE_TIMEOUT = 30.0


@dataclass
class Outcome:
    """What an actor returned (or raised), and when it started and finished on the scheduler's step clock."""

    value: Any = None
    error: BaseException | None = None
    started: int | None = None
    finished: int | None = None


@dataclass
class Scheduler:
    """Grants one register operation at a time; ``trace`` lists ``(actor, operation, key)`` in the order run."""

    choose: Callable[[Sequence[str]], str]
    trace: list[tuple[str, str, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._cond = threading.Condition()
        self._local = threading.local()
        self._waiting: dict[str, tuple[str, str]] = {}
        self._granted: str | None = None
        self._live: set[str] = set()
        self.outcomes: dict[str, Outcome] = {}

    def gate(self, operation: str, key: str) -> None:
        """Block the calling actor until the scheduler lets its next operation run."""
        name = getattr(self._local, "name", None)
        if name is None:  # not an actor (setup or checks): run at once
            return
        with self._cond:
            self._waiting[name] = (operation, key)
            self._cond.notify_all()
            if not self._cond.wait_for(lambda: self._granted == name, timeout=GATE_TIMEOUT):
                raise TimeoutError(f"{name} was never scheduled")
            self._granted = None
            del self._waiting[name]
            outcome = self.outcomes[name]
            if outcome.started is None:
                outcome.started = len(self.trace)
            self.trace.append((name, operation, key))

    def run(self, actors: dict[str, Callable[[], Any]]) -> dict[str, Outcome]:
        """Run every actor to its end under the schedule and return their outcomes."""
        self.outcomes = {name: Outcome() for name in actors}
        self._live = set(actors)

        def body(name: str, actor: Callable[[], Any]) -> None:
            self._local.name = name
            outcome = self.outcomes[name]
            try:
                outcome.value = actor()
            except BaseException as err:  # reported to the test through the outcome
                outcome.error = err
            finally:
                with self._cond:
                    outcome.finished = len(self.trace)
                    self._live.discard(name)
                    self._cond.notify_all()

        threads = [threading.Thread(target=body, args=item, daemon=True) for item in actors.items()]
        for thread in threads:
            thread.start()
        with self._cond:
            while self._live:
                # Every live actor is at a gate (or finishing): only then is the choice well defined.
                self._cond.wait_for(lambda: set(self._waiting) == self._live, timeout=GATE_TIMEOUT)
                if not self._live:
                    break
                if set(self._waiting) != self._live:
                    raise TimeoutError(f"actors stuck outside a gate: {sorted(self._live - set(self._waiting))}")
                self._granted = self.choose(sorted(self._waiting))
                self._cond.notify_all()
                self._cond.wait_for(lambda: self._granted is None, timeout=GATE_TIMEOUT)
        for thread in threads:
            thread.join(GATE_TIMEOUT)
        return self.outcomes


def seeded(seed: int) -> Callable[[Sequence[str]], str]:
    """A schedule choosing uniformly at random among the waiting actors, reproducible from ``seed``."""
    rng = random.Random(seed)
    return lambda waiting: rng.choice(list(waiting))


def round_robin() -> Callable[[Sequence[str]], str]:
    """Actors take turns, one operation each: the schedule with the most contention."""
    turn = [0]

    def choose(waiting: Sequence[str]) -> str:
        turn[0] += 1
        return waiting[turn[0] % len(waiting)]

    return choose


def scripted(order: Sequence[str]) -> Callable[[Sequence[str]], str]:
    """Follow ``order`` (actor names), then let whoever is left run."""
    pending = list(order)

    def choose(waiting: Sequence[str]) -> str:
        while pending:
            name = pending.pop(0)
            if name in waiting:
                return name
        return waiting[0]

    return choose


class DictRegisters:
    """Variables in a dict; ``listing=False`` behaves like the Task SDK before Airflow 3.3 (no key listing)."""

    def __init__(self, *, listing: bool) -> None:
        self.values: dict[str, str] = {}
        self.listing = listing

    def get(self, key: str) -> str | None:
        return self.values.get(key)

    def set(self, key: str, value: str, description: str) -> None:
        self.values[key] = value

    def delete(self, key: str) -> None:
        self.values.pop(key, None)

    def items(self, prefix: str, limit: int) -> list[tuple[str, str]] | None:
        if not self.listing:
            return None
        return sorted((k, v) for k, v in self.values.items() if k.startswith(prefix))[:limit]


class GatedRegisters:
    """Registers whose every operation waits at the scheduler's gate first."""

    def __init__(self, inner: Registers, scheduler: Scheduler) -> None:
        self.inner = inner
        self.scheduler = scheduler

    def get(self, key: str) -> str | None:
        self.scheduler.gate("get", key)
        return self.inner.get(key)

    def set(self, key: str, value: str, description: str) -> None:
        self.scheduler.gate("set", key)
        self.inner.set(key, value, description)

    def delete(self, key: str) -> None:
        self.scheduler.gate("delete", key)
        self.inner.delete(key)

    def items(self, prefix: str, limit: int) -> Any:
        self.scheduler.gate("list", prefix)
        return self.inner.items(prefix, limit)


class RegistersStore(_VariableChannelStore):
    """The provider's channel store (load, append, rewrite, save) over any registers, as the two real ones are."""

    def __init__(self, registers: Registers) -> None:
        super().__init__()
        self.registers = registers

    def _registers(self) -> Registers:
        return self.registers

    def _get_base(self, key: str) -> str | None:
        return self.registers.get(key)


def legacy_add_secret(registers: Registers, channel: str, secret_sha256: str) -> None:
    """What a 0.1 create task did to register its secret: read the channel's one document, add, write it back.

    (0.1's ``TaskChannelStore().load(channel)``, ``state.add_secret_hash(...)``, ``TaskChannelStore().save(state)``.)
    """
    key = variable_key(channel)
    raw = registers.get(key)
    state = ChannelState.from_json(channel, raw) if raw is not None else ChannelState(channel=channel)
    state.add_secret_hash(secret_sha256)
    registers.set(key, state.to_json(), "0.1 channel state")
