"""The DailyBot webhook receiver: a FastAPI app that the plugin mounts at ``/dailybot`` on the api-server.

Routes (relative to the mount point):

``POST /webhooks/{channel}``
    One DailyBot delivery. Authenticated by the ``X-BEARER`` header against the SHA-256 hashes stored
    for the channel (see :mod:`.channels`), *before* the body is read. A valid delivery becomes an
    asset event on :func:`~.assets.dailybot_webhook_asset` of the channel, recorded through
    ``AssetManager.register_asset_change`` exactly like ``POST /api/v2/assets/events``; the answer is
    ``202 {"delivery_id": ..., "duplicate": false}``.
``GET /health``
    ``{"status": "ok"}``: the receiver is mounted. Reveals no channel and no secret.
``GET /ui/...``, ``GET /api/...``
    The delivery log for Airflow users (login and read on assets required), included from
    :mod:`airflow_provider_dailybot.delivery_log`.

Answers: 401 for a missing or wrong bearer and for unknown or malformed channel names (the same
answer, so channels cannot be probed); 413 for a body over ``[dailybot] receiver_max_body_bytes``
(by ``Content-Length`` or while streaming); 400 for malformed JSON or a JSON value that is not a
DailyBot envelope (including text holding a NUL character) and for a client that disconnected before
sending the whole body; 404 when no DAG declares the channel's asset, and for every other path (no
trailing-slash redirect: ``redirect_slashes`` is off). Nothing is recorded in any of these cases.

Hook ids: the secret that authenticated a delivery is recorded as a non-reversible reference
(``extra["secret_ref"]`` and ``extra["deliveries"]``, see :mod:`.asset_events` and :mod:`.bindings`).
When the channel has a subscription bound to that secret with another hook id, the delivery is
recorded but flagged (``extra["hook_id_mismatch"]``), left out of ``delivered_by`` and logged as a
warning.

Duplicates: a delivery with the same event, event timestamp and body as one recorded on the same
channel within ``[dailybot] receiver_dedupe_window_seconds`` (for instance the same event sent by
two subscriptions while a secret is rotated) is not recorded again. It is answered with the original
``delivery_id`` and ``"duplicate": true``, and its hook id is appended to the original event's
``extra["delivered_by"]``. The lookup is a database query (``extra["dedupe_key"]``), serialised per
key with a PostgreSQL advisory lock (a MySQL named lock; SQLite's single writer lock), so it holds
across several api-server worker processes.

This module imports FastAPI at import time but no Airflow model: SQLAlchemy models, the asset manager
and the session factory are imported inside the functions that run in the thread pool.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import cache
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from airflow_provider_dailybot.delivery_log.router import delivery_log_router
from airflow_provider_dailybot.webhooks.asset_events import (
    DEDUPE_KEY,
    DELIVERY_ID_KEY,
    MISMATCH_KEY,
    SECRET_REF_KEY,
    Delivery,
    build_event_extra,
    delivery_dedupe_key,  # noqa: F401 (defined in .asset_events; importable from here as before)
    event_hook_id,
    merge_delivery,
    secret_ref,
)
from airflow_provider_dailybot.webhooks.assets import is_valid_channel_name, webhook_asset_name, webhook_asset_uri
from airflow_provider_dailybot.webhooks.channels import (
    MAX_HOOK_ID_LENGTH,
    ChannelState,
    MetadataChannelStore,
    variable_key,
)
from airflow_provider_dailybot.webhooks.config import (
    CHANNEL_PATH_TEMPLATE,
    receiver_dedupe_window_seconds,
    receiver_max_body_bytes,
)

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

log = logging.getLogger(__name__)


_EVENT_NAME = re.compile(r"[A-Za-z0-9_.\-]{1,128}")
_MAX_TIMESTAMP_TEXT = 64
# First argument of the two-key form of pg_advisory_xact_lock; that key space never overlaps with the
# single-bigint locks Airflow itself takes. The value spells "DBot".
_PG_LOCK_NAMESPACE = 0x44426F74
_MYSQL_LOCK_TIMEOUT_SECONDS = 30
_UNAUTHORIZED = {"detail": "Missing or invalid X-BEARER for this webhook channel."}


class InvalidDelivery(ValueError):
    """The request body is not a DailyBot delivery envelope (answered with 400)."""


class AssetNotDeclared(LookupError):
    """No DAG declares the channel's asset, so there is nothing to record the delivery on (404)."""


