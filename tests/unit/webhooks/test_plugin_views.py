"""The plugin's Browse entry: the keys Airflow 3.1.8 and 3.3.2 read, and the page's address under ``[api] base_url``."""

from __future__ import annotations

import pytest

from airflow_provider_dailybot.webhooks.plugin import DELIVERY_LOG_PATH, DailyBotWebhookReceiverPlugin


def test_the_delivery_log_is_one_external_view_under_browse_shown_inside_airflow():
    (view,) = DailyBotWebhookReceiverPlugin.external_views
    assert view == {
        "name": "DailyBot deliveries",
        "href": "/dailybot/ui/deliveries",
        "category": "browse",  # the UI files it under Browse (matched case-insensitively)
        "destination": "nav",
        "url_route": "dailybot-deliveries",  # shown in an iframe at /plugin/dailybot-deliveries
    }


def test_the_view_validates_against_this_airflow_s_response_model():
    from airflow.api_fastapi.core_api.datamodels.plugins import ExternalViewResponse

    (view,) = DailyBotWebhookReceiverPlugin.external_views
    model = ExternalViewResponse.model_validate(view)
    assert (model.href, model.category, model.destination, model.url_route) == (
        view["href"], "browse", "nav", "dailybot-deliveries",
    )  # fmt: skip


@pytest.mark.parametrize(
    ("base_url", "href"),
    [
        ("http://airflow.example.com", "/dailybot/ui/deliveries"),
        ("https://example.com/airflow/", "/airflow/dailybot/ui/deliveries"),
        ("https://example.com/team/airflow", "/team/airflow/dailybot/ui/deliveries"),
    ],
)
def test_the_address_includes_the_path_of_the_api_base_url(
    monkeypatch: pytest.MonkeyPatch, base_url: str, href: str
) -> None:
    monkeypatch.setenv("AIRFLOW__API__BASE_URL", base_url)
    (view,) = DailyBotWebhookReceiverPlugin().external_views
    assert view["href"] == href


def test_the_plugin_s_path_is_the_page_s():
    from airflow_provider_dailybot.delivery_log import render

    assert DELIVERY_LOG_PATH == render.LIST_PATH


def test_airflow_s_plugin_manager_keeps_the_view(monkeypatch: pytest.MonkeyPatch) -> None:
    # The manager removes invalid views from plugin.external_views in place; ours must survive that pass.
    from airflow import plugins_manager

    if hasattr(plugins_manager, "_get_ui_plugins"):  # Airflow 3.2+
        views, _ = plugins_manager._get_ui_plugins.__wrapped__()
    else:  # Airflow 3.1: module globals, filled once
        monkeypatch.setattr(plugins_manager, "external_views", None)
        monkeypatch.setattr(plugins_manager, "react_apps", None)
        plugins_manager.initialize_ui_plugins()
        views = plugins_manager.external_views
    assert [v["url_route"] for v in views if v.get("name") == "DailyBot deliveries"] == ["dailybot-deliveries"]
