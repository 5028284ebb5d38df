"""Test configuration shared by the whole suite.

Airflow reads its configuration when it is first imported, so the environment is set here,
before any test module imports ``airflow``: a throw-away ``AIRFLOW_HOME`` with a sqlite
metadata DB (created lazily by the ``airflow_db`` fixture), no example DAGs, and our own
``airflow_provider_dailybot/example_dags/`` as the DAGs folder.
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_dailybot.store import DB_MANAGER
from airflow_provider_dailybot.testing import FakeDailyBotServer
from airflow_provider_dailybot.testing.processes import port_open

# The shipped plugin (``dailybot_fake_server``), used by this suite as by a user's.
pytest_plugins = ["airflow_provider_dailybot.testing.pytest_plugin"]

REPO_ROOT = Path(__file__).resolve().parent.parent
#: The DailyBot API key of the whole suite. Recognisable, so that a leak is easy to find in any output.
API_KEY = "sk-test-LEAKCANARY-0123456789abcdef"
_HOME = tempfile.mkdtemp(prefix="dailybot-airflow-home-")  # one per test process: each xdist worker has its own
atexit.register(shutil.rmtree, _HOME, ignore_errors=True)
os.environ["AIRFLOW_HOME"] = _HOME
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(REPO_ROOT / "airflow_provider_dailybot" / "example_dags")
os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = f"sqlite:///{_HOME}/airflow.db"
os.environ["AIRFLOW__CORE__TEST_CONNECTION"] = "Enabled"
os.environ["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS"] = "True"
# In-process tests expect a retired secret to be refused at once: no per-process channel-state cache
# (its own tests set the TTL they need; real components started by tests keep the default).
os.environ["AIRFLOW__DAILYBOT__RECEIVER_STATE_CACHE_SECONDS"] = "0"
# The delivery store's tables (Airflow 3.2+ also finds the manager through the provider info).
os.environ["AIRFLOW__DATABASE__EXTERNAL_DB_MANAGERS"] = DB_MANAGER
# The execution API (used by dag.test()) refuses to start without a JWT secret; a fixed test-only value.
os.environ.setdefault("AIRFLOW__API_AUTH__JWT_SECRET", "test-only-jwt-secret-" + "0123456789abcdef" * 4)
os.environ.setdefault("AIRFLOW__LOGGING__LOGGING_LEVEL", "INFO")
# Connections defined in a developer's shell must not leak into the tests.
for _name in list(os.environ):
    if _name.startswith("AIRFLOW_CONN_DAILYBOT"):
        del os.environ[_name]


def service_available(host: str, port: int, timeout: float = 1.0) -> bool:
    """Return True when a TCP service answers on ``host:port``."""
    return port_open(host, port, timeout)


def require_service(name: str, host: str, port: int) -> None:
    """Fail under CI (``CI=true``) and skip elsewhere, saying why, when a service is missing."""
    if service_available(host, port):
        return
    message = f"{name} is not reachable on {host}:{port}"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{message}; CI machines start it before the run, so this is a failure", pytrace=False)
    pytest.skip(f"{message}; start it to run this test")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under pytest-xdist, hand out the ``e2e`` tests first.

    They are the longest (up to about a minute each: real Airflow processes). With ``make test``'s
    ``--dist load --maxschedchunk 1`` each free worker takes the next test, so the long ones start
    early and the many short in-process tests fill in around them, instead of one e2e test running
    alone at the end while the other worker idles. A run without xdist keeps pytest's order.
    """
    if hasattr(config, "workerinput"):  # an xdist worker; every worker sorts alike, as xdist requires
        items.sort(key=lambda item: item.get_closest_marker("e2e") is None)


