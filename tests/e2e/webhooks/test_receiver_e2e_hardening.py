"""Receiver hardening (issue 11) against a real ``airflow api-server`` process on 127.0.0.1.

* row 9: clients that send the headers and part of the body, then close the socket, leave no
  traceback and no 5xx in the api-server's log;
* row 10: with a forged ``Host`` header, no path under ``/dailybot`` answers a redirect;
* NUL: on PostgreSQL a delivery holding ``\\u0000`` is refused, and the next deliveries are recorded,
  deduplicated and readable with ``->>``.

The processes come from :class:`tests.e2e.webhooks.test_receiver_e2e.AirflowStack`.
"""

from __future__ import annotations

import json
import re
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from airflow_provider_dailybot.testing import make_envelope
from airflow_provider_dailybot.testing.processes import wait_for
from airflow_provider_dailybot.webhooks.channels import ChannelState, generate_secret, variable_key
from tests.conftest import require_service
from tests.e2e.webhooks.test_receiver_e2e import AirflowStack

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]

CHANNEL = "checkins"
DISCONNECTS = 20
#: What the receiver logs (at INFO) for a client that went away mid-body.
CLEAN = "the client disconnected before sending the whole body"
#: An error line of the api-server: a traceback, uvicorn's "Exception in ASGI application", or a 5xx access line.
SERVER_ERROR = re.compile(r"Traceback|Exception in ASGI application|status_code=5\d\d|\" 5\d\d |HTTP/1\.1 5\d\d")


class ApiServer:
    """One api-server process (sqlite) with the channel ``checkins`` accepting ``secret``."""

    def __init__(self, stack: AirflowStack, secret: str) -> None:
        self.stack = stack
        self.secret = secret
        self.port = stack.port
        self.base_url = stack.base_url

    def log(self) -> str:
        return self.stack.processes.log_path("api-server").read_text(errors="replace")


@pytest.fixture(scope="module")
def api_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    home = tmp_path_factory.mktemp("api-server")
    stack = AirflowStack(home, f"sqlite:///{home / 'airflow.db'}")
    try:
        stack.run("db", "migrate")
        secret = generate_secret()
        state = ChannelState(channel=CHANNEL)
        state.add_secret(secret)
        stack.run("variables", "set", variable_key(CHANNEL), state.to_json())
        stack.start("api-server", "api-server", "--host", "127.0.0.1", "--port", str(stack.port))
        stack.wait_api_ready()
        yield ApiServer(stack, secret)
    finally:
        stack.stop()


