"""Start, watch and stop a local Airflow and the fake DailyBot as real processes, on 127.0.0.1 only.

Shared by the demo (:mod:`demo.run_demo`) and the tests that need real processes (the browser test).

* Every child runs in its own session (so its whole process group is signalled at once) and carries
  a per-run marker in its environment, :data:`MARKER_ENV`. The marker finds every process the run
  started, including task processes that a component forked and that may have left the group, so
  :meth:`ProcessSet.stop` can end them all, by pid, and prove that nothing is left running.
* Ports are chosen free at run time; every server is told to listen on 127.0.0.1 and
  :meth:`ProcessSet.listening_sockets` reads what the children really listen on from ``/proc``.
  The scheduler and triggerer run with ``--skip-serve-logs`` (their log servers would bind every
  interface); task logs are files in ``AIRFLOW_HOME``, which the api-server reads directly.
* Secrets (the DailyBot API key, the Airflow admin password, the JWT and Fernet keys) reach the
  children through their environment or a 0600 file, never their command line (``ps`` shows that).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import requests

#: The only interface anything listens on.
LOOPBACK = "127.0.0.1"
#: Environment variable carrying the per-run marker of every child process.
MARKER_ENV = "DAILYBOT_DEMO_PROCESS_MARKER"
#: Environment variables of the caller that never reach the children: Airflow configuration and
#: connections of the developer's shell, pytest's, and DailyBot keys (passed explicitly when needed).
SCRUBBED_PREFIXES = ("AIRFLOW__", "AIRFLOW_CONN_", "AIRFLOW_VAR_", "PYTEST_", "DAILYBOT_")
SCRUBBED_NAMES = ("AIRFLOW_HOME", "AIRFLOW_CONFIG")
#: The user the demo logs in as (SimpleAuthManager).
ADMIN_USER = "admin"

T = TypeVar("T")


class ProcessFailure(RuntimeError):
    """A child process exited early or a command failed; the message ends with its log tail."""


def free_port(host: str = LOOPBACK) -> int:
    """Return a TCP port that is free on ``host`` right now."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def wait_for(what: str, check: Callable[[], T | None], timeout: float, interval: float = 0.5) -> T:
    """Call ``check`` until it returns a truthy value and return it; raise ``TimeoutError`` after ``timeout`` s.

    Exceptions from ``check`` mean "not ready yet", except :class:`ProcessFailure`, which is raised
    at once (a process that died will not become ready).
    """
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while True:
        try:
            value = check()
        except ProcessFailure:
            raise
        except Exception as exc:  # not ready yet: connection refused, 404, ...
            value, last_error = None, exc
        if value:
            return value
        if time.monotonic() > deadline:
            detail = f" (last error: {type(last_error).__name__}: {last_error})" if last_error else ""
            raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}{detail}")
        time.sleep(interval)


@dataclass(frozen=True)
class Listener:
    """A listening TCP socket of a child process."""

    pid: int
    process: str
    address: str
    port: int

    @property
    def loopback(self) -> bool:
        """Whether the socket accepts connections from this machine only."""
        return self.address.startswith("127.") or self.address in ("::1", "::ffff:127.0.0.1")

    def __str__(self) -> str:
        return f"{self.address}:{self.port} ({self.process}, pid {self.pid})"


