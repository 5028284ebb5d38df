"""One HTTP exchange with bounded bytes and bounded wall-clock time: the only place a response body is read.

:func:`exchange` sends one request (``stream=True``) and reads the whole answer under three limits:

* ``timeout``: each connect and each socket read (``requests``' own timeout);
* ``total_timeout``: the whole attempt, from the first byte sent to the last byte of the body,
  headers included. The shared watchdog of :mod:`airflow_provider_dailybot.deadlines` shuts the
  connection's socket down when the deadline passes, so a server that trickles its status line,
  its headers or its body one byte at a time (each read within ``timeout``) is cut off too;
* ``max_response_bytes``: the body after decoding. A ``Content-Length`` above it is refused before
  reading; otherwise reading stops at the first byte over it. ``gzip`` and ``deflate`` are decoded
  here with the same bound (a compression bomb stops at the cap); other encodings are refused.

A failure is an :class:`ExchangeFailure` (``kind`` ``"timeout"``, ``"deadline"``, ``"too_large"`` or
``"transport"``) saying whether the request may have reached the server; the hook turns it into a
typed error. The watchdog needs the socket of the request in flight: :class:`BoundedAdapter` mounts
connection classes that report it (plain and HTTP-proxied connections; behind a SOCKS proxy the
deadline is checked between reads of the body only). DNS resolution is bounded by the system resolver.

Nothing here imports Airflow or the hook.
"""

from __future__ import annotations

import http.client
import threading
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import requests
import urllib3
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError

from airflow_provider_dailybot import scrubbing
from airflow_provider_dailybot.deadlines import Deadline

#: Bytes asked of the socket per read of the body.
READ_CHUNK_BYTES = 64 * 1024
#: Longest description kept of a library's exception text.
MAX_DESCRIPTION_CHARS = 2_000


@dataclass(frozen=True)
class Limits:
    """The bounds of one attempt.

    :param timeout: Seconds for the connect and for each socket read.
    :param total_timeout: Seconds for the whole attempt (connect, headers and body).
    :param max_response_bytes: Largest body accepted, after decoding.
    """

    timeout: float
    total_timeout: float
    max_response_bytes: int


@dataclass(frozen=True)
class Answer:
    """A complete HTTP answer, its body read within the limits.

    :param status_code: The HTTP status.
    :param headers: The response headers (case-insensitive).
    :param body: The decoded body.
    """

    status_code: int
    headers: Mapping[str, str]
    body: bytes


class ExchangeFailure(Exception):
    """No complete answer within the limits.

    :param kind: ``"timeout"`` (connect or read timeout), ``"deadline"`` (``total_timeout``),
        ``"too_large"`` (``max_response_bytes``) or ``"transport"`` (anything else).
    :param description: What happened, for the error message (not yet scrubbed or cut).
    :param request_sent: False only when provably nothing reached the server.
    :param status_code: The status of an answer that was too large, if one arrived.
    :param ssl_error: The failure was a TLS error.
    """

    def __init__(
        self,
        kind: str,
        description: str,
        *,
        request_sent: bool = True,
        status_code: int | None = None,
        ssl_error: bool = False,
    ) -> None:
        super().__init__(description)
        self.kind = kind
        self.description = description
        self.request_sent = request_sent
        self.status_code = status_code
        self.ssl_error = ssl_error


# -- the watchdog's view of the connection in use -------------------------------------------------------

#: The deadline of the attempt running in this thread (``attempt``), if any.
_local = threading.local()


def _watch(connection: Any) -> None:
    attempt: Deadline | None = getattr(_local, "attempt", None)
    if attempt is not None:
        attempt.watch(connection)


class _Watched:
    """Mixin: register the connection with the attempt's deadline watchdog before connecting and sending."""

    def connect(self) -> None:
        _watch(self)
        super().connect()  # type: ignore[misc]

    def request(self, *args: Any, **kwargs: Any) -> None:
        _watch(self)
        super().request(*args, **kwargs)  # type: ignore[misc]


class _WatchedHTTPConnection(_Watched, HTTPConnection):
    pass


class _WatchedHTTPSConnection(_Watched, HTTPSConnection):
    pass


