"""Driving HTTP load at a target and metering the CPU it costs (receiver benchmark).

A :class:`Load` is what one target receives (method, URL, headers, a body per request number and the
statuses it is expected to answer); :func:`drive` sends a bounded number of requests from a bounded
pool of threads, each with its own keep-alive ``requests.Session``; :class:`CpuMeter` reads the CPU
seconds of the api-server (with its workers), of the PostgreSQL backends serving the benchmark's
database (from ``/proc`` through psutil) and of this process.
"""

from __future__ import annotations

import contextlib
import itertools
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import requests

LOAD_TIMEOUT_S = 60.0  # upper bound of one load (requests stop being sent after it)
REQUEST_TIMEOUT_S = 30.0
ACCEPTED = (200, 300)  # the statuses a delivery or an event is expected to get: 2xx
UNAUTHORIZED = (401, 402)  # what a wrong secret is expected to get


class CpuMeter:
    """Cumulative CPU seconds of the api-server (with its workers), the database backends and this process.

    :param server_pid: The api-server process.
    :param db_name: The PostgreSQL database whose backends are counted; None for SQLite (not metered).
    """

    def __init__(self, server_pid: int, db_name: str | None) -> None:
        self.server_pid = server_pid
        self.db_name = db_name
        self._seen: dict[int, float] = {}

    @staticmethod
    def _cpu(proc: Any) -> float:
        times = proc.cpu_times()
        return float(times.user + times.system)

    def _server(self) -> float:
        import psutil

        try:
            root = psutil.Process(self.server_pid)
            procs = [root, *root.children(recursive=True)]
        except psutil.Error:
            return float("nan")
        total = 0.0
        for proc in procs:
            with contextlib.suppress(psutil.Error):
                total += self._cpu(proc)
        return total

    def _database(self) -> float:
        if self.db_name is None:
            return float("nan")
        import psutil

        for proc in psutil.process_iter(["name", "cmdline"]):
            with contextlib.suppress(psutil.Error):
                title = " ".join(proc.info["cmdline"] or [])
                if proc.info["name"] == "postgres" and f" {self.db_name} " in f" {title} ":
                    self._seen[proc.pid] = self._cpu(proc)  # backends that exited keep their last reading
        return sum(self._seen.values())

    def read(self) -> tuple[float, float, float]:
        """Return (api-server, database, this process) CPU seconds so far."""
        return self._server(), self._database(), time.process_time()


@dataclass
class Load:
    """What one target receives.

    :param method: HTTP method.
    :param url: The URL.
    :param headers: Request headers.
    :param body: ``callable(number) -> bytes`` (the same number gives the same bytes), or None.
    :param expect: The half-open status range the requests are expected to get.
    """

    method: str
    url: str
    headers: dict[str, str]
    body: Callable[[int], bytes] | None = None
    expect: tuple[int, int] = ACCEPTED

    def send(self, session: requests.Session, number: int) -> int:
        """Send request ``number`` and return its status."""
        data = self.body(number) if self.body is not None else None
        response = session.request(self.method, self.url, data=data, headers=self.headers, timeout=REQUEST_TIMEOUT_S)
        response.content  # noqa: B018 - read the body so the connection is reused
        return response.status_code


@dataclass
class LoadResult:
    """Outcome of one load: statuses, latencies (ms), wall time (s) and CPU seconds (server, DB, client).

    ``numbers_ok`` are the request numbers answered as expected (a replay sends them again).
    """

    expect: tuple[int, int] = ACCEPTED
    sent: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    latencies_ms: list[float] = field(default_factory=list)
    numbers_ok: list[int] = field(default_factory=list)
    wall_s: float = 0.0
    cpu_s: list[float] = field(default_factory=lambda: [0.0, 0.0, 0.0])

    def add(self, other: LoadResult) -> None:
        """Merge another load of the same target, scenario and concurrency into this one."""
        self.expect = other.expect
        self.sent += other.sent
        self.statuses.update(other.statuses)
        self.errors.update(other.errors)
        self.latencies_ms.extend(other.latencies_ms)
        self.numbers_ok.extend(other.numbers_ok)
        self.wall_s += other.wall_s
        self.cpu_s = [a + b for a, b in zip(self.cpu_s, other.cpu_s, strict=True)]

    @property
    def ok(self) -> int:
        """Requests answered with an expected status."""
        low, high = self.expect
        return sum(n for status, n in self.statuses.items() if low <= status < high)

    @property
    def accepted(self) -> int:
        """Requests answered 2xx."""
        return sum(n for status, n in self.statuses.items() if 200 <= status < 300)


def drive(
    load: Load, total: int, concurrency: int, numbers: Iterator[int], meter: CpuMeter | None = None
) -> LoadResult:
    """Send ``total`` requests from ``concurrency`` threads (one keep-alive session each); bounded in time.

    :param load: The target.
    :param total: Requests to send.
    :param concurrency: Threads sending them.
    :param numbers: The request numbers, shared by the threads (drawn under a lock).
    :param meter: Reads CPU before and after the load, when given.
    """
    result = LoadResult(expect=load.expect)
    lock = threading.Lock()
    remaining = itertools.count()
    start = threading.Barrier(concurrency + 1)
    deadline = time.monotonic() + LOAD_TIMEOUT_S
    low, high = load.expect

    def worker() -> None:
        session = requests.Session()
        latencies: list[float] = []
        numbers_ok: list[int] = []
        statuses: Counter[int] = Counter()
        errors: Counter[str] = Counter()
        try:
            start.wait(timeout=60)
            while next(remaining) < total and time.monotonic() < deadline:
                with lock:
                    number = next(numbers)
                began = time.perf_counter()
                try:
                    status = load.send(session, number)
                    statuses[status] += 1
                    if low <= status < high:
                        numbers_ok.append(number)
                except requests.RequestException as err:
                    errors[type(err).__name__] += 1
                latencies.append((time.perf_counter() - began) * 1000)
        finally:
            session.close()
            with lock:
                result.latencies_ms.extend(latencies)
                result.numbers_ok.extend(numbers_ok)
                result.statuses.update(statuses)
                result.errors.update(errors)

    threads = [threading.Thread(target=worker, name=f"load-{i}", daemon=True) for i in range(concurrency)]
    for thread in threads:
        thread.start()
    cpu_before = meter.read() if meter else (0.0, 0.0, 0.0)
    start.wait(timeout=60)
    began = time.perf_counter()
    for thread in threads:
        thread.join(timeout=LOAD_TIMEOUT_S + REQUEST_TIMEOUT_S + 5)
    result.wall_s = time.perf_counter() - began
    cpu_after = meter.read() if meter else (0.0, 0.0, 0.0)
    result.cpu_s = [after - before for after, before in zip(cpu_after, cpu_before, strict=True)]
    result.sent = len(result.latencies_ms)
    return result
