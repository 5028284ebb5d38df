"""End to end with real processes on 127.0.0.1: api-server, scheduler and dag-processor, plus the fake DailyBot.

The fake DailyBot creates a subscription whose ``hook_url`` is the receiver's channel URL, with
``immediate_sample_event``; the sample is POSTed to the api-server, recorded as an asset event, and
the example DAG ``dailybot_checkin_completed`` (scheduled on the channel's asset) runs and returns a
summary of the payload, read back from the metadata DB.

Each test gets its own ``AIRFLOW_HOME``, metadata DB and ports; every process is killed at the end.
"""

from __future__ import annotations

import json
import shutil
import socket
import sqlite3
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from airflow_provider_dailybot.testing.airflow_components import airflow_command, airflow_environment
from airflow_provider_dailybot.testing.processes import ProcessGroup, free_port, wait_for, wait_for_http
from airflow_provider_dailybot.testing.samples import sample_body
from airflow_provider_dailybot.testing.server import FakeDailyBotServer
from airflow_provider_dailybot.webhooks.channels import ChannelState, generate_secret, variable_key
from tests.conftest import REPO_ROOT, require_service

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]

AIRFLOW = str(Path(sys.executable).with_name("airflow"))
EXAMPLE_DAG = REPO_ROOT / "airflow_provider_dailybot" / "example_dags" / "dailybot_checkin_completed.py"
CHECKIN = "followups.response.completed"


class AirflowStack:
    """Airflow components as subprocesses of one temporary ``AIRFLOW_HOME``, logs in ``home/<name>.log``."""

    def __init__(self, home: Path, sql_alchemy_conn: str, *, api_workers: int = 1) -> None:
        self.home = home
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.api_workers = api_workers
        dags = home / "dags"
        dags.mkdir()
        shutil.copy(EXAMPLE_DAG, dags / EXAMPLE_DAG.name)
        paused = {"AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False"}  # the consumer DAG starts unpaused
        env = airflow_environment(home, self.port, sql_alchemy_conn=sql_alchemy_conn, dags_folder=dags, extra=paused)
        self.processes = ProcessGroup(home, env)

    def run(self, *args: str, timeout: float = 120) -> None:
        self.processes.run(args[0] + "-" + uuid.uuid4().hex[:6], [AIRFLOW, *args], timeout=timeout)

    def start(self, name: str, *args: str) -> None:
        self.processes.start(name, [AIRFLOW, *args])

    def start_all(self) -> None:
        for component in ("api-server", "scheduler", "dag-processor"):
            self.processes.start(component, airflow_command(component, port=self.port, workers=self.api_workers))

    def assert_running(self) -> None:
        self.processes.check_running()

    def tail(self, name: str, lines: int = 60) -> str:
        return self.processes.tail(name, lines)

    def logs(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in self.home.glob("*.log"))

    def stop(self) -> None:
        self.processes.stop(timeout=15)

    def wait_api_ready(self, timeout: float = 60) -> None:
        wait_for_http(f"{self.base_url}/dailybot/health", timeout=timeout, process=self.processes,
                      accept=lambda body: json.loads(body) == {"status": "ok"})  # fmt: skip


