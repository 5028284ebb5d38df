"""A fake DailyBot API server: a real HTTP(S) server implementing ``dailybot-api.md`` §6.4.

It serves ``GET /v1/me/``, the webhook-subscription endpoints (create, the three DELETE forms,
``sample/``) and a few ``/_fake/`` control endpoints, delivers webhook envelopes to subscribed
``hook_url`` values, and lets tests inject faults into both directions. It depends only on the
standard library and ``requests`` (no Airflow import), so it starts in milliseconds.

Speed matters because benchmarks measure clients against it: HTTP/1.1 keep-alive, ``TCP_NODELAY``
on accepted sockets and every response written with a single ``sendall`` (status line, headers
and body together) so that no request waits on Nagle's algorithm and delayed ACKs.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import functools
import hashlib
import hmac
import json
import logging
import math
import re
import socket
import socketserver
import ssl
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import formatdate
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import requests

from airflow_provider_dailybot import __version__
from airflow_provider_dailybot.events import validate_event_names, validate_uuids
from airflow_provider_dailybot.testing import seed
from airflow_provider_dailybot.testing.samples import make_envelope, sample_body

log = logging.getLogger("airflow_provider_dailybot.testing")

#: ``transport(url, headers, body, timeout) -> HTTP status`` replaces the HTTP POST of deliveries.
Transport = Callable[[str, dict[str, str], bytes, float], int]

USER_AGENT = f"DailyBot-Fake/{__version__}"
#: ``hook.id`` of the envelopes answered by ``POST /v1/webhook-subscription/sample/``.
SAMPLE_HOOK_ID = "00000000-0000-0000-0000-000000000000"
DELETE_FORMS = frozenset({"query", "body", "path"})
CREATE_ID_KEYS = ("id", "uuid", "hook_id")
UPGRADE_URL = "https://app.dailybot.com/settings/billing/"
MAX_BODY_BYTES = 10 * 1024 * 1024
REDACTED = "***"

_SENSITIVE_HEADERS = frozenset({"x-api-key", "x-bearer", "authorization", "proxy-authorization", "cookie"})
_SWITCH_DEFAULTS: dict[str, Any] = {
    "free_plan": False,
    "org_admin": True,
    "auth_failure_status": 401,
    "create_status": 201,
    "create_id_key": "id",
    "delete_forms": set(DELETE_FORMS),
    "deliver_samples": True,
    "pagination_style": "limit_offset",
    "default_page_size": 50,
    "teams_bare_list": False,
    "legacy_checkin_responses": False,
    "kudos_daily_limit": 0,
}
#: Values of the ``pagination_style`` switch: DRF's ``LimitOffsetPagination`` or ``PageNumberPagination``.
PAGINATION_STYLES = ("limit_offset", "page")
#: DailyBot's caps: ``limit`` up to 250, ``page_size`` up to 100 (``dailybot-api.md`` §2.4).
MAX_LIMIT = 250
MAX_PAGE_SIZE = 100
MAX_BUTTONS = 25
CHECKIN_COMPLETED = "followups.response.completed"
_MESSAGE_FIELDS = frozenset({"message", "target_users", "target_teams", "target_channels", "buttons"})
_DATA_ROUTES: dict[str, tuple[str, ...]] = {
    "users": ("GET",),
    "user": ("GET",),
    "teams": ("GET",),
    "team": ("GET",),
    "team_members": ("GET",),
    "checkins": ("GET",),
    "followups": ("GET",),
    "checkin": ("GET",),
    "checkin_responses": ("GET",),
    "followup_responses": ("GET",),
    "forms": ("GET",),
    "form_responses": ("GET",),
    "send_message": ("POST",),
    "kudos": ("GET", "POST"),
}
_ROUTES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^/v1/me/?$"), "me"),
    (re.compile(r"^/v1/webhook-subscription/?$"), "hooks"),
    (re.compile(r"^/v1/webhook-subscription/sample/?$"), "sample"),
    (re.compile(r"^/v1/webhook-subscription/(?P<arg>[^/]+)/?$"), "hook"),
    (re.compile(r"^/v1/users/?$"), "users"),
    (re.compile(r"^/v1/users/(?P<arg>[^/]+)/?$"), "user"),
    (re.compile(r"^/v1/teams/?$"), "teams"),
    (re.compile(r"^/v1/teams/(?P<arg>[^/]+)/?$"), "team"),
    (re.compile(r"^/v1/teams/(?P<arg>[^/]+)/members/?$"), "team_members"),
    (re.compile(r"^/v1/checkins/?$"), "checkins"),
    (re.compile(r"^/v1/followups/?$"), "followups"),
    (re.compile(r"^/v1/checkins/(?P<arg>[^/]+)/?$"), "checkin"),
    (re.compile(r"^/v1/checkins/(?P<arg>[^/]+)/responses/?$"), "checkin_responses"),
    (re.compile(r"^/v1/followups/(?P<arg>[^/]+)/responses/?$"), "followup_responses"),
    (re.compile(r"^/v1/forms/?$"), "forms"),
    (re.compile(r"^/v1/forms/(?P<arg>[^/]+)/responses/?$"), "form_responses"),
    (re.compile(r"^/v1/send-message/?$"), "send_message"),
    (re.compile(r"^/v1/kudos/?$"), "kudos"),
    (re.compile(r"^/_fake/(?P<arg>emit|state|faults|delivery-faults|switches|reset|checkin-responses)/?$"), "control"),
)
_CONTROL_METHODS = {
    "emit": ("POST",),
    "state": ("GET",),
    "faults": ("POST",),
    "delivery-faults": ("POST",),
    "switches": ("GET", "POST"),
    "reset": ("POST",),
    "checkin-responses": ("POST",),
}
_DRF_ERRORS: dict[int, tuple[str, str]] = {
    400: ("Invalid input.", "invalid"),
    401: ("Authentication credentials were not provided.", "not_authenticated"),
    403: ("You do not have permission to perform this action.", "permission_denied"),
    404: ("Not found.", "not_found"),
    406: ("Could not satisfy the request Accept header.", "not_acceptable"),
    415: ("Unsupported media type in request.", "unsupported_media_type"),
}
_SERVER_ERROR_HTML = b"<h1>Server Error (500)</h1>"
_DROPPED = "dropped by an injected delivery fault"


# --------------------------------------------------------------------------- public records


@dataclass(frozen=True)
class FakeSubscription:
    """A webhook subscription held by the fake server. The bearer itself is never kept here.

    :param id: The hook id returned by the create call.
    :param hook_url: Where deliveries are POSTed.
    :param subscriptions: The subscribed event names.
    :param subscribed_objects: Check-in or form UUIDs (stored, not used to filter deliveries).
    :param name: The subscription name (``""`` when none was given).
    :param created_at: Unix epoch seconds.
    :param has_bearer: Whether deliveries carry an ``X-BEARER`` header.
    :param bearer_sha256: Hex SHA-256 of the bearer, to let tests compare without seeing it.
    """

    id: str
    hook_url: str
    subscriptions: list[str]
    subscribed_objects: list[str]
    name: str
    created_at: float
    has_bearer: bool
    bearer_sha256: str | None


@dataclass(frozen=True)
class RecordedRequest:
    """One request the fake server answered (control endpoints under ``/_fake/`` are not recorded).

    :param method: The HTTP method.
    :param path: The URL path, without the query string.
    :param query: The query parameters (first value of each).
    :param json: The parsed JSON body with every ``bearer`` value replaced by ``"***"``; ``None``
        when the body was empty or not JSON.
    :param status: The status sent, or ``None`` when an injected fault dropped the connection.
    :param headers: The request headers without ``X-API-KEY``, ``X-BEARER``, ``Authorization``,
        ``Proxy-Authorization`` and ``Cookie``.
    """

    method: str
    path: str
    query: dict[str, str]
    json: Any
    status: int | None
    headers: dict[str, str]


@dataclass(frozen=True)
class DeliveryAttempt:
    """One outgoing webhook delivery (or one that an injected fault dropped).

    :param hook_id: The subscription's id.
    :param hook_url: The URL POSTed to.
    :param event: The event name.
    :param envelope: The JSON envelope sent.
    :param status: The receiver's HTTP status, or ``None`` when nothing was received.
    :param error: Why no status was received (connection error, timeout, dropped by a fault).
    :param sample: True for an ``immediate_sample_event`` delivery.
    :param started_at: Unix epoch seconds when the attempt started.
    :param duration: Seconds the attempt took.
    """

    hook_id: str
    hook_url: str
    event: str
    envelope: dict[str, Any]
    status: int | None
    error: str | None
    sample: bool
    started_at: float
    duration: float

    @property
    def ok(self) -> bool:
        """Whether the receiver answered with a 2xx status."""
        return self.status is not None and 200 <= self.status < 300


@dataclass
class Fault:
    """A fault injected into the next ``times`` matching requests; see :meth:`FakeDailyBotServer.inject`.

    ``remaining`` counts down as matching requests consume the fault and ``hits`` counts up.
    """

    status: int | None = None
    times: int = 1
    method: str | None = None
    path: str | None = None
    retry_after: float | None = None
    delay: float | None = None
    drop: bool = False
    code: str | None = None
    detail: str | None = None
    body: bytes | None = None
    after_processing: bool = False
    remaining: int = field(init=False)
    hits: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        _check_times_and_delay(self.times, self.delay)
        if self.status is None and self.delay is None and not self.drop:
            raise ValueError("a fault needs a status, a delay or drop=True")
        if self.status is not None and not 200 <= self.status <= 599:
            raise ValueError(f"fault status must be between 200 and 599, got {self.status}")
        self.remaining = self.times

    def matches(self, method: str, path: str) -> bool:
        """Whether this fault applies to a request.

        Control endpoints (``/_fake/``) match only a fault whose ``path`` names them explicitly.

        :param method: The request's method.
        :param path: The request's URL path.
        """
        if self.method is not None and self.method.upper() != method.upper():
            return False
        if path.startswith("/_fake/") and not (self.path or "").startswith("/_fake"):
            return False
        return self.path is None or path.startswith(self.path)


@dataclass
class DeliveryFault:
    """A fault injected into the next ``times`` matching outgoing deliveries.

    See :meth:`FakeDailyBotServer.inject_delivery`.
    """

    times: int = 1
    drop: bool = False
    duplicate: bool = False
    delay: float | None = None
    event: str | None = None
    remaining: int = field(init=False)
    hits: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        _check_times_and_delay(self.times, self.delay)
        if not (self.drop or self.duplicate or self.delay is not None):
            raise ValueError("a delivery fault needs drop=True, duplicate=True or a delay")
        self.remaining = self.times

    def matches(self, event: str) -> bool:
        """Whether this fault applies to a delivery of ``event``.

        :param event: The event being delivered.
        """
        return self.event is None or self.event == event


def _check_times_and_delay(times: int, delay: float | None) -> None:
    if not isinstance(times, int) or isinstance(times, bool) or times < 1:
        raise ValueError(f"times must be a positive integer, got {times!r}")
    if delay is not None and not delay >= 0:
        raise ValueError(f"delay must be a non-negative number of seconds, got {delay!r}")


# --------------------------------------------------------------------------- request/response plumbing


@dataclass
class _Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-cased names
    raw: bytes

    @functools.cached_property
    def parsed(self) -> tuple[bool, Any]:
        """``(True, value)`` for a JSON (or empty: ``None``) body, else ``(False, parser message)``."""
        if not self.raw.strip():
            return True, None
        try:
            return True, json.loads(self.raw)
        except (ValueError, UnicodeDecodeError) as exc:
            return False, str(exc)


@dataclass
class _Response:
    status: int
    body: bytes = b""
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    after: Callable[[], None] | None = None


def _json(status: int, payload: Any, headers: dict[str, str] | None = None) -> _Response:
    return _Response(status, json.dumps(payload).encode(), headers=headers or {})


def _error(status: int, detail: str, code: str | None = None, **extra: Any) -> _Response:
    payload: dict[str, Any] = {"detail": detail}
    if code is not None:
        payload["code"] = code
    payload.update(extra)
    return _json(status, payload)


def _invalid(errors: dict[str, list[str]]) -> _Response:
    return _error(400, "Invalid input.", "invalid", errors=errors)


def _not_found() -> _Response:
    return _error(404, "Not found.", "not_found")


def _method_not_allowed(method: str, allowed: tuple[str, ...]) -> _Response:
    response = _error(405, f'Method "{method}" not allowed.', "method_not_allowed")
    response.headers["Allow"] = ", ".join(allowed) if allowed else "OPTIONS"
    return response


def _parse_error(message: str) -> _Response:
    return _error(400, f"JSON parse error - {message}", "parse_error")


def _fault_response(fault: Fault, method: str) -> _Response:
    status = fault.status if fault.status is not None else 500
    headers: dict[str, str] = {}
    wait = None if fault.retry_after is None else math.ceil(fault.retry_after)
    if wait is not None:
        headers["Retry-After"] = str(wait)
    if fault.body is not None:
        try:
            json.loads(fault.body)
            content_type = "application/json"
        except ValueError:
            content_type = "text/html; charset=utf-8"
        return _Response(status, fault.body, content_type, headers)
    if status == 500 and fault.detail is None and fault.code is None:
        return _Response(500, _SERVER_ERROR_HTML, "text/html; charset=utf-8", headers)
    if status == 429:
        detail = "Request was throttled."
        if wait is not None:
            detail += f" Expected available in {wait} second{'' if wait == 1 else 's'}."
        code = None
    elif status == 405:
        detail, code = f'Method "{method}" not allowed.', "method_not_allowed"
    elif status in _DRF_ERRORS:
        detail, code = _DRF_ERRORS[status]
    else:
        phrase = _phrase(status, "Error")
        detail, code = f"{phrase}.", re.sub(r"\W+", "_", phrase.lower())
    response = _error(status, fault.detail or detail, fault.code or code)
    response.headers.update(headers)
    return response


def _phrase(status: int, default: str) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return default


def _redact(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: REDACTED if str(k).lower() == "bearer" else _redact(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_redact(v) for v in value]
    return value


def _as_list(value: Any) -> Any:
    """DailyBot's v3 docs accept "string or array": wrap a lone string."""
    return [value] if isinstance(value, str) else value


