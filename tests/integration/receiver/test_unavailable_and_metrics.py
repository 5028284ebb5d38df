"""503 with Retry-After when the metadata DB fails, the per-process state cache, and the metrics, in the real app.

A database that is really cut is tested end to end in tests/e2e/receiver (a TCP proxy in front of
PostgreSQL); here the failure is an ``OperationalError`` raised where the driver would raise it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy.exc import OperationalError

from airflow_provider_dailybot.webhooks import metrics, receiver
from airflow_provider_dailybot.webhooks.channels import MetadataChannelStore, generate_secret
from tests.integration.conftest import add_channel_secret
from tests.integration.receiver.conftest import Channel, deliver, envelope, events, rows

pytestmark = pytest.mark.db


def connection_refused(*_args: Any, **_kwargs: Any) -> Any:
    raise OperationalError("SELECT 1", {}, Exception('connection to server at "127.0.0.1" failed: Connection refused'))


@pytest.fixture
def throttle(monkeypatch: pytest.MonkeyPatch) -> receiver._Throttle:
    fresh = receiver._Throttle(receiver.UNAVAILABLE_LOG_INTERVAL)
    monkeypatch.setattr(receiver, "_unavailable_log", fresh)
    return fresh


def _unavailable_logs(caplog: pytest.LogCaptureFixture) -> list[str]:
    """The receiver's "metadata database is unavailable" log lines."""
    return [r.getMessage() for r in caplog.records if "metadata database is unavailable" in r.getMessage()]


def test_a_failing_write_is_503_with_retry_after_and_records_nothing(
    client: Any,
    make_channel: Callable[..., Channel],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    throttle: receiver._Throttle,
) -> None:
    channel = make_channel("scheduled")
    monkeypatch.setattr(receiver, "record_delivery", connection_refused)
    monkeypatch.setenv("AIRFLOW__DAILYBOT__RECEIVER_RETRY_AFTER_SECONDS", "17")
    caplog.set_level(logging.INFO, logger=receiver.__name__)

    answers = [deliver(client, channel, envelope(n=i)) for i in range(3)]

    assert [a.status_code for a in answers] == [503] * 3
    assert {a.headers["retry-after"] for a in answers} == {"17"}
    assert answers[0].json() == {"detail": receiver._UNAVAILABLE}
    assert rows(channel) == []
    assert events(channel) == []
    logged = _unavailable_logs(caplog)
    assert len(logged) == 1  # throttled: one line a minute
    assert "Connection refused" in logged[0]  # the driver's first line says why
    assert "SELECT 1" not in logged[0]  # never the SQL
    assert "Is the database up" in logged[0]  # the generic hint: the table is there, the database is not
    assert "external_db_managers" not in logged[0]

    monkeypatch.undo()
    assert deliver(client, channel, envelope(n=9)).json()["outcome"] == "recorded"


def test_an_unreadable_state_is_503_not_401(
    client: Any, make_channel: Callable[..., Channel], monkeypatch: pytest.MonkeyPatch
) -> None:
    channel = make_channel("scheduled")
    # Airflow's Variable lookup logs a failing backend and answers None, as for an unknown Variable.
    monkeypatch.setattr(MetadataChannelStore, "load", lambda self, name: None)
    monkeypatch.setattr(receiver, "database_reachable", lambda: False)
    answer = deliver(client, channel, envelope())
    assert answer.status_code == 503
    assert "retry-after" in answer.headers

    monkeypatch.setattr(receiver, "database_reachable", lambda: True)  # the database answers: truly unknown
    assert deliver(client, channel, envelope()).status_code == 401


