"""``airflow db migrate`` and ``airflow db reset`` run the store's manager, as each Airflow version finds it.

Airflow 3.2+ discovers it from ``db-managers`` in the provider info; Airflow 3.1 runs it only when
``[database] external_db_managers`` names it. Each test runs the real ``airflow`` CLI in a process
of its own with its own ``AIRFLOW_HOME`` and database.
"""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.orm import Session

from airflow_provider_dailybot.store.db_manager import HEAD_REVISION
from airflow_provider_dailybot.store.deliveries import insert_delivery
from airflow_provider_dailybot.store.models import TABLE_NAME, VERSION_TABLE_NAME
from tests.integration.store.conftest import AIRFLOW_3_2_PLUS, MANAGER, airflow_env, run_python
from tests.unit.store.factories import new_delivery

pytestmark = [pytest.mark.db, pytest.mark.e2e]

#: Airflow 3.1 needs the setting; on 3.2+ the tests run without it, so discovery is what they prove.
NEEDS_SETTING = not AIRFLOW_3_2_PLUS

MANAGER_CALL = """
import sys
from airflow.utils.session import create_session
from airflow_provider_dailybot.store.db_manager import DailyBotDBManager
with create_session() as session:
    getattr(DailyBotDBManager(session), sys.argv[1])(*sys.argv[2:])
"""

OFFLINE_SQL = """
from airflow.utils.session import create_session
from airflow_provider_dailybot.store.db_manager import DailyBotDBManager
with create_session() as session:
    DailyBotDBManager(session).upgradedb(show_sql_only=True)
    print("-- then down")
    DailyBotDBManager(session).downgrade("base", show_sql_only=True)
"""


def _insert(url: str, n: int) -> bool:
    engine = create_engine(url)
    try:
        with Session(engine) as session:
            inserted = insert_delivery(session, new_delivery(n)).inserted
            session.commit()
            return inserted
    finally:
        engine.dispose()


def _state(url: str) -> tuple[bool, str | None, int | None]:
    """(the table exists, the store's revision, its row count)."""
    engine = create_engine(url)
    try:
        tables = set(inspect(engine).get_table_names())
        with engine.connect() as connection:
            revision = (
                connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE_NAME}")).scalar()
                if VERSION_TABLE_NAME in tables
                else None
            )
            rows = (
                connection.execute(text(f"SELECT count(*) FROM {TABLE_NAME}")).scalar()
                if TABLE_NAME in tables
                else None
            )
        assert "dag_run" in tables  # Airflow's own tables are there too
        return TABLE_NAME in tables, revision, rows
    finally:
        engine.dispose()


def test_db_migrate_creates_the_table_on_postgres_and_our_downgrade_drops_it(tmp_path, postgres_url):
    env = airflow_env(tmp_path, postgres_url, external_managers=NEEDS_SETTING)
    run_python(env, "-m", "airflow", "db", "migrate")
    assert _state(postgres_url) == (True, HEAD_REVISION, 0)
    assert _insert(postgres_url, 1) is True
    assert _insert(postgres_url, 1) is False

    run_python(env, "-c", MANAGER_CALL, "downgrade", "base")  # `airflow db downgrade` covers Airflow's tables only
    assert _state(postgres_url) == (False, None, None)

    run_python(env, "-m", "airflow", "db", "migrate")
    assert _state(postgres_url) == (True, HEAD_REVISION, 0)


def test_db_migrate_on_sqlite_is_idempotent_and_db_reset_drops_the_rows(tmp_path):
    url = f"sqlite:///{tmp_path}/airflow.db"
    env = airflow_env(tmp_path, url, external_managers=NEEDS_SETTING)
    run_python(env, "-m", "airflow", "db", "migrate")
    assert _state(url) == (True, HEAD_REVISION, 0)
    assert _insert(url, 1) is True

    run_python(env, "-m", "airflow", "db", "migrate")  # a second migrate keeps what is stored
    assert _state(url) == (True, HEAD_REVISION, 1)

    run_python(env, "-m", "airflow", "db", "reset", "--yes")  # drops the table with Airflow's, then recreates
    assert _state(url) == (True, HEAD_REVISION, 0)


def test_offline_sql_of_the_store_through_the_manager(tmp_path, postgres_url):
    env = airflow_env(tmp_path, postgres_url, external_managers=NEEDS_SETTING)
    up, down = run_python(env, "-c", OFFLINE_SQL).split("-- then down")
    assert f"CREATE TABLE {TABLE_NAME}" in up
    assert f"DROP TABLE {TABLE_NAME}" in down
    engine = create_engine(postgres_url)
    try:
        assert inspect(engine).get_table_names() == []  # only printed
    finally:
        engine.dispose()


@pytest.mark.skipif(not AIRFLOW_3_2_PLUS, reason="Airflow 3.1 does not read db-managers from provider info")
def test_airflow_3_2_discovers_the_manager_in_the_provider_info():
    from airflow.providers_manager import ProvidersManager

    assert MANAGER in ProvidersManager().db_managers


@pytest.mark.skipif(AIRFLOW_3_2_PLUS, reason="Airflow 3.2+ finds the manager without the setting")
def test_airflow_3_1_needs_external_db_managers(tmp_path):
    url = f"sqlite:///{tmp_path}/airflow.db"
    run_python(airflow_env(tmp_path, url, external_managers=False), "-m", "airflow", "db", "migrate")
    assert _state(url) == (False, None, None)  # hence the documented [database] external_db_managers

    run_python(airflow_env(tmp_path, url, external_managers=True), "-m", "airflow", "db", "migrate")
    assert _state(url) == (True, HEAD_REVISION, 0)
