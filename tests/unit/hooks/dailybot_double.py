"""An independent DailyBot double, written from DailyBot's documents rather than from our fake server.

It implements only what DailyBot documents, in ONE delete form at a time (as a real server
would), and answers scripted responses, so hook behaviour is checked against a second,
deliberately different implementation of the contract than ``airflow_provider_dailybot.testing``.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


class DailyBotDouble:
    """A minimal DailyBot on 127.0.0.1: ``/v1/me/`` and ``/v1/webhook-subscription/`` only."""

    def __init__(self, api_key: str, *, delete_form: str = "path") -> None:
        assert delete_form in ("path", "query", "body")
        self.api_key = api_key
        self.delete_form = delete_form
        self.hooks: dict[str, dict[str, Any]] = {}
        self.received: list[dict[str, Any]] = []
        self._scripts: dict[tuple[str, str], deque[tuple[int, dict[str, str], bytes]]] = {}
        self._lock = threading.Lock()
        double = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _answer(self, status: int, body: Any = None, headers: dict[str, str] | None = None) -> None:
                raw = body if isinstance(body, bytes) else (b"" if body is None else json.dumps(body).encode())
                self.send_response(status)
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                if raw:
                    self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def _handle(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                with double._lock:
                    double.received.append(
                        {
                            "method": self.command,
                            "path": parts.path,
                            "query": parts.query,
                            "body": raw,
                            "headers": dict(self.headers),
                        }
                    )
                    script = double._scripts.get((self.command, parts.path))
                    scripted = script.popleft() if script else None
                if scripted is not None:
                    status, headers, body = scripted
                    if status < 300:
                        double._process(self.command, parts.path, parts.query, raw)
                    self._answer(status, body, headers)
                    return
                if self.headers.get("X-API-KEY") != double.api_key:
                    self._answer(403, {"detail": "Authentication credentials were not provided."})
                    return
                status, body = double._process(self.command, parts.path, parts.query, raw)
                self._answer(status, body)

            do_GET = do_POST = do_DELETE = _handle

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1/"

    def __enter__(self) -> DailyBotDouble:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def script(self, method: str, path: str, *responses: tuple[int, dict[str, str], Any]) -> None:
        """Answer the next requests to ``method path`` with these (status, headers, body) tuples."""
        queue = self._scripts.setdefault((method, path), deque())
        for status, headers, body in responses:
            queue.append((status, headers, body if isinstance(body, bytes) else json.dumps(body).encode()))

    def _process(self, method: str, path: str, query: str, raw: bytes) -> tuple[int, Any]:
        if method == "GET" and path == "/v1/me/":
            return 200, {"user": "Grace Hopper", "organization_uuid": str(uuid.uuid4()), "organization_name": "Navy"}
        if method == "POST" and path == "/v1/webhook-subscription/":
            data = json.loads(raw or b"{}")
            hook_id = str(uuid.uuid4())
            self.hooks[hook_id] = data
            return 200, {"id": hook_id, "url": data.get("hook_url")}
        if method == "DELETE" and path.startswith("/v1/webhook-subscription/"):
            rest = path[len("/v1/webhook-subscription/") :].strip("/")
            if self.delete_form == "path":
                if not rest:
                    return 405, {"detail": 'Method "DELETE" not allowed.'}
                hook_id = rest
            elif rest:
                return 404, {"detail": "Not found.", "code": "not_found"}
            elif self.delete_form == "query":
                hook_id = (parse_qs(query).get("hook_id") or [""])[0]
            else:
                hook_id = json.loads(raw or b"{}").get("hook_id", "")
            if not hook_id:
                return 400, {"hook_id": ["This field is required."]}
            if self.hooks.pop(hook_id, None) is None:
                return 404, {"detail": "Not found.", "code": "not_found"}
            return 204, None
        return 404, {"detail": "Not found.", "code": "not_found"}
