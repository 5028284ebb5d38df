"""Fixtures of the delivery store's integration tests: databases of their own and the ``airflow`` CLI.

``postgres_url`` creates a PostgreSQL database ``dailybot_store_<random>`` on 127.0.0.1:5432 and drops
it afterwards (``require_service``: a failure under CI when the server is missing, a skip elsewhere).
``mysql_url`` does the same on a MySQL server on 127.0.0.1:3306 when one and the PyMySQL driver are
there; MySQL is not among the project's services, so it is only ever skipped.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import airflow
import pytest

from tests.conftest import REPO_ROOT, require_service, service_available

AIRFLOW_3_2_PLUS = tuple(int(p) for p in airflow.__version__.split(".")[:2]) >= (3, 2)
MANAGER = "airflow_provider_dailybot.store.db_manager.DailyBotDBManager"
PG_HOST, PG_PORT = "127.0.0.1", 5432


@pytest.fixture
def postgres_url() -> Iterator[str]:
    require_service("PostgreSQL", PG_HOST, PG_PORT)
    import psycopg2

    name = f"dailybot_store_{uuid.uuid4().hex[:12]}"
    admin = psycopg2.connect(host=PG_HOST, port=PG_PORT, user="postgres", dbname="test")
    admin.autocommit = True
    admin.cursor().execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+psycopg2://postgres@{PG_HOST}:{PG_PORT}/{name}"
    finally:
        admin.cursor().execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.fixture
def mysql_url() -> Iterator[str]:
    pymysql = pytest.importorskip("pymysql", reason="the PyMySQL driver is not installed (MySQL is optional)")
    if not service_available("127.0.0.1", 3306):
        pytest.skip("no MySQL server on 127.0.0.1:3306 (MySQL is optional)")
    name = f"dailybot_store_{uuid.uuid4().hex[:12]}"
    admin = pymysql.connect(host="127.0.0.1", port=3306, user="root", autocommit=True)
    admin.cursor().execute(f"CREATE DATABASE `{name}`")
    try:
        yield f"mysql+pymysql://root@127.0.0.1:3306/{name}"
    finally:
        admin.cursor().execute(f"DROP DATABASE IF EXISTS `{name}`")
        admin.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh empty database: a SQLite file, then a PostgreSQL database of its own."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/store.db"
    return request.getfixturevalue("postgres_url")


def airflow_env(home: Path, url: str, *, external_managers: bool) -> dict[str, str]:
    """The environment of an ``airflow`` command on ``url`` with its own ``AIRFLOW_HOME``.

    :param external_managers: Name the store's manager in ``[database] external_db_managers`` (what
        Airflow 3.1 needs; 3.2+ finds it in the provider info either way).
    """
    env = {k: v for k, v in os.environ.items() if k != "AIRFLOW__DATABASE__EXTERNAL_DB_MANAGERS"}
    env.update(
        AIRFLOW_HOME=str(home),
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=url,
        PYTHONPATH=os.pathsep.join(p for p in (str(REPO_ROOT), env.get("PYTHONPATH")) if p),
    )
    if external_managers:
        env["AIRFLOW__DATABASE__EXTERNAL_DB_MANAGERS"] = MANAGER
    return env


def run_python(env: dict[str, str], *args: str, timeout: float = 300) -> str:
    """Run ``python <args>`` (e.g. ``-m airflow db migrate``) in ``env``; return its output, failing on error."""
    done = subprocess.run(
        [sys.executable, *args], env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, f"{' '.join(args)} exited {done.returncode}:\n{output[-4000:]}"
    return done.stdout
