"""Naming of lineage datasets, web-app links and ``dailybot://`` assets (normalised by Airflow's own ``Asset``)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from airflow_provider_dailybot.connection import DailyBotConnectionSettings, app_base_url
from airflow_provider_dailybot.exceptions import DailyBotConnectionError
from airflow_provider_dailybot.get_provider_info import get_provider_info
from airflow_provider_dailybot.lineage import api_namespace, resource_name, storage_dataset
from airflow_provider_dailybot.links import (
    DailyBotCheckinLink,
    DailyBotFormLink,
    DailyBotKudosLink,
    app_url_of,
    page_url,
)


@pytest.mark.parametrize(
    ("base_url", "namespace"),
    [
        ("https://api.dailybot.com/v1/", "dailybot://api.dailybot.com"),
        ("https://API.DailyBot.com:443/v1/", "dailybot://api.dailybot.com"),
        ("http://127.0.0.1:8765/v1/", "dailybot://127.0.0.1:8765"),
        ("https://proxy.example.com:8443/dailybot/v1/", "dailybot://proxy.example.com:8443"),
        ("http://[::1]:9000/v1/", "dailybot://[::1]:9000"),
    ],
)
def test_api_namespace(base_url: str, namespace: str) -> None:
    assert api_namespace(base_url) == namespace


def test_resource_names() -> None:
    assert resource_name("checkin", 42) == "checkins/42"
    assert resource_name("form", " 0b6c-uuid ") == "forms/0b6c-uuid"
    assert resource_name("checkin", "a/b") == "checkins/a%2Fb"  # one path segment, whatever the id holds
    with pytest.raises(ValueError, match="Unknown DailyBot export source"):
        resource_name("kudos", "1")
    with pytest.raises(ValueError, match="needs an identifier"):
        resource_name("form", "  ")


@pytest.mark.parametrize(
    ("destination", "expected"),
    [
        ("file:///data/dailybot/2025-01-08.jsonl", ("file", "/data/dailybot/2025-01-08.jsonl")),
        ("/data/x.jsonl", ("file", "/data/x.jsonl")),
        ("s3://analytics/dailybot/2025-01-08.jsonl", ("s3://analytics", "dailybot/2025-01-08.jsonl")),
        ("s3a://analytics/k.jsonl", ("s3://analytics", "k.jsonl")),
        ("gs://lake/a/b.jsonl", ("gs://lake", "a/b.jsonl")),
        ("gcs://lake/a/b.jsonl", ("gs://lake", "a/b.jsonl")),
        ("abfs://container/x.jsonl", ("abfs://container", "x.jsonl")),
    ],
)
def test_storage_dataset_follows_openlineage_naming(destination: str, expected: tuple[str, str]) -> None:
    assert storage_dataset(destination) == expected


def test_storage_dataset_of_an_object_storage_path(tmp_path: Path) -> None:
    from airflow.sdk import ObjectStoragePath

    assert storage_dataset(ObjectStoragePath("s3://analytics/d/x.jsonl")) == ("s3://analytics", "d/x.jsonl")
    local = tmp_path / "d" / "x.jsonl"
    assert storage_dataset(ObjectStoragePath(local.as_uri())) == ("file", str(local))
    with pytest.raises(ValueError, match="URL or an absolute path"):
        storage_dataset("relative/x.jsonl")


@pytest.mark.parametrize(
    ("extra", "base_url", "app"),
    [
        (None, "https://api.dailybot.com/v1/", "https://app.dailybot.com"),
        ("", "https://api.dailybot.co/v1/", "https://app.dailybot.co"),
        (None, "http://127.0.0.1:8765/v1/", "https://app.dailybot.com"),  # a test server or a proxy: the default
        (None, "https://dailybot-proxy.corp.example/v1/", "https://app.dailybot.com"),
        ("https://DailyBot.Example.com/acme/", "https://api.dailybot.com/v1/", "https://dailybot.example.com/acme"),
    ],
)
def test_app_base_url(extra: object, base_url: str, app: str) -> None:
    assert app_base_url(extra, base_url) == app


@pytest.mark.parametrize("bad", ["app.dailybot.com", "ftp://app.dailybot.com", "https://u:p@app.dailybot.com", 42])
def test_app_base_url_refuses_what_is_not_an_http_url(bad: object) -> None:
    with pytest.raises(DailyBotConnectionError, match="app_url"):
        app_base_url(bad, "https://api.dailybot.com/v1/")


def test_the_connection_carries_the_app_url() -> None:
    conn = SimpleNamespace(
        conn_id="c", password="key", host="http://127.0.0.1:1/", port=None, extra_dejson={"app_url": "https://x.io/"}
    )
    assert DailyBotConnectionSettings.from_connection(conn).app_url == "https://x.io"
    conn.extra_dejson = {"app_url": "not a url"}
    with pytest.raises(DailyBotConnectionError, match=r"Connection 'c': extra 'app_url'"):
        DailyBotConnectionSettings.from_connection(conn)


def _ran(app_url: str | None, **attributes: object) -> SimpleNamespace:
    """An operator after its run: its cached hook with the settings it read (or no hook at all)."""
    operator = SimpleNamespace(**attributes)
    if app_url is not None:
        operator.hook = SimpleNamespace(settings=SimpleNamespace(app_url=app_url))
    return operator


def test_links_are_built_from_what_the_task_did() -> None:
    app = "https://app.dailybot.com"
    assert DailyBotCheckinLink().get_link(_ran(app, checkin_id="42"), ti_key=None) == f"{app}/checkins/42/"  # type: ignore[arg-type]
    assert DailyBotFormLink().get_link(_ran(app, form_id="f/1"), ti_key=None) == f"{app}/forms/f%2F1/"  # type: ignore[arg-type]
    assert DailyBotKudosLink().get_link(_ran(app, given_kudos_id="7"), ti_key=None) == f"{app}/kudos/"  # type: ignore[arg-type]
    # No connection read (the task failed before), no kudos given, an id never rendered: a disabled button.
    assert DailyBotCheckinLink().get_link(_ran(None, checkin_id="42"), ti_key=None) == ""  # type: ignore[arg-type]
    assert DailyBotKudosLink().get_link(_ran(app, given_kudos_id=None), ti_key=None) == ""  # type: ignore[arg-type]
    assert DailyBotFormLink().get_link(_ran(app, form_id="{{ params.form }}"), ti_key=None) == ""  # type: ignore[arg-type]
    assert app_url_of(SimpleNamespace()) is None
    assert page_url("https://x.io/p", "/forms/{id}/", " 1 ") == "https://x.io/p/forms/1/"


# --------------------------------------------------------------------------- the dailybot asset URI scheme


def test_the_scheme_and_the_links_are_registered_in_provider_info() -> None:
    info = get_provider_info()
    (entry,) = info["asset-uris"]
    assert entry["schemes"] == ["dailybot"]
    assert entry["handler"] == "airflow_provider_dailybot.asset_uris.sanitize_uri"
    assert entry["to_openlineage_converter"] == "airflow_provider_dailybot.asset_uris.convert_asset_to_openlineage"
    assert info["extra-links"] == [
        "airflow_provider_dailybot.links.DailyBotCheckinLink",
        "airflow_provider_dailybot.links.DailyBotFormLink",
        "airflow_provider_dailybot.links.DailyBotKudosLink",
    ]


def test_airflow_finds_our_handler_through_the_providers_manager() -> None:
    try:  # Airflow 3.2+: the task-runtime providers manager of the SDK
        from airflow.sdk.providers_manager_runtime import ProvidersManagerTaskRuntime as Manager
    except ImportError:  # Airflow 3.1
        from airflow.providers_manager import ProvidersManager as Manager  # type: ignore[no-redef]

    from airflow_provider_dailybot.asset_uris import convert_asset_to_openlineage, sanitize_uri

    assert Manager().asset_uri_handlers["dailybot"] is sanitize_uri
    assert Manager().asset_to_openlineage_converters["dailybot"] is convert_asset_to_openlineage


@pytest.mark.parametrize(
    ("written", "normalised"),
    [
        ("dailybot://webhooks/checkins", "dailybot://webhooks/checkins"),
        ("DailyBot://WEBHOOKS/checkins/", "dailybot://webhooks/checkins"),
        ("dailybot://webhooks/kudos-given#part", "dailybot://webhooks/kudos-given"),
        ("dailybot://checkins/abc-123/blockers", "dailybot://checkins/abc-123/blockers"),
        (
            "dailybot://forms/0b6c2f1e-1a2b-4c3d-8e9f-001122334455",
            "dailybot://forms/0b6c2f1e-1a2b-4c3d-8e9f-001122334455",
        ),
        ("dailybot://API.DailyBot.com/checkins/42/", "dailybot://api.dailybot.com/checkins/42"),
        ("dailybot://127.0.0.1:8765/forms/f-1", "dailybot://127.0.0.1:8765/forms/f-1"),
    ],
)
def test_airflow_assets_with_a_dailybot_uri_are_normalised_by_our_handler(written: str, normalised: str) -> None:
    from airflow.sdk import Asset

    assert Asset(uri=written).uri == normalised
    assert Asset(name="a", uri=written) == Asset(name="a", uri=normalised)  # one asset, however it is written


@pytest.mark.parametrize(
    ("malformed", "reason"),
    [
        ("dailybot://webhooks/Check Ins", "Invalid DailyBot webhook channel name 'Check Ins'"),
        ("dailybot://webhooks/a/b", "one path segment"),
        ("dailybot://webhooks", "channel name ''"),
        ("dailybot://checkins/a/b/c", "optionally followed by /<view>"),
        ("dailybot://checkins/a/Blockers", "the view 'Blockers'"),
        ("dailybot://forms/", "'' is not a DailyBot identifier"),
        ("dailybot://api.dailybot.com/users/1", "the path must be /checkins/<id> or /forms/<uuid>"),
        ("dailybot://api.dailybot.com/checkins/<x>", "is not a DailyBot identifier"),
        ("dailybot://someone@webhooks/checkins", "must not contain credentials"),
        ("dailybot://webhooks/checkins?x=1", "must not have a query string"),
        ("dailybot://bad_host!/checkins/1", "is not a host name"),
    ],
)
def test_a_malformed_dailybot_uri_is_refused_with_the_rule(malformed: str, reason: str) -> None:
    from airflow.sdk import Asset

    with pytest.raises(ValueError, match="Invalid DailyBot asset URI") as refused:
        Asset(uri=malformed)
    assert reason in str(refused.value)
    assert "Expected dailybot://webhooks/<channel>" in str(refused.value)


def test_the_channel_asset_of_the_provider_is_unchanged_by_the_handler() -> None:
    from airflow_provider_dailybot.webhooks.assets import dailybot_webhook_asset

    asset = dailybot_webhook_asset("checkins")
    assert (asset.name, asset.uri) == ("dailybot_checkins", "dailybot://webhooks/checkins")


def test_a_dailybot_asset_converts_to_the_openlineage_dataset_of_the_same_name() -> None:
    from airflow.sdk import Asset

    from airflow_provider_dailybot.asset_uris import convert_asset_to_openlineage

    dataset = convert_asset_to_openlineage(Asset(uri="dailybot://api.dailybot.com/checkins/42"), None)
    assert (dataset.namespace, dataset.name) == ("dailybot://api.dailybot.com", "checkins/42")
    channel = convert_asset_to_openlineage(Asset(uri="dailybot://webhooks/checkins"), None)
    assert (channel.namespace, channel.name) == ("dailybot://webhooks", "checkins")