class _WatchedHTTPConnectionPool(HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _WatchedHTTPSConnectionPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


_WATCHED_POOLS = {"http": _WatchedHTTPConnectionPool, "https": _WatchedHTTPSConnectionPool}


class BoundedAdapter(HTTPAdapter):
    """An ``HTTPAdapter`` whose connections report their socket to the attempt's watchdog."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = dict(_WATCHED_POOLS)

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        if manager.pool_classes_by_scheme.get("http") is HTTPConnectionPool:  # not a SOCKS manager
            manager.pool_classes_by_scheme = dict(_WATCHED_POOLS)
        return manager


# -- one exchange -------------------------------------------------------------------------------------


def exchange(
    session: requests.Session,
    method: str,
    url: str,
    *,
    limits: Limits,
    params: Mapping[str, Any] | None = None,
    json_body: Any = None,
    verify: bool | str = True,
) -> Answer:
    """Send one request and return its complete answer, or raise :class:`ExchangeFailure`.

    Redirects are never followed. The connection goes back to the pool only after a body read whole.

    :param session: A session with :class:`BoundedAdapter` mounted (other adapters lose the header-phase
        watchdog, not the body bounds).
    :param method: HTTP method.
    :param url: Absolute URL.
    :param limits: The bounds of this attempt.
    :param params: Query parameters.
    :param json_body: JSON body.
    :param verify: ``requests``' ``verify``.
    """
    attempt = Deadline(limits.total_timeout)
    previous = getattr(_local, "attempt", None)
    _local.attempt = attempt
    response: requests.Response | None = None
    complete = False
    try:
        attempt.start()
        try:
            response = session.request(
                method,
                url,
                params=params,
                json=json_body,
                timeout=(limits.timeout, limits.timeout),
                verify=verify,
                allow_redirects=False,
                stream=True,
            )
            connection = getattr(response.raw, "connection", None)
            if connection is not None:
                attempt.watch(connection)
            body = _read_body(response, limits, attempt)
        except ExchangeFailure:
            raise
        except (requests.RequestException, urllib3.exceptions.HTTPError, http.client.HTTPException, OSError) as exc:
            if attempt.overdue():
                raise _deadline(attempt) from None
            raise _failure_from(exc, body_started=response is not None) from None
        except UnicodeError as exc:  # a header value that is not latin-1: nothing was sent
            raise ExchangeFailure("transport", _describe(exc), request_sent=False) from None
        if attempt.overdue():  # an end of body caused by the watchdog is not a complete body
            raise _deadline(attempt)
        complete = True
        return Answer(status_code=response.status_code, headers=response.headers, body=body)
    finally:
        attempt.finish()
        _local.attempt = previous
        if response is not None:
            if complete:
                response.raw.release_conn()
            else:
                response.close()


def _deadline(attempt: Deadline) -> ExchangeFailure:
    return ExchangeFailure("deadline", f"no complete answer within the {attempt.seconds:g} s total_timeout")


def _read_body(response: requests.Response, limits: Limits, attempt: Deadline) -> bytes:
    cap = limits.max_response_bytes
    status = response.status_code
    declared = _declared_length(response.headers.get("Content-Length"))
    if declared is not None and declared > cap:
        raise _too_large(status, cap, f"declares {declared} bytes")
    decoder = _Decoder(response.headers.get("Content-Encoding"))
    body = bytearray()
    for chunk in response.raw.stream(READ_CHUNK_BYTES, decode_content=False):
        if attempt.overdue():
            raise _deadline(attempt)
        body += decoder.feed(chunk, cap + 1 - len(body))
        if len(body) > cap:
            raise _too_large(status, cap, "is longer")
    body += decoder.flush(cap + 1 - len(body))
    if len(body) > cap:
        raise _too_large(status, cap, "is longer")
    return bytes(body)


def _too_large(status: int, cap: int, how: str) -> ExchangeFailure:
    return ExchangeFailure(
        "too_large",
        f"the HTTP {status} answer {how} than max_response_bytes ({cap}); not read further",
        status_code=status,
    )


def _declared_length(value: str | None) -> int | None:
    if not value:
        return None
    try:
        return max(int(part.strip()) for part in value.split(","))
    except ValueError:
        return None


class _Decoder:
    """Decode a ``Content-Encoding`` with a bound on the output of every step."""

    def __init__(self, encoding: str | None) -> None:
        name = (encoding or "identity").strip().lower()
        if name in ("", "identity"):
            self._wbits: int | None = None
        elif name in ("gzip", "x-gzip"):
            self._wbits = 16 + zlib.MAX_WBITS
        elif name == "deflate":
            self._wbits = zlib.MAX_WBITS
        else:
            raise ExchangeFailure(
                "transport", f"unsupported Content-Encoding {name[:40]!r} (asked for gzip or deflate)"
            )
        self._obj = zlib.decompressobj(self._wbits) if self._wbits is not None else None
        self._started = False

    def feed(self, data: bytes, limit: int) -> bytes:
        if self._obj is None:
            return data
        try:
            out = self._decompress(data, limit)
            while self._obj.eof and self._obj.unused_data and len(out) < limit:  # gzip: a further member
                rest = self._obj.unused_data
                self._obj = zlib.decompressobj(self._wbits or zlib.MAX_WBITS)
                out += self._obj.decompress(rest, limit - len(out))
        except zlib.error as exc:
            raise ExchangeFailure("transport", f"the body is not valid {self._name()}: {exc}") from None
        return out

    def flush(self, limit: int) -> bytes:
        if self._obj is None:
            return b""
        try:
            return self._obj.flush(max(1, limit))
        except zlib.error as exc:
            raise ExchangeFailure("transport", f"the body is not valid {self._name()}: {exc}") from None

    def _decompress(self, data: bytes, limit: int) -> bytes:
        assert self._obj is not None
        if self._started or self._wbits != zlib.MAX_WBITS:
            self._started = True
            return self._obj.decompress(data, max(1, limit))
        self._started = True
        try:
            return self._obj.decompress(data, max(1, limit))
        except zlib.error:  # "deflate" sent as a raw stream, without the zlib header
            self._wbits = -zlib.MAX_WBITS
            self._obj = zlib.decompressobj(self._wbits)
            return self._obj.decompress(data, max(1, limit))

    def _name(self) -> str:
        return "gzip" if self._wbits == 16 + zlib.MAX_WBITS else "deflate"


# -- describing failures ----------------------------------------------------------------------------


def _failure_from(exc: BaseException, *, body_started: bool) -> ExchangeFailure:
    ssl_error = isinstance(exc, requests.exceptions.SSLError)
    if isinstance(exc, (requests.Timeout, urllib3.exceptions.TimeoutError, TimeoutError)):
        return ExchangeFailure(
            "timeout", type(exc).__name__, request_sent=body_started or _request_was_sent(exc), ssl_error=ssl_error
        )
    sent = body_started or not isinstance(exc, requests.RequestException) or _request_was_sent(exc)
    return ExchangeFailure("transport", _describe(exc), request_sent=sent, ssl_error=ssl_error)


def _request_was_sent(exc: BaseException) -> bool:
    """Return False only when the connection failed before any byte of the request left."""
    if isinstance(exc, requests.ConnectTimeout):
        return False
    if isinstance(exc, requests.ConnectionError) and not isinstance(exc, requests.exceptions.SSLError):
        reason = exc.args[0] if exc.args else None
        reason = getattr(reason, "reason", reason)
        if isinstance(reason, (NewConnectionError, ConnectTimeoutError)):
            return False
    return True


def _describe(exc: BaseException) -> str:
    """``Type: root cause`` of a library exception, bounded and scrubbed, without urllib3's object reprs."""
    reason: Any = exc.args[0] if exc.args else exc
    reason = getattr(reason, "reason", reason)
    text, _ = scrubbing.scrub_prefix(str(reason), MAX_DESCRIPTION_CHARS)
    return f"{type(exc).__name__}: {_drop_object_reprs(text)}"


def _drop_object_reprs(text: str) -> str:
    """Remove ``<urllib3.… object at 0x…>:`` fragments in one linear pass."""
    parts: list[str] = []
    position = 0
    while True:
        start = text.find("<urllib3.", position)
        if start < 0:
            parts.append(text[position:])
            break
        end = text.find(">", start)
        if end < 0:
            parts.append(text[position:])
            break
        parts.append(text[position:start])
        position = end + 1
        if text.startswith(":", position):
            position += 1
        while position < len(text) and text[position] == " ":
            position += 1
    return "".join(parts)
