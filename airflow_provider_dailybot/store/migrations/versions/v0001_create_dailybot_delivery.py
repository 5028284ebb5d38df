"""Create the delivery table ``dailybot_delivery``.

Revision ID: 157831795759
Revises:
Create Date: 2026-12-01 00:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

from airflow_provider_dailybot.store.models import configured_schema

revision = "157831795759"
down_revision = None
branch_labels = None
depends_on = None
#: The provider release that ships this revision.
dailybot_version = "0.2.0"

TABLE = "dailybot_delivery"
SCHEMA = configured_schema()
# The column type of Airflow's UtcDateTime: TIMESTAMP WITH TIME ZONE, with microseconds on MySQL.
_UTC_DATETIME = sa.TIMESTAMP(timezone=True).with_variant(mysql.TIMESTAMP(fsp=6), "mysql")


def upgrade() -> None:
    """Create the table with its unique constraints and indexes."""
    op.create_table(
        TABLE,
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("delivery_id", sa.String(length=36), nullable=False),
        sa.Column("channel", sa.String(length=64), nullable=False),
        sa.Column("dedupe_key", sa.String(length=64), nullable=False),
        sa.Column("event", sa.String(length=128), nullable=False),
        sa.Column("event_timestamp", sa.String(length=64), nullable=True),
        sa.Column("hook_id", sa.String(length=256), nullable=True),
        sa.Column("deliveries", sa.JSON(), nullable=False),
        sa.Column("received_at", _UTC_DATETIME, nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("asset_event_id", sa.Integer(), nullable=True),
        sa.Column("recorded_at", _UTC_DATETIME, nullable=True),
        sa.Column("payload", sa.Text().with_variant(mysql.LONGTEXT(), "mysql"), nullable=True),
        sa.Column("payload_bytes", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="dailybot_delivery_pkey"),
        sa.UniqueConstraint("delivery_id", name="dailybot_delivery_delivery_id_uq"),
        sa.UniqueConstraint("channel", "dedupe_key", name="dailybot_delivery_channel_dedupe_uq"),
        schema=SCHEMA,
        sqlite_autoincrement=True,
    )
    op.create_index("idx_dailybot_delivery_channel_received_at", TABLE, ["channel", "received_at"], schema=SCHEMA)
    op.create_index("idx_dailybot_delivery_received_at", TABLE, ["received_at"], schema=SCHEMA)
    op.create_index("idx_dailybot_delivery_outcome_channel", TABLE, ["outcome", "channel"], schema=SCHEMA)


def downgrade() -> None:
    """Drop the table (and with it every stored delivery)."""
    op.drop_table(TABLE, schema=SCHEMA)
