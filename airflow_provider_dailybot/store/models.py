"""The delivery table, ``dailybot_delivery``, on a ``MetaData`` of its own.

One row per authenticated delivery (a *duplicate* gets no row: it is folded into the original's
``deliveries`` list). The receiver writes the row in the transaction that records the asset event, so
the two never disagree; only the api-server and the ``airflow`` CLI write it (tasks have no database
access in Airflow 3).

Columns:

``id``
    Primary key (BigInteger; Integer on SQLite, with ``AUTOINCREMENT`` so an id is never reused after a
    purge). Keyset pagination walks it.
``delivery_id``
    The receiver-assigned uuid4 string, unique; the same as the asset event's ``extra["delivery_id"]``.
``channel``, ``dedupe_key``
    The channel name and :func:`~airflow_provider_dailybot.webhooks.asset_events.delivery_dedupe_key`
    of the envelope. ``UNIQUE(channel, dedupe_key)`` (:data:`DEDUPE_CONSTRAINT`) *is* the duplicate
    detection: one indexed insert, exact for as long as the row is kept, the same answer for every
    api-server worker and replica.
``event``, ``event_timestamp``, ``hook_id``
    DailyBot's event name, its event timestamp as received (text), the hook id of the first delivery.
``deliveries``
    JSON list of :meth:`Delivery.to_dict() <airflow_provider_dailybot.webhooks.asset_events.Delivery.to_dict>`
    of every subscription that delivered the event (at most ``MAX_DELIVERIES_PER_EVENT``).
``received_at``
    First receipt (UTC).
``outcome``
    :data:`OUTCOME_RECORDED` (an asset event holds it) or :data:`OUTCOME_NO_CONSUMER` (no DAG declared
    the channel's asset: kept, with its payload, for a later replay).
``asset_event_id``, ``recorded_at``
    The asset event's id and when it was written (``received_at`` unless replayed later). No foreign
    key: Airflow's ``airflow db clean`` may delete asset events while the delivery row stays.
``payload``, ``payload_bytes``
    The raw JSON body while the outcome is "no consumer" (a replay needs it); ``NULL`` once recorded,
    since the asset event's extra then holds the body (one copy, not two). ``payload_bytes`` is the
    body's size either way.

Indexes: ``(channel, received_at)`` for the delivery log, ``(received_at)`` for the purge,
``(outcome, channel)`` for replays. The metadata uses Airflow's naming convention and
``[database] sql_alchemy_schema``, but is not Airflow's ``Base.metadata``: Airflow's own migrations and
``airflow db reset`` leave the table to :class:`~airflow_provider_dailybot.store.db_manager.DailyBotDBManager`.
"""

from __future__ import annotations

from airflow.models.base import naming_convention
from airflow.utils.sqlalchemy import UtcDateTime
from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects import mysql

#: Name of the delivery table.
TABLE_NAME = "dailybot_delivery"
#: Alembic version table of the store (Airflow's own is ``alembic_version``).
VERSION_TABLE_NAME = "alembic_version_dailybot"
#: Name of the unique constraint on ``(channel, dedupe_key)``.
DEDUPE_CONSTRAINT = "dailybot_delivery_channel_dedupe_uq"

#: Outcome of a delivery recorded as an asset event.
OUTCOME_RECORDED = "recorded"
#: Outcome of a delivery stored while no DAG declared the channel's asset (replayable).
OUTCOME_NO_CONSUMER = "no_consumer"
#: Every outcome a row can have.
OUTCOMES = frozenset({OUTCOME_RECORDED, OUTCOME_NO_CONSUMER})

#: Column sizes, checked by :class:`~airflow_provider_dailybot.store.records.NewDelivery` before an insert.
DELIVERY_ID_LENGTH = 36
CHANNEL_LENGTH = 64
DEDUPE_KEY_LENGTH = 64
EVENT_LENGTH = 128
EVENT_TIMESTAMP_LENGTH = 64
HOOK_ID_LENGTH = 256
OUTCOME_LENGTH = 16


def configured_schema() -> str | None:
    """Return ``[database] sql_alchemy_schema`` (the schema of Airflow's tables and of ours), or None."""
    from airflow.configuration import conf

    schema = conf.get("database", "sql_alchemy_schema", fallback="") or ""
    return schema.strip() or None


metadata = MetaData(schema=configured_schema(), naming_convention=naming_convention)

delivery_table = Table(
    TABLE_NAME,
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("delivery_id", String(DELIVERY_ID_LENGTH), nullable=False),
    Column("channel", String(CHANNEL_LENGTH), nullable=False),
    Column("dedupe_key", String(DEDUPE_KEY_LENGTH), nullable=False),
    Column("event", String(EVENT_LENGTH), nullable=False),
    Column("event_timestamp", String(EVENT_TIMESTAMP_LENGTH), nullable=True),
    Column("hook_id", String(HOOK_ID_LENGTH), nullable=True),
    Column("deliveries", JSON, nullable=False),
    Column("received_at", UtcDateTime, nullable=False),
    Column("outcome", String(OUTCOME_LENGTH), nullable=False),
    Column("asset_event_id", Integer, nullable=True),
    Column("recorded_at", UtcDateTime, nullable=True),
    # MySQL's TEXT holds 64 KiB; a body may be up to [dailybot] receiver_max_body_bytes (1 MiB by default).
    Column("payload", Text().with_variant(mysql.LONGTEXT(), "mysql"), nullable=True),
    Column("payload_bytes", Integer, nullable=False),
    UniqueConstraint("delivery_id", name="dailybot_delivery_delivery_id_uq"),
    UniqueConstraint("channel", "dedupe_key", name=DEDUPE_CONSTRAINT),
    Index("idx_dailybot_delivery_channel_received_at", "channel", "received_at"),
    Index("idx_dailybot_delivery_received_at", "received_at"),
    Index("idx_dailybot_delivery_outcome_channel", "outcome", "channel"),
    sqlite_autoincrement=True,
)
