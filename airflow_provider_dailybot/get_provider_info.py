"""Provider metadata read by Airflow's ``ProvidersManager`` through the ``apache_airflow_provider`` entry point.

The ``dailybot`` connection form (``conn-fields`` / ``ui-field-behaviour``, rendered by Airflow
3.2+) is owned by :mod:`airflow_provider_dailybot.connection_form`, from which :class:`DailyBotHook`
also derives its legacy ``get_ui_field_behaviour()`` (read by Airflow 3.1), so the two cannot drift.
Importing this module must stay free of Airflow imports.
"""

from __future__ import annotations

from typing import Any

from airflow_provider_dailybot import __version__
from airflow_provider_dailybot.connection_form import CONN_FIELDS, UI_FIELD_BEHAVIOUR
from airflow_provider_dailybot.webhooks.config import (
    DEFAULT_BODY_TIMEOUT_SECONDS,
    DEFAULT_CHANNEL_STATE_MAX_RECORDS,
    DEFAULT_DEDUPE_WINDOW_SECONDS,
    DEFAULT_MAX_BODY_BYTES,
    DEFAULT_RETENTION_DAYS,
    DEFAULT_RETRY_AFTER_SECONDS,
    DEFAULT_STATE_CACHE_MAX_CHANNELS,
    DEFAULT_STATE_CACHE_SECONDS,
)

#: The ``[dailybot]`` configuration section (shown by ``airflow config list``); read by
#: :mod:`airflow_provider_dailybot.webhooks.config`, which owns the defaults shown here.
CONFIG: dict[str, Any] = {
    "dailybot": {
        "description": "DailyBot webhook receiver mounted on the api-server at /dailybot.",
        "options": {
            "receiver_base_url": {
                "description": "Public base URL of the receiver, as DailyBot reaches it. Default: "
                "[api] base_url followed by /dailybot.",
                "version_added": "0.1.0",
                "type": "string",
                "example": "https://airflow.example.com/dailybot",
                "default": None,
            },
            "receiver_max_body_bytes": {
                "description": "Largest delivery body accepted, in bytes; larger requests get 413.",
                "version_added": "0.1.0",
                "type": "integer",
                "example": str(DEFAULT_MAX_BODY_BYTES),
                "default": str(DEFAULT_MAX_BODY_BYTES),
            },
            "receiver_dedupe_window_seconds": {
                "description": "Upgrade from 0.1 only: how far back (seconds) the asset events a 0.1 receiver "
                "recorded are copied into the delivery table by `airflow db migrate`, so they stay duplicates "
                "after the upgrade; 0 copies none. Duplicate detection itself has no window since 0.2 (the "
                "table's unique key, for as long as rows are kept).",
                "version_added": "0.1.0",
                "type": "integer",
                "example": str(DEFAULT_DEDUPE_WINDOW_SECONDS),
                "default": str(DEFAULT_DEDUPE_WINDOW_SECONDS),
            },
            "receiver_retention_days": {
                "description": "How many days stored deliveries are kept; `airflow dailybot deliveries purge` "
                "deletes older ones (at least 1). A purged delivery is no longer recognised as a duplicate.",
                "version_added": "0.2.0",
                "type": "integer",
                "example": str(DEFAULT_RETENTION_DAYS),
                "default": str(DEFAULT_RETENTION_DAYS),
            },
            "channel_state_max_records": {
                "description": "Most change records of one channel's state that are read (each operator run that "
                "changes a channel adds one); a channel with more is refused until compacted.",
                "version_added": "0.2.0",
                "type": "integer",
                "example": str(DEFAULT_CHANNEL_STATE_MAX_RECORDS),
                "default": str(DEFAULT_CHANNEL_STATE_MAX_RECORDS),
            },
            "receiver_state_cache_seconds": {
                "description": "How long each api-server process reuses a channel's accepted secrets, the secrets "
                "it refused and whether a DAG consumes its asset (0: read them on every delivery). A new secret "
                "works at once; a retired one is refused within this time.",
                "version_added": "0.2.0",
                "type": "integer",
                "example": str(DEFAULT_STATE_CACHE_SECONDS),
                "default": str(DEFAULT_STATE_CACHE_SECONDS),
            },
            "receiver_state_cache_max_channels": {
                "description": "Most channels each api-server process keeps in that cache (least recently used "
                "dropped first; unknown channel names are kept apart, in a cache of the same size).",
                "version_added": "0.2.0",
                "type": "integer",
                "example": str(DEFAULT_STATE_CACHE_MAX_CHANNELS),
                "default": str(DEFAULT_STATE_CACHE_MAX_CHANNELS),
            },
            "receiver_body_timeout_seconds": {
                "description": "Seconds an authenticated delivery's body may take to arrive once its headers "
                "were read; a client that trickles or stalls gets 408 and its connection is closed.",
                "version_added": "0.2.0",
                "type": "integer",
                "example": str(DEFAULT_BODY_TIMEOUT_SECONDS),
                "default": str(DEFAULT_BODY_TIMEOUT_SECONDS),
            },
            "receiver_retry_after_seconds": {
                "description": "Retry-After (seconds) of the 503 the receiver answers while the metadata "
                "database is unreachable (nothing is recorded then).",
                "version_added": "0.2.0",
                "type": "integer",
                "example": str(DEFAULT_RETRY_AFTER_SECONDS),
                "default": str(DEFAULT_RETRY_AFTER_SECONDS),
            },
        },
    }
}