class ProcessSet:
    """Child processes of one run: each in its own session, logging to ``log_dir/<name>.log``.

    :param log_dir: Folder of the log files (created).
    :param env: The environment of every child; the run's marker is added to it.
    """

    def __init__(self, log_dir: Path, env: Mapping[str, str]) -> None:
        self.log_dir = log_dir
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.marker = uuid.uuid4().hex
        self.env = {**env, MARKER_ENV: self.marker}
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self._sessions: set[int] = set()

    def log_path(self, name: str) -> Path:
        """Return the log file of the process or command ``name``."""
        return self.log_dir / f"{name}.log"

    def start(self, name: str, argv: list[str], env: Mapping[str, str] | None = None) -> subprocess.Popen[bytes]:
        """Start ``argv`` in a new session, output to its log file, and remember it as ``name``."""
        with self.log_path(name).open("ab") as out:
            process = subprocess.Popen(
                argv,
                env={**self.env, **(env or {})},
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.processes[name] = process
        self._sessions.add(process.pid)  # the child leads a new session: its sid is its pid
        return process

    def run(self, name: str, argv: list[str], *, timeout: float, env: Mapping[str, str] | None = None) -> str:
        """Run ``argv`` to completion (in a new session, killed on timeout) and return its output.

        :raises ProcessFailure: When it exits non-zero or times out.
        """
        process = self.start(name, argv, env)
        try:
            returncode = process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self._kill_group(process, signal.SIGKILL)
            process.wait(timeout=10)
            raise ProcessFailure(f"{name} did not finish within {timeout:.0f} s:\n{self.tail(name)}") from None
        finally:
            del self.processes[name]
        if returncode != 0:
            raise ProcessFailure(f"{name} failed with exit status {returncode}:\n{self.tail(name)}")
        return self.log_path(name).read_text(errors="replace")

    def check_running(self) -> None:
        """Raise :class:`ProcessFailure` if a started process has exited."""
        for name, process in self.processes.items():
            if process.poll() is not None:
                raise ProcessFailure(f"{name} exited with status {process.returncode}:\n{self.tail(name)}")

    def tail(self, name: str, lines: int = 40) -> str:
        """Return the last ``lines`` lines of a log file."""
        path = self.log_path(name)
        text = path.read_text(errors="replace") if path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    # ------------------------------------------------------------------ what runs, what listens

    def marked_pids(self) -> list[int]:
        """Return the pids of every running process of this run (zombies excluded).

        A process belongs to the run when it carries the run's marker in its environment, or when it
        is in the session of a process the run started (the title that Airflow's components set with
        ``setproctitle`` can overwrite their environment block, and task processes leave their
        parent's group but not its session).
        """
        needle = f"{MARKER_ENV}={self.marker}".encode()
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit() or int(entry.name) == os.getpid():
                continue
            try:
                stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                state, session = stat[0], int(stat[3])
                ours = session in self._sessions or needle in (entry / "environ").read_bytes().split(b"\0")
            except (OSError, IndexError, ValueError):  # gone meanwhile, or not ours to read
                continue
            if ours and state != "Z":
                found.append(int(entry.name))
        return sorted(found)

    def listening_sockets(self) -> list[Listener]:
        """Return the TCP sockets the run's processes listen on, read from ``/proc``."""
        listening = _listening_inodes()
        result = []
        for pid in self.marked_pids():
            try:
                fds = list(Path(f"/proc/{pid}/fd").iterdir())
                command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            for fd in fds:
                try:
                    target = os.readlink(fd)
                except OSError:
                    continue
                match = re.fullmatch(r"socket:\[(\d+)\]", target)
                if match and match.group(1) in listening:
                    address, port = listening[match.group(1)]
                    result.append(Listener(pid, _short_command(command), address, port))
        return sorted(set(result), key=lambda item: (item.port, item.pid))

    # ------------------------------------------------------------------ stopping

    def stop(self, grace: float = 20.0) -> list[int]:
        """End every process of the run and return the pids still running afterwards (``[]`` on success).

        SIGTERM to each started process group, up to ``grace`` seconds to exit, then SIGKILL to the
        groups; finally SIGKILL, by pid, to any process still carrying the marker (a task process
        that had left its parent's group).
        """
        for process in self.processes.values():
            if process.poll() is None:
                self._kill_group(process, signal.SIGTERM)
        deadline = time.monotonic() + grace
        for process in self.processes.values():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self._kill_group(process, signal.SIGKILL)
                process.wait(timeout=10)
        for process in self.processes.values():  # the leaders are gone; their groups may not be
            self._kill_group(process, signal.SIGKILL)
        for pid in self.marked_pids():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.processes.clear()
        try:
            wait_for("the run's processes to exit", lambda: not self.marked_pids(), timeout=10, interval=0.2)
        except TimeoutError:
            return self.marked_pids()
        return []

    @staticmethod
    def _kill_group(process: subprocess.Popen[bytes], sig: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, sig)  # the child is its group's leader (start_new_session)


def _short_command(command: str) -> str:
    """``airflow scheduler``, ``python -m x`` or the program's name, from a ``/proc/<pid>/cmdline``."""
    words = [Path(word).name if i < 2 else word for i, word in enumerate(command.split())]
    if "airflow" in words[:2]:
        rest = words[words.index("airflow") + 1 :]
        return " ".join(["airflow", *rest[:1]])
    if "-m" in words[:-1]:
        return "python -m " + words[words.index("-m") + 1]
    return words[0] if words else "?"


def _listening_inodes() -> dict[str, tuple[str, int]]:
    """Map socket inode to (address, port) for every TCP socket in LISTEN state."""
    result: dict[str, tuple[str, int]] = {}
    for table, width in (("/proc/net/tcp", 8), ("/proc/net/tcp6", 32)):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) < 10 or fields[3] != "0A":  # 0A = LISTEN
                continue
            hex_address, hex_port = fields[1].split(":")
            result[fields[9]] = (_decode_address(hex_address, width), int(hex_port, 16))
    return result


