"""Airflow components (api-server, scheduler, dag-processor, triggerer) as processes of a throw-away home.

Airflow is never imported here: the components run as child processes, with the ``airflow`` next to
the interpreter, listening on 127.0.0.1 only. An api-server for a test of your own (DAGs in
``home / "dags"``)::

    from airflow_provider_dailybot.testing.airflow_components import AirflowComponent, airflow_environment
    from airflow_provider_dailybot.testing.processes import free_port, run_command

    port = free_port()
    env = airflow_environment(home, port, extra={"AIRFLOW_CONN_DAILYBOT_DEFAULT": connection_json})
    run_command(["airflow", "db", "migrate"], env=env, log_path=home / "migrate.log", timeout=300)
    with AirflowComponent("api-server", env=env, log_path=home / "api-server.log", port=port) as api:
        api.wait_ready(timeout=120)  # GET /api/v2/monitor/health answers 200
        ...  # POST deliveries to f"http://127.0.0.1:{port}/dailybot/webhooks/<channel>"
"""

from __future__ import annotations

import base64
import os
import secrets
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path

from airflow_provider_dailybot.store import DB_MANAGER
from airflow_provider_dailybot.testing.processes import LOOPBACK, ManagedProcess

#: The Airflow components :func:`airflow_command` knows.
AIRFLOW_COMPONENTS = ("api-server", "scheduler", "dag-processor", "triggerer")
#: Prefixes and names of the caller's environment that never reach a child (see :func:`clean_environment`).
SCRUBBED_PREFIXES = ("AIRFLOW__", "AIRFLOW_CONN_", "AIRFLOW_VAR_", "PYTEST_", "DAILYBOT_")
SCRUBBED_NAMES = ("AIRFLOW_HOME", "AIRFLOW_CONFIG")


def clean_environment(extra: Mapping[str, str] | None = None, *, drop: Iterable[str] = ()) -> dict[str, str]:
    """The caller's environment without Airflow configuration or connections, pytest's or DailyBot variables.

    :param extra: Variables added afterwards.
    :param drop: More names to remove (e.g. ``REQUESTS_CA_BUNDLE``).
    """
    dropped = {*SCRUBBED_NAMES, *drop}
    env = {k: v for k, v in os.environ.items() if not k.startswith(SCRUBBED_PREFIXES) and k not in dropped}
    env.update(extra or {})
    return env


def airflow_command(
    component: str, *, port: int | None = None, workers: int = 1, python: str = sys.executable
) -> list[str]:
    """Return the command of an Airflow component that listens on 127.0.0.1 only.

    The api-server binds ``127.0.0.1:port``; the scheduler and the triggerer run with
    ``--skip-serve-logs`` (their log servers would bind every interface).

    :param component: One of :data:`AIRFLOW_COMPONENTS`.
    :param port: The api-server's port (required for it).
    :param workers: The api-server's worker processes.
    :param python: The virtualenv's interpreter; the ``airflow`` next to it runs.
    :raises ValueError: For an unknown component, or an api-server without a port.
    """
    airflow = str(Path(python).with_name("airflow"))
    if component == "api-server":
        if port is None:
            raise ValueError("the api-server needs a port")
        return [airflow, component, "--host", LOOPBACK, "--port", str(port), "--workers", str(workers)]
    if component in ("scheduler", "triggerer"):
        return [airflow, component, "--skip-serve-logs"]
    if component == "dag-processor":
        return [airflow, component]
    raise ValueError(f"unknown Airflow component {component!r}; expected one of {', '.join(AIRFLOW_COMPONENTS)}")


def airflow_environment(
    home: Path,
    port: int,
    *,
    sql_alchemy_conn: str | None = None,
    dags_folder: Path | None = None,
    all_admins: bool = True,
    python: str = sys.executable,
    base: Mapping[str, str] | None = None,
    extra: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Return the environment of Airflow components sharing ``home``, with the api-server on ``127.0.0.1:port``.

    LocalExecutor, no example DAGs, a fresh JWT secret and Fernet key, the execution API on the
    api-server, a one-second scheduler heartbeat.

    :param home: The ``AIRFLOW_HOME``.
    :param port: The api-server's port.
    :param sql_alchemy_conn: The metadata DB; default a sqlite file in ``home``.
    :param dags_folder: The DAGs folder; default ``home / "dags"``.
    :param all_admins: SimpleAuthManager without login, every user an admin.
    :param python: The virtualenv's interpreter; its folder comes first on ``PATH``.
    :param base: The environment to start from; default :func:`clean_environment`.
    :param extra: Variables added last (they win).
    """
    env = dict(clean_environment() if base is None else base)
    base_url = f"http://{LOOPBACK}:{port}"
    env.update({
        "AIRFLOW_HOME": str(home),
        "PATH": f"{Path(python).parent}{os.pathsep}{env.get('PATH', '')}",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": sql_alchemy_conn or f"sqlite:///{home / 'airflow.db'}",
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags_folder or home / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__FERNET_KEY": base64.urlsafe_b64encode(os.urandom(32)).decode(),  # what Fernet generates
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{base_url}/execution/",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": str(all_admins),
        "AIRFLOW__API__HOST": LOOPBACK,
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__API__BASE_URL": base_url,
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_hex(32),
        "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "1",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
        # `airflow db migrate` creates the delivery store (3.2+ also finds it through the provider info).
        "AIRFLOW__DATABASE__EXTERNAL_DB_MANAGERS": DB_MANAGER,
    })  # fmt: skip
    env.update(extra or {})
    return env


class AirflowComponent(ManagedProcess):
    """An Airflow component (:func:`airflow_command`) as a :class:`~.processes.ManagedProcess`.

    The api-server is ready when ``/api/v2/monitor/health`` answers 200; the others once they run.

    :param component: One of :data:`AIRFLOW_COMPONENTS`.
    :param env: The environment (see :func:`airflow_environment`).
    :param log_path: The log file.
    :param port: The api-server's port.
    :param workers: The api-server's worker processes.
    :param python: The virtualenv's interpreter.
    :param cwd: The working directory.
    :param stop_timeout: Seconds between SIGTERM and SIGKILL.
    """

    def __init__(
        self, component: str, *, env: Mapping[str, str], log_path: Path, port: int | None = None, workers: int = 1,
        python: str = sys.executable, cwd: Path | str | None = None, stop_timeout: float = 15.0,
    ) -> None:  # fmt: skip
        health = f"http://{LOOPBACK}:{port}/api/v2/monitor/health" if component == "api-server" else None
        super().__init__(
            airflow_command(component, port=port, workers=workers, python=python), log_path=log_path, env=env,
            name=component, cwd=cwd, ready_url=health, stop_timeout=stop_timeout,
        )  # fmt: skip