@pytest.fixture(scope="session", autouse=True)
def _one_in_process_execution_api() -> None:
    """Build the in-process execution API of ``dag.test()`` once per test process, as Airflow 3.2+ does.

    Airflow 3.1's ``in_process_api_server()`` builds a new execution API app (its versioned routers
    cost about 2 s of CPU) for every task instance ``dag.test()`` runs; 3.2+ caches it with
    ``functools.lru_cache(maxsize=1)``. The same cache here makes the floor's run of the suite take
    about the time of the main line's; where the function is already cached nothing changes.
    """
    import functools

    from airflow.sdk.execution_time import supervisor

    if not hasattr(supervisor.in_process_api_server, "cache_info"):
        supervisor.in_process_api_server = functools.lru_cache(maxsize=1)(supervisor.in_process_api_server)


def airflow_version() -> tuple[int, int]:
    """The ``(major, minor)`` version of the installed Airflow."""
    from airflow import __version__

    major, minor = __version__.split(".")[:2]
    return int(major), int(minor)


def conn_json(server: FakeDailyBotServer, **extra: Any) -> str:
    """A ``dailybot`` connection (``AIRFLOW_CONN_<ID>`` JSON form) pointing at a fake DailyBot, with extras."""
    conn: dict[str, Any] = {"conn_type": "dailybot", "host": server.base_url, "password": server.api_key}
    if extra:
        conn["extra"] = extra
    return json.dumps(conn)


@pytest.fixture
def dailybot_fake_server_options() -> dict[str, Any]:
    """The suite's options of the plugin's ``dailybot_fake_server``: the suite's API key."""
    return {"api_key": API_KEY}


@pytest.fixture
def fake(dailybot_fake_server: FakeDailyBotServer, monkeypatch: pytest.MonkeyPatch) -> FakeDailyBotServer:
    """The plugin's fake DailyBot (seeded organisation), and ``dailybot_default`` pointing at it."""
    monkeypatch.setenv("AIRFLOW_CONN_DAILYBOT_DEFAULT", conn_json(dailybot_fake_server))
    return dailybot_fake_server


@pytest.fixture(scope="session")
def airflow_home() -> Path:
    """The throw-away ``AIRFLOW_HOME`` of this test session."""
    return Path(_HOME)


@pytest.fixture(scope="session")
def airflow_db(airflow_home: Path) -> str:
    """Create (migrate) the sqlite metadata DB once per session and yield its URL."""
    from airflow.utils import db

    db.initdb()
    return os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]


@pytest.fixture
def output_dir(request: pytest.FixtureRequest) -> Path:
    """A per-test folder under ``test-output/`` for artefacts such as screenshots."""
    path = REPO_ROOT / "test-output" / request.node.name.replace("/", "_")
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="session")
def api_app(airflow_db: str):
    """The real Airflow api-server FastAPI app (with our plugin mounted), built in-process."""
    from airflow.api_fastapi.app import create_app

    return create_app()


@pytest.fixture(scope="session")
def admin_token(api_app) -> str:
    """A JWT for an admin user of the simple auth manager (the api-server's default)."""
    from airflow.api_fastapi.app import get_auth_manager
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser

    return get_auth_manager().generate_jwt(SimpleAuthManagerUser(username="admin", role="admin"))


@pytest.fixture
def api_client(api_app, admin_token: str):
    """An authenticated in-process client of the api-server app."""
    from fastapi.testclient import TestClient

    with TestClient(api_app, headers={"Authorization": f"Bearer {admin_token}"}) as client:
        yield client


_FIGURES: list[str] = []


@pytest.fixture
def report_figure(request: pytest.FixtureRequest):
    """Record a line (a measured figure) that is printed in pytest's terminal summary.

    The line travels in the test's report (``user_properties``), so under pytest-xdist it reaches the
    controller process, which prints the summary.
    """

    def _report(line: str) -> None:
        request.node.user_properties.append(("figure", line))

    return _report


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when == "teardown":  # the last report of a test carries every figure it recorded
        _FIGURES.extend(str(value) for name, value in report.user_properties if name == "figure")


def pytest_terminal_summary(terminalreporter) -> None:
    if _FIGURES:
        terminalreporter.section("figures")
        for line in _FIGURES:
            terminalreporter.write_line(line)
