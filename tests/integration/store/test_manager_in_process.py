"""The manager's own entry points on this test process's Airflow database (SQLite).

Each test leaves the store at its newest revision, as ``airflow_db`` made it (on Airflow 3.1, which
does not read ``db-managers``, the first test creates it).
"""

from __future__ import annotations

import pytest
from sqlalchemy import inspect

from airflow_provider_dailybot.store import deliveries as store
from airflow_provider_dailybot.store.db_manager import BASE_REVISION, HEAD_REVISION, DailyBotDBManager
from airflow_provider_dailybot.store.models import TABLE_NAME, metadata
from tests.unit.store.factories import new_delivery

pytestmark = pytest.mark.db


@pytest.fixture
def session(airflow_db):
    from airflow.utils.session import create_session

    with create_session() as session:
        DailyBotDBManager(session).initdb()
        yield session


def _table_exists(session) -> bool:
    return inspect(session.get_bind()).has_table(TABLE_NAME)


def test_initdb_leaves_the_store_at_its_newest_revision(session):
    manager = DailyBotDBManager(session)
    assert manager.get_current_revision() == HEAD_REVISION
    assert manager.check_migration() is True


def test_a_table_created_without_migrations_is_stamped_and_upgraded_keeping_its_rows(session):
    manager = DailyBotDBManager(session)
    manager.downgrade("base")
    session.commit()
    assert not _table_exists(session)
    metadata.create_all(session.get_bind())  # as a tool that only knows the models would
    record = store.insert_delivery(session, new_delivery(1)).record
    session.commit()

    manager.upgradedb()
    session.commit()

    assert manager.get_current_revision() == HEAD_REVISION
    assert store.get_delivery(session, record.delivery_id) == record


def test_downgrade_to_the_first_revision_and_back(session):
    manager = DailyBotDBManager(session)
    manager.downgrade(BASE_REVISION)
    session.commit()
    assert manager.get_current_revision() == BASE_REVISION
    assert manager.check_migration() is False  # Airflow's check_migrations would wait for the upgrade
    manager.upgradedb()
    session.commit()
    assert manager.get_current_revision() == HEAD_REVISION


def test_resetdb_drops_the_rows_and_recreates_the_table(session):
    record = store.insert_delivery(session, new_delivery(1)).record
    session.commit()
    DailyBotDBManager(session).resetdb()
    session.commit()
    assert _table_exists(session)
    assert DailyBotDBManager(session).get_current_revision() == HEAD_REVISION
    # Gone; the rows there now (if any) are the backfill of other tests' receiver events in the window.
    assert store.get_delivery(session, record.delivery_id) is None
    assert all(r.asset_event_id is not None for r in store.list_deliveries(session))


def test_upgrade_from_revision_needs_show_sql_only(session):
    with pytest.raises(ValueError, match="show_sql_only"):
        DailyBotDBManager(session).upgradedb(from_revision=BASE_REVISION)
