"""A hostile "DailyBot" for the test suite: it answers every request with one chosen misbehaviour.

Deliberately separate from the faithful fake (``airflow_provider_dailybot.testing``) and from the
provider's code: it imports nothing of either and speaks HTTP/1.1 itself over raw sockets (stdlib
``socketserver``), so it can do what no well-behaved server library would: bodies that never end or
trickle one byte at a time, status lines and headers that trickle, ``100 Continue`` floods, bodies far
over any sane size, compression bombs, pathological HTML error pages, 200s of the wrong shape,
error pages that echo the API key (raw, ``repr``, JSON-escaped, percent-encoded, base64) at chosen
offsets, redirects, and ``next`` links that escape the base path, leave the origin or loop.

Every request is recorded (:attr:`HostileDailyBot.requests`), so a test can assert that nothing
reached a path outside ``/v1/`` and, with a second instance as the "foreign" host, that nothing left
for another origin. Payloads are built once at import, so a mode allocates almost nothing while it
streams (tests measure the client's memory with ``tracemalloc``). Endless modes stop on their own
after :data:`SAFETY_BYTES` or :data:`SAFETY_SECONDS`, so a client that never gives up (the code before
the hardening) cannot take the machine down.
"""

from __future__ import annotations

import base64
import contextlib
import gzip
import json
import socket
import socketserver
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, quote_plus, urlsplit

#: An endless mode stops after this many bytes or seconds, whatever the client does.
SAFETY_BYTES = 64 * 1024 * 1024
SAFETY_SECONDS = 20.0
#: Seconds between the bytes of a trickling mode (well under any per-read timeout the tests use).
TRICKLE_INTERVAL = 0.1