@pytest.mark.parametrize(
    "driver_says",
    ['relation "dailybot_delivery" does not exist', "no such table: dailybot_delivery"],
    ids=["postgresql", "sqlite"],
)
def test_the_table_not_migrated_yet_is_503_and_the_log_names_the_fix(
    client: Any,
    make_channel: Callable[..., Channel],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    throttle: receiver._Throttle,
    driver_says: str,
) -> None:
    from sqlalchemy.exc import ProgrammingError

    from airflow_provider_dailybot.store import DB_MANAGER

    def missing(*_args: Any, **_kwargs: Any) -> Any:
        raise ProgrammingError("INSERT", {}, Exception(driver_says))

    channel = make_channel("scheduled")
    monkeypatch.setattr(receiver, "record_delivery", missing)
    caplog.set_level(logging.INFO, logger=receiver.__name__)
    assert deliver(client, channel, envelope()).status_code == 503
    (logged,) = _unavailable_logs(caplog)
    # The forgotten Airflow 3.1 setting is named, with the value to set.
    assert f"external_db_managers = {DB_MANAGER}" in logged
    assert "airflow db migrate" in logged


@pytest.fixture
def state_reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    seen: list[str] = []
    original = MetadataChannelStore.load

    def counting(self: MetadataChannelStore, name: str) -> Any:
        seen.append(name)
        return original(self, name)

    monkeypatch.setattr(MetadataChannelStore, "load", counting)
    return seen


def test_secrets_are_checked_without_a_state_read_in_the_common_case(
    client: Any, make_channel: Callable[..., Channel], state_reads: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIRFLOW__DAILYBOT__RECEIVER_STATE_CACHE_SECONDS", "5")  # the default (the suite turns it off)
    channel = make_channel("scheduled")
    for i in range(5):
        assert deliver(client, channel, envelope(n=i)).status_code == 202
    wrong = generate_secret()
    for _ in range(5):
        assert deliver(client, channel, envelope(), bearer=wrong).status_code == 401
    assert state_reads == [channel.name, channel.name]  # one read to accept, one to refuse the wrong secret

    new = add_channel_secret(channel.name)
    assert deliver(client, channel, envelope(n=7), bearer=new).status_code == 202  # a new secret works at once


class StatsSpy:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str, tuple[Any, ...], dict[str, str]]] = []

    def incr(self, stat: str, *args: Any, tags: dict[str, str]) -> None:
        self.calls.append(("incr", stat, args, tags))

    def timing(self, stat: str, *args: Any, tags: dict[str, str]) -> None:
        self.calls.append(("timing", stat, args, tags))


@pytest.fixture
def stats(monkeypatch: pytest.MonkeyPatch) -> Iterator[StatsSpy]:
    spy = StatsSpy()
    monkeypatch.setattr(metrics, "_stats", lambda: spy)
    return spy


def test_outcomes_rejections_and_latency_are_counted(
    client: Any, make_channel: Callable[..., Channel], stats: StatsSpy, monkeypatch: pytest.MonkeyPatch
) -> None:
    consumed, unconsumed = make_channel("scheduled"), make_channel("none")
    deliver(client, consumed, envelope())
    deliver(client, consumed, envelope())
    deliver(client, unconsumed, envelope())
    deliver(client, consumed, envelope(), bearer="wrong")
    client.post(consumed.path, headers={"X-BEARER": consumed.secret}, content=b"{not json")
    monkeypatch.setenv("AIRFLOW__DAILYBOT__RECEIVER_MAX_BODY_BYTES", "10")
    deliver(client, consumed, envelope(n=5))

    tagged = [(s, t) for kind, s, _, t in stats.calls if kind == "incr" and t]
    assert (metrics.DELIVERIES, {"outcome": "recorded", "channel": consumed.name}) in tagged
    assert (metrics.DELIVERIES, {"outcome": "duplicate", "channel": consumed.name}) in tagged
    assert (metrics.DELIVERIES, {"outcome": "no_consumer", "channel": unconsumed.name}) in tagged
    assert [t["reason"] for s, t in tagged if s == metrics.REJECTED] == ["unauthorized", "invalid", "too_large"]
    plain = [s for kind, s, _, t in stats.calls if kind == "incr" and not t]
    assert plain.count(f"{metrics.DELIVERIES}.recorded") == 1
    assert plain.count(f"{metrics.REJECTED}.unauthorized") == 1
    timings = [(args, t) for kind, s, args, t in stats.calls if kind == "timing" and s == metrics.COMMIT_LATENCY]
    assert [t["outcome"] for _, t in timings] == ["recorded", "duplicate", "no_consumer"]
    assert all(isinstance(args[0], float) and args[0] >= 0 for args, _ in timings)
