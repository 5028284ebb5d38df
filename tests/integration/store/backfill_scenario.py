"""An upgrade from 0.1, run in a process of its own (``python -m tests.integration.store.backfill_scenario``).

On the Airflow database of ``AIRFLOW__DATABASE__SQL_ALCHEMY_CONN``:

1. migrate Airflow's tables, then take the store down to ``base``: the database as 0.1 left it;
2. record asset events the 0.1 way (``register_asset_change`` with a 0.1-shaped extra) on a channel's
   asset: two within the dedupe window with the same key (a duplicate 0.1 did not catch), one older
   than the window, one not written by the receiver, and one on an asset that is not a channel's
   but whose extra looks like a delivery;
3. run the store's upgrade (the manager's ``upgradedb``, as ``airflow db migrate`` does);
4. insert the same envelopes as new deliveries and print, as JSON, what the store answered.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta, timezone

CHANNEL = "checkins"


def _envelope(n: int) -> dict:
    return {
        "event": "followups.response.completed",
        "event_timestamp": 1_700_000_000.25 + n,
        "hook": {"id": f"hook-{n}", "name": "standup"},
        "body": {"n": n, "text": "blocked on review"},
    }


def main() -> None:
    from airflow.assets.manager import asset_manager
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils import db
    from airflow.utils.session import create_session

    from airflow_provider_dailybot.store.db_manager import DailyBotDBManager
    from airflow_provider_dailybot.store.deliveries import insert_delivery, list_deliveries
    from airflow_provider_dailybot.store.models import OUTCOME_RECORDED
    from airflow_provider_dailybot.store.records import NewDelivery
    from airflow_provider_dailybot.webhooks.asset_events import build_event_extra
    from airflow_provider_dailybot.webhooks.assets import webhook_asset_name, webhook_asset_uri

    db.initdb()
    with create_session() as session:
        DailyBotDBManager(session).downgrade("base")

    events: dict[str, int] = {}
    with create_session() as session:
        channel_asset = AssetModel(name=webhook_asset_name(CHANNEL), uri=webhook_asset_uri(CHANNEL))
        other_asset = AssetModel(name="reports", uri="s3://bucket/reports")
        session.add_all([channel_asset, other_asset])
        session.flush()

        def record(name: str, asset: AssetModel, extra: dict) -> AssetEvent:
            event = asset_manager.register_asset_change(asset=asset, extra=extra, session=session, source_is_api=True)
            assert event is not None
            session.flush()
            events[name] = event.id
            return event

        record("recent", channel_asset, build_event_extra(CHANNEL, _envelope(1), "d-recent"))
        record("recent-again", channel_asset, build_event_extra(CHANNEL, _envelope(1), "d-recent-again"))
        old = record("old", channel_asset, build_event_extra(CHANNEL, _envelope(2), "d-old"))
        old.timestamp = datetime.now(tz=timezone.utc) - timedelta(hours=2)  # outside the 600 s window
        record("not-the-receivers", channel_asset, {"note": "posted by hand"})
        record("other-asset", other_asset, build_event_extra(CHANNEL, _envelope(3), "d-other"))

    with create_session() as session:
        DailyBotDBManager(session).upgradedb()

    answers = {}
    with create_session() as session:
        for name, n in (("recent", 1), ("old", 2), ("other-asset", 3)):
            envelope = _envelope(n)
            row = NewDelivery.from_envelope(
                CHANNEL,
                envelope,
                json.dumps(envelope).encode(),
                delivery_id=str(uuid.uuid4()),
                outcome=OUTCOME_RECORDED,
            )
            result = insert_delivery(session, row)
            answers[name] = {
                "inserted": result.inserted,
                "delivery_id": result.record.delivery_id,
                "asset_event_id": result.record.asset_event_id,
            }
        session.rollback()
        backfilled = [
            {
                "delivery_id": r.delivery_id,
                "asset_event_id": r.asset_event_id,
                "hook_ids": [d.hook_id for d in r.deliveries],
                "event_timestamp": r.event_timestamp,
                "outcome": r.outcome,
                "payload": r.payload,
                "received_is_aware": r.received_at.utcoffset() is not None,
            }
            for r in list_deliveries(session)
        ]
    print("SCENARIO " + json.dumps({"events": events, "answers": answers, "backfilled": backfilled}))


if __name__ == "__main__":
    main()
