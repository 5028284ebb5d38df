"""Concurrent writers of one key on PostgreSQL (and MySQL when there): one insert wins, nothing is lost.

Each thread has its own connection, as api-server workers and replicas do; the database, not Python,
decides who wins.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import Engine, event, text
from sqlalchemy.orm import Session

from airflow_provider_dailybot.store import deliveries as store
from airflow_provider_dailybot.store.models import OUTCOME_NO_CONSUMER
from airflow_provider_dailybot.webhooks.asset_events import Delivery
from tests.unit.store.factories import migrated_engine, new_delivery, row_count

pytestmark = pytest.mark.db
WRITERS = 8
# Bounds of the waits below: reached only when something is broken, never measured.
WAIT_SECONDS = 30


@pytest.fixture
def pg_engine(postgres_url: str) -> Iterator[Engine]:
    engine = migrated_engine(postgres_url, pool_size=WRITERS + 2)
    yield engine
    engine.dispose()


@pytest.fixture(params=["postgresql", "mysql"])
def engine(request: pytest.FixtureRequest) -> Iterator[Engine]:
    if request.param == "postgresql":
        yield request.getfixturevalue("pg_engine")
        return
    engine = migrated_engine(request.getfixturevalue("mysql_url"), pool_size=WRITERS + 2)
    yield engine
    engine.dispose()


def _race(engine: Engine, count: int, work: Callable[[Session, int], Any]) -> list[Any]:
    """Run ``work(session, i)`` in ``count`` threads released at once, each committing its own session."""
    barrier = threading.Barrier(count)

    def one(i: int) -> Any:
        with Session(engine) as session:
            barrier.wait(timeout=WAIT_SECONDS)
            result = work(session, i)
            session.commit()
            return result

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(one, range(count), timeout=WAIT_SECONDS * 2))


@pytest.mark.postgres
def test_writers_racing_one_key_get_one_winner_and_the_same_row(engine):
    for key in range(10):
        results = _race(
            engine,
            WRITERS,
            lambda session, i, key=key: store.insert_delivery(session, new_delivery(key, hook_id=f"h{i}")),
        )
        winners = [r for r in results if r.inserted]
        assert len(winners) == 1
        assert {r.id for r in results} == {winners[0].id}
        assert {r.record.delivery_id for r in results} == {winners[0].record.delivery_id}
    assert row_count(engine) == 10


@pytest.mark.postgres
def test_duplicates_racing_to_add_their_hooks_lose_none(engine):
    with Session(engine) as session:
        original = store.insert_delivery(session, new_delivery(1, hook_id="first", secret_ref="r0")).record
        session.commit()

    def duplicate(session: Session, i: int) -> bool:
        found = store.insert_delivery(session, new_delivery(1, hook_id=f"hook-{i}", secret_ref=f"r{i}"))
        return store.add_delivery_hook(session, found.record, Delivery(f"hook-{i}", f"r{i}"))

    assert _race(engine, WRITERS, duplicate) == [True] * WRITERS
    with Session(engine) as session:
        hooks = [d.hook_id for d in store.get_delivery(session, original.delivery_id).deliveries]
    assert hooks[0] == "first"
    assert sorted(hooks[1:]) == sorted(f"hook-{i}" for i in range(WRITERS))


def _wait_until_blocked(engine: Engine, pid: int) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    with engine.connect() as probe:
        while time.monotonic() < deadline:
            waiting = probe.execute(
                text("SELECT wait_event_type FROM pg_stat_activity WHERE pid = :pid"), {"pid": pid}
            ).scalar()
            if waiting == "Lock":
                return
            probe.rollback()
            time.sleep(0.05)
    raise AssertionError("the second insert never waited for the first transaction")


@pytest.mark.postgres
@pytest.mark.parametrize("first_commits", [True, False], ids=["first-commits", "first-rolls-back"])
def test_an_insert_waits_for_an_uncommitted_one_of_the_same_key(pg_engine, first_commits):
    first = Session(pg_engine)
    won = store.insert_delivery(first, new_delivery(1, hook_id="first"))
    assert won.inserted
    second = Session(pg_engine)
    pid = second.execute(text("SELECT pg_backend_pid()")).scalar_one()
    with ThreadPoolExecutor(1) as pool:
        pending = pool.submit(store.insert_delivery, second, new_delivery(1, hook_id="second"))
        _wait_until_blocked(pg_engine, pid)
        assert not pending.done()
        first.commit() if first_commits else first.rollback()
        result = pending.result(timeout=WAIT_SECONDS)
    second.commit()
    first.close()
    second.close()

    if first_commits:
        assert result.duplicate
        assert result.record.delivery_id == won.record.delivery_id
    else:
        assert result.inserted
        assert result.record.hook_id == "second"
    assert row_count(pg_engine) == 1


@pytest.mark.postgres
def test_two_replays_at_once_take_disjoint_rows(pg_engine):
    with Session(pg_engine) as session:
        for n in range(10):
            store.insert_delivery(session, new_delivery(n, outcome=OUTCOME_NO_CONSUMER))
        session.commit()
    with Session(pg_engine) as one, Session(pg_engine) as two:
        first = store.deliveries_to_replay(one, limit=6)
        second = store.deliveries_to_replay(two, limit=6)  # skips the rows the first replay holds
        assert len(first) == 6
        assert len(second) == 4
        assert not {r.id for r in first} & {r.id for r in second}
        for record in first:
            assert store.mark_recorded(one, record.id, 1000 + record.id)
        one.commit()
        two.rollback()
    with Session(pg_engine) as session:
        assert len(store.deliveries_to_replay(session, limit=10)) == 4


@pytest.mark.postgres
def test_a_purge_batch_locks_only_its_own_rows(pg_engine):
    now = datetime.now(tz=timezone.utc)
    with Session(pg_engine) as session:
        for n in range(30):
            store.insert_delivery(session, new_delivery(n, received_at=now - timedelta(days=40)))
        recent = store.insert_delivery(session, new_delivery(100, received_at=now)).record
        session.commit()
    during_batch: list[str] = []

    def after_delete(conn, _cursor, statement, *_args) -> None:
        if not statement.startswith("DELETE") or during_batch:
            return
        # The first batch is deleted but not committed: other writers must not wait for it.
        with pg_engine.connect() as other:
            other.execute(text("SET lock_timeout = '5s'"))  # fail rather than wait for the purge
            other.commit()
            with Session(bind=other) as writer:
                assert store.insert_delivery(writer, new_delivery(200, received_at=now)).inserted
                assert store.add_delivery_hook(writer, recent, Delivery("hook-late", None))
                writer.commit()
        during_batch.append("wrote")

    event.listen(pg_engine, "after_cursor_execute", after_delete)
    try:
        with Session(pg_engine) as session:
            assert store.purge_older_than(session, now - timedelta(days=30), batch_size=10) == 30
    finally:
        event.remove(pg_engine, "after_cursor_execute", after_delete)
    assert during_batch == ["wrote"]
    assert row_count(pg_engine) == 2
    with Session(pg_engine) as session:
        assert [d.hook_id for d in store.get_delivery(session, recent.delivery_id).deliveries] == [
            "hook-a",
            "hook-late",
        ]
