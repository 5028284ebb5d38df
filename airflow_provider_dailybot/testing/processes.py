"""Start, wait for and stop real processes in tests, demos and benchmarks: standard library only.

Every child runs in its own session with its output (stdout and stderr) appended to a log file.
:meth:`ManagedProcess.stop` signals the whole process group (so the children it forked die with it)
and waits, bounded, until nothing of the group is left. Every error about a process ends with the
tail of its log. :mod:`airflow_provider_dailybot.testing.airflow_components` builds Airflow
components on top of this.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Protocol, TypeVar

#: The interface the helpers bind and wait on by default.
LOOPBACK = "127.0.0.1"
#: At most this much of a log file is read for a tail, and of an HTTP answer by :func:`wait_for_http`.
TAIL_BYTES = 64 * 1024
HTTP_BODY_BYTES = 1024 * 1024
#: Seconds a process group may take to vanish after SIGKILL.
KILL_WAIT = 5.0

T = TypeVar("T")
_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # readiness checks never use a proxy


class ProcessFailure(RuntimeError):
    """A child process exited early, failed or overran its time; the message ends with its log tail."""


class Supervised(Protocol):
    """What :func:`wait_for` watches while it waits: a :class:`ManagedProcess` or a :class:`ProcessGroup`."""

    def check_running(self) -> None:
        """Raise :class:`ProcessFailure` when a process has exited."""

    def log_tail(self, lines: int = 20) -> str:
        """Return the last lines of the log(s), for an error message."""


def free_port(host: str = LOOPBACK) -> int:
    """Return a TCP port that is free on ``host`` right now (the kernel's choice).

    :param host: The interface the port must be free on.
    """
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def port_open(host: str, port: int, timeout: float = 1.0) -> bool:
    """Return whether something accepts TCP connections on ``host:port``.

    :param host: The host.
    :param port: The port.
    :param timeout: Seconds the connection attempt may take.
    """
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def read_tail(path: Path, lines: int = 40) -> str:
    """Return the last ``lines`` lines of a log file, reading at most :data:`TAIL_BYTES` ("" when missing).

    :param path: The log file.
    :param lines: How many lines.
    """
    try:
        with path.open("rb") as file:
            size = file.seek(0, os.SEEK_END)
            file.seek(max(0, size - TAIL_BYTES))
            text = file.read(TAIL_BYTES).decode(errors="replace").splitlines()
    except FileNotFoundError:
        return ""
    if size > TAIL_BYTES:
        text = text[1:]  # the first line read is cut
    return "\n".join(text[-lines:])


def wait_for(
    what: str,
    check: Callable[[], T | None],
    timeout: float,
    interval: float = 0.5,
    *,
    process: Supervised | None = None,
) -> T:
    """Call ``check`` until it returns a truthy value and return that value; bounded by ``timeout`` seconds.

    An exception from ``check`` means "not ready yet", except :class:`ProcessFailure` (a process that
    died will not become ready), raised at once, as it is when ``process`` has exited.

    :param what: What is awaited, for the error message.
    :param check: The readiness check.
    :param timeout: Seconds to wait at most.
    :param interval: Seconds between checks.
    :param process: A process (or group) that must keep running; its log tail ends the timeout message.
    :raises TimeoutError: When ``check`` was not satisfied in time.
    :raises ProcessFailure: When ``process`` exited, or ``check`` raised it.
    """
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while True:
        if process is not None:
            process.check_running()
        try:
            value = check()
        except ProcessFailure:
            raise
        except Exception as exc:  # not ready yet: connection refused, 404, table missing, ...
            value, last_error = None, exc
        if value:
            return value
        if time.monotonic() >= deadline:
            message = f"timed out after {timeout:.0f} s waiting for {what}"
            if last_error is not None:
                message += f" (last error: {type(last_error).__name__}: {last_error})"
            if process is not None:
                message += f"\n{process.log_tail()}"
            raise TimeoutError(message)
        time.sleep(max(0.0, min(interval, deadline - time.monotonic())))


def wait_for_port(port: int, host: str = LOOPBACK, *, timeout: float, process: Supervised | None = None) -> None:
    """Wait until ``host:port`` accepts TCP connections (errors: see :func:`wait_for`).

    :param port: The port.
    :param host: The host.
    :param timeout: Seconds to wait at most.
    :param process: The process that should listen there.
    """
    wait_for(f"{host}:{port} to accept connections", lambda: port_open(host, port), timeout, 0.1, process=process)


def wait_for_http(
    url: str,
    *,
    timeout: float,
    process: Supervised | None = None,
    status: int = 200,
    accept: Callable[[bytes], bool] | None = None,
    interval: float = 0.25,
) -> bytes:
    """Wait until ``GET url`` answers ``status`` with a body ``accept`` approves; return the body.

    No proxy is used and at most :data:`HTTP_BODY_BYTES` of a body are read. Errors: see :func:`wait_for`.

    :param url: An ``http://`` or ``https://`` URL.
    :param timeout: Seconds to wait at most.
    :param process: The process that serves ``url``.
    :param status: The expected status.
    :param accept: A check of the body.
    :param interval: Seconds between attempts.
    """
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"wait_for_http needs an http(s) URL, not {url!r}")

    def answered() -> list[bytes]:
        try:
            with _NO_PROXY.open(url, timeout=min(5.0, max(timeout, 0.1))) as response:
                code, body = response.status, response.read(HTTP_BODY_BYTES)
        except urllib.error.HTTPError as err:
            with err:
                code, body = err.code, err.read(HTTP_BODY_BYTES)
        if code != status:
            raise LookupError(f"HTTP {code}")
        if accept is not None and not accept(body):
            raise LookupError(f"unexpected body {body[:200]!r}")
        return [body]  # truthy even when the body is empty

    return wait_for(f"GET {url} to answer {status}", answered, timeout, interval, process=process)[0]


def _group_members(pgid: int) -> list[int]:
    """Return the live (not zombie) processes of group ``pgid``, from ``/proc`` (signal 0 elsewhere)."""
    if not os.path.isdir("/proc/self"):
        try:
            os.killpg(pgid, 0)
        except (ProcessLookupError, PermissionError):
            return []
        return [pgid]
    members = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                with open(f"/proc/{entry.name}/stat", "rb") as file:
                    fields = file.read().rsplit(b")", 1)[1].split()
            except (OSError, IndexError):  # gone meanwhile
                continue
            if fields[0] != b"Z" and int(fields[2]) == pgid:
                members.append(int(entry.name))
    return members


class ManagedProcess:
    """A command run in its own session, stdout and stderr appended to a log file, stdin ``/dev/null``.

    A context manager: started on entry (unless started already), stopped on exit.

    :param argv: The command.
    :param log_path: The log file (its folder is created).
    :param env: The child's whole environment; default the caller's.
    :param name: How messages call it; default the program's name.
    :param cwd: The working directory.
    :param ready_url: What :meth:`wait_ready` waits for: a URL answering 200, ...
    :param ready_port: ... or a port on 127.0.0.1 accepting connections.
    :param stop_timeout: Seconds :meth:`stop` waits after SIGTERM before SIGKILL.
    """

    def __init__(
        self,
        argv: Sequence[str],
        *,
        log_path: Path,
        env: Mapping[str, str] | None = None,
        name: str | None = None,
        cwd: Path | str | None = None,
        ready_url: str | None = None,
        ready_port: int | None = None,
        stop_timeout: float = 15.0,
    ) -> None:
        self.argv = [str(arg) for arg in argv]
        self.log_path = log_path
        self.env = dict(env) if env is not None else None
        self.name = name or Path(self.argv[0]).name
        self.cwd = cwd
        self.ready_url = ready_url
        self.ready_port = ready_port
        self.stop_timeout = stop_timeout
        self._popen: subprocess.Popen[bytes] | None = None
        self._terminated = False

    def __repr__(self) -> str:  # never the environment or the arguments: they may hold secrets
        return f"<ManagedProcess {self.name} pid={self._popen.pid if self._popen else None}>"

    def start(self) -> ManagedProcess:
        """Start the command and return ``self``."""
        if self._popen is not None:
            raise RuntimeError(f"{self.name} was started already")
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as out:
            self._popen = subprocess.Popen(
                self.argv, env=self.env, cwd=self.cwd, stdin=subprocess.DEVNULL, stdout=out,
                stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        return self

    @property
    def pid(self) -> int:
        """The child's pid, also the id of its process group and session."""
        return self._started().pid

    @property
    def returncode(self) -> int | None:
        """The exit status (negative: killed by that signal), None while it runs."""
        return self._started().poll()

    def tail(self, lines: int = 40) -> str:
        """Return the last ``lines`` lines of the log.

        :param lines: How many lines.
        """
        return read_tail(self.log_path, lines)

    def log_tail(self, lines: int = 20) -> str:
        """Return the log's tail under a heading naming the process (for error messages).

        :param lines: How many lines.
        """
        return f"--- last lines of {self.log_path.name} ({self.name}) ---\n{self.tail(lines)}"

    def check_running(self) -> None:
        """Raise :class:`ProcessFailure`, with the log tail, if the process has exited."""
        if self.returncode is not None:
            raise ProcessFailure(f"{self.name} exited with status {self.returncode}\n{self.log_tail(40)}")

    def wait_ready(self, timeout: float) -> None:
        """Wait until ``ready_url`` answers 200 or ``ready_port`` accepts connections (with neither: it runs).

        :param timeout: Seconds to wait at most.
        :raises TimeoutError: When it was not ready in time.
        :raises ProcessFailure: When it exited meanwhile.
        """
        if self.ready_url:
            wait_for_http(self.ready_url, timeout=timeout, process=self)
        elif self.ready_port:
            wait_for_port(self.ready_port, timeout=timeout, process=self)
        else:
            self.check_running()

    def run(self, timeout: float) -> None:
        """Start the command unless started, wait until it finishes, then stop what it left in its group.

        :param timeout: Seconds it may take.
        :raises ProcessFailure: When it exits non-zero or overruns ``timeout`` (it is then killed).
        """
        popen = self._started() if self._popen is not None else self.start()._started()
        try:
            returncode = popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise ProcessFailure(f"{self.name} did not finish within {timeout:.0f} s\n{self.log_tail(40)}") from None
        finally:
            self.stop(timeout=0)
        if returncode != 0:
            raise ProcessFailure(f"{self.name} failed with exit status {returncode}\n{self.log_tail(40)}")

    def terminate(self) -> None:
        """Send SIGTERM to the process group, once, if the process still runs (without waiting)."""
        if self._popen is not None and self._popen.poll() is None and not self._terminated:
            self._signal_group(signal.SIGTERM)
            self._terminated = True

    def stop(self, timeout: float | None = None) -> int | None:
        """Stop the process group: SIGTERM, up to ``timeout`` s for the process to exit, SIGKILL to what is left.

        Returns once the group is gone (or :data:`KILL_WAIT` seconds after the SIGKILL); safe to repeat.

        :param timeout: Seconds between SIGTERM and SIGKILL; default ``stop_timeout``.
        :returns: The exit status (None if never started).
        """
        if self._popen is None:
            return None
        self.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self._popen.wait(timeout=max(0.0, self.stop_timeout if timeout is None else timeout))
        self._signal_group(signal.SIGKILL)  # the leader if it is still there, and its group in any case
        with contextlib.suppress(subprocess.TimeoutExpired):
            self._popen.wait(timeout=KILL_WAIT)
        deadline = time.monotonic() + KILL_WAIT
        while _group_members(self._popen.pid) and time.monotonic() < deadline:
            self._signal_group(signal.SIGKILL)
            time.sleep(0.05)
        return self._popen.returncode

    def _started(self) -> subprocess.Popen[bytes]:
        if self._popen is None:
            raise RuntimeError(f"{self.name} is not started")
        return self._popen

    def _signal_group(self, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self._started().pid, sig)  # the child leads its group (start_new_session)

    def __enter__(self) -> ManagedProcess:
        return self if self._popen is not None else self.start()

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.stop()


def run_command(
    argv: Sequence[str], *, log_path: Path, timeout: float, env: Mapping[str, str] | None = None,
    cwd: Path | str | None = None, name: str | None = None,
) -> None:  # fmt: skip
    """Run ``argv`` to completion, output appended to ``log_path`` (see :meth:`ManagedProcess.run`).

    :param argv: The command.
    :param log_path: The log file.
    :param timeout: Seconds it may take.
    :param env: Its environment; default the caller's.
    :param cwd: Its working directory.
    :param name: How messages call it.
    :raises ProcessFailure: When it fails or overruns.
    """
    ManagedProcess(argv, log_path=log_path, env=env, cwd=cwd, name=name).run(timeout)


class ProcessGroup:
    """Named processes of one run sharing an environment, logging to ``log_dir/<name>.log``, stopped together.

    :param log_dir: Folder of the logs (created).
    :param env: The environment of every process (``self.env`` may still change before a start).
    :param cwd: The working directory of every process.
    """

    def __init__(self, log_dir: Path, env: Mapping[str, str] | None = None, *, cwd: Path | str | None = None) -> None:
        self.log_dir = log_dir
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.env: dict[str, str] = dict(os.environ if env is None else env)
        self.cwd = cwd
        self.processes: dict[str, ManagedProcess] = {}

    def log_path(self, name: str) -> Path:
        """Return the log file of the process or command ``name``.

        :param name: The process's name.
        """
        return self.log_dir / f"{name}.log"

    def spawn(self, name: str, argv: Sequence[str], env: Mapping[str, str] | None = None) -> ManagedProcess:
        """Start ``argv`` as ``name`` with the group's environment and ``env``, without adding it to the group.

        :param name: Its name, and its log file's.
        :param argv: The command.
        :param env: More environment.
        """
        env = {**self.env, **(env or {})}
        return ManagedProcess(argv, log_path=self.log_path(name), env=env, name=name, cwd=self.cwd).start()

    def start(self, name: str, argv: Sequence[str], env: Mapping[str, str] | None = None) -> ManagedProcess:
        """Start ``argv`` as the group's process ``name`` (see :meth:`spawn`) and return it."""
        self.processes[name] = self.spawn(name, argv, env)
        return self.processes[name]

    def run(self, name: str, argv: Sequence[str], *, timeout: float, env: Mapping[str, str] | None = None) -> None:
        """Run ``argv`` to completion as ``name`` (see :meth:`ManagedProcess.run`).

        :raises ProcessFailure: When it fails or overruns ``timeout`` seconds.
        """
        self.spawn(name, argv, env).run(timeout)

    def tail(self, name: str, lines: int = 40) -> str:
        """Return the last ``lines`` lines of the log of ``name``."""
        return read_tail(self.log_path(name), lines)

    def log_tail(self, lines: int = 20) -> str:
        """Return the log tail of every process of the group."""
        return "\n".join(process.log_tail(lines) for process in self.processes.values())

    def check_running(self) -> None:
        """Raise :class:`ProcessFailure` if a process of the group has exited."""
        for process in self.processes.values():
            process.check_running()

    def stop(self, timeout: float = 15.0) -> list[int]:
        """Stop every process: SIGTERM to all at once, ``timeout`` s for all of them to exit, then SIGKILL.

        :param timeout: Seconds between the SIGTERMs and the SIGKILLs.
        :returns: The pids of the process groups still alive afterwards (``[]`` on success).
        """
        for process in self.processes.values():
            process.terminate()
        deadline = time.monotonic() + timeout
        for process in self.processes.values():
            process.stop(timeout=deadline - time.monotonic())
        left = [pid for process in self.processes.values() for pid in _group_members(process.pid)]
        self.processes.clear()
        return left
