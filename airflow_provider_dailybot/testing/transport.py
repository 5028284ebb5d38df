"""The fake DailyBot server's socket layer: the standard library's threading HTTP(S) server.

Kept on ``http.server`` on purpose: an injected fault must be able to close a connection without
any answer, hold one open, or answer a malformed request, which a framework would not let happen.
Speed matters because benchmarks measure clients against the fake: HTTP/1.1 keep-alive,
``TCP_NODELAY`` on accepted sockets and every answer written with a single ``sendall`` (status
line, headers and body together), so that no request waits on Nagle's algorithm and delayed ACKs.

Every request is logged at INFO on this module's logger (method, path without the query, status,
milliseconds); headers, bodies and query strings are never logged, so neither the API key nor a bearer
is, and the listener's ``redact`` (the server's: every encoding of its API key becomes ``***``) is
applied to the path and to ``http.server``'s own DEBUG lines, in case a client puts the key in a path.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import socketserver
import ssl
import threading
import time
from collections.abc import Callable
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from airflow_provider_dailybot.testing.wire import DRF_ERRORS, USER_AGENT, Request, Response, error, phrase

log = logging.getLogger(__name__)

#: Largest request body read (bigger: 413 and the connection is closed).
MAX_BODY_BYTES = 10 * 1024 * 1024
_LINE = 65537
#: ``app(request) -> (answer, after)``: ``answer`` ``None`` drops the connection; ``after`` runs
#: once the answer has been written.
App = Callable[[Request], tuple[Response | None, Callable[[], None] | None]]


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(
        self, address: tuple[str, int], app: App, context: ssl.SSLContext | None, redact: Callable[[str], str]
    ) -> None:
        self.app = app
        self.redact = redact
        self.scheme = "http" if context is None else "https"
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
        log.debug("%s - %s", self.address_string(), self.server.redact(format % args))

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        # Used by BaseHTTPRequestHandler for malformed requests; answer in DRF style, in one write.
        self.close_connection = True
        detail, error_code = DRF_ERRORS.get(code, (message or "Bad request.", "invalid"))
        self._write(error(code, message or detail, error_code))

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks: list[bytes] = []
            total = 0
            while True:
                size = int(self.rfile.readline(_LINE).split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(_LINE) not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                total += size
                if total > MAX_BODY_BYTES:
                    raise OverflowError
                chunks.append(self.rfile.read(size))
                self.rfile.readline(_LINE)
        length = int(self.headers.get("Content-Length") or 0)
        if length < 0:
            raise ValueError("negative Content-Length")
        if length > MAX_BODY_BYTES:
            raise OverflowError
        return self.rfile.read(length) if length else b""

    def _request(self, raw: bytes) -> Request:
        split = urlsplit(self.path)
        host = self.headers.get("Host") or _authority(self.server.server_name, self.server.server_port)
        return Request(
            method=self.command,
            path=split.path,
            query={k: v[0] for k, v in parse_qs(split.query, keep_blank_values=True).items()},
            headers={k.lower(): v for k, v in self.headers.items()},
            raw=raw,
            origin=f"{self.server.scheme}://{host}",
        )

    def _dispatch(self) -> None:
        started = time.monotonic()
        try:
            request = self._request(self._read_body())
        except OverflowError:
            self._refuse(error(413, "Request body too large.", "request_too_large"), started)
            return
        except ValueError:
            self._refuse(error(400, "Malformed request body.", "parse_error"), started)
            return
        answer, after = self.server.app(request)
        self._log(answer, started)
        if answer is None:
            self.close_connection = True  # the server closes the socket without a response
        else:
            self._write(answer)
        if after is not None:
            after()

    def _refuse(self, answer: Response, started: float) -> None:
        self.close_connection = True
        self._log(answer, started)
        self._write(answer)

    def _log(self, answer: Response | None, started: float) -> None:
        # Before the answer leaves: a client that has its answer can rely on the line being there.
        log.info(
            "%s %s -> %s (%.1f ms)",
            self.command,
            self.server.redact(urlsplit(self.path).path),
            "dropped" if answer is None else answer.status,
            (time.monotonic() - started) * 1000,
        )

    def _write(self, response: Response) -> None:
        status = response.status
        lines = [
            f"HTTP/1.1 {status} {phrase(status, 'Unknown')}",
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


def _authority(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


class Listener:
    """One listening socket served by a background thread; hands every request to ``app``.

    :param host: The interface to listen on.
    :param port: The port; ``0`` picks a free one.
    :param app: Answers requests (see :data:`App`).
    :param context: A server-side TLS context, or ``None`` for plain HTTP.
    :param redact: Applied to every logged path and line (default: unchanged).
    """

    def __init__(
        self,
        host: str,
        port: int,
        app: App,
        context: ssl.SSLContext | None,
        redact: Callable[[str], str] = str,
    ) -> None:
        self._httpd = _HTTPServer((host, port), app, context, redact)
        self.url = f"{self._httpd.scheme}://{_authority(self._httpd.server_name, self._httpd.server_port)}"
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"fake-dailybot-{self._httpd.server_port}",
            daemon=True,
        )
        self._thread.start()

    @property
    def connections_accepted(self) -> int:
        """How many TCP connections have been accepted."""
        return self._httpd.connections_accepted

    def stop(self) -> None:
        """Stop serving, close open keep-alive connections and free the port."""
        self._httpd.shutdown()
        self._httpd.close_connections()
        self._httpd.server_close()
        self._thread.join(timeout=5)
