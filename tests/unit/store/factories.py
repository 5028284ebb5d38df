"""Builders shared by the delivery store tests: envelopes, rows, and a migrated database."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import Engine, create_engine, func, select

from airflow_provider_dailybot.store.models import OUTCOME_RECORDED, delivery_table
from airflow_provider_dailybot.store.records import NewDelivery
from airflow_provider_dailybot.webhooks.asset_events import Delivery


def envelope(n: int = 1, *, event: str = "followups.response.completed", hook_id: str | None = "hook-a") -> dict:
    """A DailyBot envelope; ``n`` makes its body (and so its dedupe key) distinct."""
    return {
        "event": event,
        "event_timestamp": 1_700_000_000 + n,
        "hook": {"id": hook_id, "name": "standup"},
        "body": {"n": n, "text": "yesterday: shipped"},
    }


def new_delivery(
    n: int = 1,
    *,
    channel: str = "checkins",
    outcome: str = OUTCOME_RECORDED,
    event: str = "followups.response.completed",
    hook_id: str | None = "hook-a",
    secret_ref: str | None = "ref-a",
    received_at: datetime | None = None,
    delivery_id: str | None = None,
) -> NewDelivery:
    """A row as the receiver builds it from :func:`envelope` ``n``."""
    env = envelope(n, event=event, hook_id=hook_id)
    return NewDelivery.from_envelope(
        channel,
        env,
        json.dumps(env).encode(),
        delivery_id=delivery_id or str(uuid.uuid4()),
        outcome=outcome,
        delivery=Delivery(hook_id, secret_ref) if hook_id else None,
        received_at=received_at or datetime.now(tz=timezone.utc),
    )


def migrated_engine(url: str, **engine_kwargs: Any) -> Engine:
    """An engine on ``url`` whose database has been migrated to the newest revision of the store."""
    from alembic import command

    from airflow_provider_dailybot.store.db_manager import alembic_config

    engine = create_engine(url, **engine_kwargs)
    with engine.begin() as connection:
        command.upgrade(alembic_config(url, connection=connection), "heads")
    return engine


def row_count(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(delivery_table)).scalar_one())
