"""The external DB manager that creates and migrates the delivery table during ``airflow db migrate``.

Registration:

* Airflow 3.2+ finds it through ``"db-managers"`` in the provider info (``ProvidersManager.db_managers``,
  read by ``airflow.utils.db_manager.RunDBManager``); nothing to configure.
* Airflow 3.1 ignores that key: name the class in ``[database] external_db_managers``
  (``AIRFLOW__DATABASE__EXTERNAL_DB_MANAGERS=airflow_provider_dailybot.store.db_manager.DailyBotDBManager``).

Then ``airflow db migrate`` runs :meth:`DailyBotDBManager.initdb` on a new metadata database and
:meth:`~DailyBotDBManager.upgradedb` on an existing one, and ``airflow db reset`` drops the table with
Airflow's. ``airflow db downgrade`` covers Airflow's own tables only; the store's are downgraded with
:meth:`~DailyBotDBManager.downgrade`.

Unlike Airflow's base class, the manager never creates the table from the models (``create_all``):
it always runs the migrations, because the second one carries a data step (the 0.1 backfill) that a
first install on an existing Airflow database needs as much as an upgrade does.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from airflow.utils.db_manager import BaseDBManager
from sqlalchemy import inspect

from airflow_provider_dailybot.store.models import TABLE_NAME, VERSION_TABLE_NAME, metadata

_PACKAGE_DIR = Path(__file__).resolve().parent
#: The first revision (creates the table).
BASE_REVISION = "157831795759"
#: The newest revision.
HEAD_REVISION = "cd56a870255b"


def alembic_config(url: str | None = None, *, connection: Any = None) -> Any:
    """Return the Alembic ``Config`` of the store, for a database URL or an open connection.

    :param url: The database URL; Airflow's ``[database] sql_alchemy_conn`` by default.
    :param connection: A SQLAlchemy ``Connection`` to migrate on (its transaction is the caller's).
    """
    from alembic.config import Config

    config = Config(str(_PACKAGE_DIR / "alembic.ini"))
    config.set_main_option("script_location", str(_PACKAGE_DIR / "migrations").replace("%", "%%"))
    if url is None:
        from airflow import settings

        url = settings.SQL_ALCHEMY_CONN
    if url:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


class DailyBotDBManager(BaseDBManager):
    """Creates, migrates, downgrades and drops ``dailybot_delivery`` in Airflow's metadata database.

    :param session: A session of Airflow's metadata database (Airflow passes its own).
    """

    metadata = metadata
    version_table_name = VERSION_TABLE_NAME
    migration_dir = str(_PACKAGE_DIR / "migrations")
    alembic_file = str(_PACKAGE_DIR / "alembic.ini")
    #: ``airflow db reset`` drops the table and its version table with Airflow's.
    supports_table_dropping = True
    #: Provider release -> the revision it needs (``--to-version`` of a CLI built on Airflow's helpers).
    revision_heads_map = {"0.2.0": HEAD_REVISION}

    def get_alembic_config(self) -> Any:
        """Return the Alembic ``Config`` for Airflow's metadata database (:func:`alembic_config`)."""
        return alembic_config()

    def _end_mysql_transaction(self) -> None:
        # MySQL's DDL waits for the metadata locks of open transactions (Airflow 3.3 does the same).
        if self.session.get_bind().dialect.name == "mysql":
            self.session.commit()

    def _table_exists(self) -> bool:
        return inspect(self.session.get_bind()).has_table(TABLE_NAME, schema=metadata.schema)

    def create_db_from_orm(self) -> None:
        """Create the table by running the migrations (never ``create_all``: see the module docstring)."""
        self.upgradedb()

    def initdb(self, use_migration_files: bool = False) -> None:
        """Create or migrate the table to the newest revision (``airflow db migrate`` on a new database).

        :param use_migration_files: Accepted for Airflow 3.3's signature; the migrations always run.
        """
        self.upgradedb()

    def upgradedb(
        self,
        to_revision: str | None = None,
        from_revision: str | None = None,
        show_sql_only: bool = False,
        use_migration_files: bool = False,
    ) -> None:
        """Migrate the table up to ``to_revision`` (the newest by default).

        A table that exists without a version (created from the models by another tool) is stamped
        with the first revision, and the later ones run on it.

        :param to_revision: Target revision; ``"heads"`` when None.
        :param from_revision: Start of the SQL printed with ``show_sql_only``.
        :param show_sql_only: Print the SQL instead of running it (offline mode; data steps skipped).
        :param use_migration_files: Accepted for Airflow 3.3's signature; the migrations always run.
        """
        from alembic import command

        target = to_revision or "heads"
        config = self.get_alembic_config()
        if show_sql_only:
            command.upgrade(config, f"{from_revision}:{target}" if from_revision else target, sql=True)
            return
        if from_revision:
            raise ValueError("from_revision is only supported with show_sql_only")
        self.log.info("Migrating the DailyBot delivery store to %s", target)
        self._end_mysql_transaction()
        if self.get_current_revision() is None and self._table_exists():
            command.stamp(config, BASE_REVISION)
        self._end_mysql_transaction()
        command.upgrade(config, target)

    def downgrade(self, to_revision: str, from_revision: str | None = None, show_sql_only: bool = False) -> None:
        """Migrate the table down to ``to_revision``; ``"base"`` drops it.

        :param to_revision: Target revision (``"base"``: before the first one).
        :param from_revision: Start of the SQL printed with ``show_sql_only``; the database's revision
            when None.
        :param show_sql_only: Print the SQL instead of running it.
        """
        from alembic import command

        config = self.get_alembic_config()
        if show_sql_only:
            start = from_revision or self.get_current_revision() or HEAD_REVISION
            command.downgrade(config, f"{start}:{to_revision}", sql=True)
            return
        self.log.info("Downgrading the DailyBot delivery store to %s", to_revision)
        self._end_mysql_transaction()
        command.downgrade(config, to_revision)
