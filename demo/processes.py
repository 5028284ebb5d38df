"""Start, watch and stop a local Airflow and the fake DailyBot as real processes, on 127.0.0.1 only.

Shared by the demo (:mod:`demo.run_demo`) and the tests that need a whole Airflow (the browser test, the
soak), on top of the provider's process helpers (:mod:`airflow_provider_dailybot.testing.processes`).

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
import sys
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from airflow_provider_dailybot.testing.airflow_components import airflow_command, airflow_environment
from airflow_provider_dailybot.testing.processes import (
    LOOPBACK,
    ManagedProcess,
    ProcessFailure,
    ProcessGroup,
    free_port,
    wait_for,
)

#: Environment variable carrying the per-run marker of every child process.
MARKER_ENV = "DAILYBOT_DEMO_PROCESS_MARKER"
#: The user the demo logs in as (SimpleAuthManager).
ADMIN_USER = "admin"


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


class ProcessSet(ProcessGroup):
    """Child processes of one run (see :class:`ProcessGroup`), each carrying the run's marker.

    :param log_dir: Folder of the log files (created).
    :param env: The environment of every child; the run's marker is added to it.
    """

    def __init__(self, log_dir: Path, env: Mapping[str, str]) -> None:
        self.marker = uuid.uuid4().hex
        super().__init__(log_dir, {**env, MARKER_ENV: self.marker})
        self._sessions: set[int] = set()

    def spawn(self, name: str, argv: Sequence[str], env: Mapping[str, str] | None = None) -> ManagedProcess:
        """Start ``argv`` (see :meth:`ProcessGroup.spawn`) and remember its session."""
        process = super().spawn(name, argv, env)
        self._sessions.add(process.pid)  # the child leads a new session: its sid is its pid
        return process

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

    def stop(self, timeout: float = 20.0) -> list[int]:
        """End every process of the run and return the pids still running afterwards (``[]`` on success).

        :meth:`ProcessGroup.stop` (SIGTERM to each started process group, up to ``timeout`` seconds
        to exit, then SIGKILL to the groups); then SIGKILL, by pid, to any process still carrying the
        marker (a task process that had left its parent's group).
        """
        super().stop(timeout)
        for pid in self.marked_pids():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        try:
            wait_for("the run's processes to exit", lambda: not self.marked_pids(), timeout=10, interval=0.2)
        except TimeoutError:
            return self.marked_pids()
        return []


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
        self.home = home
        self.home.mkdir(parents=True, exist_ok=True)
        self.dags_folder = home / "dags"
        self.dags_folder.mkdir(exist_ok=True)
        for path in dag_files:
            shutil.copy(path, self.dags_folder / path.name)
        self.python = python
        self.airflow = str(Path(python).with_name("airflow"))
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
            "AIRFLOW__CORE__TEST_CONNECTION": "Enabled",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{ADMIN_USER}:admin",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(self.passwords_file),
            "AIRFLOW__API__WORKERS": str(api_workers),
            "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "False",
        }
        environment = airflow_environment(
            home,
            self.port,
            sql_alchemy_conn=sql_alchemy_conn,
            dags_folder=self.dags_folder,
            all_admins=all_admins,
            python=python,
            extra={**settings, **(env or {})},
        )
        self.processes = ProcessSet(home / "process-logs", environment)

    def migrate(self, timeout: float = 180) -> None:
        """Create the metadata DB (``airflow db migrate``)."""
        self.processes.run("db-migrate", [self.airflow, "db", "migrate"], timeout=timeout)

    def start(self, *components: str) -> None:
        """Start components, among ``api-server``, ``scheduler``, ``dag-processor`` and ``triggerer``."""
        for component in components:
            argv = airflow_command(component, port=self.port, workers=self.api_workers, python=self.python)
            self.processes.start(component, argv)

    def wait_ready(self, timeout: float = 90) -> None:
        """Wait until the api-server answers and the DailyBot receiver is mounted on it."""

        def ready() -> bool:
            health = requests.get(f"{self.base_url}/api/v2/monitor/health", timeout=3)
            receiver = requests.get(f"{self.base_url}/dailybot/health", timeout=3)
            return health.status_code == 200 and receiver.json() == {"status": "ok"}

        wait_for("the api-server and the DailyBot receiver", ready, timeout, process=self.processes)

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
        process = self.processes.start(self.NAME, argv, env={"DAILYBOT_FAKE_API_KEY": self.api_key})

        def listening() -> str | None:
            match = re.search(r"listening on (\S+) \(base URL (\S+)\)", self.processes.tail(self.NAME, 5))
            if match:
                self.url, self.base_url = match.group(1).rstrip("/"), match.group(2)
            return match and self.base_url

        wait_for("the fake DailyBot server", listening, timeout, interval=0.1, process=process)
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
