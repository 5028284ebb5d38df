"""``airflow dailybot deliveries replay``: the receiver's replay behind a command that reports and asks first."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from airflow_provider_dailybot.cli.__main__ import main
from tests.integration.conftest import set_dag
from tests.integration.receiver.conftest import Channel, deliver, envelope, events, rows

pytestmark = pytest.mark.db


def replay(capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, Any]:
    capsys.readouterr()
    main(["deliveries", "replay", *argv, "-o", "json"])
    return json.loads(capsys.readouterr().out)


@pytest.fixture
def waiting(client: Any, make_channel: Callable[..., Channel]) -> tuple[Channel, list[str]]:
    """A channel whose only consumer is paused, with two deliveries stored by the receiver as no_consumer."""
    channel = make_channel("scheduled-paused")
    ids = [deliver(client, channel, envelope(n=n)).json()["delivery_id"] for n in range(2)]
    assert [r.outcome for r in rows(channel)] == ["no_consumer", "no_consumer"]
    return channel, ids


def test_without_a_consumer_nothing_is_recorded_and_the_wait_is_reported(
    capsys: pytest.CaptureFixture[str], waiting: tuple[Channel, list[str]]
):
    channel, _ = waiting
    report = replay(capsys, "--channel", channel.name, "--yes")
    assert (report["recorded_count"], report["waiting_count"]) == (0, 2)
    assert report["waiting_channels"] == [channel.name]
    assert events(channel) == []


def test_a_dry_run_lists_what_would_be_recorded_and_records_nothing(
    capsys: pytest.CaptureFixture[str], waiting: tuple[Channel, list[str]]
):
    channel, ids = waiting
    assert channel.dag_id
    set_dag(channel.dag_id, is_paused=False)
    report = replay(capsys, "--channel", channel.name, "--dry-run")
    assert report["recorded"] == ids
    assert report["waiting_count"] == 0
    assert [r.outcome for r in rows(channel)] == ["no_consumer", "no_consumer"]
    assert events(channel) == []


def test_replay_records_once_then_never_again(capsys: pytest.CaptureFixture[str], waiting: tuple[Channel, list[str]]):
    channel, ids = waiting
    assert channel.dag_id
    set_dag(channel.dag_id, is_paused=False)

    first = replay(capsys, "--channel", channel.name, "--limit", "1", "--yes")
    assert (first["recorded"], first["over_limit"]) == (ids[:1], 1)
    second = replay(capsys, ids[0], ids[1], "--yes")
    assert second["recorded"] == ids[1:]
    assert second["already_recorded"] == [ids[0]]
    third = replay(capsys, "--channel", channel.name, "--yes")
    assert third["recorded"] == []
    assert [e.extra["delivery_id"] for e in events(channel)] == ids  # one asset event each
    assert [(r.outcome, r.payload) for r in rows(channel)] == [("recorded", None), ("recorded", None)]


def test_a_replay_names_what_it_selects_and_asks_before_recording(
    capsys: pytest.CaptureFixture[str], waiting: tuple[Channel, list[str]]
):
    channel, _ = waiting
    with pytest.raises(SystemExit, match="name delivery ids, or select with --channel"):
        main(["deliveries", "replay"])
    with pytest.raises(SystemExit, match="pass --yes to confirm"):
        main(["deliveries", "replay", "--channel", channel.name])
    with pytest.raises(SystemExit, match="delivery id: a UUID"):
        main(["deliveries", "replay", "not a uuid", "--yes"])
    report = replay(capsys, "00000000-0000-4000-8000-000000000000", "--yes")
    assert report["unknown"] == ["00000000-0000-4000-8000-000000000000"]


def test_the_text_report_says_what_happened(capsys: pytest.CaptureFixture[str], waiting: tuple[Channel, list[str]]):
    channel, _ = waiting
    capsys.readouterr()
    main(["deliveries", "replay", "--channel", channel.name, "--yes"])
    out = capsys.readouterr().out
    assert out.startswith("Recorded 0 deliveries.")
    assert f"2 stay stored: no DAG consumes their channel yet ({channel.name})." in out