def raw_request(port: int, head: str, timeout: float = 10) -> str:
    """Send only the request head (no body) and return the status line of the answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(head.encode("latin-1"))
        answer = b""
        while b"\r\n" not in answer:
            chunk = sock.recv(4096)
            if not chunk:
                break
            answer += chunk
    return answer.split(b"\r\n", 1)[0].decode("latin-1")


@pytest.fixture
def fake_dailybot() -> Iterator[FakeDailyBotServer]:
    with FakeDailyBotServer(host="127.0.0.1", port=0) as server:
        yield server


def create_subscription(server: FakeDailyBotServer, hook_url: str, bearer: str) -> str:
    response = requests.post(
        server.base_url + "webhook-subscription/",
        headers={"X-API-KEY": server.api_key},
        json={
            "name": "Airflow e2e",
            "hook_url": hook_url,
            "subscriptions": [CHECKIN],
            "bearer": bearer,
            "immediate_sample_event": True,
        },
        timeout=10,
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def test_sample_delivery_starts_the_example_dag(
    tmp_path: Path, fake_dailybot: FakeDailyBotServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    started = time.monotonic()
    db_path = tmp_path / "airflow.db"
    stack = AirflowStack(tmp_path, f"sqlite:///{db_path}")

    def query(sql: str, *params: Any) -> list[tuple[Any, ...]]:
        with sqlite3.connect(db_path, timeout=10) as conn:
            return conn.execute(sql, params).fetchall()

    try:
        stack.run("db", "migrate")
        secret = generate_secret()
        state = ChannelState(channel="checkins")
        state.add_secret(secret)
        stack.start_all()
        stack.run("variables", "set", variable_key("checkins"), state.to_json())
        stack.wait_api_ready()

        # Authentication happens before the body is read, and Content-Length is checked before reading:
        # the server answers after receiving only the request head.
        head = "POST /dailybot/webhooks/checkins HTTP/1.1\r\nHost: x\r\nContent-Length: 50000000\r\n"
        assert " 401 " in raw_request(stack.port, head + "X-BEARER: wrong\r\n\r\n")
        assert " 413 " in raw_request(stack.port, head + f"X-BEARER: {secret}\r\n\r\n")

        wait_for(
            "the dag-processor to declare the channel's asset",
            lambda: stack.assert_running() or query("SELECT 1 FROM asset_active WHERE name = 'dailybot_checkins'"),
            timeout=60,
        )

        # The hook_url comes from the single definition of the receiver's public address.
        monkeypatch.setenv("AIRFLOW__API__BASE_URL", stack.base_url)
        from airflow_provider_dailybot.webhooks.config import channel_hook_url

        hook_url = channel_hook_url("checkins")
        assert hook_url == f"{stack.base_url}/dailybot/webhooks/checkins"
        hook_id = create_subscription(fake_dailybot, hook_url, secret)
        (attempt,) = fake_dailybot.wait_for_deliveries(1, timeout=30)
        assert attempt.sample is True
        assert attempt.hook_id == hook_id
        assert attempt.status == 202, attempt.error

        ((extra_text,),) = query(
            "SELECT e.extra FROM asset_event e JOIN asset a ON a.id = e.asset_id WHERE a.name = 'dailybot_checkins'"
        )
        extra = json.loads(extra_text)
        assert extra["hook"]["id"] == hook_id
        assert extra["event"] == CHECKIN
        assert extra["body"] == attempt.envelope["body"]

        def finished_run() -> list[tuple[Any, ...]]:
            stack.assert_running()
            return query(
                "SELECT run_id, state FROM dag_run WHERE dag_id = 'dailybot_checkin_completed' "
                "AND state IN ('success', 'failed')"
            )

        ((run_id, run_state),) = wait_for("the example DAG run to finish", finished_run, timeout=90)
        assert run_state == "success", stack.tail("scheduler")
        ((value,),) = query(
            "SELECT value FROM xcom WHERE dag_id = 'dailybot_checkin_completed' AND run_id = ? "
            "AND task_id = 'summarize_checkins' AND key = 'return_value'",
            run_id,
        )
        summary = json.loads(value)
        if isinstance(summary, str):  # stored JSON-encoded twice on some versions
            summary = json.loads(summary)
        user = sample_body(CHECKIN)["user"]["full_name"]
        assert summary["channel"] == "checkins"
        assert summary["deliveries"] == 1
        (checkin,) = summary["checkins"]
        assert checkin["delivery_id"] == extra["delivery_id"]
        assert checkin["who"] == user
        assert checkin["blocked"] is True
        assert checkin["blockers"], checkin
        assert summary["blocked"] == [user]
        assert secret not in stack.logs()
    finally:
        stack.stop()
        print(f"\ne2e wall time: {time.monotonic() - started:.1f} s")


@pytest.mark.postgres
def test_duplicates_are_recorded_once_with_two_api_server_workers_on_postgres(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    require_service("PostgreSQL", "127.0.0.1", 5432)
    pytest.importorskip("asyncpg", reason="the api-server opens an async engine too: pip install asyncpg")
    import psycopg2

    database = f"dailybot_e2e_{uuid.uuid4().hex[:10]}"
    admin = psycopg2.connect(host="127.0.0.1", port=5432, user="postgres", dbname="test")
    admin.autocommit = True
    admin.cursor().execute(f'CREATE DATABASE "{database}"')
    url = f"postgresql+psycopg2://postgres@127.0.0.1:5432/{database}"
    stack = AirflowStack(tmp_path, url, api_workers=2)
    started = time.monotonic()

    def query(sql: str, *params: Any) -> list[tuple[Any, ...]]:
        with psycopg2.connect(host="127.0.0.1", port=5432, user="postgres", dbname=database) as conn:
            cur = conn.cursor()
            cur.execute(sql, params)
            return cur.fetchall()

    try:
        stack.run("db", "migrate", timeout=180)
        secret = generate_secret()
        state = ChannelState(channel="checkins")
        state.add_secret(secret)
        stack.start("api-server", "api-server", "--host", "127.0.0.1", "--port", str(stack.port), "--workers", "2")
        stack.start("dag-processor", "dag-processor")
        stack.run("variables", "set", variable_key("checkins"), state.to_json())
        stack.wait_api_ready(timeout=90)
        wait_for(
            "the dag-processor to declare the channel's asset",
            lambda: stack.assert_running() or query("SELECT 1 FROM asset_active WHERE name = 'dailybot_checkins'"),
            timeout=60,
        )

        url_path = f"{stack.base_url}/dailybot/webhooks/checkins"
        body = sample_body(CHECKIN)
        hooks = [f"hook-{i:02d}" for i in range(24)]
        barrier = threading.Barrier(len(hooks))
        answers: dict[str, requests.Response] = {}

        def deliver(hook_id: str) -> None:
            envelope = {"event": CHECKIN, "event_timestamp": 1707154471.495433, "hook": {"id": hook_id}, "body": body}
            barrier.wait()
            # A new connection per request, so the kernel spreads them over both workers.
            answers[hook_id] = requests.post(url_path, json=envelope, headers={"X-BEARER": secret}, timeout=30)

        threads = [threading.Thread(target=deliver, args=(h,)) for h in hooks]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)

        assert {r.status_code for r in answers.values()} == {202}, [r.text for r in answers.values()]
        assert len({r.json()["delivery_id"] for r in answers.values()}) == 1
        assert sorted(r.json()["duplicate"] for r in answers.values()) == [False] + [True] * (len(hooks) - 1)
        ((extra,),) = query(
            "SELECT e.extra::text FROM asset_event e JOIN asset a ON a.id = e.asset_id "
            "WHERE a.name = 'dailybot_checkins'"
        )
        assert sorted(json.loads(extra)["delivered_by"]) == hooks
    finally:
        stack.stop()
        admin.cursor().execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        admin.close()
        print(f"postgres e2e wall time: {time.monotonic() - started:.1f} s")
