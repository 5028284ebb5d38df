"""Requests and answers of the fake DailyBot server, and DailyBot's (Django REST framework's) error bodies.

Pure data and builders: no socket, no state. The transport turns bytes into a :class:`Request`
and a :class:`Response` back into bytes; handlers only ever see these two.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

from airflow_provider_dailybot import __version__

#: ``User-Agent`` of deliveries and ``Server`` of answers.
USER_AGENT = f"DailyBot-Fake/{__version__}"
#: DRF's default ``detail`` and ``code`` per status (``dailybot-api.md`` §2.1).
DRF_ERRORS: dict[int, tuple[str, str]] = {
    400: ("Invalid input.", "invalid"),
    401: ("Authentication credentials were not provided.", "not_authenticated"),
    403: ("You do not have permission to perform this action.", "permission_denied"),
    404: ("Not found.", "not_found"),
    406: ("Could not satisfy the request Accept header.", "not_acceptable"),
    415: ("Unsupported media type in request.", "unsupported_media_type"),
}
#: Django's page for an unhandled error (DailyBot's 500 body may be HTML, §2.2).
SERVER_ERROR_HTML = b"<h1>Server Error (500)</h1>"
HTML = "text/html; charset=utf-8"


@dataclass
class Request:
    """One API request as the handlers see it.

    :param method: The HTTP method.
    :param path: The URL path, without the query string.
    :param query: The query parameters (first value of each).
    :param headers: The headers, names lower-cased.
    :param raw: The body bytes.
    :param origin: ``scheme://host[:port]`` the client addressed (for absolute ``next`` links).
    :param params: Path parameters, filled in by the router (``{"id": ...}``).
    """

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    raw: bytes
    origin: str = ""
    params: dict[str, str] = field(default_factory=dict)

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
class Response:
    """One answer: status, body and headers; ``after`` runs once the answer has been written."""

    status: int
    body: bytes = b""
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    after: Callable[[], None] | None = None


def json_response(status: int, payload: Any, headers: dict[str, str] | None = None) -> Response:
    """Answer ``payload`` as JSON.

    :param status: The HTTP status.
    :param payload: Anything ``json.dumps`` takes.
    :param headers: Extra headers.
    """
    return Response(status, json.dumps(payload).encode(), headers=headers or {})


def error(status: int, detail: str, code: str | None = None, **extra: Any) -> Response:
    """Answer DailyBot's error body ``{"detail", "code"?, ...extra}``.

    :param status: The HTTP status.
    :param detail: The human-readable text.
    :param code: The machine-readable code (omitted when ``None``).
    :param extra: More top-level keys (``errors``, ``upgrade_url`` …).
    """
    payload: dict[str, Any] = {"detail": detail}
    if code is not None:
        payload["code"] = code
    payload.update(extra)
    return json_response(status, payload)


def invalid(errors: dict[str, list[str]]) -> Response:
    """Answer DRF's 400 with a field map.

    :param errors: Field name → messages.
    """
    return error(400, "Invalid input.", "invalid", errors=errors)


def not_found() -> Response:
    """Answer DRF's 404."""
    return error(404, "Not found.", "not_found")


def method_not_allowed(method: str, allowed: tuple[str, ...]) -> Response:
    """Answer DRF's 405 with an ``Allow`` header.

    :param method: The refused method.
    :param allowed: The methods the path takes.
    """
    response = error(405, f'Method "{method}" not allowed.', "method_not_allowed")
    response.headers["Allow"] = ", ".join(allowed) if allowed else "OPTIONS"
    return response


def parse_error(message: str) -> Response:
    """Answer DRF's 400 for a body that is not JSON.

    :param message: The parser's message.
    """
    return error(400, f"JSON parse error - {message}", "parse_error")


def server_error() -> Response:
    """Answer Django's HTML 500."""
    return Response(500, SERVER_ERROR_HTML, HTML)


def object_body(request: Request, *, empty_ok: bool = False) -> dict[str, Any] | Response:
    """Return the request's JSON object, or the DRF error answer for anything else.

    :param request: The request.
    :param empty_ok: Read an empty body as ``{}``.
    """
    parsed, data = request.parsed
    if not parsed:
        return parse_error(data)
    if data is None and empty_ok:
        return {}
    if not isinstance(data, dict):
        return invalid({"non_field_errors": [f"Invalid data. Expected a dictionary, but got {type(data).__name__}."]})
    return data


def as_list(value: Any) -> Any:
    """DailyBot's v3 docs accept "string or array": wrap a lone string.

    :param value: A field's value.
    """
    return [value] if isinstance(value, str) else value


def phrase(status: int, default: str) -> str:
    """Return the reason phrase of ``status``, or ``default`` for a code without one.

    :param status: The HTTP status.
    :param default: Used for unregistered codes.
    """
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return default
