"""The process helpers shared by tests, demo and benchmarks: real sockets, real child processes.

Bounds are generous multiples of the configured limits (the machine may be loaded); nothing here
asserts how fast something was, only that a bounded wait ends and says why.
"""

from __future__ import annotations

import json
import socket
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_dailybot.testing.airflow_components import (
    AirflowComponent,
    airflow_command,
    airflow_environment,
    clean_environment,
)
from airflow_provider_dailybot.testing.processes import (
    TAIL_BYTES,
    ManagedProcess,
    ProcessFailure,
    ProcessGroup,
    free_port,
    read_tail,
    run_command,
    wait_for,
    wait_for_http,
    wait_for_port,
)

# A child that ignores SIGTERM, starts a grandchild (which inherits the ignored SIGTERM) and prints its pid.
STUBBORN = """
import signal, subprocess, sys, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
grandchild = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
print(f"pids {grandchild.pid}", flush=True)
time.sleep(600)
"""
# A child that exits on SIGTERM, with a grandchild that ignores it (and says so once it does).
POLITE_PARENT = """
import subprocess, sys, time
code = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('ignoring', flush=True); "
code += "time.sleep(600)"
grandchild = subprocess.Popen([sys.executable, "-c", code])
print(f"pids {grandchild.pid}", flush=True)
time.sleep(600)
"""


def grandchild_pid(process: ManagedProcess, *also: str) -> int:
    """Wait until the child has printed its grandchild's pid (and the lines ``also``); return the pid."""

    def printed() -> int | None:
        lines = process.tail().splitlines()
        pids = [int(line.split()[1]) for line in lines if line.startswith("pids ")]
        return pids[0] if pids and all(word in lines for word in also) else None

    return wait_for("the grandchild's pid", printed, timeout=30, interval=0.05, process=process)