def _validated_list(
    data: dict[str, Any],
    key: str,
    validator: Callable[[object], list[str]],
    errors: dict[str, list[str]],
    *,
    required: bool,
) -> list[str]:
    """Validate a "string or array" field with ``validator``; add a DRF-style message to ``errors``."""
    value = _as_list(data.get(key))
    if value is None:
        if required:
            errors[key] = ["This field is required."]
        return []
    if not isinstance(value, list):
        errors[key] = [f'Expected a list of items but got type "{type(value).__name__}".']
        return []
    try:
        return validator(value)
    except (TypeError, ValueError) as exc:
        errors[key] = [str(exc)]
        return []


def _valid_url(value: Any) -> bool:
    if not isinstance(value, str) or not value or any(c.isspace() for c in value) or len(value) > 2048:
        return False
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def _route(path: str) -> tuple[str | None, str]:
    for pattern, route in _ROUTES:
        match = pattern.match(path)
        if match:
            return route, match.groupdict().get("arg") or ""
    return None, ""


def _requested_event(data: Any) -> tuple[str | None, str]:
    """Return ``(event, field)`` named by a ``/sample/`` body in any of its three shapes."""
    if not isinstance(data, dict):
        return None, "subscription"
    for key in ("subscription", "event", "subscriptions"):
        if key in data:
            value = _as_list(data[key])
            if isinstance(value, list) and value and isinstance(value[0], str):
                return value[0], key
            return None, key
    return None, "subscription"


