"""Unit tests (no database) of channel naming, channel state, receiver configuration and envelope parsing."""

from __future__ import annotations

import hashlib
import json
import string

import pytest

from airflow_provider_dailybot.webhooks import channel_state as channels_module  # the model moved here
from airflow_provider_dailybot.webhooks.asset_events import delivery_identity
from airflow_provider_dailybot.webhooks.assets import (
    CHANNEL_NAME_PATTERN,
    dailybot_webhook_asset,
    validate_channel_name,
    webhook_asset_name,
    webhook_asset_uri,
)
from airflow_provider_dailybot.webhooks.channels import (
    ChannelState,
    ChannelSubscription,
    generate_secret,
    hash_secret,
    variable_key,
)
from airflow_provider_dailybot.webhooks.config import (
    channel_hook_url,
    receiver_base_url,
    receiver_dedupe_window_seconds,
    receiver_max_body_bytes,
)
from airflow_provider_dailybot.webhooks.receiver import (
    InvalidDelivery,
    build_event_extra,
    delivery_dedupe_key,
    parse_delivery,
    presented_bearers,
)

HASH_A = hash_secret("secret-a")
HASH_B = hash_secret("secret-b")


# -- channel names and assets --------------------------------------------------------------------
@pytest.mark.parametrize("name", ["checkins", "a", "team-1_standup", "0" * 64, "x-y_z-9"])
def test_valid_channel_names_are_returned_unchanged(name: str) -> None:
    assert validate_channel_name(name) == name


@pytest.mark.parametrize(
    "name", ["", "Checkins", "a" * 65, "check.ins", "check ins", "check/ins", "ché", "a\n", None, 5, b"checkins"]
)
def test_invalid_channel_names_are_refused_with_the_rule(name: object) -> None:
    with pytest.raises(ValueError, match="1 to 64 characters") as err:
        validate_channel_name(name)
    assert CHANNEL_NAME_PATTERN in str(err.value)


def test_asset_name_and_uri_follow_the_channel() -> None:
    assert webhook_asset_name("checkins") == "dailybot_checkins"
    assert webhook_asset_uri("checkins") == "dailybot://webhooks/checkins"
    with pytest.raises(ValueError, match="Invalid DailyBot webhook channel name"):
        webhook_asset_uri("Bad")


def test_dailybot_webhook_asset_is_the_sdk_asset_with_that_name_and_uri() -> None:
    from airflow.sdk import Asset

    asset = dailybot_webhook_asset("checkins")
    assert isinstance(asset, Asset)
    assert asset == Asset(name="dailybot_checkins", uri="dailybot://webhooks/checkins")
    assert asset != dailybot_webhook_asset("kudos")


# -- secrets --------------------------------------------------------------------------------------
def test_generated_secrets_are_long_url_safe_and_unique() -> None:
    values = {generate_secret() for _ in range(50)}
    assert len(values) == 50
    allowed = set(string.ascii_letters + string.digits + "-_")
    for value in values:
        assert len(value) == 43
        assert set(value) <= allowed


