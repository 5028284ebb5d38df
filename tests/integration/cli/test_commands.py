"""``airflow dailybot`` commands on the sqlite metadata DB, run through ``python -m``'s entry point in-process."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from airflow_provider_dailybot.cli.__main__ import main
from airflow_provider_dailybot.webhooks.channels import ChannelState, ChannelSubscription, MetadataChannelStore
from tests.integration.ui.conftest import envelope

pytestmark = pytest.mark.db


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    capsys.readouterr()
    main(list(argv))
    return capsys.readouterr().out


def fails(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    with pytest.raises(SystemExit) as raised:
        main(list(argv))
    assert isinstance(raised.value.code, str)
    return raised.value.code


@pytest.fixture
def channel(airflow_db: str) -> Any:
    """A channel with two accepted secrets and one subscription (its Variable is deleted afterwards)."""
    name = f"cli-{uuid.uuid4().hex[:10]}"
    state = ChannelState(channel=name)
    hashes = [state.add_secret(f"s{n}-{uuid.uuid4()}") for n in range(2)]
    state.add_subscription(
        ChannelSubscription("hook-a", "https://a.example/dailybot/webhooks/x", ["kudos.posted"], hashes[1])
    )
    state.mark_deleted("hook-old")
    MetadataChannelStore().save(state)
    yield name, hashes
    MetadataChannelStore().delete(name)


def test_channels_list_and_show_reveal_only_hash_prefixes(capsys: pytest.CaptureFixture[str], channel: Any):
    name, hashes = channel
    listed = json.loads(run(capsys, "channels", "list", "-o", "json"))
    assert {"channel": name, "secrets": 2, "subscriptions": 1, "deleted_hook_ids": 1} in listed
    shown = json.loads(run(capsys, "channels", "show", name, "-o", "json"))
    assert [s["sha256_prefix"] for s in shown["secrets"]] == [h[:12] for h in hashes]
    assert shown["subscriptions"][0]["secret"]["sha256_prefix"] == hashes[1][:12]
    table = run(capsys, "channels", "show", name)
    assert hashes[0][:12] in table
    assert "hook-a" in table
    for output in (json.dumps(listed), json.dumps(shown), table):
        for full in hashes:
            assert full not in output


def test_a_channel_from_the_environment_is_listed(
    capsys: pytest.CaptureFixture[str], airflow_db: str, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("AIRFLOW_VAR_DAILYBOT_WEBHOOK_CHANNEL__ENVCHANNEL", ChannelState(channel="envchannel").to_json())
    listed = json.loads(run(capsys, "channels", "list", "-o", "json"))
    assert {"channel": "envchannel", "secrets": 0, "subscriptions": 0, "deleted_hook_ids": 0} in listed


def test_channels_show_of_an_unknown_or_malformed_channel_fails_with_a_message(
    capsys: pytest.CaptureFixture[str], airflow_db: str
):
    assert fails(capsys, "channels", "show", "no-such-channel").startswith("error: no channel 'no-such-channel'")
    assert fails(capsys, "channels", "show", "Bad Name").startswith("error: a channel name is")


def test_subscriptions_list_shows_what_the_channel_records(capsys: pytest.CaptureFixture[str], channel: Any):
    name, hashes = channel
    (sub,) = json.loads(run(capsys, "subscriptions", "list", "--channel", name, "-o", "json"))
    assert (sub["channel"], sub["hook_id"], sub["events"]) == (name, "hook-a", ["kudos.posted"])
    assert sub["secret"]["sha256_prefix"] == hashes[1][:12]
    table = run(capsys, "subscriptions", "list")
    assert "hook-a" in table
    assert hashes[1] not in table


def test_deliveries_list_pages_and_show_prints_the_payload(capsys: pytest.CaptureFixture[str], store_delivery: Any):
    name = f"cli-{uuid.uuid4().hex[:10]}"
    older = store_delivery(name, envelope({"text": "older"}))
    newer = store_delivery(name, envelope({"text": "newer"}), recorded=False)

    first = json.loads(run(capsys, "deliveries", "list", "--channel", name, "--limit", "1", "-o", "json"))
    assert [row["delivery_id"] for row in first["deliveries"]] == [newer[1]]
    main(["deliveries", "list", "--channel", name, "--limit", "1"])
    assert f"More: add --before-id {newer[0]}" in capsys.readouterr().err
    second = json.loads(
        run(capsys, "deliveries", "list", "--channel", name, "--before-id", str(newer[0]), "-o", "json")
    )
    assert [row["delivery_id"] for row in second["deliveries"]] == [older[1]]
    assert second["next_before_id"] is None

    shown = json.loads(run(capsys, "deliveries", "show", older[1], "-o", "json"))
    assert shown["payload"]["source"] == "asset_event"
    assert shown["payload"]["value"]["body"] == {"text": "older"}
    text = run(capsys, "deliveries", "show", newer[1])
    assert "payload (stored):" in text
    assert '"text": "newer"' in text
    assert fails(capsys, "deliveries", "show", str(uuid.uuid4())).startswith("error: no stored delivery")
    assert fails(capsys, "deliveries", "list", "--channel", "Bad Name").startswith("error: channel:")


def test_text_from_outside_never_reaches_the_terminal_as_control_codes(
    capsys: pytest.CaptureFixture[str], store_delivery: Any
):
    name = f"cli-{uuid.uuid4().hex[:10]}"
    env = envelope({"text": "\x1b]0;owned\x07 \x9b2J"})
    env["hook"]["id"] = "hook-\x1b[31mred"
    _, delivery_id, _ = store_delivery(name, env, recorded=False)
    for output in (
        run(capsys, "deliveries", "list", "--channel", name),
        run(capsys, "deliveries", "show", delivery_id),
        run(capsys, "deliveries", "show", delivery_id, "-o", "json"),
    ):
        assert "\x1b" not in output
        assert "\x9b" not in output
        assert "\x07" not in output
    assert "hook-?[31mred" in run(capsys, "deliveries", "list", "--channel", name)


def test_purge_deletes_only_rows_older_than_the_retention(
    capsys: pytest.CaptureFixture[str], store_delivery: Any, monkeypatch: pytest.MonkeyPatch
):
    from airflow.utils.session import create_session

    from airflow_provider_dailybot.store.deliveries import get_delivery

    name = f"cli-{uuid.uuid4().hex[:10]}"
    now = datetime.now(tz=timezone.utc)
    old = store_delivery(name, envelope(), received_at=now - timedelta(days=12))
    new = store_delivery(name, envelope(), received_at=now - timedelta(days=8))
    monkeypatch.setenv("AIRFLOW__DAILYBOT__RECEIVER_RETENTION_DAYS", "10")

    assert "1 stored deliveries were received before" in run(capsys, "deliveries", "purge", "--dry-run")
    assert "pass --yes" in fails(capsys, "deliveries", "purge")  # stdin is no terminal here
    with create_session() as session:
        assert get_delivery(session, old[1]) is not None
    out = run(capsys, "deliveries", "purge", "--yes", "--batch-size", "1")
    assert out.startswith("Deleted 1 stored deliveries")
    assert "(10 days ago)" in out
    with create_session() as session:
        assert get_delivery(session, old[1]) is None
        assert get_delivery(session, new[1]) is not None
    assert run(capsys, "deliveries", "purge", "--older-than-days", "7", "-y").startswith("Deleted 1 ")
