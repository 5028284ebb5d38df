"""Backfill delivery rows from the asset events a 0.1 receiver recorded within the dedupe window.

The 0.1 receiver detected a duplicate by scanning the channel's asset events of the last
``[dailybot] receiver_dedupe_window_seconds`` for the same ``extra["dedupe_key"]``. From 0.2 on the
delivery table's unique key decides, so without this step a delivery recorded by 0.1 just before the
upgrade and repeated just after it would be recorded twice. One row per (channel, dedupe key) is
written for the events of ``dailybot://webhooks/<channel>`` assets received within the window (the
oldest event wins, as the 0.1 receiver's lookup did), with outcome ``recorded`` and the asset event's
id. The body stays in the asset event; ``payload_bytes`` is its re-serialised size, since 0.1 did not
keep the bytes as received. Events that are not a receiver's (no delivery id, dedupe key or event
name of the expected shape) are skipped. A window of 0 (detection off) backfills nothing.

Runs again harmlessly: keys already in the table are left alone. Skipped in offline (``--sql``) mode,
which cannot read the events. The downgrade does nothing (downgrading past the first revision drops
the table).

Revision ID: cd56a870255b
Revises: 157831795759
Create Date: 2026-12-01 00:00:01.000000
"""

from __future__ import annotations

import json
import logging
import re
from datetime import datetime, timedelta, timezone
from typing import Any

import sqlalchemy as sa
from airflow.utils.sqlalchemy import UtcDateTime
from alembic import op

from airflow_provider_dailybot.store.models import configured_schema
from airflow_provider_dailybot.store.records import timestamp_text
from airflow_provider_dailybot.webhooks.asset_events import (
    DEDUPE_KEY,
    DELIVERY_ID_KEY,
    EVENT_KEY,
    EVENT_TIMESTAMP_KEY,
    MAX_DELIVERIES_PER_EVENT,
    event_deliveries,
    event_hook_id,
)
from airflow_provider_dailybot.webhooks.assets import ASSET_URI_PREFIX, is_valid_channel_name
from airflow_provider_dailybot.webhooks.config import receiver_dedupe_window_seconds

revision = "cd56a870255b"
down_revision = "157831795759"
branch_labels = None
depends_on = None
#: The provider release that ships this revision.
dailybot_version = "0.2.0"

SCHEMA = configured_schema()
#: Asset events read (and rows written) per round trip.
BATCH_SIZE = 1000

log = logging.getLogger("airflow_provider_dailybot.store.migrations")

_HEX64 = re.compile(r"[0-9a-f]{64}")
_EVENT_NAME = re.compile(r"[A-Za-z0-9_.\-]{1,128}")

_asset = sa.table("asset", sa.column("id", sa.Integer), sa.column("uri", sa.String), schema=SCHEMA)
_asset_event = sa.table(
    "asset_event",
    sa.column("id", sa.Integer),
    sa.column("asset_id", sa.Integer),
    sa.column("extra", sa.JSON),
    sa.column("timestamp", UtcDateTime),
    schema=SCHEMA,
)
_delivery = sa.table(
    "dailybot_delivery",
    sa.column("delivery_id", sa.String),
    sa.column("channel", sa.String),
    sa.column("dedupe_key", sa.String),
    sa.column("event", sa.String),
    sa.column("event_timestamp", sa.String),
    sa.column("hook_id", sa.String),
    sa.column("deliveries", sa.JSON),
    sa.column("received_at", UtcDateTime),
    sa.column("outcome", sa.String),
    sa.column("asset_event_id", sa.Integer),
    sa.column("recorded_at", UtcDateTime),
    sa.column("payload", sa.Text),
    sa.column("payload_bytes", sa.Integer),
    schema=SCHEMA,
)


