"""The delivery store's queries on a migrated SQLite database (one file per test)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import event, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from airflow_provider_dailybot.store import deliveries as store
from airflow_provider_dailybot.store.models import OUTCOME_NO_CONSUMER, OUTCOME_RECORDED, delivery_table
from airflow_provider_dailybot.webhooks.asset_events import MAX_DELIVERIES_PER_EVENT, Delivery
from tests.unit.store.factories import migrated_engine, new_delivery, row_count

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)


@pytest.fixture
def engine(tmp_path):
    engine = migrated_engine(f"sqlite:///{tmp_path}/store.db")
    yield engine
    engine.dispose()


@pytest.fixture
def session(engine):
    with Session(engine) as session:
        yield session


def test_a_new_delivery_is_inserted_and_read_back_unchanged(session):
    row = new_delivery(1, outcome=OUTCOME_NO_CONSUMER, received_at=NOW)
    result = store.insert_delivery(session, row)
    session.commit()

    assert result.inserted
    assert not result.duplicate
    stored = store.get_delivery(session, row.delivery_id)
    assert stored == result.record
    assert stored.id == result.id
    assert (stored.channel, stored.dedupe_key, stored.event, stored.hook_id) == (
        "checkins",
        row.dedupe_key,
        "followups.response.completed",
        "hook-a",
    )
    assert stored.event_timestamp == "1700000001"
    assert stored.deliveries == (Delivery("hook-a", "ref-a"),)
    assert stored.received_at == NOW
    assert stored.payload is not None
    assert stored.payload_bytes == len(stored.payload.encode())
    assert stored.asset_event_id is None
    assert stored.recorded_at is None


def test_a_duplicate_inserts_nothing_and_returns_the_original(session, engine):
    first = store.insert_delivery(session, new_delivery(1, hook_id="hook-a"))
    session.commit()
    again = store.insert_delivery(session, new_delivery(1, hook_id="hook-b"))
    session.commit()

    assert again.duplicate
    assert again.record == first.record  # the original row, its delivery id and first hook
    assert row_count(engine) == 1


def test_the_same_event_on_another_channel_is_not_a_duplicate(session, engine):
    assert store.insert_delivery(session, new_delivery(1, channel="a")).inserted
    assert store.insert_delivery(session, new_delivery(1, channel="b")).inserted
    session.commit()
    assert row_count(engine) == 2


def test_a_reused_delivery_id_is_an_error_not_a_duplicate(session):
    store.insert_delivery(session, new_delivery(1, delivery_id="same-id"))
    with pytest.raises(IntegrityError):
        store.insert_delivery(session, new_delivery(2, delivery_id="same-id"))


def test_the_insert_is_one_statement_and_a_duplicate_one_more(session, engine):
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    store.insert_delivery(session, new_delivery(1))
    assert len(statements) == 1
    assert "ON CONFLICT (channel, dedupe_key) DO NOTHING RETURNING" in statements[0]
    store.insert_delivery(session, new_delivery(1))
    assert len(statements) == 3  # the conflicting insert, then the original read by its unique key


def test_add_delivery_hook_appends_a_new_pair_once(session):
    record = store.insert_delivery(session, new_delivery(1, hook_id="hook-a", secret_ref="ref-a")).record

    assert store.add_delivery_hook(session, record, Delivery("hook-b", "ref-b")) is True
    assert store.add_delivery_hook(session, record.id, Delivery("hook-b", "ref-b")) is False  # already there
    assert store.add_delivery_hook(session, record, Delivery("hook-a", "ref-a")) is False  # the first delivery
    assert store.add_delivery_hook(session, record, Delivery("hook-a", "ref-new")) is True  # rotated secret
    session.commit()

    assert store.get_delivery(session, record.delivery_id).deliveries == (
        Delivery("hook-a", "ref-a"),
        Delivery("hook-b", "ref-b"),
        Delivery("hook-a", "ref-new"),
    )


def test_add_delivery_hook_stops_at_the_per_event_bound(session):
    record = store.insert_delivery(session, new_delivery(1)).record
    for i in range(MAX_DELIVERIES_PER_EVENT - 1):
        assert store.add_delivery_hook(session, record, Delivery(f"hook-{i}", None))
    assert store.add_delivery_hook(session, record, Delivery("one-too-many", None)) is False
    assert len(store.get_delivery(session, record.delivery_id).deliveries) == MAX_DELIVERIES_PER_EVENT


def test_add_delivery_hook_on_a_purged_row_changes_nothing(session):
    assert store.add_delivery_hook(session, 12345, Delivery("hook-b", None)) is False


def test_mark_recorded_sets_the_asset_event_and_drops_the_payload_once(session):
    record = store.insert_delivery(session, new_delivery(1, outcome=OUTCOME_NO_CONSUMER)).record
    assert record.payload is not None

    assert store.mark_recorded(session, record.id, 42, recorded_at=NOW) is True
    assert store.mark_recorded(session, record.id, 43) is False  # a second replay records nothing
    assert store.mark_recorded(session, 999_999, 44) is False
    session.commit()

    stored = store.get_delivery(session, record.delivery_id)
    assert (stored.outcome, stored.asset_event_id, stored.recorded_at, stored.payload) == (
        OUTCOME_RECORDED,
        42,
        NOW,
        None,
    )
    assert stored.payload_bytes == record.payload_bytes


def _fill(session, count: int, **kwargs) -> list[int]:
    ids = [store.insert_delivery(session, new_delivery(n, **kwargs)).id for n in range(count)]
    session.commit()
    return ids


def test_list_deliveries_pages_newest_first_with_before_id(session):
    ids = _fill(session, 25)
    seen: list[int] = []
    before = None
    while page := store.list_deliveries(session, limit=10, before_id=before):
        seen.extend(r.id for r in page)
        before = page[-1].id
    assert seen == sorted(ids, reverse=True)


def test_list_deliveries_filters(session):
    for n in range(3):
        store.insert_delivery(session, new_delivery(n, channel="a", received_at=NOW - timedelta(hours=n)))
    store.insert_delivery(session, new_delivery(10, channel="b", event="kudos.posted", received_at=NOW))
    store.insert_delivery(session, new_delivery(11, channel="b", outcome=OUTCOME_NO_CONSUMER, received_at=NOW))
    session.commit()

    def hours(records):
        return sorted(int((NOW - r.received_at).total_seconds() // 3600) for r in records)

    assert {r.channel for r in store.list_deliveries(session, channel="a")} == {"a"}
    assert [r.event for r in store.list_deliveries(session, event="kudos.posted")] == ["kudos.posted"]
    assert [r.outcome for r in store.list_deliveries(session, outcome=OUTCOME_NO_CONSUMER)] == [OUTCOME_NO_CONSUMER]
    assert hours(store.list_deliveries(session, channel="a", since=NOW - timedelta(hours=1))) == [0, 1]
    assert hours(store.list_deliveries(session, channel="a", until=NOW - timedelta(hours=1))) == [2]
    assert store.list_deliveries(session, channel="nobody") == []


def test_list_deliveries_caps_the_limit(session):
    _fill(session, store.MAX_LIST_LIMIT + 5)
    assert len(store.list_deliveries(session, limit=10_000)) == store.MAX_LIST_LIMIT


@pytest.mark.parametrize(
    "kwargs",
    [
        {"limit": 0},
        {"limit": True},
        {"outcome": "duplicate"},
        {"since": datetime(2026, 1, 1)},  # naive: ambiguous
        {"until": "2026-01-01"},
    ],
)
def test_list_deliveries_refuses_bad_arguments(session, kwargs):
    with pytest.raises(ValueError):  # noqa: PT011 (the message is the argument's own)
        store.list_deliveries(session, **kwargs)


def test_deliveries_to_replay_returns_unrecorded_no_consumer_rows_oldest_first(session):
    recorded = store.insert_delivery(session, new_delivery(1, channel="a")).record
    waiting = [
        store.insert_delivery(session, new_delivery(n, channel="a", outcome=OUTCOME_NO_CONSUMER)) for n in (2, 3)
    ]
    other = store.insert_delivery(session, new_delivery(4, channel="b", outcome=OUTCOME_NO_CONSUMER)).record
    replayed = store.insert_delivery(session, new_delivery(5, channel="a", outcome=OUTCOME_NO_CONSUMER)).record
    store.mark_recorded(session, replayed.id, 7)
    session.commit()

    found = store.deliveries_to_replay(session, channel="a", limit=10)
    assert [r.id for r in found] == [w.id for w in waiting]
    assert all(r.payload is not None for r in found)
    assert [r.id for r in store.deliveries_to_replay(session, limit=1)] == [waiting[0].id]
    assert [r.id for r in store.deliveries_to_replay(session, ids=[other.id, recorded.id], limit=10)] == [other.id]
    by_delivery_id = store.deliveries_to_replay(session, delivery_ids=[waiting[1].record.delivery_id], limit=10)
    assert [r.id for r in by_delivery_id] == [waiting[1].id]


def test_deliveries_to_replay_filters_by_time(session):
    old = store.insert_delivery(
        session, new_delivery(1, outcome=OUTCOME_NO_CONSUMER, received_at=NOW - timedelta(days=2))
    ).record
    new = store.insert_delivery(session, new_delivery(2, outcome=OUTCOME_NO_CONSUMER, received_at=NOW)).record
    session.commit()
    assert [r.id for r in store.deliveries_to_replay(session, until=NOW - timedelta(days=1), limit=10)] == [old.id]
    assert [r.id for r in store.deliveries_to_replay(session, since=NOW - timedelta(days=1), limit=10)] == [new.id]


def _received(engine) -> list[datetime]:
    with engine.connect() as connection:
        return sorted(connection.execute(select(delivery_table.c.received_at)).scalars())


def test_purge_deletes_what_is_older_than_the_cutoff_in_committed_batches(session, engine):
    for n in range(25):
        store.insert_delivery(session, new_delivery(n, received_at=NOW - timedelta(days=40, minutes=n)))
    for n in range(100, 105):
        store.insert_delivery(session, new_delivery(n, received_at=NOW - timedelta(days=1)))
    session.commit()
    commits: list[int] = []
    deletes: list[int] = []
    event.listen(session, "after_commit", lambda _session: commits.append(len(deletes)))
    event.listen(
        engine,
        "before_cursor_execute",
        lambda _conn, _cursor, sql, params, *_: deletes.append(len(params)) if sql.startswith("DELETE") else None,
    )

    assert store.purge_older_than(session, NOW - timedelta(days=30), batch_size=10) == 25

    assert deletes == [10, 10, 5]  # never more than batch_size rows in one statement
    assert commits == [1, 2, 3]  # each batch committed before the next one starts
    assert _received(engine) == [NOW - timedelta(days=1)] * 5


def test_purge_of_an_exact_multiple_and_of_nothing(session, engine):
    for n in range(20):
        store.insert_delivery(session, new_delivery(n, received_at=NOW - timedelta(days=40)))
    session.commit()
    cutoff = NOW - timedelta(days=30)
    assert store.count_older_than(session, cutoff) == 20
    assert store.purge_older_than(session, cutoff, batch_size=10) == 20
    assert store.purge_older_than(session, cutoff, batch_size=10) == 0
    assert row_count(engine) == 0


def test_a_purged_delivery_is_no_longer_a_duplicate(session):
    store.insert_delivery(session, new_delivery(1, received_at=NOW - timedelta(days=40)))
    session.commit()
    store.purge_older_than(session, NOW - timedelta(days=30))
    assert store.insert_delivery(session, new_delivery(1)).inserted


@pytest.mark.parametrize("batch_size", [0, -1, store.MAX_PURGE_BATCH_SIZE + 1, True])
def test_purge_refuses_unbounded_batches(session, batch_size):
    with pytest.raises(ValueError, match="batch_size"):
        store.purge_older_than(session, NOW, batch_size=batch_size)


def test_purge_refuses_a_naive_cutoff(session):
    with pytest.raises(ValueError, match="timezone-aware"):
        store.purge_older_than(session, datetime(2026, 1, 1))
