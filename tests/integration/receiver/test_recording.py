"""The receiver on the delivery store, in the real api-server app (in-process, sqlite): rows, duplicates, consumers."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from airflow_provider_dailybot.webhooks.asset_events import secret_ref
from airflow_provider_dailybot.webhooks.channels import hash_secret
from tests.integration.conftest import set_dag
from tests.integration.receiver.conftest import Channel, deliver, envelope, events, rows

pytestmark = pytest.mark.db


@pytest.fixture
def statements() -> Iterator[list[str]]:
    """The SQL statements the api-server's engine executes while the test runs."""
    from airflow import settings
    from sqlalchemy import event

    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(" ".join(statement.split()).upper())

    event.listen(settings.engine, "before_cursor_execute", record)
    yield seen
    event.remove(settings.engine, "before_cursor_execute", record)


def writes(statements: list[str]) -> list[str]:
    """The statements that write (an ``INSERT … ON CONFLICT DO NOTHING`` that hit the conflict counts too)."""
    return [s for s in statements if s.startswith(("INSERT", "UPDATE", "DELETE"))]


def test_a_new_delivery_is_one_row_and_one_event(client: Any, make_channel: Callable[..., Channel]) -> None:
    channel = make_channel("scheduled")
    response = deliver(client, channel, envelope())
    assert response.status_code == 202, response.text
    answer = response.json()
    assert answer == {"delivery_id": answer["delivery_id"], "duplicate": False, "outcome": "recorded"}
    uuid.UUID(answer["delivery_id"])

    (row,) = rows(channel)
    (event,) = events(channel)
    ref = secret_ref(hash_secret(channel.secret))
    assert (row.delivery_id, row.outcome, row.asset_event_id, row.payload) == (
        answer["delivery_id"],
        "recorded",
        event.id,
        None,
    )  # the body is kept once: in the asset event
    assert row.dedupe_key == event.extra["dedupe_key"]
    assert row.hook_id == "hook-1"
    assert [d.to_dict() for d in row.deliveries] == event.extra["deliveries"]
    assert event.extra["deliveries"] == [{"hook_id": "hook-1", "secret_ref": ref, "hook_id_mismatch": False}]
    assert row.payload_bytes == len(json.dumps(envelope()).encode())
    assert row.recorded_at is not None
    assert row.received_at <= row.recorded_at


def test_a_repeated_delivery_writes_nothing(
    client: Any, make_channel: Callable[..., Channel], statements: list[str]
) -> None:
    channel = make_channel("scheduled")
    first = deliver(client, channel, envelope()).json()
    before_row, before_event = rows(channel), events(channel)
    statements.clear()

    again = deliver(client, channel, envelope())

    assert again.status_code == 202
    assert again.json() == {"delivery_id": first["delivery_id"], "duplicate": True, "outcome": "duplicate"}
    assert [s for s in writes(statements) if "ON CONFLICT" not in s] == []
    assert rows(channel) == before_row
    assert [e.extra for e in events(channel)] == [e.extra for e in before_event]


def test_a_duplicate_from_another_subscription_is_added_to_row_and_event(
    client: Any, make_channel: Callable[..., Channel]
) -> None:
    channel = make_channel("scheduled")
    first = deliver(client, channel, envelope("hook-old")).json()
    second = deliver(client, channel, envelope("hook-new")).json()
    assert second == {"delivery_id": first["delivery_id"], "duplicate": True, "outcome": "duplicate"}

    (row,) = rows(channel)
    (event,) = events(channel)
    assert [d.hook_id for d in row.deliveries] == ["hook-old", "hook-new"]
    assert event.extra["delivered_by"] == ["hook-old", "hook-new"]
    assert [d["hook_id"] for d in event.extra["deliveries"]] == ["hook-old", "hook-new"]


@pytest.mark.parametrize(
    ("shape", "outcome"),
    [
        ("scheduled", "recorded"),
        ("name-ref", "recorded"),
        ("inlets-paused", "recorded"),  # inlet_events reads it whenever the task runs
        ("scheduled-paused", "no_consumer"),  # Airflow queues no run for a paused DAG, ever
        ("outlets", "no_consumer"),  # a producer, not a consumer
        ("none", "no_consumer"),
    ],
)
def test_which_dags_are_consumers(client: Any, make_channel: Callable[..., Channel], shape: str, outcome: str) -> None:
    channel = make_channel(shape)
    answer = deliver(client, channel, envelope()).json()
    assert answer["outcome"] == outcome
    assert len(events(channel)) == (1 if outcome == "recorded" else 0)
    (row,) = rows(channel)
    assert row.outcome == outcome


def test_a_stale_dag_is_no_consumer(client: Any, make_channel: Callable[..., Channel]) -> None:
    channel = make_channel("scheduled")
    assert channel.dag_id
    set_dag(channel.dag_id, is_stale=True)
    assert deliver(client, channel, envelope()).json()["outcome"] == "no_consumer"


def test_no_consumer_keeps_the_body_as_received(client: Any, make_channel: Callable[..., Channel]) -> None:
    channel = make_channel("none")
    raw = json.dumps(envelope(), indent=1).encode()  # bytes as sent, not re-serialised
    response = client.post(channel.path, headers={"X-BEARER": channel.secret}, content=raw)
    assert response.status_code == 202
    (row,) = rows(channel)
    assert (row.outcome, row.asset_event_id, row.payload, row.payload_bytes) == (
        "no_consumer",
        None,
        raw.decode(),
        len(raw),
    )
    assert events(channel) == []


def test_a_consumer_is_noticed_on_the_next_delivery(client: Any, make_channel: Callable[..., Channel]) -> None:
    channel = make_channel("scheduled-paused")
    assert channel.dag_id
    assert deliver(client, channel, envelope(n=1)).json()["outcome"] == "no_consumer"
    set_dag(channel.dag_id, is_paused=False)  # "no consumer" is never cached
    assert deliver(client, channel, envelope(n=2)).json()["outcome"] == "recorded"


def test_a_delivery_without_hook_is_recorded_and_deduplicated(
    client: Any, make_channel: Callable[..., Channel]
) -> None:
    channel = make_channel("scheduled")
    first = deliver(client, channel, envelope(None)).json()
    again = deliver(client, channel, envelope(None)).json()
    assert (first["outcome"], again["outcome"], again["delivery_id"]) == ("recorded", "duplicate", first["delivery_id"])
    (row,) = rows(channel)
    assert (row.hook_id, row.deliveries) == (None, ())