def _row_of(event_id: int, uri: str, extra: Any, timestamp: datetime) -> dict[str, Any] | None:
    """Return the delivery row of a 0.1 receiver's asset event, or None when it is not one."""
    if isinstance(extra, str):
        try:
            extra = json.loads(extra)
        except ValueError:
            return None
    channel = uri[len(ASSET_URI_PREFIX) :]
    if not isinstance(extra, dict) or not is_valid_channel_name(channel):
        return None
    dedupe_key, delivery_id, event = extra.get(DEDUPE_KEY), extra.get(DELIVERY_ID_KEY), extra.get(EVENT_KEY)
    if not (isinstance(dedupe_key, str) and _HEX64.fullmatch(dedupe_key)):
        return None
    if not (isinstance(delivery_id, str) and 0 < len(delivery_id) <= 36):
        return None
    if not (isinstance(event, str) and _EVENT_NAME.fullmatch(event)):
        return None
    stamp = extra.get(EVENT_TIMESTAMP_KEY)
    stamp_text = timestamp_text(stamp) if isinstance(stamp, (str, int, float)) and not isinstance(stamp, bool) else None
    hook_id = event_hook_id(extra)
    body = json.dumps(extra.get("body"), separators=(",", ":"), ensure_ascii=False)
    return {
        "delivery_id": delivery_id,
        "channel": channel,
        "dedupe_key": dedupe_key,
        "event": event,
        "event_timestamp": stamp_text if stamp_text is not None and len(stamp_text) <= 64 else None,
        "hook_id": hook_id if hook_id is not None and len(hook_id) <= 256 else None,
        "deliveries": [d.to_dict() for d in event_deliveries(extra)][:MAX_DELIVERIES_PER_EVENT],
        "received_at": timestamp,
        "outcome": "recorded",
        "asset_event_id": event_id,
        "recorded_at": timestamp,
        "payload": None,
        "payload_bytes": len(body.encode("utf-8")),
    }


def upgrade() -> None:
    """Write a row for each (channel, dedupe key) of the receiver's asset events within the window."""
    if op.get_context().as_sql:
        log.warning("Offline mode: the DailyBot deliveries of the dedupe window are not backfilled")
        return
    window = receiver_dedupe_window_seconds()
    bind = op.get_bind()
    if window == 0 or not sa.inspect(bind).has_table("asset_event", schema=SCHEMA):
        return
    cutoff = datetime.now(tz=timezone.utc) - timedelta(seconds=window)
    written = skipped = 0
    last_id = 0
    while True:
        events = bind.execute(
            sa.select(_asset_event.c.id, _asset.c.uri, _asset_event.c.extra, _asset_event.c.timestamp)
            .join(_asset, _asset.c.id == _asset_event.c.asset_id)
            .where(
                _asset.c.uri.like(ASSET_URI_PREFIX + "%"),
                _asset_event.c.timestamp >= cutoff,
                _asset_event.c.id > last_id,
            )
            .order_by(_asset_event.c.id)
            .limit(BATCH_SIZE)
        ).all()
        if not events:
            break
        last_id = events[-1].id
        rows: dict[tuple[str, str], dict[str, Any]] = {}
        for event in events:
            row = _row_of(event.id, event.uri, event.extra, event.timestamp)
            if row is None:
                skipped += 1
            else:
                rows.setdefault((row["channel"], row["dedupe_key"]), row)
        if not rows:
            continue
        stored = bind.execute(
            sa.select(_delivery.c.channel, _delivery.c.dedupe_key).where(
                _delivery.c.dedupe_key.in_(sorted({key for _, key in rows}))
            )
        ).all()
        for pair in stored:
            rows.pop((pair.channel, pair.dedupe_key), None)
        if rows:
            bind.execute(_delivery.insert(), list(rows.values()))
            written += len(rows)
    log.info(
        "Backfilled %d DailyBot deliveries of the last %d s (%d other asset events skipped)", written, window, skipped
    )


def downgrade() -> None:
    """Nothing to undo: the rows go with the table when the first revision is downgraded."""