def _decode_address(hex_address: str, width: int) -> str:
    raw = bytes.fromhex(hex_address)
    # /proc/net/tcp* prints each 32-bit word in host (little-endian) byte order.
    words = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
    if width == 8:
        return socket.inet_ntop(socket.AF_INET, words)
    address = socket.inet_ntop(socket.AF_INET6, words)
    return address


# ---------------------------------------------------------------------- Airflow


def clean_environment(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The caller's environment without Airflow configuration, connections or DailyBot keys, plus ``extra``."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(SCRUBBED_PREFIXES) and key not in SCRUBBED_NAMES
    }
    env.update(extra or {})
    return env


class AirflowStack:
    """Airflow components of one throw-away ``AIRFLOW_HOME``, started as processes on 127.0.0.1.

    :param home: The ``AIRFLOW_HOME`` (created); the sqlite DB, task logs and process logs live in it.
    :param dag_files: DAG files copied into ``home/dags``, the DAGs folder.
    :param env: More environment for every component (e.g. ``AIRFLOW_CONN_DAILYBOT_DEFAULT``).
    :param python: The interpreter of the virtualenv whose ``airflow`` runs.
    :param all_admins: ``[core] simple_auth_manager_all_admins``: no login, everyone is admin. When
        false, the user ``admin`` gets a random password, written to a 0600 file before the
        api-server starts (so Airflow never prints it), read by :meth:`token`.
    :param sql_alchemy_conn: The metadata DB; default a sqlite file in ``home``.
    :param api_workers: Worker processes of the api-server.
    """

    def __init__(
        self,
        home: Path,
        *,
        dag_files: Iterable[Path] = (),
        env: Mapping[str, str] | None = None,
        python: str = sys.executable,
        all_admins: bool = False,
        sql_alchemy_conn: str | None = None,
        api_workers: int = 1,
    ) -> None:
        from cryptography.fernet import Fernet

        self.home = home
        self.home.mkdir(parents=True, exist_ok=True)
        self.dags_folder = home / "dags"
        self.dags_folder.mkdir(exist_ok=True)
        for path in dag_files:
            shutil.copy(path, self.dags_folder / path.name)
        self.bin_dir = Path(python).parent
        self.airflow = str(self.bin_dir / "airflow")
        self.port = free_port()
        self.base_url = f"http://{LOOPBACK}:{self.port}"
        self.api_workers = api_workers
        self.passwords_file = home / "simple_auth_manager_passwords.json"
        self._admin_password = secrets.token_urlsafe(18)
        if not all_admins:
            fd = os.open(self.passwords_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as file:
                json.dump({ADMIN_USER: self._admin_password}, file)
        settings = {
            "AIRFLOW_HOME": str(home),
            "PATH": f"{self.bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": sql_alchemy_conn or f"sqlite:///{home / 'airflow.db'}",
            "AIRFLOW__CORE__DAGS_FOLDER": str(self.dags_folder),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__CORE__FERNET_KEY": Fernet.generate_key().decode(),
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.base_url}/execution/",
            "AIRFLOW__CORE__TEST_CONNECTION": "Enabled",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{ADMIN_USER}:admin",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": str(all_admins),
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(self.passwords_file),
            "AIRFLOW__API__HOST": LOOPBACK,
            "AIRFLOW__API__PORT": str(self.port),
            "AIRFLOW__API__BASE_URL": self.base_url,
            "AIRFLOW__API__WORKERS": str(api_workers),
            "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_hex(32),
            "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "1",
            "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "False",
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
        }
        self.processes = ProcessSet(home / "process-logs", clean_environment({**settings, **(env or {})}))

    def migrate(self, timeout: float = 180) -> None:
        """Create the metadata DB (``airflow db migrate``)."""
        self.processes.run("db-migrate", [self.airflow, "db", "migrate"], timeout=timeout)

    def start(self, *components: str) -> None:
        """Start components, among ``api-server``, ``scheduler``, ``dag-processor`` and ``triggerer``."""
        commands = {
            "api-server": [
                "api-server",
                "--host",
                LOOPBACK,
                "--port",
                str(self.port),
                "--workers",
                str(self.api_workers),
            ],
            "scheduler": ["scheduler", "--skip-serve-logs"],
            "dag-processor": ["dag-processor"],
            "triggerer": ["triggerer", "--skip-serve-logs"],
        }
        for component in components:
            self.processes.start(component, [self.airflow, *commands[component]])

    def wait_ready(self, timeout: float = 90) -> None:
        """Wait until the api-server answers and the DailyBot receiver is mounted on it."""

        def ready() -> bool:
            self.processes.check_running()
            health = requests.get(f"{self.base_url}/api/v2/monitor/health", timeout=3)
            receiver = requests.get(f"{self.base_url}/dailybot/health", timeout=3)
            return health.status_code == 200 and receiver.json() == {"status": "ok"}

        wait_for("the api-server and the DailyBot receiver", ready, timeout)

    def token(self) -> str:
        """Return a JWT of the ``admin`` user (``POST /auth/token``) for the REST API."""
        response = requests.post(
            f"{self.base_url}/auth/token",
            json={"username": ADMIN_USER, "password": self._admin_password},
            timeout=10,
        )
        if response.status_code not in (200, 201):
            raise ProcessFailure(f"POST /auth/token answered HTTP {response.status_code}")
        return str(response.json()["access_token"])

    def secrets(self) -> list[str]:
        """The run's secrets (admin password, JWT secret, Fernet key), for scrubbing output."""
        env = self.processes.env
        return [self._admin_password, env["AIRFLOW__API_AUTH__JWT_SECRET"], env["AIRFLOW__CORE__FERNET_KEY"]]

    def stop(self, grace: float = 10.0) -> list[int]:
        """Stop every component (SIGKILL after ``grace`` s); return the pids still running afterwards."""
        return self.processes.stop(grace)


