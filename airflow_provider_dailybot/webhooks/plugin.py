"""Airflow plugin that mounts the DailyBot webhook receiver at ``/dailybot`` on the api-server.

Registered through the ``airflow.plugins`` entry point of the distribution (not the provider-info
``plugins`` key, which Airflow skips under the default ``[core] lazy_discover_providers = True``).

It also adds the delivery log (:mod:`airflow_provider_dailybot.delivery_log`) to the UI's **Browse**
menu as an external view: ``category: "browse"`` puts the entry under Browse, ``url_route`` makes the
UI show the page inside Airflow (in an iframe at ``/plugin/dailybot-deliveries``) instead of opening
a new tab, ``destination: "nav"`` is the default place (the navigation bar). Airflow 3.1.8 and 3.3.2
both read these keys (``ExternalViewResponse`` in ``api_fastapi/core_api/datamodels/plugins.py``; 3.3
adds ``nav_top_level`` and the ``base`` destination, not used here). The page's address includes the
path of ``[api] base_url``, as the UI is served under it.

Airflow imports plugin modules in every task process, so this module stays cheap: the receiver (and
FastAPI) is imported only when ``fastapi_apps`` is read, which only the api-server and the
``airflow plugins`` listing do; ``external_views`` is built on access too (it reads ``[api] base_url``).
"""

from __future__ import annotations

from typing import Any

try:  # Airflow 3.2+: the Task SDK's class, already loaded in task processes.
    from airflow.sdk.plugins_manager import AirflowPlugin
except ImportError:  # Airflow 3.1
    from airflow.plugins_manager import AirflowPlugin  # type: ignore[assignment]

from airflow_provider_dailybot.webhooks.config import RECEIVER_URL_PREFIX

#: Path of the delivery log page, relative to the receiver's mount point.
DELIVERY_LOG_PATH = "/ui/deliveries"
#: ``url_route`` of the delivery log in the Airflow UI (``/plugin/<url_route>``).
DELIVERY_LOG_ROUTE = "dailybot-deliveries"


class _ReceiverApps:
    """Class attribute whose value, the plugin's ``fastapi_apps`` list, is built on first access."""

    def __get__(self, instance: object, owner: type | None = None) -> list[dict[str, Any]]:
        from airflow_provider_dailybot.webhooks.receiver import get_receiver_app

        return [{"app": get_receiver_app(), "url_prefix": RECEIVER_URL_PREFIX, "name": "DailyBot webhook receiver"}]


def _api_root_path() -> str:
    """The path of ``[api] base_url`` without a trailing slash (``""`` when Airflow is served at ``/``)."""
    from urllib.parse import urlsplit

    from airflow.configuration import conf

    return urlsplit(str(conf.get("api", "base_url", fallback="") or "")).path.rstrip("/")


class _ExternalViews:
    """Class attribute whose value, the plugin's ``external_views`` list, is built on each access."""

    def __get__(self, instance: object, owner: type | None = None) -> list[dict[str, Any]]:
        return [
            {
                "name": "DailyBot deliveries",
                "href": _api_root_path() + RECEIVER_URL_PREFIX + DELIVERY_LOG_PATH,
                "category": "browse",
                "destination": "nav",
                "url_route": DELIVERY_LOG_ROUTE,
            }
        ]


class DailyBotWebhookReceiverPlugin(AirflowPlugin):
    """Mounts the DailyBot webhook receiver (:mod:`airflow_provider_dailybot.webhooks.receiver`) at ``/dailybot``.

    The same app serves the delivery log, which :attr:`external_views` lists under Browse.
    """

    name = "dailybot_webhook_receiver"
    fastapi_apps = _ReceiverApps()
    external_views = _ExternalViews()
