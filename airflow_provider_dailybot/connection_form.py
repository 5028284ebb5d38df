"""The ``dailybot`` connection's defaults and form: what Airflow's UI shows and what an empty field means.

Owned here, Airflow-free, and read by :mod:`airflow_provider_dailybot.connection` (the settings
parser), the hook (``get_ui_field_behaviour()`` for Airflow 3.1) and
:mod:`airflow_provider_dailybot.get_provider_info` (the declarative form of Airflow 3.2+).
"""

from __future__ import annotations

from typing import Any

#: DailyBot's public API (reference §1, CONFIRMED).
DEFAULT_BASE_URL = "https://api.dailybot.com/v1/"
#: Seconds for connect and for each read.
DEFAULT_TIMEOUT_SECONDS = 30.0
#: Seconds one attempt may take in all (connect, headers and body); never below the timeout.
DEFAULT_TOTAL_TIMEOUT_SECONDS = 120.0
#: Largest response body read (16 MiB); DailyBot's pages are far smaller.
DEFAULT_MAX_RESPONSE_BYTES = 16 * 1024 * 1024
#: Most pages one list call follows.
DEFAULT_MAX_PAGES = 10_000
#: Attempts for retryable failures, the first included.
DEFAULT_MAX_ATTEMPTS = 3
#: DailyBot's web app, the target of the operators' extra links (``app.dailybot.com`` CONFIRMED by DailyBot's
#: help centre and CLI docs; the paths of its pages are INFERRED, see :mod:`airflow_provider_dailybot.links`).
DEFAULT_APP_URL = "https://app.dailybot.com"

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
    "app_url": {
        "label": "Web app URL",
        "description": "Base URL of the DailyBot web app the task links (check-in, form, kudos) open. Default: "
        "app.<domain> for an api.<domain> host, else https://app.dailybot.com.",
        "schema": {"type": ["string", "null"]},
    },
}