def test_hash_secret_is_hex_sha256_of_utf8() -> None:
    assert hash_secret("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    assert hash_secret("clé") == hashlib.sha256("clé".encode()).hexdigest()


def test_variable_key() -> None:
    assert variable_key("checkins") == "dailybot_webhook_channel__checkins"
    with pytest.raises(ValueError, match="Invalid DailyBot webhook channel name"):
        variable_key("../x")


def test_accepts_any_of_several_secrets_and_nothing_else() -> None:
    state = ChannelState(channel="c", secret_sha256=[HASH_A, HASH_B])
    assert state.accepts("secret-a")
    assert state.accepts("secret-b")
    assert not state.accepts("secret-c")
    assert not state.accepts("")
    assert not state.accepts(None)
    assert not state.accepts(HASH_A)  # the stored hash itself is not a credential
    assert not ChannelState(channel="c").accepts("secret-a")


def test_an_empty_secret_never_matches_even_if_its_hash_is_stored() -> None:
    state = ChannelState(channel="c", secret_sha256=[hash_secret("")])
    assert not state.accepts("")
    assert not state.accepts(None)


def test_accepts_compares_with_every_hash_without_early_exit(monkeypatch: pytest.MonkeyPatch) -> None:
    compared: list[str] = []
    real = channels_module.hmac.compare_digest

    def counting(a: str, b: str) -> bool:
        compared.append(b)
        return real(a, b)

    monkeypatch.setattr(channels_module.hmac, "compare_digest", counting)
    hashes = [HASH_A, HASH_B, hash_secret("c"), hash_secret("d")]
    state = ChannelState(channel="c", secret_sha256=hashes)
    assert state.accepts("secret-a")  # matches the first one ...
    assert compared == hashes  # ... and still compared with all of them
    compared.clear()
    assert not ChannelState(channel="c").accepts("x")
    assert len(compared) == 1  # a channel without secrets costs one comparison too


def test_add_and_remove_secrets() -> None:
    state = ChannelState(channel="c")
    digest = state.add_secret("secret-a")
    assert digest == HASH_A
    assert state.add_secret("secret-a") == HASH_A
    assert state.secret_sha256 == [HASH_A]
    state.add_secret_hash(HASH_B)
    assert state.remove_secret("secret-a") is True
    assert state.remove_secret("secret-a") is False
    assert state.remove_secret(secret_sha256=HASH_B) is True
    assert state.secret_sha256 == []
    with pytest.raises(ValueError, match="empty secret"):
        state.add_secret("")
    with pytest.raises(ValueError, match="exactly one"):
        state.remove_secret()
    with pytest.raises(ValueError, match="exactly one"):
        state.remove_secret("a", secret_sha256=HASH_A)
    with pytest.raises(ValueError, match="SHA-256"):
        state.add_secret_hash("not-a-hash")
    with pytest.raises(ValueError, match="SHA-256"):
        state.add_secret_hash(HASH_A.upper())


def _subscription(hook_id: str = "hook-1", secret_hash: str = HASH_A) -> ChannelSubscription:
    return ChannelSubscription(
        hook_id=hook_id,
        hook_url="https://airflow.example.com/dailybot/webhooks/c",
        events=["followups.response.completed"],
        secret_sha256=secret_hash,
        created_at="2026-01-31T12:00:00+00:00",
    )


def test_subscriptions_need_an_accepted_secret_and_are_keyed_by_hook_id() -> None:
    state = ChannelState(channel="c")
    with pytest.raises(ValueError, match="add_secret"):
        state.add_subscription(_subscription())
    state.add_secret("secret-a")
    state.add_subscription(_subscription())
    replacement = _subscription()
    replacement.events = ["kudos.posted"]
    state.add_subscription(replacement)
    assert [s.events for s in state.subscriptions] == [["kudos.posted"]]
    assert state.get_subscription("hook-1") is replacement
    assert state.remove_subscription("hook-1") is replacement
    assert state.remove_subscription("hook-1") is None
    assert state.get_subscription("hook-1") is None


def test_subscription_created_at_defaults_to_utc_now_iso() -> None:
    from datetime import datetime, timezone

    sub = ChannelSubscription(hook_id="h", hook_url="https://x/y", events=[], secret_sha256=HASH_A)
    created = datetime.fromisoformat(sub.created_at)
    assert created.tzinfo is not None
    assert abs((datetime.now(tz=timezone.utc) - created).total_seconds()) < 5


def test_state_json_round_trip_and_documented_shape() -> None:
    state = ChannelState(channel="c")
    state.add_secret("secret-a")
    state.add_secret("secret-b")
    state.add_subscription(_subscription("hook-1", HASH_A))
    text = state.to_json()
    assert json.loads(text) == {
        "version": 1,
        "channel": "c",
        "secret_sha256": [HASH_A, HASH_B],
        "subscriptions": [
            {
                "hook_id": "hook-1",
                "hook_url": "https://airflow.example.com/dailybot/webhooks/c",
                "events": ["followups.response.completed"],
                "created_at": "2026-01-31T12:00:00+00:00",
                "secret_sha256": HASH_A,
            }
        ],
        "deleted_hook_ids": [],
    }
    assert ChannelState.from_json("c", text) == state
    assert ChannelState.from_json("c", text.encode()) == state
    assert ChannelState.from_json("c", json.loads(text)) == state
    assert "secret-a" not in text


def test_minimal_document_is_read() -> None:
    state = ChannelState.from_json("c", json.dumps({"secret_sha256": [HASH_A]}))
    assert state.accepts("secret-a")
    assert state.subscriptions == []
    assert state.version == 1


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ("{not json", "not valid JSON"),
        ("[]", "must be a JSON object"),
        (json.dumps({"version": 2}), "newer provider"),
        (json.dumps({"version": "1"}), "version"),
        (json.dumps({"channel": "other"}), "names channel 'other'"),
        (json.dumps({"secret_sha256": "abc"}), "JSON arrays"),
        (json.dumps({"secret_sha256": ["abc"]}), "SHA-256"),
        (json.dumps({"secret_sha256": [HASH_A], "subscriptions": [{"hook_id": "h"}]}), "lacks the field"),
        (json.dumps({"subscriptions": ["x"]}), "JSON object"),
    ],
)
def test_invalid_documents_are_refused(document: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ChannelState.from_json("c", document)


# -- configuration ---------------------------------------------------------------------------------
def test_hook_url_from_api_base_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AIRFLOW__DAILYBOT__RECEIVER_BASE_URL", raising=False)
    monkeypatch.setenv("AIRFLOW__API__BASE_URL", "https://airflow.example.com/")
    assert receiver_base_url() == "https://airflow.example.com/dailybot"
    assert channel_hook_url("checkins") == "https://airflow.example.com/dailybot/webhooks/checkins"
    monkeypatch.setenv("AIRFLOW__API__BASE_URL", "https://example.com/airflow")
    assert channel_hook_url("checkins") == "https://example.com/airflow/dailybot/webhooks/checkins"


def test_receiver_base_url_overrides_api_base_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW__API__BASE_URL", "http://internal:8080")
    monkeypatch.setenv("AIRFLOW__DAILYBOT__RECEIVER_BASE_URL", "https://hooks.example.com/db/")
    assert channel_hook_url("kudos") == "https://hooks.example.com/db/webhooks/kudos"


def test_missing_public_address_names_both_options(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AIRFLOW__DAILYBOT__RECEIVER_BASE_URL", raising=False)
    monkeypatch.delenv("AIRFLOW__API__BASE_URL", raising=False)
    with pytest.raises(ValueError, match=r"\[api\] base_url.*\[dailybot\] receiver_base_url"):
        channel_hook_url("checkins")


@pytest.mark.parametrize("url", ["ftp://x", "example.com", "https://x/?token=1", "https://"])
def test_invalid_public_address_is_refused(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    monkeypatch.setenv("AIRFLOW__DAILYBOT__RECEIVER_BASE_URL", url)
    with pytest.raises(ValueError, match="absolute http"):
        receiver_base_url()


def test_hook_url_validates_the_channel(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW__API__BASE_URL", "https://airflow.example.com")
    with pytest.raises(ValueError, match="Invalid DailyBot webhook channel name"):
        channel_hook_url("../../api/v2")


def test_numeric_options(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AIRFLOW__DAILYBOT__RECEIVER_MAX_BODY_BYTES", raising=False)
    monkeypatch.delenv("AIRFLOW__DAILYBOT__RECEIVER_DEDUPE_WINDOW_SECONDS", raising=False)
    assert receiver_max_body_bytes() == 1024 * 1024
    assert receiver_dedupe_window_seconds() == 600
    monkeypatch.setenv("AIRFLOW__DAILYBOT__RECEIVER_MAX_BODY_BYTES", "2048")
    monkeypatch.setenv("AIRFLOW__DAILYBOT__RECEIVER_DEDUPE_WINDOW_SECONDS", "0")
    assert receiver_max_body_bytes() == 2048
    assert receiver_dedupe_window_seconds() == 0
    monkeypatch.setenv("AIRFLOW__DAILYBOT__RECEIVER_MAX_BODY_BYTES", "lots")
    with pytest.raises(ValueError, match="must be an integer"):
        receiver_max_body_bytes()
    monkeypatch.setenv("AIRFLOW__DAILYBOT__RECEIVER_MAX_BODY_BYTES", "0")
    with pytest.raises(ValueError, match="at least 1"):
        receiver_max_body_bytes()


# -- envelope parsing ------------------------------------------------------------------------------
ENVELOPE = {
    "event": "kudos.posted",
    "event_timestamp": 1707157378.851941,
    "hook": {"id": "hook-1", "name": "Webhook Name"},
    "body": {"uuid": "k-1", "content": "thanks"},
}


def test_bearer_header_raw_and_with_bearer_prefix() -> None:
    assert presented_bearers({}) == []
    assert presented_bearers({"x-bearer": "  "}) == []
    assert presented_bearers({"x-bearer": "s3cret"}) == ["s3cret"]
    assert presented_bearers({"x-bearer": "Bearer s3cret"}) == ["Bearer s3cret", "s3cret"]
    assert presented_bearers({"x-bearer": "bearer  s3cret "}) == ["bearer  s3cret", "s3cret"]


def test_parse_delivery_accepts_epoch_iso_and_missing_optional_fields() -> None:
    assert parse_delivery(json.dumps(ENVELOPE).encode()) == ENVELOPE
    iso = {**ENVELOPE, "event_timestamp": "2026-01-31T12:00:00Z"}
    assert parse_delivery(json.dumps(iso).encode())["event_timestamp"] == "2026-01-31T12:00:00Z"
    minimal = {"event": "organization.user_activated", "body": {}}
    assert parse_delivery(json.dumps(minimal).encode()) == minimal


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"", "empty"),
        (b"{", "not valid JSON"),
        (b"\xff\xfe\x00", "not valid JSON"),
        (b"[" * 100_000 + b"]" * 100_000, "not valid JSON"),
        (b'{"event": "kudos.posted", "body": {"x": NaN}}', "NaN"),
        (b"[1, 2]", "JSON object"),
        (b'"kudos.posted"', "JSON object"),
        (b'{"body": {}}', "'event'"),
        (b'{"event": 5, "body": {}}', "'event'"),
        (b'{"event": "bad name!", "body": {}}', "'event'"),
        (b'{"event": "kudos.posted"}', "'body'"),
        (b'{"event": "kudos.posted", "body": []}', "'body'"),
        (b'{"event": "kudos.posted", "body": {}, "event_timestamp": true}', "event_timestamp"),
        (b'{"event": "kudos.posted", "body": {}, "event_timestamp": {}}', "event_timestamp"),
        (b'{"event": "kudos.posted", "body": {}, "hook": "h"}', "'hook'"),
        (b'{"event": "kudos.posted", "body": {}, "hook": {"id": 7}}', "hook.id"),
        (b'{"event": "kudos.posted", "body": {}, "hook": {"id": "h", "name": []}}', "hook.name"),
    ],
)
def test_parse_delivery_refuses_what_is_not_an_envelope(raw: bytes, message: str) -> None:
    with pytest.raises(InvalidDelivery, match=message):
        parse_delivery(raw)


def test_dedupe_key_ignores_the_hook_and_key_order_but_not_the_event_identity() -> None:
    key = delivery_dedupe_key(ENVELOPE)
    assert delivery_dedupe_key({**ENVELOPE, "hook": {"id": "hook-2", "name": "other"}}) == key
    reordered = json.loads(json.dumps({k: ENVELOPE[k] for k in reversed(list(ENVELOPE))}))
    assert delivery_dedupe_key(reordered) == key
    assert delivery_dedupe_key({**ENVELOPE, "event_timestamp": 1707157378.851942}) != key
    assert delivery_dedupe_key({**ENVELOPE, "event": "kudos.updated"}) != key
    assert delivery_dedupe_key({**ENVELOPE, "body": {"uuid": "k-1", "content": "thanks!"}}) != key


def test_dedupe_key_is_the_sha256_of_the_canonical_identity() -> None:
    identity = delivery_identity({**ENVELOPE, "body": {"text": "caf\u00e9"}})
    assert identity == '{"body":{"text":"caf\\u00e9"},"event":"kudos.posted","event_timestamp":1707157378.851941}'
    assert delivery_dedupe_key(ENVELOPE) == hashlib.sha256(delivery_identity(ENVELOPE).encode("ascii")).hexdigest()


def test_event_extra_shape() -> None:
    extra = build_event_extra("kudos", ENVELOPE, "d-1")
    assert extra == {
        "delivery_id": "d-1",
        "dedupe_key": delivery_dedupe_key(ENVELOPE),
        "channel": "kudos",
        "event": "kudos.posted",
        "event_timestamp": 1707157378.851941,
        "hook": {"id": "hook-1", "name": "Webhook Name"},
        "body": {"uuid": "k-1", "content": "thanks"},
        "delivered_by": ["hook-1"],
    }
    no_hook = build_event_extra("kudos", {"event": "kudos.posted", "body": {}}, "d-2")
    assert no_hook["hook"] == {"id": None, "name": None}
    assert no_hook["delivered_by"] == []
    assert no_hook["event_timestamp"] is None


def test_package_re_exports_lazily() -> None:
    import airflow_provider_dailybot.webhooks as package
    from airflow_provider_dailybot.webhooks import channel_hook_url as exported_url
    from airflow_provider_dailybot.webhooks import dailybot_webhook_asset as exported_asset

    assert exported_asset is dailybot_webhook_asset
    assert exported_url is channel_hook_url
    with pytest.raises(AttributeError, match="no attribute 'receiver'"):
        package.__getattr__("receiver")
