"""The shared deadline watchdog: a late attempt's socket is shut down, a finished one's never, one thread for all.

Real sockets (a ``socketpair``): a read blocked on a silent peer returns as soon as the watchdog
shuts the socket down. Each socket has a 30 s timeout, only so that a broken watchdog fails the test
instead of hanging it; nothing asserts how long anything took.
"""

from __future__ import annotations

import os
import socket
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import SimpleNamespace

import pytest

from airflow_provider_dailybot import deadlines
from airflow_provider_dailybot.deadlines import Deadline

WATCHDOG_NAME = "dailybot-deadline-watchdog"


@contextmanager
def silent_peer() -> Iterator[socket.socket]:
    """Yield one end of a connected socket pair whose other end never writes."""
    ours, theirs = socket.socketpair()
    ours.settimeout(30)
    try:
        yield ours
    finally:
        ours.close()
        theirs.close()


def blocked_read_is_cut(seconds: float) -> bool:
    """Start a deadline of ``seconds`` over a read from a silent peer; True when the read was cut by it."""
    with silent_peer() as sock:
        deadline = Deadline(seconds)
        deadline.start()
        try:
            deadline.watch(SimpleNamespace(sock=sock))
            data = sock.recv(1)  # returns b"" once the watchdog shuts the socket down
        finally:
            deadline.finish()
        return data == b"" and deadline.expired and deadline.overdue()


def watchdog_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == WATCHDOG_NAME]


def test_a_read_blocked_past_its_deadline_is_cut():
    assert blocked_read_is_cut(0.2)


def test_an_earlier_deadline_added_while_the_watchdog_sleeps_to_a_later_one_is_honoured():
    far = Deadline(3600)
    far.start()
    try:
        assert blocked_read_is_cut(0.2)
        assert not far.expired
    finally:
        far.finish()


def test_a_finished_deadline_leaves_its_connection_alone():
    ours, theirs = socket.socketpair()
    ours.settimeout(30)
    try:
        early = Deadline(0.05)
        early.start()
        early.watch(SimpleNamespace(sock=ours))
        early.finish()
        assert blocked_read_is_cut(0.3)  # the watchdog has passed the early deadline by now
        assert not early.expired
        theirs.sendall(b"still open")
        assert ours.recv(64) == b"still open"
    finally:
        ours.close()
        theirs.close()


def test_watch_after_expiry_refuses_to_go_on():
    deadline = Deadline(0.05)
    deadline.start()
    try:
        while not deadline.expired:
            time.sleep(0.01)
        with pytest.raises(TimeoutError, match=r"within 0\.05 s"):
            deadline.watch(SimpleNamespace(sock=None))
    finally:
        deadline.finish()


def test_one_thread_serves_every_deadline_of_the_process():
    assert blocked_read_is_cut(0.1)  # the watchdog is running
    before = set(watchdog_threads())

    def attempts() -> None:
        for _ in range(50):
            deadline = Deadline(120)
            deadline.start()
            deadline.finish()

    workers = [threading.Thread(target=attempts) for _ in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert blocked_read_is_cut(0.1)
    assert set(watchdog_threads()) == before


def test_a_dead_watchdog_thread_is_replaced_by_the_next_deadline(monkeypatch):
    watchdog = deadlines._Watchdog()
    dead = threading.Thread(target=lambda: None, name=WATCHDOG_NAME)
    dead.start()
    dead.join()
    watchdog._thread = dead
    monkeypatch.setattr(deadlines, "_watchdog", watchdog)
    assert blocked_read_is_cut(0.1)
    assert watchdog._thread is not dead
    assert watchdog._thread.is_alive()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_gets_a_watchdog_of_its_own_even_if_the_lock_was_held():
    assert blocked_read_is_cut(0.1)  # the parent's watchdog thread is running
    watchdog = deadlines._watchdog
    with watchdog._cond:  # another thread holding the lock at fork time would leave it held in the child
        pid = os.fork()
        if pid == 0:  # the child: report by exit status, never return into pytest
            code = 1
            try:
                code = 0 if blocked_read_is_cut(0.1) and len(watchdog_threads()) == 1 else 1
            finally:
                sys.stdout.flush()
                os._exit(code)
    for _ in range(3000):  # the child hanging would mean a deadlock: fail after 30 s, never hang
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        time.sleep(0.01)
    else:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
        pytest.fail("the forked child's deadline never fired (deadlock on the inherited lock?)")
    assert os.waitstatus_to_exitcode(status) == 0