def send_then_close(port: int, head: str, partial_body: bytes) -> None:
    """Send a request head and part of its body, then close the connection without reading an answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(head.encode("latin-1") + partial_body)


# -- row 9 ---------------------------------------------------------------------------------------------
def test_clients_that_disconnect_mid_body_cause_no_traceback_and_no_5xx(api_server: ApiServer) -> None:
    body = json.dumps(make_envelope("kudos.posted", hook_id="h", hook_name="n")).encode()
    head = (
        f"POST /dailybot/webhooks/{CHANNEL} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nX-BEARER: {api_server.secret}\r\n\r\n"
    )
    for _ in range(DISCONNECTS):
        send_then_close(api_server.port, head, body[: len(body) // 2])

    def handled() -> bool:  # each request ends either with the receiver's line or with uvicorn's error
        log = api_server.log()
        return log.count(CLEAN) + log.count("Exception in ASGI application") >= DISCONNECTS

    wait_for(
        f"the api-server to handle {DISCONNECTS} disconnected clients",
        handled,
        timeout=60,
        process=api_server.stack.processes,
    )
    log = api_server.log()
    errors = [line for line in log.splitlines() if SERVER_ERROR.search(line)]
    assert errors == [], "\n".join(errors[:20])
    assert log.count(CLEAN) == DISCONNECTS
    assert api_server.secret not in log
    # The server is fine afterwards. No DAG declares the channel's asset here (no dag-processor runs), so a
    # whole delivery is stored as "no consumer" (after authentication and parsing).
    response = requests.post(
        f"{api_server.base_url}/dailybot/webhooks/{CHANNEL}", data=body, headers={"X-BEARER": api_server.secret}
    )
    assert response.status_code == 202, response.text
    assert response.json()["outcome"] == "no_consumer"
    assert "dailybot_webhook_asset('checkins')" in response.json()["detail"]


# -- row 10 --------------------------------------------------------------------------------------------
RECEIVER_PATHS = [
    ("GET", "/dailybot/health/"),
    ("GET", "/dailybot/health//"),
    ("POST", f"/dailybot/webhooks/{CHANNEL}/"),
    ("POST", f"/dailybot/webhooks/{CHANNEL}//"),
    ("POST", "/dailybot/webhooks/unknown/"),
    ("GET", "/dailybot/"),
    ("GET", "/dailybot/webhooks/"),
]


def test_no_redirect_built_from_the_host_header(api_server: ApiServer) -> None:
    headers = {"Host": "attacker.example", "X-BEARER": api_server.secret}
    answers = {
        f"{method} {path}": requests.request(
            method, api_server.base_url + path, headers=headers, data=b"{}", allow_redirects=False, timeout=10
        )
        for method, path in RECEIVER_PATHS
    }
    wrong = {what: (r.status_code, r.headers.get("location")) for what, r in answers.items() if r.status_code != 404}
    assert wrong == {}, "paths under /dailybot that do not answer 404"
    assert not any("attacker.example" in r.text or "location" in r.headers for r in answers.values())
    # The routes themselves still answer, whatever the Host header says.
    health = requests.get(f"{api_server.base_url}/dailybot/health", headers=headers, allow_redirects=False, timeout=10)
    assert health.json() == {"status": "ok"}
    # ``/dailybot`` itself is outside the mount: Airflow's UI answers it, never with a redirect.
    outside = requests.get(f"{api_server.base_url}/dailybot", headers=headers, allow_redirects=False, timeout=10)
    assert not 300 <= outside.status_code < 400
    assert "location" not in outside.headers


# -- NUL on PostgreSQL ---------------------------------------------------------------------------------
@pytest.mark.postgres
def test_nul_is_refused_and_the_channel_keeps_working_on_postgres(tmp_path: Path) -> None:
    require_service("PostgreSQL", "127.0.0.1", 5432)
    pytest.importorskip("asyncpg", reason="the api-server opens an async engine too: pip install asyncpg")
    import psycopg2

    database = f"dailybot_nul_{uuid.uuid4().hex[:10]}"
    admin = psycopg2.connect(host="127.0.0.1", port=5432, user="postgres", dbname="test")
    admin.autocommit = True
    admin.cursor().execute(f'CREATE DATABASE "{database}"')
    stack = AirflowStack(tmp_path, f"postgresql+psycopg2://postgres@127.0.0.1:5432/{database}")

    def query(sql: str) -> list[tuple[Any, ...]]:
        with psycopg2.connect(host="127.0.0.1", port=5432, user="postgres", dbname=database) as conn:
            cur = conn.cursor()
            cur.execute(sql)
            return cur.fetchall()

    try:
        stack.run("db", "migrate", timeout=180)
        secret = generate_secret()
        state = ChannelState(channel=CHANNEL)
        state.add_secret(secret)
        stack.start("api-server", "api-server", "--host", "127.0.0.1", "--port", str(stack.port))
        stack.start("dag-processor", "dag-processor")
        stack.run("variables", "set", variable_key(CHANNEL), state.to_json())
        stack.wait_api_ready(timeout=90)
        wait_for(
            "the dag-processor to declare the channel's asset",
            lambda: query("SELECT 1 FROM asset_active WHERE name = 'dailybot_checkins'"),
            timeout=60,
            process=stack.processes,
        )
        url = f"{stack.base_url}/dailybot/webhooks/{CHANNEL}"
        headers = {"X-BEARER": secret, "Content-Type": "application/json"}
        nul = b'{"event": "kudos.posted", "event_timestamp": 1.5, "body": {"text": "a\\u0000b"}}'
        refused = requests.post(url, data=nul, headers=headers, timeout=30)
        assert refused.status_code == 400, refused.text
        assert "NUL character" in refused.json()["detail"]

        normal = json.dumps(make_envelope("kudos.posted", hook_id="h", hook_name="n", timestamp=2.5)).encode()
        first = requests.post(url, data=normal, headers=headers, timeout=30)
        replay = requests.post(url, data=normal, headers=headers, timeout=30)
        assert (first.status_code, replay.status_code) == (202, 202), (first.text, replay.text)
        assert replay.json() == {"delivery_id": first.json()["delivery_id"], "duplicate": True, "outcome": "duplicate"}
        # Every row of the table is readable with PostgreSQL's JSON operators.
        rows = query("SELECT extra->>'event', extra->>'delivery_id', extra->'body'->>'text' FROM asset_event")
        assert rows == [("kudos.posted", first.json()["delivery_id"], None)]
        log = stack.tail("api-server", 400)
        assert not [line for line in log.splitlines() if SERVER_ERROR.search(line)]
    finally:
        stack.stop()
        admin.cursor().execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        admin.close()