# --------------------------------------------------------------------------- HTTP server


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], fake: FakeDailyBotServer, context: ssl.SSLContext | None) -> None:
        self.fake = fake
        self.connections_accepted = 0
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, _Handler)
        if context is not None:
            # The handshake runs in the connection's own thread (see _Handler.setup), not in accept().
            self.socket = context.wrap_socket(self.socket, server_side=True, do_handshake_on_connect=False)

    def server_bind(self) -> None:
        # HTTPServer.server_bind resolves the host name (getfqdn), which can be slow; skip it.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name, self.server_port = str(host), int(port)

    def get_request(self) -> tuple[Any, Any]:
        sock, address = super().get_request()
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self._open_lock:
            self.connections_accepted += 1
            self._open.add(sock)
        return sock, address

    def shutdown_request(self, request: Any) -> None:
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        with self._open_lock:
            sockets = list(self._open)
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        log.debug("Connection from %s ended with an error", client_address, exc_info=True)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = USER_AGENT
    sys_version = ""
    timeout = 120  # idle keep-alive connections are closed after this many seconds
    server: _HTTPServer

    def setup(self) -> None:
        super().setup()
        if isinstance(self.connection, ssl.SSLSocket):
            self.connection.do_handshake()

    def do_GET(self) -> None:
        self._dispatch()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = do_GET

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s - %s", self.address_string(), format % args)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        # Used by BaseHTTPRequestHandler for malformed requests; answer in DRF style, in one write.
        self.close_connection = True
        detail, error_code = _DRF_ERRORS.get(code, (message or "Bad request.", "invalid"))
        self._write(_error(code, message or detail, error_code))

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks: list[bytes] = []
            total = 0
            while True:
                size = int(self.rfile.readline(65537).split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                total += size
                if total > MAX_BODY_BYTES:
                    raise OverflowError
                chunks.append(self.rfile.read(size))
                self.rfile.readline(65537)
        length = int(self.headers.get("Content-Length") or 0)
        if length < 0:
            raise ValueError("negative Content-Length")
        if length > MAX_BODY_BYTES:
            raise OverflowError
        return self.rfile.read(length) if length else b""

    def _dispatch(self) -> None:
        started = time.monotonic()
        fake = self.server.fake
        split = urlsplit(self.path)
        try:
            raw = self._read_body()
        except OverflowError:
            self.close_connection = True
            self._write(_error(413, "Request body too large.", "request_too_large"))
            return
        except ValueError:
            self.close_connection = True
            self._write(_error(400, "Malformed request body.", "parse_error"))
            return
        request = _Request(
            method=self.command,
            path=split.path,
            query={k: v[0] for k, v in parse_qs(split.query, keep_blank_values=True).items()},
            headers={k.lower(): v for k, v in self.headers.items()},
            raw=raw,
        )
        fault = fake._take_fault(request.method, request.path)
        processed = self._process(request) if fault is None or fault.after_processing else None
        answer: _Response | None
        if fault is not None and fault.delay:
            time.sleep(fault.delay)
        if fault is not None and fault.drop:
            answer = None
        elif fault is not None and fault.status is not None:
            answer = _fault_response(fault, request.method)
        else:
            answer = processed if processed is not None else self._process(request)
            processed = answer
        fake._record(request, None if answer is None else answer.status)
        if answer is None:
            self.close_connection = True  # the server closes the socket without a response
        else:
            self._write(answer)
        log.debug(
            "%s %s -> %s (%.1f ms)",
            request.method,
            request.path,
            "dropped" if answer is None else answer.status,
            (time.monotonic() - started) * 1000,
        )
        if processed is not None and processed.after is not None:
            processed.after()

    def _process(self, request: _Request) -> _Response:
        try:
            return self.server.fake._process(request)
        except Exception:
            log.exception("The fake DailyBot server failed on %s %s", request.method, request.path)
            return _Response(500, _SERVER_ERROR_HTML, "text/html; charset=utf-8")

    def _write(self, response: _Response) -> None:
        status = response.status
        phrase = _phrase(status, "Unknown")
        lines = [
            f"HTTP/1.1 {status} {phrase}",
            f"Server: {USER_AGENT}",
            f"Date: {formatdate(usegmt=True)}",
        ]
        body = response.body
        if status == 204 or status < 200:
            body = b""
        else:
            lines.append(f"Content-Type: {response.content_type}")
            lines.append(f"Content-Length: {len(body)}")
        lines.extend(f"{name}: {value}" for name, value in response.headers.items())
        if self.close_connection:
            lines.append("Connection: close")
        if self.command == "HEAD":
            body = b""
        # One write: status line, headers and body leave in a single sendall.
        self.wfile.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)


# --------------------------------------------------------------------------- the fake server


@dataclass
class _Hook:
    public: FakeSubscription
    bearer: str | None

    def copy(self) -> FakeSubscription:
        return dataclasses.replace(
            self.public,
            subscriptions=list(self.public.subscriptions),
            subscribed_objects=list(self.public.subscribed_objects),
        )


