"""Wall-clock deadlines of HTTP attempts, enforced by one shared watchdog thread.

Each attempt of :func:`airflow_provider_dailybot.bounded_http.exchange` has a :class:`Deadline`: the
connection in use is recorded on it, and once the deadline passes the watchdog shuts that
connection's socket down, so a read blocked on a server that trickles bytes returns at once.

One daemon thread serves every deadline of the process, whatever the number of hooks and threads:
it sleeps until the earliest deadline in flight and is woken only when a new one is earlier than
the time it sleeps to. Starting and finishing an attempt is a set insertion and removal under one
lock, not a thread per attempt (which cost a thread start, a wake-up and a join every request).
A forked child (Airflow forks task processes) gets a fresh lock and starts its own thread on first
use; a watchdog thread that died is started again by the next deadline.

Nothing here imports Airflow or the rest of the provider.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
from typing import Any


class Deadline:
    """The deadline of one attempt and the connection it is using; shuts the socket down when late.

    :param seconds: Seconds from now until the deadline.
    """

    __slots__ = ("_connection", "_done", "_lock", "deadline", "expired", "seconds")

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.deadline = time.monotonic() + seconds
        self.expired = False
        self._done = False
        self._connection: Any = None
        self._lock = threading.Lock()

    def start(self) -> None:
        """Put the deadline under the shared watchdog."""
        _watchdog.add(self)

    def overdue(self) -> bool:
        """Return True once the deadline has passed (or the watchdog has acted on it)."""
        return self.expired or time.monotonic() >= self.deadline

    def watch(self, connection: Any) -> None:
        """Record the connection in use; refuse to go on once the deadline has passed.

        :param connection: A connection with a ``sock`` attribute (urllib3's ``HTTPConnection``).
        :raises TimeoutError: When the deadline has already expired.
        """
        with self._lock:
            self._connection = connection
            expired = self.expired
        if expired:
            raise TimeoutError(f"no complete answer within {self.seconds:g} s")

    def finish(self) -> None:
        """End the attempt: the watchdog no longer touches its connection."""
        with self._lock:
            self._done = True
            self._connection = None
        _watchdog.discard(self)

    def expire(self) -> None:
        """Mark the deadline expired and shut the recorded connection's socket down (the watchdog calls it)."""
        with self._lock:
            if self._done:
                return
            self.expired = True
            sock = getattr(self._connection, "sock", None)
            if sock is not None:
                # The base class method: SSLSocket.shutdown would also drop its SSL object under the reader.
                with contextlib.suppress(OSError, TypeError, ValueError):
                    socket.socket.shutdown(sock, socket.SHUT_RDWR)


class _Watchdog:
    """One thread expiring the deadlines in flight, earliest first."""

    def __init__(self) -> None:
        self._reset()

    def _reset(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._active: set[Deadline] = set()
        self._thread: threading.Thread | None = None
        #: When the thread wakes next (monotonic seconds); None while it waits for a first deadline.
        self._wake_at: float | None = None

    def add(self, deadline: Deadline) -> None:
        with self._cond:
            self._active.add(deadline)
            if self._thread is None or not self._thread.is_alive():
                self._wake_at = deadline.deadline
                self._thread = threading.Thread(target=self._run, name="dailybot-deadline-watchdog", daemon=True)
                self._thread.start()
            elif self._wake_at is None or deadline.deadline < self._wake_at:
                self._wake_at = deadline.deadline
                self._cond.notify()

    def discard(self, deadline: Deadline) -> None:
        # No wake-up: a thread woken for a finished deadline only computes the next one.
        with self._cond:
            self._active.discard(deadline)

    def _run(self) -> None:
        cond = self._cond
        while True:
            with cond:
                if cond is not self._cond:  # replaced after a fork: a newer thread serves the new lock
                    return
                now = time.monotonic()
                late = [d for d in self._active if d.deadline <= now]
                self._active.difference_update(late)
                if not late:
                    self._wake_at = min((d.deadline for d in self._active), default=None)
                    cond.wait(None if self._wake_at is None else self._wake_at - now)
                    continue
            for deadline in late:  # outside the lock: a shutdown is a system call
                with contextlib.suppress(Exception):
                    deadline.expire()


_watchdog = _Watchdog()

if hasattr(os, "register_at_fork"):
    # The child has no watchdog thread, and the lock may have been held by a thread that is gone.
    os.register_at_fork(after_in_child=_watchdog._reset)