_FILLER = b"0," * 32 * 1024  # 64 KiB of a JSON list's insides, sent again and again
_HUGE_BODY = b"[" + b'"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",' * (8 * 1024 * 1024 // 33) + b'"end"]'  # ~8 MiB of valid JSON
_GZIP_BOMB = gzip.compress(b" " * (32 * 1024 * 1024), compresslevel=6)  # 32 MiB of spaces in ~32 KiB
_LESS_THAN_PAGE = b"<" * (60 * 1024)  # stays under a 64 KiB cap: the summary itself must be linear
_LESS_THAN_MIB = b"<" * (1024 * 1024)
_NESTED_TAGS = b"<a" * (30 * 1024)
_TITLE_FLOOD = b"<title>" * (8 * 1024)
_OPEN_TITLE = b"<html><title>" + b"x" * (60 * 1024)
_DEEP_JSON = b"[" * 30_000 + b"]" * 30_000

#: Modes whose cost is time, not bytes: run them in parallel.
SLOW_MODES = ("trickle_body", "trickle_headers", "silent", "continue_flood")


@dataclass
class SeenRequest:
    """One request as the hostile server received it."""

    method: str
    target: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes
    at: float = field(default_factory=time.monotonic)


class _Closed(Exception):
    """The client went away (or the server is stopping)."""


class HostileDailyBot:
    """A misbehaving DailyBot on ``127.0.0.1``; set :attr:`mode` before each request.

    :param mode: The misbehaviour (see :data:`MODES`).
    :param foreign_origin: ``http://host:port`` of another server, used by redirect and ``next`` modes.
    """

    def __init__(self, mode: str = "profile", *, foreign_origin: str = "http://127.0.0.1:9") -> None:
        self.mode = mode
        self.foreign_origin = foreign_origin
        self.requests: list[SeenRequest] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        hostile = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                hostile._serve(self.request)

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True

        self._server = Server(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    # -- lifecycle ------------------------------------------------------------------------------

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        return self.origin + "/v1/"

    def __enter__(self) -> HostileDailyBot:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()

    def seen(self) -> list[SeenRequest]:
        with self._lock:
            return list(self.requests)

    def clear(self) -> None:
        with self._lock:
            self.requests.clear()

    # -- the connection ---------------------------------------------------------------------------

    def _serve(self, sock: socket.socket) -> None:
        sock.settimeout(5)
        try:
            request = self._read_request(sock)
            if request is None:
                return
            with self._lock:
                self.requests.append(request)
            MODES[self.mode](self, _Out(sock, self._stopping), request)
        except (_Closed, OSError):
            pass
        finally:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def _read_request(self, sock: socket.socket) -> SeenRequest | None:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                return None
            data += chunk
            if data.startswith(b"\x16\x03"):  # a TLS ClientHello: answer like a plain-http server would
                sock.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                return None
            if len(data) > 256 * 1024:
                return None
        head, _, rest = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        method, target, _version = lines[0].split(" ", 2)
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length") or 0)
        while len(rest) < length:
            chunk = sock.recv(65536)
            if not chunk:
                break
            rest += chunk
        parts = urlsplit(target)
        return SeenRequest(method, target, parts.path, parts.query, headers, rest[:length])


class _Out:
    """Writes to the client; raises :class:`_Closed` once it is gone or the server stops."""

    def __init__(self, sock: socket.socket, stopping: threading.Event) -> None:
        self.sock = sock
        self.stopping = stopping
        self.started = time.monotonic()

    def send(self, data: bytes) -> None:
        if self.stopping.is_set() or time.monotonic() - self.started > SAFETY_SECONDS:
            raise _Closed
        try:
            self.sock.sendall(data)
        except OSError:
            raise _Closed from None

    def pause(self, seconds: float) -> None:
        if self.stopping.wait(seconds):
            raise _Closed

    def answer(self, status: int, body: bytes, headers: dict[str, str] | None = None, reason: str = "X") -> None:
        head = [f"HTTP/1.1 {status} {reason}"]
        merged = {"Content-Type": "application/json", "Content-Length": str(len(body)), "Connection": "close"}
        merged.update(headers or {})
        head += [f"{k}: {v}" for k, v in merged.items() if v is not None]
        self.send(("\r\n".join(head) + "\r\n\r\n").encode("latin-1"))
        if body:
            self.send(body)  # not concatenated: a huge prebuilt body is never copied


def _json(value: Any) -> bytes:
    return json.dumps(value).encode()


def _key(request: SeenRequest) -> str:
    return request.headers.get("x-api-key", "")


# -- modes ----------------------------------------------------------------------------------------


def _profile(server: HostileDailyBot, out: _Out, request: SeenRequest) -> None:
    """A well-behaved answer (for calibration): a profile, which is also a dict for POSTs."""
    out.answer(200, _json({"full_name": "Ada Lovelace", "organization_name": "Acme Corp", "uuid": "u-1", "id": 1}))


def _gzip_profile(server: HostileDailyBot, out: _Out, request: SeenRequest) -> None:
    """Also well-behaved: the same profile, gzip-encoded."""
    body = gzip.compress(_json({"full_name": "Ada Lovelace", "organization_name": "Acme Corp", "uuid": "u-1"}))
    out.answer(200, body, {"Content-Encoding": "gzip"})


def _endless(server: HostileDailyBot, out: _Out, request: SeenRequest) -> None:
    out.send(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n[")
    for _ in range(SAFETY_BYTES // len(_FILLER)):
        out.send(_FILLER)


def _endless_chunked(server: HostileDailyBot, out: _Out, request: SeenRequest) -> None:
    out.send(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
    chunk = f"{len(_FILLER):x}\r\n".encode() + _FILLER + b"\r\n"
    for _ in range(SAFETY_BYTES // len(_FILLER)):
        out.send(chunk)


def _endless_error(server: HostileDailyBot, out: _Out, request: SeenRequest) -> None:
    out.send(b"HTTP/1.1 500 Oops\r\nContent-Type: text/html\r\nConnection: close\r\n\r\n<html>")
    for _ in range(SAFETY_BYTES // len(_FILLER)):
        out.send(_FILLER)


def _trickle_body(server: HostileDailyBot, out: _Out, request: SeenRequest) -> None:
    out.send(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 60000\r\n\r\n[")
    while True:
        out.pause(TRICKLE_INTERVAL)
        out.send(b"0")


def _trickle_headers(server: HostileDailyBot, out: _Out, request: SeenRequest) -> None:
    for byte in b"HTTP/1.1 200 OK\r\nX-Slow: ":
        out.pause(TRICKLE_INTERVAL)
        out.send(bytes([byte]))
    while True:
        out.pause(TRICKLE_INTERVAL)
        out.send(b"a")


def _silent(server: HostileDailyBot, out: _Out, request: SeenRequest) -> None:
    out.pause(SAFETY_SECONDS)


def _continue_flood(server: HostileDailyBot, out: _Out, request: SeenRequest) -> None:
    while True:
        out.send(b"HTTP/1.1 100 Continue\r\n\r\n")
        out.pause(TRICKLE_INTERVAL)


def _huge(server: HostileDailyBot, out: _Out, request: SeenRequest) -> None:
    out.answer(200, _HUGE_BODY)


def _huge_undeclared(server: HostileDailyBot, out: _Out, request: SeenRequest) -> None:
    out.send(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n")
    out.send(_HUGE_BODY)


def _huge_error(server: HostileDailyBot, out: _Out, request: SeenRequest) -> None:
    out.answer(503, _HUGE_BODY)


def _gzip_bomb(server: HostileDailyBot, out: _Out, request: SeenRequest) -> None:
    out.answer(200, _GZIP_BOMB, {"Content-Encoding": "gzip"})


def _bad_gzip(server: HostileDailyBot, out: _Out, request: SeenRequest) -> None:
    out.answer(200, b"this is not gzip at all", {"Content-Encoding": "gzip"})


def _brotli(server: HostileDailyBot, out: _Out, request: SeenRequest) -> None:
    out.answer(200, b"\x0b\x02\x80{}\x03", {"Content-Encoding": "br"})


def _lying_length(server: HostileDailyBot, out: _Out, request: SeenRequest) -> None:
    out.send(b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"a":')


def _many_headers(server: HostileDailyBot, out: _Out, request: SeenRequest) -> None:
    out.answer(200, b"{}", {f"X-H{i}": "v" for i in range(300)})


def _deep_json(server: HostileDailyBot, out: _Out, request: SeenRequest) -> None:
    out.answer(200, _DEEP_JSON)


def _page(body: bytes, status: int = 500) -> Callable[[HostileDailyBot, _Out, SeenRequest], None]:
    def mode(server: HostileDailyBot, out: _Out, request: SeenRequest) -> None:
        out.answer(status, body, {"Content-Type": "text/html"})

    return mode


def _shape(value: Any, raw: bytes | None = None) -> Callable[[HostileDailyBot, _Out, SeenRequest], None]:
    def mode(server: HostileDailyBot, out: _Out, request: SeenRequest) -> None:
        out.answer(200, raw if raw is not None else _json(value))

    return mode


# -- key echoes -----------------------------------------------------------------------------------


def _encodings(key: str) -> dict[str, str]:
    """How an echoing server (or a proxy, or a framework's debug page) might write the key."""
    once = repr(key)[1:-1]
    return {
        "raw": key,
        "repr": once,
        "repr2": repr(once)[1:-1],
        "json": json.dumps(key)[1:-1],
        "url": quote(key, safe=""),
        "url_lower": "%".join(
            [p if i == 0 else p[:2].lower() + p[2:] for i, p in enumerate(quote(key, safe="").split("%"))]
        ),
        "url_plus": quote_plus(key),
        "base64": base64.b64encode(key.encode()).decode(),
    }


def _echo_page(encoding: str, offset: int, status: int = 500) -> Callable[[HostileDailyBot, _Out, SeenRequest], None]:
    """An error page (not JSON) that shows ``X-API-KEY=<key>`` so that the key starts ``offset`` characters in."""

    def mode(server: HostileDailyBot, out: _Out, request: SeenRequest) -> None:
        echoed = "X-API-KEY=" + _encodings(_key(request))[encoding]
        filler = ("request headers " * (offset // 16 + 1))[: max(0, offset - len("X-API-KEY="))]
        text = filler + echoed + " was refused by the upstream. " * 10
        out.answer(status, text.encode("latin-1", "backslashreplace"), {"Content-Type": "text/plain"})

    return mode


def _echo_html(server: HostileDailyBot, out: _Out, request: SeenRequest) -> None:
    """The issue's page: an HTML 500 whose visible text shows the key about 180 characters in."""
    intro = "We could not process your request. " * 5  # 180 characters
    body = f"<html><head></head><body><p>{intro[:170]}X-API-KEY={_key(request)}</p></body></html>"
    out.answer(500, body.encode("latin-1"), {"Content-Type": "text/html"})


def _echo_json(server: HostileDailyBot, out: _Out, request: SeenRequest) -> None:
    key = _key(request)
    body = {
        "detail": ("Invalid key. " * 14) + key,
        "code": key,
        "errors": {key: [f"{key} is not valid"], "hook_url": ["x" * 170 + key]},
        "extra": {"echo": key, "nested": {"deeper": [key]}},
        "upgrade_url": f"https://dailybot.example/upgrade?key={quote(key)}",
    }
    out.answer(400, _json(body))


def _echo_json_list(server: HostileDailyBot, out: _Out, request: SeenRequest) -> None:
    out.answer(500, _json(["x" * 190 + _key(request)]))


def _echo_location(server: HostileDailyBot, out: _Out, request: SeenRequest) -> None:
    out.answer(302, b"", {"Location": "https://login.example/?" + "p=" + "y" * 150 + "&key=" + quote(_key(request))})


def _echo_profile(server: HostileDailyBot, out: _Out, request: SeenRequest) -> None:
    key = _key(request)
    out.answer(200, _json({"full_name": "x" * 100 + key, "organization_name": key}))


def _echo_retry_after(server: HostileDailyBot, out: _Out, request: SeenRequest) -> None:
    out.answer(429, _json({"detail": "slow down " + _key(request), "code": "throttled"}), {"Retry-After": "999999"})


# -- redirects ------------------------------------------------------------------------------------


def _redirect(status: int, foreign: bool) -> Callable[[HostileDailyBot, _Out, SeenRequest], None]:
    def mode(server: HostileDailyBot, out: _Out, request: SeenRequest) -> None:
        origin = server.foreign_origin if foreign else server.origin
        out.answer(status, b"", {"Location": origin + "/v1/elsewhere/"})

    return mode


# -- next links -----------------------------------------------------------------------------------


def _next(link: Callable[[HostileDailyBot, SeenRequest], str]) -> Callable[[HostileDailyBot, _Out, SeenRequest], None]:
    """Every request gets one page with a ``next`` link; anything outside /v1/ would be answered too."""

    def mode(server: HostileDailyBot, out: _Out, request: SeenRequest) -> None:
        page = {"count": 99, "next": link(server, request), "previous": None, "results": [{"uuid": "u-1", "id": 1}]}
        out.answer(200, _json(page))

    return mode


def _offset(request: SeenRequest) -> int:
    for pair in request.query.split("&"):
        name, _, value = pair.partition("=")
        if name == "offset" and value.isdigit():
            return int(value)
    return 0


MODES: dict[str, Callable[[HostileDailyBot, _Out, SeenRequest], None]] = {
    "profile": _profile,
    "gzip_profile": _gzip_profile,
    # bytes and time
    "endless": _endless,
    "endless_chunked": _endless_chunked,
    "endless_error": _endless_error,
    "trickle_body": _trickle_body,
    "trickle_headers": _trickle_headers,
    "silent": _silent,
    "continue_flood": _continue_flood,
    "huge": _huge,
    "huge_undeclared": _huge_undeclared,
    "huge_error": _huge_error,
    "gzip_bomb": _gzip_bomb,
    "bad_gzip": _bad_gzip,
    "brotli": _brotli,
    "lying_length": _lying_length,
    "many_headers": _many_headers,
    "deep_json": _deep_json,
    # pathological error pages
    "less_than_page": _page(_LESS_THAN_PAGE),
    "less_than_mib": _page(_LESS_THAN_MIB),
    "nested_tags": _page(_NESTED_TAGS),
    "title_flood": _page(_TITLE_FLOOD),
    "open_title": _page(_OPEN_TITLE, 502),
    "html_200": _page(b"<html><title>Welcome to nginx!</title></html>", 200),
    # wrong shapes for a 200
    "shape_list": _shape(["a", "b"]),
    "shape_string": _shape("hello"),
    "shape_empty": _shape(None, raw=b""),
    "shape_null": _shape(None),
    "shape_number": _shape(42),
    "shape_true": _shape(True),
    "shape_unrelated": _shape({"status": "ok", "version": "1.2.3"}),
    "shape_empty_object": _shape({}),
    "shape_results_not_list": _shape({"count": 1, "next": None, "results": {"uuid": "u-1"}}),
    "shape_next_not_url": _shape({"count": 1, "next": 5, "results": [{"uuid": "u-1"}]}),
    "shape_items_not_objects": _shape({"count": 2, "next": None, "results": ["a", 3]}),
    # key echoes
    "echo_html_180": _echo_html,
    "echo_detail": _echo_json,
    "echo_list": _echo_json_list,
    "echo_location": _echo_location,
    "echo_profile": _echo_profile,
    "echo_retry_after": _echo_retry_after,
    **{
        f"echo_{encoding}_{offset}": _echo_page(encoding, offset)
        for encoding in ("raw", "repr", "repr2", "json", "url", "url_lower", "url_plus", "base64")
        for offset in (0, 180, 195, 290)
    },
    # redirects
    **{f"redirect_{status}_foreign": _redirect(status, True) for status in (301, 302, 303, 307, 308)},
    **{f"redirect_{status}_same": _redirect(status, False) for status in (301, 307)},
    # next links
    "next_dotdot": _next(lambda s, r: "/v1/../outside/secret-endpoint/"),
    "next_dotdot_deep": _next(lambda s, r: s.origin + "/v1/users/../../outside/secret-endpoint/"),
    "next_dotdot_relative": _next(lambda s, r: "../../outside/secret-endpoint/"),
    "next_pct_dots": _next(lambda s, r: "/v1/%2e%2e/outside/secret-endpoint/"),
    "next_pct_dots_upper": _next(lambda s, r: "/v1/users/%2E%2E/%2E%2E/outside/"),
    "next_pct_slash": _next(lambda s, r: "/v1/users/..%2f..%2foutside/"),
    "next_double_pct": _next(lambda s, r: "/v1/users/%252e%252e/%252e%252e/outside/"),
    "next_semicolon": _next(lambda s, r: "/v1/users/..;/..;/outside/"),
    "next_backslash": _next(lambda s, r: "/v1/users/..\\..\\outside/"),
    "next_double_slash": _next(lambda s, r: "/v1//..//..//outside/"),
    "next_network_path": _next(lambda s, r: "//" + s.foreign_origin.split("://", 1)[1] + "/v1/users/?offset=1"),
    "next_foreign": _next(lambda s, r: s.foreign_origin + "/v1/users/?offset=1"),
    "next_other_scheme": _next(lambda s, r: "https://127.0.0.1:" + str(s.port) + "/v1/users/?offset=1"),
    "next_huge": _next(lambda s, r: "/v1/users/?cursor=" + "c" * 20_000),
    "next_control": _next(lambda s, r: "/v1/users/?offset=1\r\nX-Injected: 1"),
    "next_loop": _next(lambda s, r: r.target),
    "next_pingpong": _next(lambda s, r: r.path + ("?offset=1" if _offset(r) == 0 else "?offset=0")),
    "next_endless": _next(lambda s, r: f"{r.path}?offset={_offset(r) + 1}"),
}
