"""Fixtures for the fake DailyBot server tests: a started server, an API client and a webhook receiver."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests

from airflow_provider_dailybot.testing import FakeDailyBotServer

BEARER = "bearer-secret-51d2e8"
HOOKS = "/v1/webhook-subscription/"
EXAMPLE_URL = "https://example.com/hook"


@dataclass
class Delivery:
    path: str
    headers: dict[str, str]
    json: Any
    received_at: float


@dataclass
class Receiver:
    """A tiny webhook receiver (stdlib http.server) that records every POST it gets."""

    url: str = ""
    status: int = 200
    received: list[Delivery] = field(default_factory=list)
    cond: threading.Condition = field(default_factory=threading.Condition)

    def wait(self, count: int, timeout: float = 5.0) -> list[Delivery]:
        with self.cond:
            assert self.cond.wait_for(lambda: len(self.received) >= count, timeout), (
                f"expected {count} deliveries, got {len(self.received)}"
            )
            return list(self.received)


def _receiver_handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            delivery = Delivery(self.path, dict(self.headers.items()), json.loads(body), time.monotonic())
            with receiver.cond:  # recorded before answering, so the sender's status implies the record
                receiver.received.append(delivery)
                receiver.cond.notify_all()
            self.send_response(receiver.status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    recv = Receiver()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _receiver_handler(recv))
    httpd.daemon_threads = True
    recv.url = f"http://127.0.0.1:{httpd.server_address[1]}/hooks/dailybot"
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield recv
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def server(dailybot_fake_server: FakeDailyBotServer) -> FakeDailyBotServer:
    """The server under test: the shipped plugin's ``dailybot_fake_server`` with the suite's API key."""
    return dailybot_fake_server


class Client:
    """A ``requests.Session`` bound to a fake server's URL and API key."""

    def __init__(self, fake: FakeDailyBotServer) -> None:
        self.fake = fake
        self.session = requests.Session()
        self.session.headers["X-API-KEY"] = fake.api_key

    def __call__(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", 5)
        return self.session.request(method, self.fake.url + path, **kwargs)

    def create(self, hook_url: str, subscriptions: Any = ("kudos.posted",), **fields: Any) -> requests.Response:
        body = {"hook_url": hook_url, "subscriptions": list(subscriptions), **fields}
        return self("POST", "/v1/webhook-subscription/", json=body)

    def create_id(self, hook_url: str, subscriptions: Any = ("kudos.posted",), **fields: Any) -> str:
        response = self.create(hook_url, subscriptions, **fields)
        assert response.status_code == 201, response.text
        return str(response.json()["id"])


@pytest.fixture
def client(server: FakeDailyBotServer) -> Iterator[Client]:
    api = Client(server)
    yield api
    api.session.close()
