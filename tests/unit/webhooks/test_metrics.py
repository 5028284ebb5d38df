"""The receiver's metrics: documented names, tag-less twins for plain StatsD, and a backend that cannot hurt."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from airflow_provider_dailybot.webhooks import metrics


class _Recorder:
    """Stands in for Airflow's ``Stats``: records every call."""

    def __init__(self, fail: bool = False) -> None:
        self.calls: list[tuple[str, str, tuple[Any, ...], dict[str, str]]] = []
        self.fail = fail

    def __getattr__(self, method: str) -> Any:
        def call(stat: str, *args: Any, tags: dict[str, str] | None = None) -> None:
            if self.fail:
                raise OSError("statsd is unreachable")
            self.calls.append((method, stat, args, dict(tags or {})))

        return call


@pytest.fixture
def stats(monkeypatch: pytest.MonkeyPatch) -> _Recorder:
    recorder = _Recorder()
    monkeypatch.setattr(metrics, "_stats", lambda: recorder)
    return recorder


def test_every_name_is_under_the_provider_prefix_and_documented():
    names = (metrics.DELIVERIES, metrics.REJECTED, metrics.COMMIT_LATENCY, metrics.REPLAYED, metrics.PURGED)
    for name in names:
        assert name.startswith("dailybot.")
        assert f"``{name}``" in (metrics.__doc__ or "")


def test_a_delivery_is_counted_with_tags_and_under_its_outcome_s_own_name(stats: _Recorder):
    metrics.delivery(metrics.OUTCOME_NO_CONSUMER, "checkins")
    assert stats.calls == [
        ("incr", "dailybot.receiver.deliveries", (), {"outcome": "no_consumer", "channel": "checkins"}),
        ("incr", "dailybot.receiver.deliveries.no_consumer", (), {}),
    ]


def test_a_rejection_carries_its_reason_and_no_channel(stats: _Recorder):
    metrics.rejected(metrics.REASON_UNAUTHORIZED)
    assert stats.calls == [
        ("incr", "dailybot.receiver.rejected", (), {"reason": "unauthorized"}),
        ("incr", "dailybot.receiver.rejected.unauthorized", (), {}),
    ]


def test_tag_values_come_from_fixed_sets(stats: _Recorder):
    with pytest.raises(ValueError, match="unknown outcome"):
        metrics.delivery("<script>", "checkins")
    with pytest.raises(ValueError, match="unknown reason"):
        metrics.rejected("whatever")
    assert stats.calls == []


def test_commit_latency_is_a_timing_in_milliseconds(stats: _Recorder, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(metrics, "perf_counter", lambda: 12.5)
    metrics.commit_latency(12.25, metrics.OUTCOME_RECORDED, "checkins")
    assert stats.calls == [
        ("timing", "dailybot.receiver.commit_latency", (250.0,), {"outcome": "recorded", "channel": "checkins"})
    ]


def test_replays_and_purges_count_rows_and_zero_is_not_sent(stats: _Recorder):
    metrics.replayed("checkins", 3)
    metrics.purged(1000)
    metrics.replayed("checkins", 0)
    metrics.purged(0)
    assert stats.calls == [
        ("incr", "dailybot.receiver.replayed", (3,), {"channel": "checkins"}),
        ("incr", "dailybot.store.purged", (1000,), {}),
    ]


def test_a_failing_backend_never_fails_the_caller_and_is_logged_once_per_name(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
):
    monkeypatch.setattr(metrics, "_stats", lambda: _Recorder(fail=True))
    monkeypatch.setattr(metrics, "_failed", set())
    with caplog.at_level(logging.WARNING, logger=metrics.__name__):
        for _ in range(3):
            metrics.rejected(metrics.REASON_TOO_LARGE)
    warned = [r.getMessage() for r in caplog.records]
    assert warned == [
        "Could not emit the metric dailybot.receiver.rejected; further failures of it are not logged",
        "Could not emit the metric dailybot.receiver.rejected.too_large; further failures of it are not logged",
    ]


def test_the_stats_used_is_the_one_the_api_server_initialises():
    metrics._stats.cache_clear()
    try:
        used = metrics._stats()
    finally:
        metrics._stats.cache_clear()
    try:
        from airflow.observability.stats import Stats  # Airflow 3.2+: initialised by the api-server's lifespan
    except ImportError:
        from airflow.stats import Stats  # Airflow 3.1
    assert used is Stats
    metrics.delivery(metrics.OUTCOME_RECORDED, "checkins")  # the real (no-op by default) backend accepts it
    metrics.commit_latency(0.0, metrics.OUTCOME_RECORDED, "checkins")