@dataclass(frozen=True)
class RecordedDelivery:
    """Outcome of recording one delivery.

    :param delivery_id: The delivery id stored in the asset event (the original one for a duplicate).
    :param duplicate: True when the delivery repeated an already recorded one.
    :param asset_event_id: Primary key of the asset event.
    """

    delivery_id: str
    duplicate: bool
    asset_event_id: int


# -- request parsing (pure) -------------------------------------------------------------------------
def presented_bearers(headers: Mapping[str, str]) -> list[str]:
    """Return the candidate secrets in the ``X-BEARER`` header: raw, and without a ``Bearer`` prefix.

    :param headers: The request headers (case-insensitive mapping).
    """
    raw = (headers.get("x-bearer") or "").strip()
    if not raw:
        return []
    candidates = [raw]
    scheme, _, rest = raw.partition(" ")
    if scheme.lower() == "bearer" and rest.strip():
        candidates.append(rest.strip())
    return candidates


def _reject_constant(name: str) -> Any:
    raise InvalidDelivery(f"the body contains {name}, which is not valid JSON")


#: Deepest nesting of objects and arrays accepted in a delivery. Airflow's readers of asset events (the
#: Execution API serving ``inlet_events``, the REST API) fail on much deeper documents; DailyBot's are ~6 deep.
MAX_JSON_DEPTH = 64


