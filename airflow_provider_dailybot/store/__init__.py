"""The provider's own table in the Airflow metadata database: one row per authenticated webhook delivery.

* :mod:`.models` — the table (``dailybot_delivery``) on a ``MetaData`` of its own;
* :mod:`.records` — the typed rows the queries take and return;
* :mod:`deliveries` — the queries (insert with duplicate detection, mark recorded, list, replay, purge);
* :mod:`.db_manager` — the external DB manager that ``airflow db migrate`` runs, with the Alembic
  migrations under ``migrations/``.

Only the api-server (and the ``airflow`` CLI on a machine with metadata-DB access) uses this package;
tasks never do. Nothing is imported here (only :data:`DB_MANAGER` is defined), so importing a submodule
loads only what it needs.
"""

#: The dotted path of the store's external DB manager, for ``[database] external_db_managers``: Airflow 3.1
#: runs the store's migrations on ``airflow db migrate`` only when that option names it (3.2+ also finds it
#: in the provider info).
DB_MANAGER = "airflow_provider_dailybot.store.db_manager.DailyBotDBManager"
