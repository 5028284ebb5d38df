"""The delivery log's JSON API in the real api-server app (in-process), logged in with a bearer JWT."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from airflow_provider_dailybot.delivery_log.responses import CONTENT_SECURITY_POLICY, RETRY_AFTER_SECONDS
from airflow_provider_dailybot.webhooks.channels import ChannelState, ChannelSubscription, MetadataChannelStore
from tests.integration.ui.conftest import envelope

API = "/dailybot/api"


def _channel() -> str:
    return f"log-{uuid.uuid4().hex[:10]}"


def test_a_page_lists_the_channel_s_deliveries_newest_first_without_payloads(api_client: Any, store_delivery: Any):
    channel = _channel()
    first = store_delivery(channel, envelope({"text": "first"}))
    second = store_delivery(channel, envelope({"text": "second"}), recorded=False)
    store_delivery(_channel(), envelope())  # another channel

    answer = api_client.get(f"{API}/deliveries", params={"channel": channel})
    assert answer.status_code == 200
    assert answer.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert answer.headers["Cache-Control"] == "no-store"
    data = answer.json()
    assert [row["delivery_id"] for row in data["deliveries"]] == [second[1], first[1]]
    assert data["next_before_id"] is None
    recorded = data["deliveries"][1]
    assert recorded["outcome"] == "recorded"
    assert recorded["asset_event_id"] == first[2]
    assert recorded["deliveries"][0]["hook_id"].startswith("hook-")
    assert data["deliveries"][0]["outcome"] == "no_consumer"
    assert all("payload" not in row for row in data["deliveries"])


def test_filters_combine_event_outcome_and_time(api_client: Any, store_delivery: Any):
    channel = _channel()
    now = datetime.now(tz=timezone.utc)
    old = store_delivery(channel, envelope(event="kudos.posted"), received_at=now - timedelta(days=2))
    kudos = store_delivery(channel, envelope(event="kudos.posted"))
    waiting = store_delivery(channel, envelope(), recorded=False)

    def ids(**params: str) -> list[str]:
        answer = api_client.get(f"{API}/deliveries", params={"channel": channel, **params})
        assert answer.status_code == 200, answer.text
        return [row["delivery_id"] for row in answer.json()["deliveries"]]

    assert ids(event="kudos.posted") == [kudos[1], old[1]]
    assert ids(outcome="no_consumer") == [waiting[1]]
    assert ids(outcome="recorded", since=(now - timedelta(hours=1)).isoformat()) == [kudos[1]]
    assert ids(until=(now - timedelta(days=1)).isoformat()) == [old[1]]


def test_keyset_pages_cover_every_row_once(api_client: Any, store_delivery: Any):
    channel = _channel()
    stored = [store_delivery(channel, envelope({"n": n}))[1] for n in range(5)]
    seen: list[str] = []
    params: dict[str, Any] = {"channel": channel, "limit": 2}
    pages = 0
    while True:
        data = api_client.get(f"{API}/deliveries", params=params).json()
        pages += 1
        seen.extend(row["delivery_id"] for row in data["deliveries"])
        if data["next_before_id"] is None:
            break
        params["before_id"] = data["next_before_id"]
    assert pages == 3
    assert seen == list(reversed(stored))


@pytest.mark.parametrize("params", [{"limit": "201"}, {"outcome": "duplicate"}, {"channel": "Bad Name"}])
def test_a_bad_filter_is_400_naming_the_field(api_client: Any, delivery_table: None, params: dict[str, str]):
    answer = api_client.get(f"{API}/deliveries", params=params)
    assert answer.status_code == 400
    assert answer.json()["detail"].startswith(next(iter(params)))


def test_one_delivery_carries_its_payload_from_the_asset_event_or_the_row(api_client: Any, store_delivery: Any):
    channel = _channel()
    env = envelope({"text": "<script>alert(1)</script>"})
    _, recorded_id, event_id = store_delivery(channel, env)
    waiting_env = envelope({"text": "kept in the row"})
    _, waiting_id, _ = store_delivery(channel, waiting_env, recorded=False)

    recorded = api_client.get(f"{API}/deliveries/{recorded_id}").json()
    assert recorded["asset_event_id"] == event_id
    assert recorded["payload"] == {
        "source": "asset_event",
        "value": {key: env[key] for key in ("event", "event_timestamp", "hook", "body")},
    }
    waiting = api_client.get(f"{API}/deliveries/{waiting_id}").json()
    assert waiting["payload"] == {"source": "stored", "value": waiting_env}


def test_a_delivery_whose_asset_event_was_cleaned_has_no_payload(api_client: Any, store_delivery: Any):
    from airflow.models.asset import AssetEvent
    from airflow.utils.session import create_session
    from sqlalchemy import delete

    _, delivery_id, event_id = store_delivery(_channel(), envelope())
    with create_session() as session:  # what `airflow db clean` does to old asset events
        session.execute(delete(AssetEvent).where(AssetEvent.id == event_id))
    answer = api_client.get(f"{API}/deliveries/{delivery_id}").json()
    assert answer["payload"] == {"source": "unavailable", "value": None}
    assert answer["asset_event_id"] == event_id


@pytest.mark.parametrize("delivery_id", ["00000000-0000-4000-8000-000000000000", "not-a-uuid!", "x" * 40])
def test_an_unknown_delivery_is_404(api_client: Any, delivery_table: None, delivery_id: str):
    answer = api_client.get(f"{API}/deliveries/{delivery_id}")
    assert answer.status_code == 404
    assert answer.json() == {"detail": "No such delivery."}


def test_channels_show_secrets_only_as_prefixes_and_references(api_client: Any, delivery_table: None):
    channel = _channel()
    state = ChannelState(channel=channel)
    hashes = [state.add_secret(f"secret-{n}-{uuid.uuid4()}") for n in range(2)]
    state.add_subscription(
        ChannelSubscription("hook-1", "https://a.example/dailybot/webhooks/x", ["kudos.posted"], hashes[0])
    )
    MetadataChannelStore().save(state)
    try:
        answer = api_client.get(f"{API}/channels")
        assert answer.status_code == 200
        (report,) = [c for c in answer.json()["channels"] if c["channel"] == channel]
        assert [s["sha256_prefix"] for s in report["secrets"]] == [h[:12] for h in hashes]
        assert report["subscriptions"][0]["hook_id"] == "hook-1"
        assert report["subscriptions"][0]["secret"]["sha256_prefix"] == hashes[0][:12]
        for full in hashes:
            assert full not in answer.text
    finally:
        MetadataChannelStore().delete(channel)


def test_channels_whose_variable_the_user_may_not_read_are_only_counted(
    api_client: Any, delivery_table: None, monkeypatch: pytest.MonkeyPatch
):
    from airflow.api_fastapi.app import get_auth_manager

    channel = _channel()
    MetadataChannelStore().save(ChannelState(channel=channel))
    monkeypatch.setattr(get_auth_manager(), "is_authorized_variable", lambda **kwargs: False)
    try:
        data = api_client.get(f"{API}/channels").json()
        assert data["channels"] == []
        assert data["not_shown"] >= 1
    finally:
        MetadataChannelStore().delete(channel)


def test_without_read_on_assets_the_api_is_403(api_client: Any, delivery_table: None, monkeypatch: pytest.MonkeyPatch):
    from airflow.api_fastapi.app import get_auth_manager

    asked: list[dict[str, Any]] = []

    def deny(**kwargs: Any) -> bool:
        asked.append(kwargs)
        return False

    monkeypatch.setattr(get_auth_manager(), "is_authorized_asset", deny)
    for path in ("/deliveries", f"/deliveries/{uuid.uuid4()}", "/channels"):
        answer = api_client.get(API + path)
        assert answer.status_code == 403
        assert answer.json() == {"detail": "Reading the DailyBot delivery log needs read permission on assets."}
    assert {kw["method"] for kw in asked} == {"GET"}
    assert all(kw["details"].id is None for kw in asked)


def test_each_request_checks_the_asset_permission_once(
    api_client: Any, delivery_table: None, monkeypatch: pytest.MonkeyPatch
):
    from airflow.api_fastapi.app import get_auth_manager

    manager = get_auth_manager()
    allowed = manager.is_authorized_asset
    asked: list[str] = []

    def count(**kwargs: Any) -> bool:
        asked.append(kwargs["method"])
        return bool(allowed(**kwargs))

    monkeypatch.setattr(manager, "is_authorized_asset", count)
    for path in ("/deliveries", f"/deliveries/{uuid.uuid4()}", "/channels"):
        asked.clear()
        assert api_client.get(API + path).status_code in (200, 404)
        assert asked == ["GET"], path


def test_when_the_database_cannot_be_read_the_api_is_503_with_retry_after(
    api_client: Any, delivery_table: None, monkeypatch: pytest.MonkeyPatch
):
    from sqlalchemy.exc import OperationalError

    from airflow_provider_dailybot.delivery_log import views

    def down(*args: Any, **kwargs: Any) -> Any:
        raise OperationalError("SELECT 1", {}, Exception("connection refused"))

    monkeypatch.setattr(views, "list_page", down)
    answer = api_client.get(f"{API}/deliveries")
    assert answer.status_code == 503
    assert answer.headers["Retry-After"] == str(RETRY_AFTER_SECONDS)
    assert "connection refused" not in answer.text


def test_the_api_server_lists_the_plugin_s_browse_entry(api_client: Any):
    plugins = api_client.get("/api/v2/plugins").json()["plugins"]
    (ours,) = [p for p in plugins if p["name"] == "dailybot_webhook_receiver"]
    assert [(v["name"], v["category"], v["url_route"]) for v in ours["external_views"]] == [
        ("DailyBot deliveries", "browse", "dailybot-deliveries")
    ]