class FakeDailyBotServer:
    """A fake DailyBot API server on a real socket, for tests, demos and benchmarks.

    Use it as a context manager (``with FakeDailyBotServer() as server: ...``) or call
    :meth:`start` and :meth:`stop`. Point a client at :attr:`base_url` with :attr:`api_key`.

    Switches are plain attributes that may be changed at any time: ``free_plan``, ``org_admin``,
    ``auth_failure_status``, ``create_status``, ``create_id_key``, ``delete_forms`` and
    ``deliver_samples`` (see the project documentation). :meth:`reset` restores the values they
    had when the server was started.

    :param api_key: The only ``X-API-KEY`` value accepted.
    :param host: The interface to listen on.
    :param port: The port; ``0`` picks a free one (read it back from :attr:`url`).
    :param ssl_context: A server-side TLS context; when given the server speaks HTTPS.
    :param organization_name: Reported by ``GET /v1/me/``.
    :param user_full_name: The API key owner reported by ``GET /v1/me/``.
    :param delivery_timeout: Seconds the default transport waits for a webhook receiver.
    :param transport: ``transport(url, headers, body, timeout) -> status`` replaces the HTTP POST
        of deliveries (for example to call an in-process ASGI app). Exceptions are recorded as
        delivery errors.
    """

    def __init__(
        self,
        api_key: str = "fake-dailybot-api-key",
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        ssl_context: ssl.SSLContext | None = None,
        organization_name: str = "Acme Corp",
        user_full_name: str = "Ada Lovelace",
        delivery_timeout: float = 5.0,
        transport: Transport | None = None,
    ) -> None:
        if not api_key:
            raise ValueError("api_key must not be empty")
        self.api_key = api_key
        self.host = host
        self.port = port
        self.ssl_context = ssl_context
        self.organization_name = organization_name
        self.user_full_name = user_full_name
        self.delivery_timeout = delivery_timeout
        self.transport: Transport = transport or self._requests_transport
        self.free_plan: bool = False
        self.org_admin: bool = True
        self.auth_failure_status: int = 401
        self.create_status: int = 201
        self.create_id_key: str = "id"
        self.delete_forms: set[str] = set(DELETE_FORMS)
        self.deliver_samples: bool = True
        self.pagination_style: str = "limit_offset"
        self.default_page_size: int = 50
        self.teams_bare_list: bool = False
        self.legacy_checkin_responses: bool = False
        self.kudos_daily_limit: int = 0
        self._org = seed.seed_organisation(owner_name=user_full_name, organization_name=organization_name)
        self._messages: list[dict[str, Any]] = []
        self._kudos_given: list[dict[str, Any]] = []
        self._kudos_seq = 0
        self._switches_at_start: dict[str, Any] = copy.deepcopy(_SWITCH_DEFAULTS)
        self._lock = threading.RLock()
        self._delivered = threading.Condition(self._lock)
        self._hooks: dict[str, _Hook] = {}
        self._requests: list[RecordedRequest] = []
        self._deliveries: list[DeliveryAttempt] = []
        self._faults: list[Fault] = []
        self._delivery_faults: list[DeliveryFault] = []
        self._session: requests.Session | None = None
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._address: tuple[str, int] | None = None

    # ----------------------------------------------------------------- lifecycle

    def start(self) -> FakeDailyBotServer:
        """Bind the socket and serve in a background thread; return ``self``."""
        if self._httpd is not None:
            raise RuntimeError("the fake DailyBot server is already started")
        self._switches_at_start = self._switches()
        self._httpd = _HTTPServer((self.host, self.port), self, self.ssl_context)
        self._address = (self._httpd.server_name, self._httpd.server_port)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"fake-dailybot-{self._httpd.server_port}",
            daemon=True,
        )
        self._thread.start()
        log.info("Fake DailyBot server listening on %s", self.url)
        return self

    def stop(self) -> None:
        """Stop serving, close open keep-alive connections and free the port. Idempotent."""
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        httpd.shutdown()
        httpd.close_connections()
        httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        with self._lock:
            session, self._session = self._session, None
        if session is not None:
            session.close()

    def __enter__(self) -> FakeDailyBotServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """``http(s)://host:port`` of the server (still readable after :meth:`stop`)."""
        if self._address is None:
            raise RuntimeError("the fake DailyBot server is not started")
        host, port = self._address
        if ":" in host:
            host = f"[{host}]"
        return f"{'https' if self.ssl_context else 'http'}://{host}:{port}"

    @property
    def base_url(self) -> str:
        """The API base URL, ``url + "/v1/"``."""
        return f"{self.url}/v1/"

    @property
    def connections_accepted(self) -> int:
        """How many TCP connections the server has accepted (to check keep-alive reuse)."""
        return 0 if self._httpd is None else self._httpd.connections_accepted

    # ----------------------------------------------------------------- inspection

    @property
    def subscriptions(self) -> list[FakeSubscription]:
        """Copies of the current subscriptions, oldest first."""
        with self._lock:
            return [hook.copy() for hook in self._hooks.values()]

    @property
    def requests(self) -> list[RecordedRequest]:
        """Copies of the recorded API requests, oldest first."""
        with self._lock:
            return copy.deepcopy(self._requests)

    @property
    def deliveries(self) -> list[DeliveryAttempt]:
        """Copies of the finished delivery attempts, oldest first."""
        with self._lock:
            return copy.deepcopy(self._deliveries)

    def wait_for_deliveries(self, count: int, timeout: float = 10.0) -> list[DeliveryAttempt]:
        """Block until at least ``count`` delivery attempts have finished; return them all.

        :param count: How many attempts (since start or the last :meth:`reset`) to wait for.
        :param timeout: Seconds to wait before raising :class:`TimeoutError`.
        """
        deadline = time.monotonic() + timeout
        with self._delivered:
            while len(self._deliveries) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(
                        f"expected {count} webhook deliveries within {timeout} s, saw {len(self._deliveries)}"
                    )
                self._delivered.wait(remaining)
            return copy.deepcopy(self._deliveries)

    def reset(self) -> None:
        """Drop subscriptions, logs, faults, messages and kudos; restore the seeded data and the switches.

        The switches get the values they had at :meth:`start`.
        """
        with self._lock:
            self._org = seed.seed_organisation(owner_name=self.user_full_name, organization_name=self.organization_name)
            self._messages.clear()
            self._kudos_given.clear()
            self._kudos_seq = 0
            self._hooks.clear()
            self._requests.clear()
            self._deliveries.clear()
            self._faults.clear()
            self._delivery_faults.clear()
            for name, value in self._switches_at_start.items():
                setattr(self, name, copy.deepcopy(value))

    @property
    def organisation(self) -> seed.FakeOrganisation:
        """A deep copy of the organisation the server serves: users, teams, check-ins, forms, responses."""
        with self._lock:
            return copy.deepcopy(self._org)

    @property
    def sent_messages(self) -> list[dict[str, Any]]:
        """Copies of the messages accepted by ``POST /v1/send-message/``, oldest first.

        Each is ``{"bot_message_id", "message", "target_users", "target_teams", "target_channels",
        "buttons", "extra", "sent_at"}`` (``extra``: any other body field).
        """
        with self._lock:
            return copy.deepcopy(self._messages)

    @property
    def kudos(self) -> list[dict[str, Any]]:
        """Copies of the kudos created by ``POST /v1/kudos/``, oldest first (as the API returned them)."""
        with self._lock:
            return copy.deepcopy(self._kudos_given)

    def checkin_responses(
        self, checkin_id: str = seed.CHECKIN_ID, date_start: str = "0000-00-00", date_end: str = "9999-99-99"
    ) -> list[dict[str, Any]]:
        """Copies of a check-in's responses in an inclusive ``YYYY-MM-DD`` range, in the API's order.

        :param checkin_id: The check-in's id (default: the seeded *Daily Standup*).
        :param date_start: First ``response_date``.
        :param date_end: Last ``response_date``.
        """
        with self._lock:
            rows = self._org.checkin_responses.get(checkin_id, [])
            return copy.deepcopy([r for r in rows if date_start <= r["response_date"] <= date_end])

    def add_checkin_response(
        self,
        *,
        user_id: str = seed.GRACE,
        checkin_id: str = seed.CHECKIN_ID,
        response_date: str | None = None,
        done: str = "Finished the demo",
        plan: str = "Working on the next demo",
        blocker: str | None = None,
        deliver: bool = True,
    ) -> dict[str, Any]:
        """Append a new check-in response (a "new standup") and deliver ``followups.response.completed``.

        The delivery goes to every subscription to that event whose ``subscribed_objects`` is empty
        or names the check-in, in this thread (see :meth:`deliveries`).

        :param user_id: The respondent's UUID (a seeded user).
        :param checkin_id: The check-in's id.
        :param response_date: The day, ``YYYY-MM-DD``; defaults to today (UTC).
        :param done: Answer to "What did you complete yesterday?".
        :param plan: Answer to "What are you planning to work on today?".
        :param blocker: A blocker (``has_issue`` becomes true), or ``None``.
        :param deliver: Deliver the webhook event.
        :return: A copy of the new response.
        """
        day = response_date or time.strftime("%Y-%m-%d", time.gmtime())
        if not _is_iso_day(day):
            raise ValueError(f"response_date must be YYYY-MM-DD, got {response_date!r}")
        with self._lock:
            user = self._org.user(user_id)
            checkin = self._org.checkin(checkin_id)
            if user is None or checkin is None:
                raise ValueError(
                    f"unknown {'user' if user is None else 'check-in'}: {user_id if user is None else checkin_id}"
                )
            response = seed.checkin_response(
                user,
                response_id=str(uuid.uuid4()),
                response_date=day,
                created_at=seed.now_iso(),
                done=done,
                plan=plan,
                blocker=blocker,
                checkin_id=checkin_id,
                checkin_name=checkin["name"],
            )
            rows = self._org.checkin_responses.setdefault(checkin_id, [])
            rows.append(response)
            rows.sort(key=lambda r: (r["response_date"], r["created_at"]))
            hooks = [
                hook
                for hook in self._hooks.values()
                if CHECKIN_COMPLETED in hook.public.subscriptions
                and (not hook.public.subscribed_objects or checkin_id in hook.public.subscribed_objects)
            ]
        if deliver:
            body = {k: v for k, v in response.items() if k != "response_date"}
            timestamp = time.time()
            for hook in hooks:
                self._deliver(hook, CHECKIN_COMPLETED, body, timestamp, sample=False)
        return copy.deepcopy(response)

    # ----------------------------------------------------------------- faults

    def inject(
        self,
        *,
        status: int | None = None,
        times: int = 1,
        method: str | None = None,
        path: str | None = None,
        retry_after: float | None = None,
        delay: float | None = None,
        drop: bool = False,
        code: str | None = None,
        detail: str | None = None,
        body: bytes | None = None,
        after_processing: bool = False,
    ) -> Fault:
        """Make the next ``times`` matching requests fail; faults are consumed in the order injected.

        :param status: Answer with this status and a DRF error body (``500``: Django's HTML page;
            ``429``: DRF's throttling text).
        :param times: How many matching requests get the fault.
        :param method: Only requests with this method (case-insensitive).
        :param path: Only requests whose URL path starts with this prefix. Control endpoints under
            ``/_fake/`` are only matched by a ``path`` starting with ``/_fake``.
        :param retry_after: Send ``Retry-After`` (seconds, rounded up) with the fault.
        :param delay: Sleep this long before answering (then answer normally unless ``status`` or
            ``drop`` is given).
        :param drop: Close the connection without any response.
        :param code: Override the ``code`` of the error body.
        :param detail: Override the ``detail`` of the error body.
        :param body: Send these bytes as the response body instead.
        :param after_processing: Process the request for real first (state changes, samples are
            delivered), then replace the real answer with the fault.
        """
        fault = Fault(
            status=status,
            times=times,
            method=method,
            path=path,
            retry_after=retry_after,
            delay=delay,
            drop=drop,
            code=code,
            detail=detail,
            body=body,
            after_processing=after_processing,
        )
        with self._lock:
            self._faults.append(fault)
        return fault

    def inject_delivery(
        self,
        *,
        times: int = 1,
        drop: bool = False,
        duplicate: bool = False,
        delay: float | None = None,
        event: str | None = None,
    ) -> DeliveryFault:
        """Disturb the next ``times`` matching outgoing deliveries (samples included).

        :param times: How many deliveries get the fault.
        :param drop: Never send it (recorded as an attempt with ``status=None`` and an ``error``).
        :param duplicate: Send it twice (two attempts are recorded).
        :param delay: Wait this many seconds before sending.
        :param event: Only deliveries of this event.
        """
        fault = DeliveryFault(times=times, drop=drop, duplicate=duplicate, delay=delay, event=event)
        with self._lock:
            self._delivery_faults.append(fault)
        return fault

    def clear_faults(self) -> None:
        """Cancel every pending request and delivery fault; state and switches stay as they are."""
        with self._lock:
            self._faults.clear()
            self._delivery_faults.clear()

    def _take_fault(self, method: str, path: str) -> Fault | None:
        with self._lock:
            return _consume(self._faults, lambda f: f.matches(method, path))

    # ----------------------------------------------------------------- deliveries

    def emit(self, event: str, body: dict[str, Any] | None = None, *, wait: bool = True) -> list[DeliveryAttempt]:
        """Deliver ``event`` to every subscription subscribed to it.

        :param event: A known DailyBot event name.
        :param body: The envelope ``body``; defaults to :func:`sample_body` for the event.
        :param wait: Deliver in this thread and return the attempts; with ``False`` deliver in a
            background thread and return ``[]`` (use :meth:`wait_for_deliveries`).
        """
        (name,) = validate_event_names([event], argument="event")
        payload = sample_body(name) if body is None else body
        timestamp = time.time()
        with self._lock:
            hooks = [hook for hook in self._hooks.values() if name in hook.public.subscriptions]

        def run() -> list[DeliveryAttempt]:
            return [a for hook in hooks for a in self._deliver(hook, name, payload, timestamp, sample=False)]

        if wait:
            return run()
        self._background(run)
        return []

    def _background(self, target: Callable[[], object]) -> None:
        threading.Thread(target=target, name="fake-dailybot-delivery", daemon=True).start()

    def _deliver(
        self, hook: _Hook, event: str, body: dict[str, Any], timestamp: float, *, sample: bool
    ) -> list[DeliveryAttempt]:
        envelope = make_envelope(
            event, hook_id=hook.public.id, hook_name=hook.public.name, body=body, timestamp=timestamp
        )
        with self._lock:
            fault = _consume(self._delivery_faults, lambda f: f.matches(event))
        if fault is not None and fault.delay:
            time.sleep(fault.delay)
        if fault is not None and fault.drop:
            dropped = DeliveryAttempt(
                hook.public.id, hook.public.hook_url, event, envelope, None, _DROPPED, sample, time.time(), 0.0
            )
            self._finish(dropped)
            return [dropped]
        copies = 2 if fault is not None and fault.duplicate else 1
        return [self._post(hook, event, envelope, sample) for _ in range(copies)]

    def _post(self, hook: _Hook, event: str, envelope: dict[str, Any], sample: bool) -> DeliveryAttempt:
        headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT}
        if hook.bearer is not None:
            headers["X-BEARER"] = hook.bearer
        started_at, started = time.time(), time.monotonic()
        status: int | None = None
        error: str | None = None
        try:
            payload = json.dumps(envelope).encode()
            status = int(self.transport(hook.public.hook_url, headers, payload, self.delivery_timeout))
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
            if hook.bearer:
                error = error.replace(hook.bearer, REDACTED)
        attempt = DeliveryAttempt(
            hook.public.id,
            hook.public.hook_url,
            event,
            envelope,
            status,
            error,
            sample,
            started_at,
            time.monotonic() - started,
        )
        if error is None:
            log.debug("Delivered %s to hook %s: HTTP %s", event, hook.public.id, status)
        else:
            log.info("Delivering %s to hook %s failed: %s", event, hook.public.id, error)
        self._finish(attempt)
        return attempt

    def _finish(self, attempt: DeliveryAttempt) -> None:
        with self._delivered:
            self._deliveries.append(attempt)
            self._delivered.notify_all()

    def _requests_transport(self, url: str, headers: dict[str, str], body: bytes, timeout: float) -> int:
        with self._lock:
            if self._session is None:
                self._session = requests.Session()  # urllib3's pool is thread-safe; connections are reused
            session = self._session
        with session.post(url, data=body, headers=headers, timeout=timeout, allow_redirects=False) as response:
            return response.status_code

    # ----------------------------------------------------------------- request handling

    def _switches(self) -> dict[str, Any]:
        return {name: copy.deepcopy(getattr(self, name)) for name in _SWITCH_DEFAULTS}

    def _record(self, request: _Request, status: int | None) -> None:
        if request.path.startswith("/_fake/"):
            return
        parsed, value = request.parsed
        recorded = RecordedRequest(
            method=request.method,
            path=request.path,
            query=dict(request.query),
            json=_redact(value) if parsed else None,
            status=status,
            headers={k: v for k, v in request.headers.items() if k not in _SENSITIVE_HEADERS},
        )
        with self._lock:
            self._requests.append(recorded)

    def _authenticate(self, request: _Request) -> _Response | None:
        given = request.headers.get("x-api-key", "")
        if not given:
            return _error(self.auth_failure_status, "Authentication credentials were not provided.")
        if not hmac.compare_digest(given.encode("utf-8", "replace"), self.api_key.encode("utf-8", "replace")):
            return _error(self.auth_failure_status, "Invalid API key.", "authentication_failed")
        return None

    def _process(self, request: _Request) -> _Response:
        route, arg = _route(request.path)
        if route is None:
            return _not_found()
        denied = self._authenticate(request)
        if denied is not None:
            return denied
        if route == "control":
            allowed = _CONTROL_METHODS[arg]
        else:
            if self.free_plan:
                return _error(
                    403,
                    "API keys are not available on the FREE plan. Upgrade your plan to use the DailyBot API.",
                    "plan_free_api_keys_forbidden",
                    upgrade_url=UPGRADE_URL,
                )
            allowed = (
                _DATA_ROUTES.get(route)
                or {
                    "me": ("GET",),
                    "hooks": ("POST", "DELETE"),
                    "sample": ("POST",),
                    "hook": ("DELETE",) if "path" in self.delete_forms else (),
                }[route]
            )
        method = "GET" if request.method == "HEAD" else request.method
        if method not in allowed:
            return _method_not_allowed(request.method, allowed)
        if route == "control":
            return self._control(arg, request)
        if route in _DATA_ROUTES:
            return self._data(route, arg, request)
        if route != "me" and not self.org_admin:
            return _error(
                403,
                "You must be an organization admin to manage webhook subscriptions.",
                "org_admin_required",
                extra={"required_role": "ADMIN_ORG"},
            )
        if route == "me":
            return _json(200, self._me())
        if route == "sample":
            return self._sample(request)
        if route == "hook":
            return self._delete(arg, request.query.get("hook_url"))
        if method == "POST":
            return self._create(request)
        return self._delete_from_request(request)

    def _me(self) -> dict[str, Any]:
        org_uuid = str(uuid.uuid5(uuid.NAMESPACE_URL, f"fake-dailybot:organization:{self.organization_name}"))
        email_name = re.sub(r"[^a-z0-9]+", ".", self.user_full_name.lower()).strip(".") or "user"
        return {
            "uuid": str(uuid.uuid5(uuid.NAMESPACE_URL, f"fake-dailybot:user:{self.user_full_name}")),
            "full_name": self.user_full_name,
            "role": "ADMIN_ORG" if self.org_admin else "MEMBER",
            "email": f"{email_name}@example.com",
            "timezone": "America/New_York",
            "image": "https://avatars.slack-edge.com/2022-06-21/image.png",
            "is_active": True,
            "bot_enabled": True,
            "occupation": "",
            "organization": {"uuid": org_uuid, "name": self.organization_name},
            "user": self.user_full_name,
            "organization_uuid": org_uuid,
            "organization_name": self.organization_name,
        }

    def _create(self, request: _Request) -> _Response:
        parsed, data = request.parsed
        if not parsed:
            return _parse_error(data)
        if data is None:
            data = {}
        if not isinstance(data, dict):
            return _invalid(
                {"non_field_errors": [f"Invalid data. Expected a dictionary, but got {type(data).__name__}."]}
            )
        errors: dict[str, list[str]] = {}
        hook_url: str = data.get("hook_url") or ""
        if "hook_url" not in data:
            errors["hook_url"] = ["This field is required."]
        elif not _valid_url(hook_url):
            errors["hook_url"] = ["Enter a valid URL."]
        events = _validated_list(data, "subscriptions", validate_event_names, errors, required=True)
        objects = _validated_list(data, "subscribed_objects", validate_uuids, errors, required=False)
        for key in ("name", "bearer"):
            if data.get(key) is not None and not isinstance(data[key], str):
                errors[key] = ["Not a valid string."]
        sample = data.get("immediate_sample_event", False)
        if sample in (True, "true", "True", 1, "1"):
            sample = True
        elif sample in (None, False, "false", "False", 0, "0"):
            sample = False
        else:
            errors["immediate_sample_event"] = ["Must be a valid boolean."]
        if errors:
            return _invalid(errors)
        bearer = data.get("bearer") or None
        hook = _Hook(
            FakeSubscription(
                id=str(uuid.uuid4()),
                hook_url=hook_url,
                subscriptions=events,
                subscribed_objects=objects,
                name=data.get("name") or "",
                created_at=time.time(),
                has_bearer=bearer is not None,
                bearer_sha256=None if bearer is None else hashlib.sha256(bearer.encode()).hexdigest(),
            ),
            bearer,
        )
        with self._lock:
            self._hooks[hook.public.id] = hook
            id_key = self.create_id_key
            deliver_sample = sample and self.deliver_samples
        response = _json(
            self.create_status,
            {
                id_key: hook.public.id,
                "url": hook.public.hook_url,
                "name": hook.public.name,
                "subscriptions": list(events),
                "subscribed_objects": list(objects),
            },
        )
        if deliver_sample:
            event = events[0]
            response.after = lambda: self._background(
                lambda: self._deliver(hook, event, sample_body(event), time.time(), sample=True)
            )
        return response

    def _delete_from_request(self, request: _Request) -> _Response:
        hook_id = hook_url = None
        if "query" in self.delete_forms:
            hook_id, hook_url = request.query.get("hook_id"), request.query.get("hook_url")
        if "body" in self.delete_forms:
            parsed, data = request.parsed
            if not parsed:
                return _parse_error(data)
            if isinstance(data, dict):
                hook_id = hook_id or data.get("hook_id")
                hook_url = hook_url or data.get("hook_url")
        if not hook_id:
            return _error(400, "hook_id is required.", "invalid")
        return self._delete(str(hook_id), None if hook_url is None else str(hook_url))

    def _delete(self, hook_id: str, hook_url: str | None) -> _Response:
        with self._lock:
            hook = self._hooks.get(hook_id)
            if hook is None or (hook_url is not None and hook_url != hook.public.hook_url):
                return _not_found()
            del self._hooks[hook_id]
        return _Response(204)

    def _sample(self, request: _Request) -> _Response:
        parsed, data = request.parsed
        if not parsed:
            return _parse_error(data)
        event, key = _requested_event(data)
        try:
            (name,) = validate_event_names([event], argument=key)
        except (TypeError, ValueError) as exc:
            message = "This field is required." if event is None else str(exc)
            return _invalid({key: [message]})
        return _json(200, make_envelope(name, hook_id=SAMPLE_HOOK_ID, hook_name="Sample"))

    # ----------------------------------------------------------------- organisation data (users … kudos)

    def _data(self, route: str, arg: str, request: _Request) -> _Response:
        """Serve the read endpoints of the seeded organisation and the two actions."""
        if route == "send_message":
            return self._send_message(request)
        if route == "kudos" and request.method == "POST":
            return self._give_kudos(request)
        with self._lock:
            org = self._org
            if route == "users":
                with_email = request.query.get("include_email", "").lower() == "true"
                return self._page(request, [_user_json(u, with_email) for u in org.users])
            if route == "user":
                user = org.user(arg)
                return _json(200, _user_json(user, True)) if user else _not_found()
            if route == "teams":
                teams = [_team_json(t, bare=self.teams_bare_list) for t in org.teams]
                return self._page(request, teams, bare=self.teams_bare_list)
            if route in ("team", "team_members"):
                team = org.team(arg)
                if team is None:
                    return _not_found()
                if route == "team":
                    return _json(200, _team_json(team, bare=True))
                members = [_user_json(u, False) for u in org.users if u["uuid"] in team["member_uuids"]]
                return self._page(request, members, bare=self.teams_bare_list)
            if route in ("checkins", "followups"):
                return self._page(request, [{k: v for k, v in c.items() if k != "participants"} for c in org.checkins])
            if route == "checkin":
                checkin = org.checkin(arg)
                return _json(200, checkin) if checkin else _not_found()
            if route in ("checkin_responses", "followup_responses"):
                if route == "checkin_responses" and self.legacy_checkin_responses:
                    return _not_found()
                return self._checkin_responses(arg, request)
            if route == "forms":
                return _json(200, copy.deepcopy(org.forms))  # a flat array, as DailyBot documents it
            if route == "form_responses":
                return self._form_responses(arg, request)
            return self._page(request, self._kudos_given)

    def _checkin_responses(self, checkin_id: str, request: _Request) -> _Response:
        if self._org.checkin(checkin_id) is None:
            return _not_found()
        today = time.strftime("%Y-%m-%d", time.gmtime())
        start, end = request.query.get("date_start") or today, request.query.get("date_end") or today
        if not (_is_iso_day(start) and _is_iso_day(end)) or end < start:
            return _error(400, "date_start and date_end must be YYYY-MM-DD, date_start first.", "invalid_date_range")
        user = request.query.get("user")
        rows = [
            r
            for r in self._org.checkin_responses.get(checkin_id, [])
            if start <= r["response_date"] <= end and (not user or r["user"]["uuid"] == user)
        ]
        return self._page(request, rows)

    def _form_responses(self, form_id: str, request: _Request) -> _Response:
        if self._org.form(form_id) is None:
            return _not_found()
        query = request.query
        start, end = query.get("date_from") or "0000-00-00", query.get("date_to") or "9999-99-99"
        everyone = query.get("all", "").lower() == "true"
        owner = seed.owner_uuid(self.user_full_name)
        rows = [
            r
            for r in self._org.form_responses.get(form_id, [])
            if start <= r["created_at"][:10] <= end and (everyone or r["user"]["uuid"] == owner)
        ]
        return self._page(request, rows)

    def _page(self, request: _Request, items: list[dict[str, Any]], *, bare: bool = False) -> _Response:
        """Answer a list: a bare array, or DRF's envelope paginated in the server's ``pagination_style``."""
        items = copy.deepcopy(items)
        if bare:
            return _json(200, items)
        query, total = dict(request.query), len(items)
        if self.pagination_style == "page":
            size = min(_positive_int(query.get("page_size"), self.default_page_size), MAX_PAGE_SIZE)
            page_text = query.get("page", "1")
            page = int(page_text) if page_text.isdigit() else 0  # DRF answers "Invalid page." below
            if page < 1 or (page > 1 and (page - 1) * size >= total):
                return _error(404, "Invalid page.", "not_found")
            start, stop = (page - 1) * size, page * size
            next_query = {**query, "page": str(page + 1), "page_size": str(size)} if stop < total else None
            previous_query = {**query, "page": str(page - 1), "page_size": str(size)} if page > 1 else None
        else:
            size = min(_positive_int(query.get("limit"), self.default_page_size), MAX_LIMIT)
            start = _positive_int(query.get("offset"), 0, minimum=0)
            stop = start + size
            next_query = {**query, "limit": str(size), "offset": str(stop)} if stop < total else None
            previous_query = {**query, "limit": str(size), "offset": str(max(0, start - size))} if start else None
        origin = (
            f"{'https' if self.ssl_context else 'http'}://{request.headers.get('host') or self.url.split('://')[1]}"
        )
        return _json(
            200,
            {
                "count": total,
                "next": None if next_query is None else f"{origin}{request.path}?{urlencode(next_query)}",
                "previous": None if previous_query is None else f"{origin}{request.path}?{urlencode(previous_query)}",
                "results": items[start:stop],
            },
        )

    def _send_message(self, request: _Request) -> _Response:
        data = _object_body(request)
        if isinstance(data, _Response):
            return data
        errors: dict[str, list[str]] = {}
        text = data.get("message")
        if (not isinstance(text, str) or not text.strip()) and not data.get("messages"):
            errors["message"] = ["This field is required." if text is None else "Not a valid string."]
        with self._lock:
            users = self._known(data, "target_users", lambda v: self._org.user(v), errors)
            teams = self._known(data, "target_teams", lambda v: self._org.team(v), errors)
        channels = _as_list(data.get("target_channels")) or []
        if not isinstance(channels, list) or not all(
            (isinstance(c, str) and c) or (isinstance(c, dict) and c.get("id")) for c in channels
        ):
            errors["target_channels"] = ["Each channel must be an id or an object with an 'id'."]
        if not errors and not (users or teams or channels):
            errors["non_field_errors"] = ["At least one of target_users, target_teams or target_channels is required."]
        buttons = data.get("buttons") or []
        if not isinstance(buttons, list) or len(buttons) > MAX_BUTTONS:
            return _error(400, f"A message takes 1 to {MAX_BUTTONS} buttons.", "buttons_count_out_of_range")
        if not all(isinstance(b, dict) and isinstance(b.get("label"), str) and b["label"].strip() for b in buttons):
            errors["buttons"] = ["Every button needs a label."]
        if errors:
            return _invalid(errors)
        message_id = str(uuid.uuid4())
        record = {
            "bot_message_id": message_id,
            "message": text,
            "target_users": users,
            "target_teams": teams,
            "target_channels": channels,
            "buttons": buttons,
            "extra": {k: v for k, v in data.items() if k not in _MESSAGE_FIELDS},
            "sent_at": seed.now_iso(),
        }
        with self._lock:
            self._messages.append(record)
        return _json(200, {"bot_message_id": message_id, "thread_responses": []})

    def _known(
        self,
        data: dict[str, Any],
        key: str,
        lookup: Callable[[str], dict[str, Any] | None],
        errors: dict[str, list[str]],
    ) -> list[str]:
        """Return the identifiers listed under ``key``, adding a DRF-style error for unknown ones."""
        values = _as_list(data.get(key))
        if values is None:
            return []
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            errors[key] = [f'Expected a list of items but got type "{type(values).__name__}".']
            return []
        unknown = [v for v in values if lookup(v) is None]
        if unknown:
            errors[key] = [f"Unknown: {', '.join(unknown)}."]
        return list(values)

    def _give_kudos(self, request: _Request) -> _Response:
        data = _object_body(request)
        if isinstance(data, _Response):
            return data
        errors: dict[str, list[str]] = {}
        with self._lock:
            receivers = self._known(data, "receivers", lambda v: self._org.user(v), errors)
        if not receivers and "receivers" not in errors:
            errors["receivers"] = ["This field is required."]
        content = data.get("content")
        if not isinstance(content, str) or not content.strip():
            errors["content"] = ["This field is required."]
        for key in ("is_anonymous", "by_dailybot"):
            if not isinstance(data.get(key, False), bool):
                errors[key] = ["Must be a valid boolean."]
        if errors:
            return _invalid(errors)
        with self._lock:
            today = time.strftime("%Y-%m-%d", time.gmtime())
            given_today = sum(1 for k in self._kudos_given if k["created_at"][:10] == today)
            if self.kudos_daily_limit and given_today >= self.kudos_daily_limit:
                return _error(406, "You have reached the daily kudos limit.", "kudos_daily_limit_reached")
            owner = self._org.user(seed.owner_uuid(self.user_full_name)) or {}
            self._kudos_seq += 1
            kudos = {
                "id": self._kudos_seq,
                "parent": None,
                "user": None
                if data.get("by_dailybot")
                else seed.public_user(owner, with_email=False)
                if owner
                else None,
                "receivers": [seed.public_user(self._org.user(r) or {}, with_email=False) for r in receivers],
                "company_value": data.get("company_value"),
                "content": content,
                "is_anonymous": bool(data.get("is_anonymous", False)),
                "by_dailybot": bool(data.get("by_dailybot", False)),
                "metadata": {},
                "created_at": seed.now_iso(),
            }
            self._kudos_given.append(kudos)
            organization_uuid = seed.organization_uuid(self.organization_name)
        body = {
            "organization_uuid": organization_uuid,
            "uuid": str(uuid.uuid5(uuid.NAMESPACE_URL, f"fake-dailybot:kudos:{kudos['id']}")),
            "company_value": kudos["company_value"],
            "giver": kudos["user"],
            "receivers": kudos["receivers"],
            "content": content,
            "is_anonymous": kudos["is_anonymous"],
        }
        response = _json(201, copy.deepcopy(kudos))
        response.after = lambda: self._background(lambda: self.emit("kudos.posted", body))
        return response

    # ----------------------------------------------------------------- control endpoints

    def _control(self, action: str, request: _Request) -> _Response:
        if action == "state":
            with self._lock:
                state = {
                    "subscriptions": [dataclasses.asdict(hook.copy()) for hook in self._hooks.values()],
                    "deliveries": [dataclasses.asdict(a) for a in self._deliveries],
                    "request_count": len(self._requests),
                    "switches": self._switches_json(),
                    "sent_messages": copy.deepcopy(self._messages),
                    "kudos": copy.deepcopy(self._kudos_given),
                }
            return _json(200, state)
        if action == "reset":
            self.reset()
            return _Response(204)
        if action == "switches" and request.method == "GET":
            return _json(200, self._switches_json())
        parsed, data = request.parsed
        if not parsed:
            return _parse_error(data)
        if not isinstance(data, dict):
            return _invalid({"non_field_errors": ["Expected a JSON object."]})
        try:
            if action == "emit":
                unknown = set(data) - {"event", "body", "wait"}
                if unknown:
                    raise TypeError(f"unexpected fields: {', '.join(sorted(unknown))}")
                if data.get("body") is not None and not isinstance(data["body"], dict):
                    raise TypeError("body must be a JSON object")
                attempts = self.emit(data.get("event", ""), data.get("body"), wait=bool(data.get("wait", True)))
                return _json(200, {"deliveries": [dataclasses.asdict(a) for a in attempts]})
            if action == "faults":
                if isinstance(data.get("body"), str):
                    data["body"] = data["body"].encode()
                fault = self.inject(**data)
                return _json(201, {"fault": _fault_json(fault)})
            if action == "delivery-faults":
                return _json(201, {"fault": dataclasses.asdict(self.inject_delivery(**data))})
            if action == "checkin-responses":
                before = len(self.deliveries)
                response = self.add_checkin_response(**data)
                attempts = self.deliveries[before:]
                return _json(201, {"response": response, "deliveries": [dataclasses.asdict(a) for a in attempts]})
            self._set_switches(data)
            return _json(200, self._switches_json())
        except (TypeError, ValueError) as exc:
            return _invalid({"non_field_errors": [str(exc)]})

    def _switches_json(self) -> dict[str, Any]:
        switches = self._switches()
        switches["delete_forms"] = sorted(switches["delete_forms"])
        return switches

    def _set_switches(self, data: dict[str, Any]) -> None:
        for name, value in data.items():
            if name not in _SWITCH_DEFAULTS:
                raise ValueError(f"unknown switch {name!r}; known: {', '.join(_SWITCH_DEFAULTS)}")
            expected = type(_SWITCH_DEFAULTS[name])
            if expected is set:
                if not isinstance(value, list) or not set(value) <= DELETE_FORMS:
                    raise ValueError(f"delete_forms must be a list drawn from {sorted(DELETE_FORMS)}")
                value = set(value)
            elif type(value) is not expected:
                raise TypeError(f"{name} must be a {expected.__name__}")
            if name == "pagination_style" and value not in PAGINATION_STYLES:
                raise ValueError(f"pagination_style must be one of {', '.join(PAGINATION_STYLES)}")
            if name in ("default_page_size", "kudos_daily_limit") and value < (1 if name == "default_page_size" else 0):
                raise ValueError(f"{name} must be {'positive' if name == 'default_page_size' else 'zero or more'}")
        with self._lock:
            for name, value in data.items():
                setattr(self, name, set(value) if name == "delete_forms" else value)


