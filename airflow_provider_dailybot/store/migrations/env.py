"""Alembic environment of the DailyBot delivery store.

Run by :class:`~airflow_provider_dailybot.store.db_manager.DailyBotDBManager` during ``airflow db
migrate`` (or by ``alembic`` itself with this package's ``alembic.ini``).

* Online: on the connection the caller put in ``config.attributes["connection"]`` (then the caller owns
  its transaction), otherwise on a connection of Airflow's engine when ``sqlalchemy.url`` is Airflow's
  database, otherwise on a new engine for ``sqlalchemy.url``. One transaction per revision.
* Offline (``--sql``): SQL for ``sqlalchemy.url`` (Airflow's database by default) is printed; the
  revisions' data steps are skipped there, since they must read the database.

Version table ``alembic_version_dailybot``; only the store's own tables are compared (the database
holds Airflow's tables too, which this environment never touches).
"""

from __future__ import annotations

import contextlib
from typing import Any

from alembic import context

from airflow_provider_dailybot.store.models import VERSION_TABLE_NAME, metadata

config = context.config
#: Bare table names (with ``[database] sql_alchemy_schema`` set, the metadata's keys carry the schema).
STORE_TABLES = frozenset(table.name for table in metadata.tables.values())


def include_object(_object: Any, name: str | None, type_: str, _reflected: bool, _compare_to: Any) -> bool:
    """Compare only the store's tables (and what belongs to them) with the database."""
    return type_ != "table" or name in STORE_TABLES


def _url() -> str:
    url = config.get_main_option("sqlalchemy.url")
    if url:
        return url
    from airflow import settings

    if not settings.SQL_ALCHEMY_CONN:
        raise RuntimeError("No database URL: set sqlalchemy.url or configure Airflow's [database] sql_alchemy_conn")
    return settings.SQL_ALCHEMY_CONN


def _configure(**kwargs: Any) -> None:
    context.configure(
        target_metadata=metadata,
        version_table=VERSION_TABLE_NAME,
        include_object=include_object,
        render_as_batch=True,  # SQLite alters tables by copying them
        compare_type=True,
        **kwargs,
    )


def run_migrations_offline() -> None:
    """Print the SQL of the migrations for ``sqlalchemy.url``."""
    _configure(url=_url(), literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


@contextlib.contextmanager
def _connection() -> Any:
    given = config.attributes.get("connection")
    if given is not None:
        yield given
        return
    from airflow import settings

    url = _url()
    if settings.engine is not None and url == settings.SQL_ALCHEMY_CONN:
        with settings.engine.connect() as connection:  # Airflow's engine, with its connect args
            yield connection
        return
    from sqlalchemy import create_engine
    from sqlalchemy.pool import NullPool

    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            yield connection
    finally:
        engine.dispose()


def run_migrations_online() -> None:
    """Run the migrations on a live connection, one transaction per revision."""
    with _connection() as connection:
        _configure(connection=connection, transaction_per_migration=True)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
