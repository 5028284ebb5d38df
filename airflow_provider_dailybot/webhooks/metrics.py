"""The receiver's metrics: their names, and one small wrapper around Airflow's ``Stats``.

Metrics go wherever the deployment sends Airflow's own (``[metrics] statsd_on``, ``otel_on``, the
Datadog flavour of StatsD, or nowhere: Airflow's no-op logger by default). They are emitted by the
api-server process that handled the delivery; ``[metrics] metrics_allow_list`` /
``metrics_block_list`` apply to them as to Airflow's (prefix ``dailybot.``), and StatsD adds
``[metrics] statsd_prefix`` (default ``airflow``) in front.

Every counter is emitted twice: once under a fixed name with tags (for OpenTelemetry and tag-aware
StatsD such as Datadog), once with the tag value in the name (plain StatsD drops tags). Tag values
come from fixed sets below, never from request data; the only free-form tag is ``channel``, which
is set only on authenticated deliveries (channel names are ``[a-z0-9_-]{1,64}`` and configured by the
operator, so its cardinality is the number of channels).

=========================================== ======= ===============================================
Name                                        Type    Meaning
=========================================== ======= ===============================================
``dailybot.receiver.deliveries``            counter An authenticated delivery was answered; tags
                                                    ``outcome`` (:data:`OUTCOMES`), ``channel``.
``dailybot.receiver.deliveries.<outcome>``  counter The same, tag-less.
``dailybot.receiver.rejected``              counter A request was refused; tag ``reason``
                                                    (:data:`REJECT_REASONS`).
``dailybot.receiver.rejected.<reason>``     counter The same, tag-less.
``dailybot.receiver.commit_latency``        timer   From the request's arrival to the commit of
                                                    its delivery row (ms); tags ``outcome``,
                                                    ``channel``.
``dailybot.receiver.replayed``              counter ``airflow dailybot deliveries replay`` recorded
                                                    a stored delivery; tag ``channel``.
``dailybot.store.purged``                   counter Rows deleted by ``deliveries purge``.
=========================================== ======= ===============================================

Which ``Stats``: on Airflow 3.2+ the api-server initialises the core singleton
``airflow.observability.stats`` at start-up (``airflow.api_fastapi.app._initialize_api_server_stats``);
the Task SDK has a separate copy (``airflow.sdk.observability.stats``) that the api-server never
initialises, so this module uses the core one. Airflow 3.1 has only ``airflow.stats.Stats``, which
configures itself from ``[metrics]`` on first use. A metrics backend that fails never fails a
delivery: errors are logged once per metric name and swallowed.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from functools import cache
from time import perf_counter
from typing import Any

log = logging.getLogger(__name__)

#: Prefix of every metric of this provider.
PREFIX = "dailybot"
#: Counter of answered authenticated deliveries (tags ``outcome``, ``channel``).
DELIVERIES = f"{PREFIX}.receiver.deliveries"
#: Counter of refused requests (tag ``reason``).
REJECTED = f"{PREFIX}.receiver.rejected"
#: Timer from a request's arrival to the commit of its delivery row, in milliseconds.
COMMIT_LATENCY = f"{PREFIX}.receiver.commit_latency"
#: Counter of stored deliveries recorded as asset events by a replay (tag ``channel``).
REPLAYED = f"{PREFIX}.receiver.replayed"
#: Counter of delivery rows deleted by a purge.
PURGED = f"{PREFIX}.store.purged"

#: Outcome of an authenticated delivery: recorded as an asset event, a duplicate of a stored one, or
#: stored without an asset event because no DAG consumes the channel's asset.
OUTCOME_RECORDED = "recorded"
OUTCOME_DUPLICATE = "duplicate"
OUTCOME_NO_CONSUMER = "no_consumer"
OUTCOMES = (OUTCOME_RECORDED, OUTCOME_DUPLICATE, OUTCOME_NO_CONSUMER)

#: Why a request was refused: missing/wrong secret or unknown channel (401), body over the limit
#: (413), not a DailyBot envelope or a bad ``Content-Length`` (400), client gone before the body
#: arrived, body not arrived within ``[dailybot] receiver_body_timeout_seconds`` (408), metadata
#: database unreachable (503).
REASON_UNAUTHORIZED = "unauthorized"
REASON_TOO_LARGE = "too_large"
REASON_INVALID = "invalid"
REASON_DISCONNECTED = "disconnected"
REASON_SLOW_BODY = "slow_body"
REASON_UNAVAILABLE = "unavailable"
REJECT_REASONS = (
    REASON_UNAUTHORIZED,
    REASON_TOO_LARGE,
    REASON_INVALID,
    REASON_DISCONNECTED,
    REASON_SLOW_BODY,
    REASON_UNAVAILABLE,
)

_failed: set[str] = set()


@cache
def _stats() -> Any:
    """Return the ``Stats`` the api-server initialises (see the module docstring)."""
    try:  # Airflow 3.2+: the core singleton, initialised by the api-server's lifespan.
        from airflow.observability.stats import Stats
    except ImportError:  # Airflow 3.1
        from airflow.stats import Stats  # type: ignore[no-redef,assignment,attr-defined,unused-ignore]
    return Stats


def _emit(method: str, stat: str, *args: Any, tags: Mapping[str, str] | None = None) -> None:
    try:
        getattr(_stats(), method)(stat, *args, tags=dict(tags or {}))
    except Exception:  # a metrics backend must never fail a delivery
        if stat not in _failed:
            _failed.add(stat)
            log.warning("Could not emit the metric %s; further failures of it are not logged", stat, exc_info=True)


def _checked(value: str, allowed: tuple[str, ...], what: str) -> str:
    if value not in allowed:
        raise ValueError(f"unknown {what} {value!r}; expected one of {', '.join(allowed)}")
    return value


def delivery(outcome: str, channel: str) -> None:
    """Count one answered authenticated delivery.

    :param outcome: One of :data:`OUTCOMES`.
    :param channel: The (valid, authenticated) channel name.
    :raises ValueError: For an outcome outside :data:`OUTCOMES` (a programming error).
    """
    _checked(outcome, OUTCOMES, "outcome")
    _emit("incr", DELIVERIES, tags={"outcome": outcome, "channel": channel})
    _emit("incr", f"{DELIVERIES}.{outcome}")


def rejected(reason: str) -> None:
    """Count one refused request (no channel tag: the request was not authenticated, or not readable).

    :param reason: One of :data:`REJECT_REASONS`.
    :raises ValueError: For a reason outside :data:`REJECT_REASONS` (a programming error).
    """
    _checked(reason, REJECT_REASONS, "reason")
    _emit("incr", REJECTED, tags={"reason": reason})
    _emit("incr", f"{REJECTED}.{reason}")


def commit_latency(started: float, outcome: str, channel: str) -> None:
    """Record the time from a request's arrival to the commit of its delivery.

    :param started: ``time.perf_counter()`` when the request arrived.
    :param outcome: One of :data:`OUTCOMES`.
    :param channel: The channel name.
    """
    _checked(outcome, OUTCOMES, "outcome")
    elapsed_ms = (perf_counter() - started) * 1000.0
    _emit("timing", COMMIT_LATENCY, elapsed_ms, tags={"outcome": outcome, "channel": channel})


def replayed(channel: str, count: int = 1) -> None:
    """Count stored deliveries that a replay recorded as asset events.

    :param channel: The channel name.
    :param count: How many.
    """
    if count > 0:
        _emit("incr", REPLAYED, count, tags={"channel": channel})


def purged(count: int) -> None:
    """Count delivery rows deleted by a purge.

    :param count: How many rows the purge deleted.
    """
    if count > 0:
        _emit("incr", PURGED, count)
