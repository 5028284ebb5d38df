"""Clients that trickle or stall a delivery's body, over real sockets to the receiver served by uvicorn.

uvicorn (what ``airflow api-server`` runs) bounds the wait *between* requests (``timeout_keep_alive``,
set to ``[api] worker_timeout``) but has no timeout for a body that never completes, so the receiver
bounds it itself: ``[dailybot] receiver_body_timeout_seconds`` from the moment the headers were read.
The server runs in a thread of this process on the suite's metadata DB, the receiver app mounted at
``/dailybot`` as the plugin mounts it.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from airflow_provider_dailybot.testing.processes import free_port, wait_for
from airflow_provider_dailybot.webhooks import metrics
from tests.integration.receiver.conftest import Channel, envelope, rows

#: The body timeout the server is run with (seconds).
BODY_TIMEOUT = 1
#: How long the test waits for any answer at all (its own bound, far above ``BODY_TIMEOUT``).
ANSWER_WAIT = 60


@pytest.fixture
def server(airflow_db: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[int]:
    """Serve the receiver with uvicorn on a free loopback port (``BODY_TIMEOUT``); yield the port."""
    import uvicorn
    from fastapi import FastAPI

    from airflow_provider_dailybot.webhooks.receiver import create_receiver_app

    monkeypatch.setenv("AIRFLOW__DAILYBOT__RECEIVER_BODY_TIMEOUT_SECONDS", str(BODY_TIMEOUT))
    root = FastAPI()
    root.mount("/dailybot", create_receiver_app())
    port = free_port()
    uv = uvicorn.Server(uvicorn.Config(root, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=uv.run, name="uvicorn-receiver", daemon=True)
    thread.start()
    try:
        wait_for("uvicorn to listen", lambda: uv.started, timeout=30)
        yield port
    finally:
        uv.should_exit = True
        thread.join(timeout=30)


@pytest.fixture
def refusals(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The reasons passed to ``metrics.rejected``."""
    seen: list[str] = []
    original = metrics.rejected

    def spy(reason: str) -> None:
        seen.append(reason)
        original(reason)

    monkeypatch.setattr(metrics, "rejected", spy)
    return seen


def _head(channel: Channel, length: int) -> bytes:
    return (
        f"POST {channel.path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"X-BEARER: {channel.secret}\r\nContent-Length: {length}\r\n\r\n"
    ).encode("latin-1")


def _answer_and_close(sock: socket.socket, feed: Callable[[], bytes | None]) -> bytes:
    """Read until the server closes the connection, sending ``feed()`` between reads (None: nothing)."""
    sock.settimeout(0.2)
    received = b""
    give_up = time.monotonic() + ANSWER_WAIT
    while time.monotonic() < give_up:
        more = feed()
        if more:
            with contextlib.suppress(OSError):  # the server closed its side: its answer is already buffered
                sock.sendall(more)
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            continue
        except ConnectionResetError:
            # The server closed while bytes it had not read were arriving (a trickling client): its kernel
            # answers them with a reset. The connection is closed; what was answered before is complete.
            return received
        if not chunk:
            return received
        received += chunk
    raise AssertionError(f"the server did not answer and close within {ANSWER_WAIT} s; got {received!r}")


@pytest.mark.parametrize("client", ["stalls", "trickles"])
def test_a_body_that_does_not_arrive_in_time_is_408_and_the_connection_closed(
    server: int, make_channel: Callable[..., Channel], refusals: list[str], client: str
) -> None:
    channel = make_channel("none")
    body = b'{"event": "kudos.posted", "body": {"text": "' + b"x" * 10_000 + b'"}}'
    trickle = iter(body[20:]) if client == "trickles" else iter(())
    with socket.create_connection(("127.0.0.1", server), timeout=10) as sock:
        sock.sendall(_head(channel, len(body)) + body[:20])
        # A trickling client keeps sending a byte per read (0.2 s) and never finishes: the bound is the
        # whole body's time, not the time between two bytes.
        answer = _answer_and_close(sock, lambda: bytes([next(trickle)]) if client == "trickles" else None)

    status_line, _, rest = answer.partition(b"\r\n")
    assert status_line == b"HTTP/1.1 408 Request Timeout", answer[:300]
    assert b"connection: close" in rest.lower()
    assert f"within the receiver's {BODY_TIMEOUT} seconds".encode() in rest
    assert channel.secret.encode() not in answer
    assert refusals == [metrics.REASON_SLOW_BODY]
    assert rows(channel) == []


def test_a_whole_body_sent_in_pieces_within_the_bound_is_accepted(
    server: int, make_channel: Callable[..., Channel], refusals: list[str]
) -> None:
    import json

    channel = make_channel("none")
    body = json.dumps(envelope()).encode()
    pieces: Iterator[Any] = iter([body[len(body) // 2 :], None])
    with socket.create_connection(("127.0.0.1", server), timeout=10) as sock:
        sock.sendall(_head(channel, len(body)).replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n") + body[:10])
        sock.sendall(body[10 : len(body) // 2])
        answer = _answer_and_close(sock, lambda: next(pieces, None))

    assert answer.startswith(b"HTTP/1.1 202 "), answer[:300]
    assert refusals == []
    assert [r.outcome for r in rows(channel)] == ["no_consumer"]
