"""Replaying stored "no consumer" deliveries (webhooks/recording.replay_deliveries) on the sqlite metadata DB."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from airflow_provider_dailybot.webhooks.asset_events import Delivery, build_event_extra, merge_delivery, secret_ref
from airflow_provider_dailybot.webhooks.channels import hash_secret
from airflow_provider_dailybot.webhooks.recording import replay_deliveries
from tests.integration.conftest import set_dag
from tests.integration.receiver.conftest import Channel, deliver, envelope, events, rows

pytestmark = pytest.mark.db


def replay(**kwargs: Any) -> list[str]:
    from airflow.utils.session import create_session

    with create_session(scoped=False) as session:
        return replay_deliveries(session, **kwargs)


@pytest.fixture
def waiting(client: Any, make_channel: Callable[..., Channel]) -> tuple[Channel, list[str]]:
    """A channel whose consumer DAG is paused, with three deliveries stored as no_consumer."""
    channel = make_channel("scheduled-paused")
    ids = [deliver(client, channel, envelope(n=i)).json()["delivery_id"] for i in range(3)]
    assert [r.outcome for r in rows(channel)] == ["no_consumer"] * 3
    return channel, ids


def test_nothing_is_replayed_while_there_is_no_consumer(waiting: tuple[Channel, list[str]]) -> None:
    channel, _ = waiting
    assert replay(channel=channel.name) == []
    assert [r.outcome for r in rows(channel)] == ["no_consumer"] * 3
    assert all(r.payload for r in rows(channel))


def test_replay_records_each_delivery_once_as_the_receiver_would(
    client: Any, waiting: tuple[Channel, list[str]]
) -> None:
    channel, ids = waiting
    assert channel.dag_id
    set_dag(channel.dag_id, is_paused=False)

    assert replay(channel=channel.name) == ids
    assert replay(channel=channel.name) == []  # never twice

    recorded = events(channel)
    assert [e.extra["delivery_id"] for e in recorded] == ids
    ref = secret_ref(hash_secret(channel.secret))
    for n, (event, row) in enumerate(zip(recorded, rows(channel), strict=True)):
        assert event.extra == build_event_extra(channel.name, envelope(n=n), row.delivery_id, ref=ref)
        assert (row.outcome, row.asset_event_id, row.payload) == ("recorded", event.id, None)
    assert deliver(client, channel, envelope(n=0)).json() == {
        "delivery_id": ids[0],
        "duplicate": True,
        "outcome": "duplicate",
    }


def test_replay_selects_by_ids_and_time(waiting: tuple[Channel, list[str]]) -> None:
    channel, ids = waiting
    assert channel.dag_id
    set_dag(channel.dag_id, is_paused=False)
    future = datetime.now(tz=timezone.utc) + timedelta(hours=1)
    assert replay(channel=channel.name, since=future) == []
    assert replay(ids=[ids[1]]) == [ids[1]]
    assert replay(channel=channel.name, until=future, limit=1) == [ids[0]]
    assert replay(channel=channel.name) == [ids[2]]


def test_a_duplicate_of_a_waiting_delivery_is_kept_for_its_replay(
    client: Any, make_channel: Callable[..., Channel]
) -> None:
    channel = make_channel("scheduled-paused")
    first = deliver(client, channel, envelope("hook-old")).json()
    second = deliver(client, channel, envelope("hook-new")).json()
    assert (second["delivery_id"], second["duplicate"], second["outcome"]) == (
        first["delivery_id"],
        True,
        "no_consumer",
    )
    assert channel.dag_id
    set_dag(channel.dag_id, is_paused=False)

    assert replay(channel=channel.name) == [first["delivery_id"]]
    (event,) = events(channel)
    assert event.extra["delivered_by"] == ["hook-old", "hook-new"]
    ref = secret_ref(hash_secret(channel.secret))
    expected = merge_delivery(
        build_event_extra(channel.name, envelope("hook-old"), first["delivery_id"], ref=ref), Delivery("hook-new", ref)
    )
    assert event.extra == expected
    # a third subscription after the replay is merged into the recorded event
    deliver(client, channel, envelope("hook-third"))
    (event,) = events(channel)
    assert event.extra["delivered_by"] == ["hook-old", "hook-new", "hook-third"]


def test_replay_bounds(waiting: tuple[Channel, list[str]]) -> None:
    with pytest.raises(ValueError, match="limit"):
        replay(limit=0)
    with pytest.raises(ValueError, match="timezone-aware"):
        replay(since=datetime(2026, 1, 1))
