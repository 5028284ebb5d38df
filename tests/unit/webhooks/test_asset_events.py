"""The ``AssetEvent.extra`` contract is declared once: what the receiver writes is exactly the declared keys."""

from __future__ import annotations

from airflow_provider_dailybot.webhooks import asset_events
from airflow_provider_dailybot.webhooks.asset_events import (
    DELIVERED_BY_KEY,
    DELIVERIES_KEY,
    Delivery,
    build_event_extra,
    delivered_by,
    event_deliveries,
    merge_delivery,
    secret_ref,
)

ENVELOPE = {"event": "kudos.posted", "event_timestamp": 1767225600, "hook": {"id": "h1", "name": "n"}, "body": {}}
DECLARED = {value for name, value in vars(asset_events).items() if name.endswith("_KEY")}


def test_receiver_writes_exactly_the_declared_keys():
    extra = build_event_extra("checkins", ENVELOPE, "d-1", ref=secret_ref("0" * 64))
    assert set(extra) == DECLARED
    legacy = build_event_extra("checkins", ENVELOPE, "d-1")  # the 0.1 shape: no secret reference
    assert set(legacy) < DECLARED


def test_readers_read_what_the_writer_wrote():
    ref = secret_ref("1" * 64)
    extra = build_event_extra("checkins", ENVELOPE, "d-1", ref=ref)
    merged = merge_delivery(extra, Delivery("h2", secret_ref("2" * 64)))
    assert event_deliveries(merged) == [Delivery("h1", ref), Delivery("h2", secret_ref("2" * 64))]
    assert delivered_by(merged) == ["h1", "h2"] == merged[DELIVERED_BY_KEY]
    assert len(merged[DELIVERIES_KEY]) == 2


def test_old_import_paths_still_work():
    from airflow_provider_dailybot.operators._base import DailyBotBaseOperator
    from airflow_provider_dailybot.operators.webhook_subscription import DEFAULT_CONN_ID, _DailyBotOperator
    from airflow_provider_dailybot.sensors.webhook_delivery import delivered_by as sensor_delivered_by
    from airflow_provider_dailybot.webhooks.bindings import secret_ref as bindings_secret_ref
    from airflow_provider_dailybot.webhooks.receiver import build_event_extra as receiver_build

    assert _DailyBotOperator is DailyBotBaseOperator
    assert DEFAULT_CONN_ID == "dailybot_default"
    assert (sensor_delivered_by, bindings_secret_ref, receiver_build) == (delivered_by, secret_ref, build_event_extra)
