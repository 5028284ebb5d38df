"""Provider metadata read by Airflow's ``ProvidersManager`` through the ``apache_airflow_provider`` entry point.

This dict is the single source of truth for the ``dailybot`` connection form: Airflow 3.2+ renders
it declaratively (``conn-fields`` / ``ui-field-behaviour``), and :class:`DailyBotHook` derives its
legacy ``get_ui_field_behaviour()`` (read by Airflow 3.1) from the same entries, so the two cannot
drift. Importing this module must stay free of Airflow imports.
"""

from __future__ import annotations

from typing import Any

from airflow_provider_dailybot import __version__

DEFAULT_BASE_URL = "https://api.dailybot.com/v1/"
DEFAULT_TIMEOUT_SECONDS = 30.0
#: Seconds one attempt may take in all (connect, headers and body); never below the timeout.
DEFAULT_TOTAL_TIMEOUT_SECONDS = 120.0
#: Largest response body read (16 MiB); DailyBot's pages are far smaller.
DEFAULT_MAX_RESPONSE_BYTES = 16 * 1024 * 1024
#: Most pages one list call follows.
DEFAULT_MAX_PAGES = 10_000

#: Hidden standard fields, labels and placeholders of the ``dailybot`` connection form.
UI_FIELD_BEHAVIOUR: dict[str, Any] = {
    "hidden-fields": ["login", "port", "schema"],
    "relabeling": {"host": "API base URL", "password": "API Key"},
    "placeholders": {
        "host": DEFAULT_BASE_URL,
        "password": "DailyBot API key (Organization settings → Integrations → API)",
        "description": "DailyBot organization used by these DAGs",
        "extra": '{"timeout": 30, "total_timeout": 120, "max_attempts": 3, "max_response_bytes": 16777216}',
    },
}

#: Extra fields of the ``dailybot`` connection; values are plain keys of ``Connection.extra``.
CONN_FIELDS: dict[str, Any] = {
    "timeout": {
        "label": "Request timeout (s)",
        "description": "Seconds to wait for DailyBot to connect and answer each request (default 30).",
        "schema": {"type": ["number", "null"], "minimum": 0.1, "maximum": 600},
    },
    "total_timeout": {
        "label": "Total timeout per attempt (s)",
        "description": "Seconds one attempt may take in all: connect, headers and the whole body, however "
        "slowly DailyBot sends them (default 120; never below the request timeout).",
        "schema": {"type": ["number", "null"], "minimum": 0.1, "maximum": 3600},
    },
    "max_attempts": {
        "label": "Max attempts",
        "description": "Attempts for retryable failures (429, 5xx, connection errors on safe requests). Default 3. "
        "Each 429 wait is capped at 60 s, so 3 attempts can hold a worker slot about 120 s.",
        "schema": {"type": ["integer", "null"], "minimum": 1, "maximum": 10},
    },
    "max_response_bytes": {
        "label": "Max response size (bytes)",
        "description": "Largest response body read; a larger answer fails the request (default 16777216, 16 MiB).",
        "schema": {"type": ["integer", "null"], "minimum": 1024},
    },
    "max_pages": {
        "label": "Max pages per list",
        "description": "Most pages one list call follows before it fails (default 10000).",
        "schema": {"type": ["integer", "null"], "minimum": 1},
    },
    "verify_ssl": {
        "label": "Verify TLS certificates",
        "description": "Turn off only for a test server with a self-signed certificate.",
        "schema": {"type": ["boolean", "null"], "default": True},
    },
    "ca_bundle": {
        "label": "CA bundle path",
        "description": "Path of a PEM file with the certificates to trust (e.g. a corporate proxy's CA).",
        "schema": {"type": ["string", "null"]},
    },
}


#: The ``[dailybot]`` configuration section (shown by ``airflow config list``); read by
#: :mod:`airflow_provider_dailybot.webhooks.config`, which applies the same defaults when it is absent.
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
                "example": "1048576",
                "default": "1048576",
            },
            "receiver_dedupe_window_seconds": {
                "description": "How far back a delivery is compared with recorded ones to detect duplicates; "
                "0 turns duplicate detection off.",
                "version_added": "0.1.0",
                "type": "integer",
                "example": "600",
                "default": "600",
            },
        },
    }
}


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
        "config": CONFIG,
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
