"""The store's rows: what the receiver stores for an envelope, and the checks before an insert."""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime, timezone

import pytest

from airflow_provider_dailybot.store.models import OUTCOME_NO_CONSUMER, OUTCOME_RECORDED
from airflow_provider_dailybot.store.records import DeliveryRecord, NewDelivery, timestamp_text
from airflow_provider_dailybot.webhooks.asset_events import Delivery, delivery_dedupe_key
from tests.unit.store.factories import envelope, new_delivery

NOW = datetime(2026, 12, 1, tzinfo=timezone.utc)


def test_from_envelope_keeps_the_payload_only_while_no_dag_consumes_it():
    env = envelope(1)
    raw = json.dumps(env).encode()
    waiting = NewDelivery.from_envelope(
        "checkins", env, raw, delivery_id="d-1", outcome=OUTCOME_NO_CONSUMER, received_at=NOW
    )
    recorded = NewDelivery.from_envelope("checkins", env, raw, delivery_id="d-2", outcome=OUTCOME_RECORDED)

    assert waiting.payload == raw.decode()
    assert waiting.payload_bytes == len(raw)
    assert recorded.payload is None
    assert recorded.payload_bytes == len(raw)
    assert waiting.dedupe_key == recorded.dedupe_key == delivery_dedupe_key(env)
    assert (waiting.event, waiting.hook_id, waiting.event_timestamp) == (env["event"], "hook-a", "1700000001")
    assert waiting.received_at == NOW
    assert recorded.received_at.tzinfo is not None


def test_from_envelope_reads_a_utf16_body_as_json_does():
    env = envelope(1)
    raw = json.dumps(env, ensure_ascii=False).encode("utf-16")
    row = NewDelivery.from_envelope("checkins", env, raw, delivery_id="d", outcome=OUTCOME_NO_CONSUMER)
    assert json.loads(row.payload) == env


def test_from_envelope_without_a_hook():
    row = NewDelivery.from_envelope(
        "checkins", {"event": "kudos.posted", "body": {}}, b"{}", delivery_id="d", outcome=OUTCOME_RECORDED
    )
    assert (row.hook_id, row.deliveries, row.event_timestamp) == (None, (), None)


@pytest.mark.parametrize(
    ("value", "text"), [(None, None), ("2026-12-01T00:00:00Z", "2026-12-01T00:00:00Z"), (17, "17"), (1.5, "1.5")]
)
def test_timestamp_text(value, text):
    assert timestamp_text(value) == text


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"channel": "Bad Name"}, "channel name"),
        ({"delivery_id": "x" * 37}, "delivery_id"),
        ({"dedupe_key": "ABC"}, "dedupe_key"),
        ({"event": "e" * 129}, "event"),
        ({"event_timestamp": "t" * 65}, "event_timestamp"),
        ({"hook_id": "h" * 257}, "hook_id"),
        ({"deliveries": (Delivery("h", None),) * 101}, "deliveries"),
        ({"outcome": "duplicate"}, "outcome"),
        ({"payload_bytes": -1}, "payload_bytes"),
        ({"received_at": datetime(2026, 1, 1)}, "timezone-aware"),
        ({"asset_event_id": 3, "outcome": OUTCOME_NO_CONSUMER}, "no asset event"),
        ({"payload": "{}"}, "payload is kept only"),
    ],
)
def test_a_value_that_does_not_fit_its_column_is_refused_before_the_insert(change, message):
    with pytest.raises(ValueError, match=message):
        dataclasses.replace(new_delivery(1), **change)


def test_from_row_reads_json_returned_as_text():
    row = {
        **new_delivery(1).values(),
        "id": 5,
        "deliveries": json.dumps([{"hook_id": "h", "secret_ref": "r", "hook_id_mismatch": True}]),
    }
    assert DeliveryRecord.from_row(row).deliveries == (Delivery("h", "r", True),)