def _fault_json(fault: Fault) -> dict[str, Any]:
    data = dataclasses.asdict(fault)
    if fault.body is not None:
        data["body"] = fault.body.decode("utf-8", "replace")
    return data


def _consume(faults: list[Any], predicate: Callable[[Any], bool]) -> Any:
    """Take one use of the first fault matching ``predicate``; drop it once used up."""
    for fault in faults:
        if predicate(fault):
            fault.remaining -= 1
            fault.hits += 1
            if fault.remaining <= 0:
                faults.remove(fault)
            return fault
    return None


def _object_body(request: _Request) -> dict[str, Any] | _Response:
    """Return the request's JSON object, or the DRF error answer for anything else."""
    parsed, data = request.parsed
    if not parsed:
        return _parse_error(data)
    if not isinstance(data, dict):
        return _invalid({"non_field_errors": [f"Invalid data. Expected a dictionary, but got {type(data).__name__}."]})
    return data


def _user_json(user: dict[str, Any], with_email: bool) -> dict[str, Any]:
    return {k: v for k, v in user.items() if with_email or k != "email"}


def _team_json(team: dict[str, Any], *, bare: bool) -> dict[str, Any]:
    keys = (
        ("uuid", "name", "active", "is_default") if bare else ("uuid", "name", "active", "is_default", "members_count")
    )
    return {k: team[k] for k in keys}


def _is_iso_day(value: str) -> bool:
    return bool(re.fullmatch(r"\d{4}-\d{2}-\d{2}", value))


def _positive_int(value: str | None, default: int, *, minimum: int = 1) -> int:
    """DRF's paginators ignore a malformed or out-of-range number and use the default."""
    try:
        number = int(value) if value is not None else default
    except ValueError:
        return default
    return number if number >= minimum else default
