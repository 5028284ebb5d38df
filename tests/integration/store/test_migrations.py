"""The store's Alembic migrations, up and down, on SQLite and PostgreSQL (and MySQL when there)."""

from __future__ import annotations

import io

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from airflow_provider_dailybot.store import deliveries as store
from airflow_provider_dailybot.store.db_manager import BASE_REVISION, HEAD_REVISION, alembic_config
from airflow_provider_dailybot.store.models import TABLE_NAME, VERSION_TABLE_NAME, metadata
from tests.unit.store.factories import migrated_engine, new_delivery

pytestmark = pytest.mark.db

INDEXES = {
    "idx_dailybot_delivery_channel_received_at": ["channel", "received_at"],
    "idx_dailybot_delivery_received_at": ["received_at"],
    "idx_dailybot_delivery_outcome_channel": ["outcome", "channel"],
}
UNIQUE = {
    "dailybot_delivery_channel_dedupe_uq": ["channel", "dedupe_key"],
    "dailybot_delivery_delivery_id_uq": ["delivery_id"],
}


def _migrate(engine, action, revision: str) -> None:
    with engine.begin() as connection:
        action(alembic_config(str(engine.url.render_as_string(hide_password=False)), connection=connection), revision)


def _revision(engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE_NAME}).get_current_revision()


def _schema_diff(engine) -> list:
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection,
            opts={
                "compare_type": True,
                "include_object": lambda _o, name, type_, *_: type_ != "table" or name == TABLE_NAME,
            },
        )
        return compare_metadata(context, metadata)


def _round_trip(url: str) -> None:
    engine = create_engine(url)
    try:
        _migrate(engine, command.upgrade, "heads")
        assert _revision(engine) == HEAD_REVISION
        found = inspect(engine)
        assert TABLE_NAME in found.get_table_names()
        assert {i["name"]: i["column_names"] for i in found.get_indexes(TABLE_NAME) if i["name"] in INDEXES} == INDEXES
        assert {u["name"]: u["column_names"] for u in found.get_unique_constraints(TABLE_NAME)} == UNIQUE
        assert _schema_diff(engine) == []  # the migrations build exactly what models.py declares

        with engine.connect() as connection, Session(bind=connection) as session:
            first = store.insert_delivery(session, new_delivery(1))
            assert store.insert_delivery(session, new_delivery(1)).record == first.record
            session.commit()

        _migrate(engine, command.downgrade, BASE_REVISION)  # the data step has nothing to undo
        assert _revision(engine) == BASE_REVISION
        with engine.connect() as connection:
            assert connection.execute(text(f"SELECT count(*) FROM {TABLE_NAME}")).scalar_one() == 1

        _migrate(engine, command.downgrade, "base")
        assert TABLE_NAME not in inspect(engine).get_table_names()
        assert _revision(engine) is None

        _migrate(engine, command.upgrade, BASE_REVISION)
        _migrate(engine, command.upgrade, "heads")
        assert _revision(engine) == HEAD_REVISION
        assert _schema_diff(engine) == []
    finally:
        engine.dispose()


def test_upgrade_and_downgrade_round_trip(database_url):
    _round_trip(database_url)


def test_upgrade_and_downgrade_round_trip_on_mysql(mysql_url):
    _round_trip(mysql_url)


def test_a_reused_delivery_id_is_an_error_on_mysql_too(mysql_url):
    engine = migrated_engine(mysql_url)
    try:
        with Session(engine) as session:
            store.insert_delivery(session, new_delivery(1, delivery_id="same-id"))
            with pytest.raises(IntegrityError):
                store.insert_delivery(session, new_delivery(2, delivery_id="same-id"))
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_offline_mode_prints_the_ddl_without_touching_the_database(postgres_url):
    buffer = io.StringIO()
    config = alembic_config(postgres_url)
    config.output_buffer = buffer
    command.upgrade(config, "heads", sql=True)
    sql = buffer.getvalue()

    assert "CREATE TABLE dailybot_delivery" in sql
    assert "CONSTRAINT dailybot_delivery_channel_dedupe_uq UNIQUE (channel, dedupe_key)" in sql
    assert f"CREATE TABLE {VERSION_TABLE_NAME}" in sql
    assert f"UPDATE {VERSION_TABLE_NAME} SET version_num='{HEAD_REVISION}'" in sql
    engine = create_engine(postgres_url)
    try:
        assert inspect(engine).get_table_names() == []
        with engine.connect() as connection:
            assert connection.execute(select(text("1"))).scalar_one() == 1
    finally:
        engine.dispose()
