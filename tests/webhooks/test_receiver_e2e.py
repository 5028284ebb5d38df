"""End to end with real processes on 127.0.0.1: api-server, scheduler and dag-processor, plus the fake DailyBot.

The fake DailyBot creates a subscription whose ``hook_url`` is the receiver's channel URL, with
``immediate_sample_event``; the sample is POSTed to the api-server, recorded as an asset event, and
the example DAG ``dailybot_checkin_completed`` (scheduled on the channel's asset) runs and returns a
summary of the payload, read back from the metadata DB.

Each test gets its own ``AIRFLOW_HOME``, metadata DB and ports; every process is killed at the end.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from airflow_provider_dailybot.testing.samples import sample_body
from airflow_provider_dailybot.testing.server import FakeDailyBotServer
from airflow_provider_dailybot.webhooks.channels import ChannelState, generate_secret, variable_key
from tests.conftest import REPO_ROOT, require_service

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]

AIRFLOW = str(Path(sys.executable).with_name("airflow"))
EXAMPLE_DAG = REPO_ROOT / "dags_examples" / "dailybot_checkin_completed.py"
CHECKIN = "followups.response.completed"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(what: str, check: Callable[[], Any], timeout: float, interval: float = 0.25) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = check()
        except Exception:  # not ready yet (connection refused, table missing, ...)
            value = None
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


class AirflowStack:
    """Airflow components as subprocesses of one temporary ``AIRFLOW_HOME``."""

    def __init__(self, home: Path, sql_alchemy_conn: str, *, api_workers: int = 1) -> None:
        self.home = home
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.api_workers = api_workers
        dags = home / "dags"
        dags.mkdir()
        shutil.copy(EXAMPLE_DAG, dags / EXAMPLE_DAG.name)
        self.env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("AIRFLOW__", "AIRFLOW_CONN_", "AIRFLOW_VAR_", "PYTEST_"))
        }
        self.env.update(
            {
                "AIRFLOW_HOME": str(home),
                "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": sql_alchemy_conn,
                "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
                "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
                "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",  # the consumer DAG starts unpaused
                "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.base_url}/execution/",
                "AIRFLOW__API__HOST": "127.0.0.1",
                "AIRFLOW__API__PORT": str(self.port),
                "AIRFLOW__API__BASE_URL": self.base_url,
                "AIRFLOW__API_AUTH__JWT_SECRET": uuid.uuid4().hex + uuid.uuid4().hex,
                "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
                "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "1",
                "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
            }
        )
        self.processes: dict[str, subprocess.Popen[bytes]] = {}

    def log_path(self, name: str) -> Path:
        return self.home / f"{name}.log"

    def run(self, *args: str, timeout: float = 120) -> None:
        name = args[0] + "-" + uuid.uuid4().hex[:6]
        with self.log_path(name).open("wb") as out:
            done = subprocess.run(
                [AIRFLOW, *args], env=self.env, stdout=out, stderr=subprocess.STDOUT, timeout=timeout, check=False
            )
        if done.returncode != 0:
            raise AssertionError(f"airflow {' '.join(args)} failed:\n{self.tail(name)}")

    def start(self, name: str, *args: str) -> None:
        out = self.log_path(name).open("wb")
        self.processes[name] = subprocess.Popen(
            [AIRFLOW, *args], env=self.env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        out.close()

    def start_all(self) -> None:
        self.start("api-server", "api-server", "--host", "127.0.0.1", "--port", str(self.port),
                   "--workers", str(self.api_workers))  # fmt: skip
        self.start("scheduler", "scheduler", "--skip-serve-logs")
        self.start("dag-processor", "dag-processor")

    def assert_running(self) -> None:
        for name, process in self.processes.items():
            if process.poll() is not None:
                raise AssertionError(f"{name} exited with {process.returncode}:\n{self.tail(name)}")

    def tail(self, name: str, lines: int = 60) -> str:
        path = self.log_path(name)
        text = path.read_text(errors="replace") if path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def logs(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in self.home.glob("*.log"))

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        for process in self.processes.values():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=5)

    def wait_api_ready(self, timeout: float = 60) -> None:
        def ready() -> bool:
            self.assert_running()
            return requests.get(f"{self.base_url}/dailybot/health", timeout=2).json() == {"status": "ok"}

        wait_for("the api-server and the mounted receiver", ready, timeout)


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
