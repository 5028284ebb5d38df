"""Airflow plugin that mounts the DailyBot webhook receiver at ``/dailybot`` on the api-server.

Registered through the ``airflow.plugins`` entry point of the distribution (not the provider-info
``plugins`` key, which Airflow skips under the default ``[core] lazy_discover_providers = True``).

Airflow imports plugin modules in every task process, so this module stays cheap: the receiver (and
FastAPI) is imported only when ``fastapi_apps`` is read, which only the api-server and the
``airflow plugins`` listing do.
"""

from __future__ import annotations

from typing import Any

try:  # Airflow 3.2+: the Task SDK's class, already loaded in task processes.
    from airflow.sdk.plugins_manager import AirflowPlugin
except ImportError:  # Airflow 3.1
    from airflow.plugins_manager import AirflowPlugin  # type: ignore[assignment]

from airflow_provider_dailybot.webhooks.config import RECEIVER_URL_PREFIX


class _ReceiverApps:
    """Class attribute whose value, the plugin's ``fastapi_apps`` list, is built on first access."""

    def __get__(self, instance: object, owner: type | None = None) -> list[dict[str, Any]]:
        from airflow_provider_dailybot.webhooks.receiver import get_receiver_app

        return [{"app": get_receiver_app(), "url_prefix": RECEIVER_URL_PREFIX, "name": "DailyBot webhook receiver"}]


class DailyBotWebhookReceiverPlugin(AirflowPlugin):
    """Mounts the DailyBot webhook receiver (:mod:`airflow_provider_dailybot.webhooks.receiver`) at ``/dailybot``."""

    name = "dailybot_webhook_receiver"
    fastapi_apps = _ReceiverApps()