def _check_storable(value: Any, depth: int) -> None:
    """Refuse what would be recorded but break the event's readers: deep nesting, inf, lone surrogates."""
    if depth > MAX_JSON_DEPTH:
        raise InvalidDelivery(f"the delivery is nested deeper than {MAX_JSON_DEPTH} levels")
    if isinstance(value, dict):
        for key, item in value.items():
            _check_storable(key, depth + 1)
            _check_storable(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            _check_storable(item, depth + 1)
    elif isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise InvalidDelivery("the delivery holds a number out of range")
    elif isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise InvalidDelivery("the delivery holds text that is not valid Unicode") from None
        if "\x00" in value:  # PostgreSQL's json operators (->>) fail on a row holding \u0000
            raise InvalidDelivery("the delivery holds a NUL character (\\u0000), which the database cannot store")


def parse_delivery(raw: bytes) -> dict[str, Any]:
    """Parse and check a delivery body; return the envelope as a dict.

    A DailyBot envelope is a JSON object with ``event`` (an event name), ``body`` (an object), and
    optionally ``event_timestamp`` (epoch seconds or an ISO string, kept as received) and ``hook``
    (``{"id": ..., "name": ...}``).

    :param raw: The request body.
    :raises InvalidDelivery: When the body is not such an envelope.
    """
    if not raw.strip():
        raise InvalidDelivery("the request body is empty")
    try:
        envelope = json.loads(raw, parse_constant=_reject_constant)
    except InvalidDelivery:
        raise
    except (ValueError, RecursionError):
        raise InvalidDelivery("the request body is not valid JSON") from None
    if not isinstance(envelope, dict):
        raise InvalidDelivery("a DailyBot delivery must be a JSON object")
    _check_storable(envelope, 0)
    event = envelope.get("event")
    if not isinstance(event, str) or _EVENT_NAME.fullmatch(event) is None:
        raise InvalidDelivery("a DailyBot delivery needs an 'event' name such as 'followups.response.completed'")
    if not isinstance(envelope.get("body"), dict):
        raise InvalidDelivery("a DailyBot delivery needs a 'body' object")
    timestamp = envelope.get("event_timestamp")
    if timestamp is not None and (
        isinstance(timestamp, bool)
        or not isinstance(timestamp, (int, float, str))
        or (isinstance(timestamp, str) and len(timestamp) > _MAX_TIMESTAMP_TEXT)
    ):
        raise InvalidDelivery("'event_timestamp' must be epoch seconds or an ISO 8601 string")
    hook = envelope.get("hook")
    if hook is not None:
        if not isinstance(hook, dict):
            raise InvalidDelivery("'hook' must be an object with 'id' and 'name'")
        if hook.get("id") is not None and not isinstance(hook.get("id"), str):
            raise InvalidDelivery("'hook.id' must be a string")
        if isinstance(hook.get("id"), str) and len(hook["id"]) > MAX_HOOK_ID_LENGTH:
            raise InvalidDelivery(f"'hook.id' is longer than {MAX_HOOK_ID_LENGTH} characters")
        if hook.get("name") is not None and not isinstance(hook.get("name"), str):
            raise InvalidDelivery("'hook.name' must be a string")
    return envelope


def _log_safe(value: object, limit: int = 80) -> str:
    """Return ``value`` as printable text of bounded length, for log lines built from request data."""
    text = str(value)
    return "".join(ch if ch.isprintable() else "?" for ch in text[:limit])


# -- database work (runs in the thread pool) -------------------------------------------------------
def load_channel_state(channel: str) -> ChannelState | None:
    """Return the state of ``channel`` from Airflow Variables, or None when it is unknown or unreadable.

    :param channel: A syntactically valid channel name.
    """
    try:
        return MetadataChannelStore().load(channel)
    except ValueError as err:
        log.error("The Variable %s is not a valid DailyBot channel state: %s", variable_key(channel), err)
        return None


@contextmanager
def _same_key_lock(session: Session, dedupe_key: str) -> Iterator[None]:
    """Serialise the duplicate lookup and the insert of deliveries that share ``dedupe_key``.

    PostgreSQL: a transaction-level advisory lock on the key. MySQL: a named lock held on a separate
    connection until the work is committed. SQLite: a no-op write takes the database write lock at
    once, so the lookup and the insert run in one write transaction.
    """
    bind = session.get_bind()
    dialect = bind.dialect.name
    from sqlalchemy import text

    if dialect == "postgresql":
        key = int.from_bytes(bytes.fromhex(dedupe_key[:8]), "big", signed=True)
        session.execute(text("SELECT pg_advisory_xact_lock(:ns, :key)"), {"ns": _PG_LOCK_NAMESPACE, "key": key})
        yield
    elif dialect == "mysql":
        name = f"dailybot_webhook_{dedupe_key[:40]}"
        with bind.connect() as lock_conn:  # type: ignore[union-attr]
            got = lock_conn.execute(
                text("SELECT GET_LOCK(:name, :timeout)"), {"name": name, "timeout": _MYSQL_LOCK_TIMEOUT_SECONDS}
            ).scalar()
            if got != 1:
                raise RuntimeError("timed out waiting for the DailyBot delivery lock")
            try:
                yield
            finally:
                lock_conn.execute(text("SELECT RELEASE_LOCK(:name)"), {"name": name})
    else:
        session.execute(text("UPDATE asset_event SET id = id WHERE 1 = 0"))
        yield


def _find_recorded(session: Session, asset_id: int, dedupe_key: str, window_seconds: int) -> Any:
    from airflow.models.asset import AssetEvent
    from sqlalchemy import Text, cast, select

    cutoff = datetime.now(tz=timezone.utc) - timedelta(seconds=window_seconds)
    # The scan covers every event of the channel in the window: bounding it (tried: newest 1,000) let replays
    # that arrive later than that be recorded twice (README, Reliability and security: Load).
    candidates = session.scalars(
        select(AssetEvent)
        .where(
            AssetEvent.asset_id == asset_id,
            AssetEvent.timestamp >= cutoff,
            cast(AssetEvent.extra, Text).like(f"%{dedupe_key}%"),
        )
        .order_by(AssetEvent.id)
        .limit(20)
    )
    for event in candidates:
        if isinstance(event.extra, dict) and event.extra.get(DEDUPE_KEY) == dedupe_key:
            return event
    return None


def record_delivery(channel: str, extra: dict[str, Any]) -> RecordedDelivery:
    """Record a delivery as an asset event of the channel's asset, or merge it into the recorded duplicate.

    Runs in a session opened like the api-server's ``SessionDep`` (``create_session(scoped=False)``,
    committed on success, rolled back on error). Call it from a worker thread, not the event loop.

    :param channel: The channel name.
    :param extra: The extra built by :func:`build_event_extra`.
    :raises AssetNotDeclared: When no DAG declares the channel's asset.
    """
    from airflow.assets.manager import asset_manager
    from airflow.models.asset import AssetActive, AssetModel
    from airflow.utils.session import create_session
    from sqlalchemy import and_, select

    name, uri = webhook_asset_name(channel), webhook_asset_uri(channel)
    window = receiver_dedupe_window_seconds()
    with create_session(scoped=False) as session:
        asset = session.scalar(
            select(AssetModel)
            .join(AssetActive, and_(AssetActive.name == AssetModel.name, AssetActive.uri == AssetModel.uri))
            .where(AssetModel.name == name, AssetModel.uri == uri)
            .limit(1)
        )
        if asset is None:
            raise AssetNotDeclared(name)
        with _same_key_lock(session, extra[DEDUPE_KEY]):
            original = _find_recorded(session, asset.id, extra[DEDUPE_KEY], window) if window else None
            if original is not None:
                stored = dict(original.extra)
                hook_id = event_hook_id(extra)
                if hook_id:
                    duplicate = Delivery(hook_id, extra.get(SECRET_REF_KEY), extra.get(MISMATCH_KEY) is True)
                    merged = merge_delivery(stored, duplicate)
                    if merged != stored:
                        original.extra = merged
                result = RecordedDelivery(str(stored.get(DELIVERY_ID_KEY)), True, original.id)
            else:
                event = asset_manager.register_asset_change(
                    asset=asset, extra=extra, source_is_api=True, session=session
                )
                if event is None:  # the asset vanished between the two queries
                    raise AssetNotDeclared(name)
                session.flush()
                result = RecordedDelivery(extra[DELIVERY_ID_KEY], False, event.id)
            session.commit()
    return result


# -- HTTP --------------------------------------------------------------------------------------------
def _error(status_code: int, detail: str) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=status_code)


