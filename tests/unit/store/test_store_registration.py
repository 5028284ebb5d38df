"""How the store is configured and registered: the retention option and the provider info."""

from __future__ import annotations

import json
from pathlib import Path

import airflow
import jsonschema
import pytest

from airflow_provider_dailybot.get_provider_info import get_provider_info
from airflow_provider_dailybot.store.db_manager import DailyBotDBManager
from airflow_provider_dailybot.store.models import VERSION_TABLE_NAME, metadata
from airflow_provider_dailybot.webhooks.config import DEFAULT_RETENTION_DAYS, receiver_retention_days


def test_retention_days_default_override_and_bounds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AIRFLOW__DAILYBOT__RECEIVER_RETENTION_DAYS", raising=False)
    assert receiver_retention_days() == DEFAULT_RETENTION_DAYS == 30
    monkeypatch.setenv("AIRFLOW__DAILYBOT__RECEIVER_RETENTION_DAYS", " 7 ")
    assert receiver_retention_days() == 7
    monkeypatch.setenv("AIRFLOW__DAILYBOT__RECEIVER_RETENTION_DAYS", "0")
    with pytest.raises(ValueError, match=r"\[dailybot\] receiver_retention_days must be at least 1"):
        receiver_retention_days()
    monkeypatch.setenv("AIRFLOW__DAILYBOT__RECEIVER_RETENTION_DAYS", "a month")
    with pytest.raises(ValueError, match="must be an integer"):
        receiver_retention_days()


def test_retention_option_is_documented_in_the_provider_config():
    option = get_provider_info()["config"]["dailybot"]["options"]["receiver_retention_days"]
    assert option["default"] == str(DEFAULT_RETENTION_DAYS)
    assert option["type"] == "integer"


def test_provider_info_names_the_db_manager_and_still_validates():
    info = get_provider_info()
    assert info["db-managers"] == ["airflow_provider_dailybot.store.db_manager.DailyBotDBManager"]
    schema = json.loads((Path(airflow.__file__).parent / "provider_info.schema.json").read_text())
    jsonschema.validate(info, schema)  # 3.1's schema has no db-managers key but allows extra keys


def test_the_manager_passes_airflows_own_checks():
    from airflow.utils.db_manager import RunDBManager

    RunDBManager._validate(DailyBotDBManager)  # tables not in Airflow's metadata, own version table
    assert DailyBotDBManager.version_table_name == VERSION_TABLE_NAME != "alembic_version"
    assert DailyBotDBManager.metadata is metadata
    assert Path(DailyBotDBManager.migration_dir, "env.py").is_file()
    assert Path(DailyBotDBManager.alembic_file).is_file()


def test_the_tables_are_not_in_airflows_metadata():
    from airflow.models.base import Base

    assert not set(metadata.tables) & set(Base.metadata.tables)
