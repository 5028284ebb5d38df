"""Revisions of the DailyBot delivery store; see :mod:`airflow_provider_dailybot.store.db_manager`."""