class FakeDailyBotProcess:
    """The fake DailyBot server as a process (``python -m airflow_provider_dailybot.testing``) on 127.0.0.1.

    The API key goes through ``DAILYBOT_FAKE_API_KEY``, not the command line.

    :param processes: The run's process set (the fake is stopped with it).
    :param api_key: The only ``X-API-KEY`` the fake accepts.
    :param python: The interpreter that has the provider installed.
    """

    NAME = "fake-dailybot"

    def __init__(self, processes: ProcessSet, api_key: str, python: str = sys.executable) -> None:
        self.processes = processes
        self.api_key = api_key
        self.python = python
        self.url = ""
        self.base_url = ""

    def start(self, timeout: float = 30) -> FakeDailyBotProcess:
        """Start the server on a free port and wait until it answers; return ``self``."""
        argv = [self.python, "-m", "airflow_provider_dailybot.testing", "--host", LOOPBACK, "--port", "0"]
        self.processes.start(self.NAME, argv, env={"DAILYBOT_FAKE_API_KEY": self.api_key})

        def listening() -> str | None:
            self.processes.check_running()
            match = re.search(r"listening on (\S+) \(base URL (\S+)\)", self.processes.tail(self.NAME, 5))
            if match:
                self.url, self.base_url = match.group(1).rstrip("/"), match.group(2)
            return match and self.base_url

        wait_for("the fake DailyBot server", listening, timeout, interval=0.1)
        return self

    def control(self, method: str, action: str, payload: dict[str, Any] | None = None) -> Any:
        """Call a ``/_fake/<action>`` control endpoint (authenticated by the API key) and return its JSON answer."""
        response = requests.request(
            method, f"{self.url}/_fake/{action}", json=payload, headers={"X-API-KEY": self.api_key}, timeout=30
        )
        response.raise_for_status()
        return response.json() if response.content else None

    def connection_json(self) -> str:
        """The ``AIRFLOW_CONN_DAILYBOT_DEFAULT`` value pointing at this fake (contains the key)."""
        return json.dumps({"conn_type": "dailybot", "host": self.base_url, "password": self.api_key})