def alive(pid: int) -> bool:
    """Whether ``pid`` is a live process (a zombie waiting for its parent counts as dead)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def python(code: str, tmp_path: Path, name: str = "child", **kwargs: Any) -> ManagedProcess:
    return ManagedProcess([sys.executable, "-c", code], log_path=tmp_path / f"{name}.log", name=name, **kwargs)


@pytest.fixture
def http_server() -> Iterator[tuple[str, dict[str, Any]]]:
    """A loopback HTTP server answering ``GET`` with the status and body in the returned dict."""
    answer: dict[str, Any] = {"status": 503, "body": b"starting"}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(answer["status"])
            self.send_header("Content-Length", str(len(answer["body"])))
            self.end_headers()
            self.wfile.write(answer["body"])

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/health", answer
    finally:
        server.shutdown()
        server.server_close()


def test_free_port_gives_a_port_that_can_be_bound_and_served() -> None:
    port = free_port()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))
        sock.listen()
        with socket.create_connection(("127.0.0.1", port), timeout=5):
            pass


def test_wait_for_http_fails_in_bounded_time_with_the_log_tail_when_nothing_listens(tmp_path: Path) -> None:
    port = free_port()  # nothing listens on it
    child = python("print('api-server: LOG-MARKER-42 cannot bind', flush=True); import time; time.sleep(600)",
                   tmp_path, name="api-server")  # fmt: skip
    with child:
        wait_for(
            "the child's first line", lambda: "LOG-MARKER-42" in child.tail(), timeout=30, interval=0.05, process=child
        )
        began = time.monotonic()
        with pytest.raises(TimeoutError) as raised:
            wait_for_http(f"http://127.0.0.1:{port}/health", timeout=1.0, process=child)
        elapsed = time.monotonic() - began
    message = str(raised.value)
    assert elapsed < 1.0 + 10, elapsed  # the timeout plus one bounded attempt, not an endless wait
    assert f"GET http://127.0.0.1:{port}/health to answer 200" in message
    assert "ConnectionRefusedError" in message or "Connection refused" in message, message
    assert "api-server: LOG-MARKER-42 cannot bind" in message, message
    assert "api-server.log" in message


def test_wait_for_http_waits_for_the_status_and_the_body(http_server: tuple[str, dict[str, Any]]) -> None:
    url, answer = http_server
    with pytest.raises(TimeoutError, match="HTTP 503"):
        wait_for_http(url, timeout=0.5)

    def become_ready() -> None:
        time.sleep(0.3)
        answer.update(status=200, body=b'{"status": "starting"}')
        time.sleep(0.3)
        answer.update(body=b'{"status": "ok"}')

    threading.Thread(target=become_ready, daemon=True).start()
    body = wait_for_http(url, timeout=30, accept=lambda text: json.loads(text) == {"status": "ok"}, interval=0.05)
    assert body == b'{"status": "ok"}'


def test_wait_for_http_refuses_a_url_that_is_not_http() -> None:
    with pytest.raises(ValueError, match="http"):
        wait_for_http("file:///etc/passwd", timeout=1)


def test_a_process_that_dies_ends_the_wait_at_once_with_its_log(tmp_path: Path) -> None:
    child = python("import sys; print('boom: bad configuration', flush=True); sys.exit(3)", tmp_path, name="scheduler")
    with child:
        began = time.monotonic()
        with pytest.raises(ProcessFailure) as raised:
            wait_for_port(free_port(), timeout=120, process=child)
    assert time.monotonic() - began < 60  # far below the 120 s timeout: the exit ended the wait
    assert "scheduler exited with status 3" in str(raised.value)
    assert "boom: bad configuration" in str(raised.value)


def test_stop_kills_a_child_that_ignores_sigterm_and_its_grandchild_within_the_bound(tmp_path: Path) -> None:
    child = python(STUBBORN, tmp_path).start()
    try:
        grandchild = grandchild_pid(child)
        assert alive(child.pid)
        assert alive(grandchild)
        began = time.monotonic()
        returncode = child.stop(timeout=1.0)
        elapsed = time.monotonic() - began
    finally:
        child.stop(timeout=0)
    assert returncode == -9  # it ignored SIGTERM: SIGKILL ended it
    assert elapsed < 1.0 + 10, elapsed  # the SIGTERM bound plus the bounded SIGKILL wait
    assert not alive(child.pid)
    assert not alive(grandchild)


def test_stop_lets_a_process_exit_on_sigterm_and_kills_what_it_left_in_its_group(tmp_path: Path) -> None:
    with python(POLITE_PARENT, tmp_path) as child:
        grandchild = grandchild_pid(child, "ignoring")
        assert child.stop(timeout=30) == -15  # SIGTERM ended the leader; its grandchild ignored it
    assert not alive(grandchild)


def test_run_command_fails_with_the_log_tail_and_kills_an_overrunning_command(tmp_path: Path) -> None:
    run_command([sys.executable, "-c", "print('migrated')"], log_path=tmp_path / "ok.log", timeout=60)
    assert read_tail(tmp_path / "ok.log") == "migrated"
    with pytest.raises(ProcessFailure, match=r"(?s)db migrate failed with exit status 2.*no such table"):
        run_command([sys.executable, "-c", "import sys; print('no such table'); sys.exit(2)"],
                    log_path=tmp_path / "bad.log", timeout=60, name="db migrate")  # fmt: skip
    hanging = python(STUBBORN, tmp_path, name="hanging").start()
    grandchild = grandchild_pid(hanging)
    with pytest.raises(ProcessFailure, match="hanging did not finish within 1 s"):
        hanging.run(timeout=1)
    assert hanging.returncode == -9
    assert not alive(grandchild)


def test_read_tail_reads_a_bounded_end_of_a_large_log(tmp_path: Path) -> None:
    log = tmp_path / "big.log"
    log.write_text("".join(f"line {n}\n" for n in range(200_000)))
    assert read_tail(log, 3) == "line 199997\nline 199998\nline 199999"
    assert len(read_tail(log, 10**6)) <= TAIL_BYTES
    assert read_tail(tmp_path / "missing.log") == ""


def test_a_group_stops_every_process_and_reports_none_left(tmp_path: Path) -> None:
    group = ProcessGroup(tmp_path / "logs", {**clean_environment(), "GREETING": "hello"})
    first = group.start("first", [sys.executable, "-c", STUBBORN])
    greeting = "import os, time; print(os.environ['GREETING'], flush=True); time.sleep(600)"
    second = group.start("second", [sys.executable, "-c", greeting])
    grandchild = grandchild_pid(first)
    wait_for("the greeting", lambda: group.tail("second") == "hello", 30, 0.05, process=group)
    assert group.stop(timeout=1.0) == []
    assert group.processes == {}
    assert first.returncode == -9
    assert second.returncode == -15
    assert not alive(grandchild)


def test_the_repr_never_shows_the_environment(tmp_path: Path) -> None:
    process = python("pass", tmp_path, env={"DAILYBOT_API_KEY": "sk-LEAKCANARY-55"})
    assert "LEAKCANARY" not in repr(process)


def test_airflow_commands_listen_on_loopback_and_refuse_unknown_components(tmp_path: Path) -> None:
    api = airflow_command("api-server", port=8793, workers=2, python="/venv/bin/python")
    assert api == ["/venv/bin/airflow", "api-server", "--host", "127.0.0.1", "--port", "8793", "--workers", "2"]
    assert airflow_command("scheduler", python="/venv/bin/python")[1:] == ["scheduler", "--skip-serve-logs"]
    assert airflow_command("triggerer")[1:] == ["triggerer", "--skip-serve-logs"]
    assert airflow_command("dag-processor")[1:] == ["dag-processor"]
    with pytest.raises(ValueError, match="unknown Airflow component 'webserver'"):
        airflow_command("webserver")
    with pytest.raises(ValueError, match="port"):
        airflow_command("api-server")
    component = AirflowComponent("api-server", env={}, log_path=tmp_path / "api.log", port=8793)
    assert component.ready_url == "http://127.0.0.1:8793/api/v2/monitor/health"
    assert AirflowComponent("scheduler", env={}, log_path=tmp_path / "s.log").ready_url is None


def test_the_airflow_environment_drops_the_callers_airflow_and_dailybot_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIRFLOW__CORE__EXECUTOR", "CeleryExecutor")
    monkeypatch.setenv("AIRFLOW_CONN_DAILYBOT_DEFAULT", '{"password": "sk-LEAKCANARY-66"}')
    monkeypatch.setenv("DAILYBOT_API_KEY", "sk-LEAKCANARY-77")
    monkeypatch.setenv("AIRFLOW_CONFIG", "/elsewhere/airflow.cfg")
    env = airflow_environment(tmp_path, 8793, extra={"AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False"})
    assert env["AIRFLOW_HOME"] == str(tmp_path)
    assert env["AIRFLOW__CORE__EXECUTOR"] == "LocalExecutor"
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] == f"sqlite:///{tmp_path / 'airflow.db'}"
    assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://127.0.0.1:8793/execution/"
    assert env["AIRFLOW__API__HOST"] == "127.0.0.1"
    assert env["AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION"] == "False"
    assert "AIRFLOW_CONN_DAILYBOT_DEFAULT" not in env
    assert "DAILYBOT_API_KEY" not in env
    assert "AIRFLOW_CONFIG" not in env
    assert env["PATH"].startswith(str(Path(sys.executable).parent))
    other = airflow_environment(tmp_path, 8793)
    assert other["AIRFLOW__API_AUTH__JWT_SECRET"] != env["AIRFLOW__API_AUTH__JWT_SECRET"]
    assert len(other["AIRFLOW__CORE__FERNET_KEY"]) == 44  # 32 url-safe base64 bytes, what Fernet accepts
