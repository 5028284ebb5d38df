"""Steps the PostgreSQL e2e tests run as a child process with the api-server's environment (Airflow on PostgreSQL).

``python -m tests.e2e.receiver.pg_steps <step>``; input in environment variables (secrets never on the
command line), output one JSON line on stdout:

``as-0.1``
    Make the database look like one a 0.1 receiver used: the delivery store migrated down to nothing,
    the channels of ``E2E_CHANNELS`` (JSON ``{name: secret}``) stored, and the delivery
    ``E2E_ENVELOPE`` recorded on channel ``E2E_CHANNEL`` the way 0.1 recorded it: an asset event whose
    extra (0.1 shape: no secret reference) carries the dedupe key, nothing else. Prints its delivery id.
``replay``
    ``replay_deliveries(channel=E2E_CHANNEL)``; prints the replayed delivery ids.
"""

from __future__ import annotations

import json
import os
import sys
import uuid


def as_0_1() -> dict[str, object]:
    from airflow.assets.manager import asset_manager
    from airflow.models.asset import AssetModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    from airflow_provider_dailybot.store.db_manager import DailyBotDBManager
    from airflow_provider_dailybot.webhooks.asset_events import build_event_extra
    from airflow_provider_dailybot.webhooks.assets import webhook_asset_uri
    from airflow_provider_dailybot.webhooks.channels import ChannelState, MetadataChannelStore

    with create_session() as session:
        DailyBotDBManager(session).downgrade("base")
    for name, secret in json.loads(os.environ["E2E_CHANNELS"]).items():
        state = ChannelState(channel=name)
        state.add_secret(secret)
        MetadataChannelStore().save(state)
    channel, envelope = os.environ["E2E_CHANNEL"], json.loads(os.environ["E2E_ENVELOPE"])
    delivery_id = str(uuid.uuid4())
    with create_session() as session:
        asset = session.scalar(select(AssetModel).where(AssetModel.uri == webhook_asset_uri(channel)))
        assert asset is not None, "the consumer DAG was not parsed"
        event = asset_manager.register_asset_change(
            asset=asset, extra=build_event_extra(channel, envelope, delivery_id), session=session
        )
        assert event is not None
    return {"delivery_id": delivery_id}


def replay() -> list[str]:
    from airflow.utils.session import create_session

    from airflow_provider_dailybot.webhooks.recording import replay_deliveries

    with create_session(scoped=False) as session:
        return replay_deliveries(session, channel=os.environ["E2E_CHANNEL"])


if __name__ == "__main__":
    steps = {"as-0.1": as_0_1, "replay": replay}
    print(json.dumps(steps[sys.argv[1]]()))
