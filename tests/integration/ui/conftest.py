"""Fixtures of the delivery-log tests: the delivery table in the session's metadata DB, rows in it.

Rows are written with the store's own queries (``insert_delivery``, ``mark_recorded``); a recorded
row gets a real ``asset_event`` row whose ``extra`` is what the receiver records
(``build_event_extra``), so the log reads payloads where it reads them in production.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from typing import Any

import pytest

from airflow_provider_dailybot.webhooks.asset_events import Delivery, build_event_extra, secret_ref


def ensure_delivery_table() -> None:
    """Create or migrate ``dailybot_delivery`` (Airflow 3.1 runs the DB manager only when configured)."""
    from airflow.utils.session import create_session

    from airflow_provider_dailybot.store.db_manager import DailyBotDBManager

    with create_session() as session:
        DailyBotDBManager(session).upgradedb()


def envelope(body: dict[str, Any] | None = None, *, event: str = "followups.response.completed") -> dict[str, Any]:
    """A DailyBot envelope with a fresh event timestamp (so each one has its own dedupe key)."""
    return {
        "event": event,
        "event_timestamp": datetime.now(tz=timezone.utc).isoformat(),
        "hook": {"id": f"hook-{uuid.uuid4().hex[:8]}", "name": "standup"},
        "body": body if body is not None else {"response": {"text": "all good"}},
    }


@pytest.fixture(scope="session")
def delivery_table(airflow_db: str) -> None:
    """The delivery table exists in the session's metadata DB."""
    ensure_delivery_table()


@pytest.fixture
def store_delivery(delivery_table: None) -> Iterator[Callable[..., Any]]:
    """Return ``store(channel, env, *, recorded=True, received_at=None)`` writing one row (and its asset event).

    Every row and asset event it wrote is deleted afterwards.
    """
    from airflow.models.asset import AssetEvent
    from airflow.utils.session import create_session
    from sqlalchemy import delete

    from airflow_provider_dailybot.store.deliveries import NewDelivery, insert_delivery, mark_recorded
    from airflow_provider_dailybot.store.models import OUTCOME_NO_CONSUMER, delivery_table

    written: list[tuple[int, int | None]] = []

    def store(channel: str, env: dict[str, Any], *, recorded: bool = True, received_at: datetime | None = None) -> Any:
        raw = json.dumps(env).encode()
        delivery_id = str(uuid.uuid4())
        ref = secret_ref("a" * 64)
        delivery = Delivery(env["hook"]["id"], ref)
        row = NewDelivery.from_envelope(
            channel, env, raw, delivery_id=delivery_id, outcome=OUTCOME_NO_CONSUMER, delivery=delivery,
            received_at=received_at,
        )  # fmt: skip
        with create_session() as session:
            result = insert_delivery(session, row)
            event_id = None
            if recorded:
                event = AssetEvent(asset_id=0, extra=build_event_extra(channel, env, delivery_id, ref=ref))
                session.add(event)
                session.flush()
                event_id = event.id
                assert mark_recorded(session, result.record.id, event_id)
            written.append((result.record.id, event_id))
        return result.record.id, delivery_id, event_id

    yield store
    with create_session() as session:
        ids = [row_id for row_id, _ in written]
        events = [event_id for _, event_id in written if event_id is not None]
        if ids:
            session.execute(delete(delivery_table).where(delivery_table.c.id.in_(ids)))
        if events:
            session.execute(delete(AssetEvent).where(AssetEvent.id.in_(events)))