#: The external DB manager of the delivery store (:mod:`airflow_provider_dailybot.store.db_manager`).
DB_MANAGER = "airflow_provider_dailybot.store.db_manager.DailyBotDBManager"


def get_provider_info() -> dict[str, Any]:
    """Return the provider description consumed by Airflow's ``ProvidersManager``."""
    return {
        "package-name": "airflow-provider-dailybot",
        "name": "DailyBot",
        "description": "`DailyBot <https://www.dailybot.com/>`__ webhooks, receiver and actions for Apache Airflow.",
        "versions": [__version__],
        "integrations": [
            {
                "integration-name": "DailyBot",
                "external-doc-url": "https://www.dailybot.com/developers/api",
                "tags": ["service"],
            }
        ],
        "hooks": [{"integration-name": "DailyBot", "python-modules": ["airflow_provider_dailybot.hooks.dailybot"]}],
        "operators": [
            {
                "integration-name": "DailyBot",
                "python-modules": [
                    "airflow_provider_dailybot.operators.webhook_subscription",
                    "airflow_provider_dailybot.operators.message",
                    "airflow_provider_dailybot.operators.kudos",
                    "airflow_provider_dailybot.operators.export",
                    "airflow_provider_dailybot.task_groups.webhook_rotation",
                ],
            }
        ],
        "sensors": [
            {"integration-name": "DailyBot", "python-modules": ["airflow_provider_dailybot.sensors.webhook_delivery"]}
        ],
        "triggers": [
            {
                "integration-name": "DailyBot",
                "python-modules": ["airflow_provider_dailybot.triggers.checkin_responses"],
            }
        ],
        "notifications": ["airflow_provider_dailybot.notifications.dailybot.DailyBotNotifier"],
        # Links to DailyBot's web app on the operators' task instances (airflow_provider_dailybot.links).
        "extra-links": [
            "airflow_provider_dailybot.links.DailyBotCheckinLink",
            "airflow_provider_dailybot.links.DailyBotFormLink",
            "airflow_provider_dailybot.links.DailyBotKudosLink",
        ],
        # dailybot://webhooks/<channel>, dailybot://<API host>/checkins|forms/<id>: airflow_provider_dailybot.asset_uris
        "asset-uris": [
            {
                "schemes": ["dailybot"],
                "handler": "airflow_provider_dailybot.asset_uris.sanitize_uri",
                "to_openlineage_converter": "airflow_provider_dailybot.asset_uris.convert_asset_to_openlineage",
            }
        ],
        "config": CONFIG,
        # Airflow 3.2+ runs it on `airflow db migrate`; 3.1 only when [database] external_db_managers names it.
        "db-managers": [DB_MANAGER],
        # `airflow dailybot ...` on Airflow 3.2+; 3.1 ignores the key (python -m airflow_provider_dailybot.cli).
        "cli": ["airflow_provider_dailybot.cli.get_cli_commands"],
        "connection-types": [
            {
                "connection-type": "dailybot",
                "hook-class-name": "airflow_provider_dailybot.hooks.dailybot.DailyBotHook",
                "hook-name": "DailyBot",
                "ui-field-behaviour": UI_FIELD_BEHAVIOUR,
                "conn-fields": CONN_FIELDS,
            }
        ],
    }