@dataclass(frozen=True)
class _Authenticated:
    """The channel state a request was authenticated against and the hash of the secret it presented."""

    state: ChannelState
    secret_sha256: str


async def _authenticate(channel: str, request: Request) -> _Authenticated | None:
    """Return the state and matched secret hash when the request carries a secret the channel accepts.

    Reads no body. Every candidate bearer is compared with every accepted hash.
    """
    bearers = presented_bearers(request.headers)
    state = await run_in_threadpool(load_channel_state, channel) if is_valid_channel_name(channel) else None
    known = state is not None
    if state is None:
        state = ChannelState(channel="unknown")  # same comparison cost as a known channel
    matched: str | None = None
    for bearer in bearers or [""]:
        matched = state.matching_secret(bearer) or matched
    return _Authenticated(state, matched) if known and matched is not None and bearers else None


def _hook_id_mismatch(auth: _Authenticated, hook_id: object) -> str | None:
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


async def receive_delivery(channel: str, request: Request) -> JSONResponse:
    """Authenticate, size-check, parse and record one DailyBot delivery.

    :param channel: The channel name from the path.
    :param request: The incoming request.
    """
    auth = await _authenticate(channel, request)
    if auth is None:
        log.info("Refused a DailyBot delivery on channel %s: missing or unaccepted X-BEARER", _log_safe(channel, 64))
        return JSONResponse(_UNAUTHORIZED, status_code=401)

    limit = receiver_max_body_bytes()
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.strip().isdigit():
            return _error(400, "Invalid Content-Length header.")
        if int(declared) > limit:
            return _error(413, f"The delivery is larger than the receiver's limit of {limit} bytes.")
    try:
        raw = await _read_body(request, limit)
    except _Disconnected:
        # Nobody reads this answer; it only keeps a client that went away from showing up as a server error.
        log.info("DailyBot delivery on channel %s: the client disconnected before sending the whole body", channel)
        return _error(400, "The client disconnected before sending the whole body.")
    if raw is None:
        return _error(413, f"The delivery is larger than the receiver's limit of {limit} bytes.")

    try:
        envelope = parse_delivery(raw)
    except InvalidDelivery as err:
        return _error(400, f"Not a DailyBot delivery: {err}.")

    hook_id = (envelope.get("hook") or {}).get("id")
    bound_to = _hook_id_mismatch(auth, hook_id)
    if bound_to is not None:
        log.warning(
            "DailyBot delivery on channel %s names hook id %s, but its X-BEARER belongs to subscription %s: "
            "recorded with hook_id_mismatch, never used to verify or delete a subscription",
            channel,
            _log_safe(hook_id),
            _log_safe(bound_to),
        )
    ref = secret_ref(auth.secret_sha256)
    extra = build_event_extra(channel, envelope, str(uuid.uuid4()), ref=ref, hook_id_mismatch=bound_to is not None)
    try:
        recorded = await run_in_threadpool(record_delivery, channel, extra)
    except AssetNotDeclared:
        return _error(
            404,
            f"No DAG declares the asset of channel {channel!r} ({webhook_asset_name(channel)}, "
            f"{webhook_asset_uri(channel)}), so the delivery cannot be recorded. Add "
            f"dailybot_webhook_asset({channel!r}) to a DAG's schedule or inlets, let the dag-processor "
            "parse it, and have DailyBot retry.",
        )
    log.info(
        "Accepted DailyBot delivery: channel=%s event=%s hook_id=%s delivery_id=%s duplicate=%s",
        channel,
        envelope["event"],
        _log_safe(event_hook_id(extra)),
        recorded.delivery_id,
        recorded.duplicate,
    )
    return JSONResponse({"delivery_id": recorded.delivery_id, "duplicate": recorded.duplicate}, status_code=202)


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
    app.include_router(delivery_log_router())
    return app


@cache
def get_receiver_app() -> FastAPI:
    """Return the receiver app of this process (built on first use)."""
    return create_receiver_app()
