"""Responses of the delivery log: security headers, and reads of the metadata DB off the event loop.

Every response of the log (page, JSON, stylesheet, errors, redirects) carries :data:`SECURITY_HEADERS`:

``Content-Security-Policy``
    ``default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; form-action 'self';
    frame-ancestors 'self'``. No script of any origin runs (``script-src`` falls back to
    ``'none'``), so a payload that gets past the escaping still cannot run; the only style is
    the log's stylesheet; the filter form may only submit to this server; the page may be framed
    by the Airflow UI (same origin: an external view is shown in an ``<iframe>``) and by nothing
    else.
``X-Content-Type-Options: nosniff``, ``X-Frame-Options: SAMEORIGIN``, ``Referrer-Policy: same-origin``
    No MIME sniffing of JSON into HTML; the frame rule again for browsers without CSP level 2; no
    URL (with its filters) leaks to another site.
``Cache-Control: no-store``
    Payloads are private; the stylesheet alone may be cached (:data:`STATIC_CACHE`).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any, TypeVar

from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

log = logging.getLogger(__name__)

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'self'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "SAMEORIGIN",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
#: ``Cache-Control`` of the stylesheet.
STATIC_CACHE = "public, max-age=3600"
#: Seconds a client is asked to wait (``Retry-After``) when the metadata database cannot be read.
RETRY_AFTER_SECONDS = 30

T = TypeVar("T")


class StoreUnavailable(Exception):
    """The metadata database (or the delivery table) could not be read."""


def _read_in_session(fn: Callable[..., T], args: tuple[Any, ...]) -> T:
    from airflow.utils.session import create_session
    from sqlalchemy.exc import InterfaceError, OperationalError, ProgrammingError

    try:
        with create_session(scoped=False) as session:
            return fn(session, *args)
    except (OperationalError, InterfaceError, ProgrammingError) as err:
        # ProgrammingError: the table is missing (``airflow db migrate`` has not run the provider's migration).
        log.warning("The DailyBot delivery log could not read the metadata database: %s", type(err).__name__)
        raise StoreUnavailable from None


async def read(fn: Callable[..., T], *args: Any) -> T:
    """Run ``fn(session, *args)`` in a worker thread, in a session of its own.

    :param fn: A function whose first argument is a SQLAlchemy session.
    :param args: Its other arguments.
    :raises StoreUnavailable: When the database cannot be reached or the table does not exist.
    """
    return await run_in_threadpool(_read_in_session, fn, args)


def json_response(data: Any, status_code: int = 200, headers: dict[str, str] | None = None) -> Response:
    """Return ``data`` as JSON (``default=str`` for times) with :data:`SECURITY_HEADERS`.

    :param data: A JSON-ready value.
    :param status_code: The HTTP status.
    :param headers: More headers.
    """
    body = json.dumps(data, ensure_ascii=False, default=str, separators=(",", ":"))
    return Response(
        body, status_code=status_code, media_type="application/json", headers={**SECURITY_HEADERS, **(headers or {})}
    )


def html_response(text: str, status_code: int = 200, headers: dict[str, str] | None = None) -> HTMLResponse:
    """Return an HTML document with :data:`SECURITY_HEADERS`.

    :param text: The document.
    :param status_code: The HTTP status.
    :param headers: More headers.
    """
    return HTMLResponse(text, status_code=status_code, headers={**SECURITY_HEADERS, **(headers or {})})


def unavailable_headers() -> dict[str, str]:
    """Return the ``Retry-After`` header of a 503 answer."""
    return {"Retry-After": str(RETRY_AFTER_SECONDS)}
