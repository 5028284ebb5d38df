"""The DailyBot webhook receiver: a FastAPI app that the plugin mounts at ``/dailybot`` on the api-server.

Routes (relative to the mount point):

``POST /webhooks/{channel}``
    One DailyBot delivery. Authenticated by the ``X-BEARER`` header against the SHA-256 hashes stored
    for the channel (see :mod:`.channels`; cached per process, see :mod:`.state_cache`) *before* the
    body is read, then stored in the delivery table and, when a DAG consumes the channel's asset,
    recorded as an asset event of :func:`~.assets.dailybot_webhook_asset` through
    ``AssetManager.register_asset_change`` exactly like ``POST /api/v2/assets/events``, in one
    transaction (see :mod:`.recording`, which also defines "consumer").
``GET /health``
    ``{"status": "ok"}``: the receiver is mounted. Reveals no channel and no secret.
``GET /ui/...``, ``GET /api/...``
    The delivery log for Airflow users (login and read on assets required), included from
    :mod:`airflow_provider_dailybot.delivery_log`.

Answers to ``POST /webhooks/{channel}``:

====== ============================================== ======================================================
Status When                                           Body / what is written
====== ============================================== ======================================================
202    new delivery, the channel has a consumer       ``{"delivery_id", "duplicate": false, "outcome":
                                                      "recorded"}``; a row and an asset event
202    new delivery, no consumer                      ``{"delivery_id", "duplicate": false, "outcome":
                                                      "no_consumer", "detail"}``; a row holding the body,
                                                      recorded later by ``airflow dailybot deliveries replay``
202    same event, timestamp and body as a stored     ``{"delivery_id": <the original's>, "duplicate": true,
       delivery of the channel (e.g. sent by two      "outcome": "duplicate"}`` (``"no_consumer"`` while the
       subscriptions during a rotation)               original waits for a consumer); its hook id is added
                                                      to the row and the event's ``delivered_by`` if new,
                                                      otherwise nothing is written
400    malformed JSON, not a DailyBot envelope (also  ``{"detail"}``; nothing
       text holding NUL), bad ``Content-Length``,
       client gone before the whole body
401    missing or wrong bearer, unknown or malformed  ``{"detail"}`` (one answer for all, so channels
       channel name                                   cannot be probed); nothing
404    any other path (no trailing-slash redirect)    nothing
408    the body not complete within                   ``{"detail"}``, connection closed; nothing (one INFO
       ``[dailybot] receiver_body_timeout_seconds``   log line)
       (a client that trickles or stalls)
413    body over                                      ``{"detail"}``; nothing
       ``[dailybot] receiver_max_body_bytes`` (by
       ``Content-Length`` or while streaming)
503    the metadata database is unreachable (or the   ``{"detail"}`` with ``Retry-After: [dailybot]
       delivery table is not migrated yet)            receiver_retry_after_seconds``; nothing (logged at
                                                      most once a minute)
====== ============================================== ======================================================

Duplicates are decided by the delivery table's unique key on (channel, dedupe key) for as long as
rows are kept (``[dailybot] receiver_retention_days``), in every api-server worker and replica alike.

Hook ids: the secret that authenticated a delivery is recorded as a non-reversible reference
(``extra["secret_ref"]`` and ``extra["deliveries"]``, see :mod:`.asset_events` and :mod:`.bindings`).
When the channel has a subscription bound to that secret with another hook id, the delivery is
recorded but flagged (``extra["hook_id_mismatch"]``), left out of ``delivered_by`` and logged as a
warning.

Metrics (:mod:`.metrics`): every answered authenticated delivery by outcome, every refusal by reason,
and the time from the request's arrival to the commit.

This module imports FastAPI at import time but no Airflow model: SQLAlchemy models, the asset manager
and the session factory are imported inside the functions that run in the thread pool.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import cache
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from airflow_provider_dailybot.delivery_log.router import add_delivery_log
from airflow_provider_dailybot.store import DB_MANAGER
from airflow_provider_dailybot.store.models import TABLE_NAME
from airflow_provider_dailybot.webhooks import metrics
from airflow_provider_dailybot.webhooks.asset_events import (
    build_event_extra,
    delivery_dedupe_key,  # noqa: F401 (defined in .asset_events; importable from here as before)
    event_hook_id,
    secret_ref,
)
from airflow_provider_dailybot.webhooks.assets import is_valid_channel_name, webhook_asset_name, webhook_asset_uri
from airflow_provider_dailybot.webhooks.channels import ChannelState, MetadataChannelStore, variable_key
from airflow_provider_dailybot.webhooks.config import (
    CHANNEL_PATH_TEMPLATE,
    receiver_body_timeout_seconds,
    receiver_max_body_bytes,
    receiver_retry_after_seconds,
)
from airflow_provider_dailybot.webhooks.envelope import (  # noqa: F401 (importable from here as before)
    MAX_JSON_DEPTH,
    REDACTED,
    InvalidDelivery,
    log_safe,
    parse_delivery,
    presented_bearers,
    redact_secrets,
)
from airflow_provider_dailybot.webhooks.recording import (
    OUTCOME_NO_CONSUMER,
    RecordedDelivery,
    database_reachable,
    database_unavailable,
    record_delivery,
)
from airflow_provider_dailybot.webhooks.state_cache import MISS, Authenticated, ChannelStateCache, compare_unknown

log = logging.getLogger(__name__)

_UNAUTHORIZED = {"detail": "Missing or invalid X-BEARER for this webhook channel."}
_UNAVAILABLE = "The metadata database is unreachable; nothing was recorded. Retry later."
#: Seconds between two log lines about an unreachable database (the others are counted).
UNAVAILABLE_LOG_INTERVAL = 60.0


class DatabaseUnavailable(RuntimeError):
    """The metadata database cannot be reached (answered 503 with ``Retry-After``)."""


# -- channel state ----------------------------------------------------------------------------------
def load_channel_state(channel: str) -> ChannelState | None:
    """Return the state of ``channel`` from Airflow Variables, or None when it is unknown or unreadable.

    Runs in the thread pool.

    :param channel: A syntactically valid channel name.
    :raises DatabaseUnavailable: When no state was found and the metadata database does not answer
        (Airflow's Variable lookup swallows that error: the channel is not "unknown" then).
    """
    try:
        state = MetadataChannelStore().load(channel)
    except ValueError as err:
        log.error("The Variable %s is not a valid DailyBot channel state: %s", variable_key(channel), err)
        return None
    if state is None and not database_reachable():
        raise DatabaseUnavailable("the channel state could not be read")
    return state


#: The channel states of this api-server process.
channel_states = ChannelStateCache(load_channel_state)


# -- HTTP --------------------------------------------------------------------------------------------
class _Throttle:
    """Log a line at most once per ``interval`` seconds; count what it held back."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._last = float("-inf")
        self._held = 0
        self._lock = threading.Lock()

    def ready(self) -> int | None:
        """Return how many lines were held back since the last one when a line may be logged now, else None."""
        with self._lock:
            now = time.monotonic()
            if now - self._last < self.interval:
                self._held += 1
                return None
            held, self._last, self._held = self._held, now, 0
            return held


_unavailable_log = _Throttle(UNAVAILABLE_LOG_INTERVAL)


def _unavailable_hint(first_line: str) -> str:
    """Return what to check for a database error whose first line is ``first_line``."""
    if TABLE_NAME in first_line:  # "no such table", "relation … does not exist", "Table … doesn't exist"
        return (
            f"The provider's table {TABLE_NAME} is missing: run `airflow db migrate` (on Airflow 3.1 with "
            f"[database] external_db_managers = {DB_MANAGER}, which 3.2+ reads from the provider info)."
        )
    return "Is the database up, and has `airflow db migrate` run?"


def _unavailable(err: BaseException) -> JSONResponse:
    """Answer 503 with ``Retry-After``; log the cause (its class and first line, never SQL or parameters)."""
    held = _unavailable_log.ready()
    if held is not None:
        cause = getattr(err, "orig", None) or err
        first_line = log_safe(str(cause).strip().splitlines()[0] if str(cause).strip() else "", 200)
        log.error(
            "DailyBot receiver: the metadata database is unavailable (%s: %s); answering 503 with Retry-After "
            "(%d similar answers since the last line). %s",
            type(cause).__name__,
            first_line,
            held,
            _unavailable_hint(first_line),
        )
    metrics.rejected(metrics.REASON_UNAVAILABLE)
    retry_after = receiver_retry_after_seconds()
    return JSONResponse({"detail": _UNAVAILABLE}, status_code=503, headers={"Retry-After": str(retry_after)})


def _refuse(status_code: int, reason: str, detail: str, *, close: bool = False) -> JSONResponse:
    metrics.rejected(reason)
    return JSONResponse({"detail": detail}, status_code=status_code, headers={"Connection": "close"} if close else None)


async def _authenticate(channel: str, request: Request, requested_at: float) -> Authenticated | None:
    """Return the state and matched secret hash when the request carries a secret the channel accepts.

    Reads no body; decided from the process's cache when it can (:mod:`.state_cache`).

    :raises DatabaseUnavailable: When the state had to be read and the database does not answer.
    """
    bearers = presented_bearers(request.headers)
    if not bearers or not is_valid_channel_name(channel):
        compare_unknown(bearers)  # the same work as for a real channel: nothing to time
        return None
    decided = channel_states.cached(channel, bearers)
    if decided is MISS:
        return await run_in_threadpool(channel_states.refresh, channel, bearers, requested_at)
    return decided if isinstance(decided, Authenticated) else None


def _hook_id_mismatch(auth: Authenticated, hook_id: object) -> str | None:
    """Return the hook id the matched secret is bound to when it differs from ``hook_id``; None when they agree.

    A secret not yet bound (the sample delivery arrives before the create task records the subscription)
    is not a mismatch here: the operators check the binding again when they decide.
    """
    if not isinstance(hook_id, str) or not hook_id:
        return None
    bound = [s.hook_id for s in auth.state.subscriptions_with_secret(auth.secret_sha256)]
    return None if not bound or hook_id in bound else bound[0]


class _Disconnected(Exception):
    """The client went away before the whole body arrived."""


async def _read_body(request: Request, limit: int) -> bytes | None:
    """Return the body, or None as soon as it grows over ``limit`` bytes.

    :raises _Disconnected: When the client disconnects before the body is complete.
    """
    received = bytearray()
    try:
        async for chunk in request.stream():
            received += chunk
            if len(received) > limit:
                return None
    except ClientDisconnect:
        raise _Disconnected from None
    return bytes(received)


@dataclass(frozen=True)
class _Arrival:
    """When a request arrived: monotonic (cache decisions), performance counter (latency), wall clock (the row)."""

    monotonic: float
    counter: float
    received_at: datetime

    @classmethod
    def now(cls) -> _Arrival:
        return cls(time.monotonic(), time.perf_counter(), datetime.now(tz=timezone.utc))


async def _read_delivery(request: Request) -> bytes | JSONResponse:
    """Return the body within ``receiver_max_body_bytes`` and ``receiver_body_timeout_seconds``, or the refusal."""
    limit = receiver_max_body_bytes()
    too_large = f"The delivery is larger than the receiver's limit of {limit} bytes."
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.strip().isdigit():
            return _refuse(400, metrics.REASON_INVALID, "Invalid Content-Length header.")
        if int(declared) > limit:
            return _refuse(413, metrics.REASON_TOO_LARGE, too_large)
    timeout = receiver_body_timeout_seconds()
    try:
        # The body is read on the event loop, before any thread or transaction is taken: a slow client
        # holds its connection only, and only this long (uvicorn itself has no body timeout).
        raw = await asyncio.wait_for(_read_body(request, limit), timeout)
    except asyncio.TimeoutError:
        log.info("DailyBot delivery: the body did not arrive within %d s; answered 408", timeout)
        return _refuse(
            408,
            metrics.REASON_SLOW_BODY,
            f"The body did not arrive within the receiver's {timeout} seconds.",
            close=True,
        )
    except _Disconnected:
        # Nobody reads this answer; it only keeps a client that went away from showing up as a server error.
        log.info("DailyBot delivery: the client disconnected before sending the whole body")
        return _refuse(400, metrics.REASON_DISCONNECTED, "The client disconnected before sending the whole body.")
    return raw if raw is not None else _refuse(413, metrics.REASON_TOO_LARGE, too_large)


def _answer(channel: str, recorded: RecordedDelivery) -> JSONResponse:
    body: dict[str, Any] = {
        "delivery_id": recorded.delivery_id,
        "duplicate": recorded.duplicate,
        "outcome": recorded.outcome,
    }
    if recorded.outcome == OUTCOME_NO_CONSUMER:
        body["detail"] = (
            f"No DAG consumes the asset of channel {channel!r} ({webhook_asset_name(channel)}, "
            f"{webhook_asset_uri(channel)}) yet: the delivery is stored, not recorded as an asset event. Add "
            f"dailybot_webhook_asset({channel!r}) to an unpaused DAG's schedule (or a task's inlets), then run "
            f"`airflow dailybot deliveries replay --channel {channel}`."
        )
    return JSONResponse(body, status_code=202)


async def _receive(channel: str, request: Request, arrival: _Arrival) -> JSONResponse:
    auth = await _authenticate(channel, request, arrival.monotonic)
    if auth is None:
        log.info("Refused a DailyBot delivery on channel %s: missing or unaccepted X-BEARER", log_safe(channel, 64))
        return _refuse(401, metrics.REASON_UNAUTHORIZED, _UNAUTHORIZED["detail"])

    raw = await _read_delivery(request)
    if isinstance(raw, JSONResponse):
        return raw
    try:
        envelope = parse_delivery(raw)
        envelope, redacted = redact_secrets(envelope, presented_bearers(request.headers))
        if redacted:
            log.warning(
                "DailyBot delivery on channel %s carries its own X-BEARER secret in the body: replaced by %s "
                "before it is stored",
                channel,
                REDACTED,
            )
            raw = json.dumps(envelope, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
            envelope = parse_delivery(raw)  # still an envelope (a redacted event name is not)
    except InvalidDelivery as err:
        return _refuse(400, metrics.REASON_INVALID, f"Not a DailyBot delivery: {err}.")

    hook_id = (envelope.get("hook") or {}).get("id")
    bound_to = _hook_id_mismatch(auth, hook_id)
    if bound_to is not None:
        log.warning(
            "DailyBot delivery on channel %s names hook id %s, but its X-BEARER belongs to subscription %s: "
            "recorded with hook_id_mismatch, never used to verify or delete a subscription",
            channel,
            log_safe(hook_id),
            log_safe(bound_to),
        )
    ref = secret_ref(auth.secret_sha256)
    extra = build_event_extra(channel, envelope, str(uuid.uuid4()), ref=ref, hook_id_mismatch=bound_to is not None)
    recorded = await run_in_threadpool(record_delivery, channel, envelope, raw, extra, received_at=arrival.received_at)
    metrics.commit_latency(arrival.counter, recorded.outcome, channel)
    metrics.delivery(recorded.outcome, channel)
    log.info(
        "Accepted DailyBot delivery: channel=%s event=%s hook_id=%s delivery_id=%s outcome=%s",
        channel,
        envelope["event"],
        log_safe(event_hook_id(extra)),
        recorded.delivery_id,
        recorded.outcome,
    )
    return _answer(channel, recorded)


async def receive_delivery(channel: str, request: Request) -> JSONResponse:
    """Authenticate, size-check, parse and store one DailyBot delivery (answers: the module docstring).

    :param channel: The channel name from the path.
    :param request: The incoming request.
    """
    arrival = _Arrival.now()
    try:
        return await _receive(channel, request, arrival)
    except DatabaseUnavailable as err:
        return _unavailable(err)
    except Exception as err:
        if database_unavailable(err):
            return _unavailable(err)
        raise


async def health() -> dict[str, str]:
    """Report that the receiver is mounted; reveals no channel and no secret."""
    return {"status": "ok"}


def create_receiver_app() -> FastAPI:
    """Build the receiver's FastAPI app (no OpenAPI schema, no docs pages, no trailing-slash redirects)."""
    app = FastAPI(
        title="DailyBot webhook receiver",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        # Starlette would answer ``/health/`` with a 307 to a URL built from the request's Host header.
        redirect_slashes=False,
    )
    app.add_api_route(
        CHANNEL_PATH_TEMPLATE, receive_delivery, methods=["POST"], status_code=202, include_in_schema=False
    )
    app.add_api_route("/health", health, methods=["GET"], include_in_schema=False)
    add_delivery_log(app)
    return app


@cache
def get_receiver_app() -> FastAPI:
    """Return the receiver app of this process (built on first use)."""
    return create_receiver_app()
