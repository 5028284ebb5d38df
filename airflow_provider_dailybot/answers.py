"""From a bounded exchange to a result or a typed error: decoding bodies, error statuses, transport failures.

Pure functions of what :mod:`airflow_provider_dailybot.bounded_http` returned; the hook calls them and
only adds its settings. Every server-provided text is bounded and scrubbed
(:mod:`airflow_provider_dailybot.scrubbing`) before it is put into a message or an attribute, and
summarised in linear time (:mod:`airflow_provider_dailybot.summaries`). No Airflow import, no I/O.
"""

from __future__ import annotations

import json
from typing import Any

from airflow_provider_dailybot import scrubbing
from airflow_provider_dailybot._api_compat import ERROR_DETAIL_KEYS, first_value
from airflow_provider_dailybot.bounded_http import Answer, ExchangeFailure
from airflow_provider_dailybot.exceptions import (
    DailyBotApiError,
    DailyBotBadRequestError,
    DailyBotError,
    DailyBotRateLimitError,
    DailyBotResponseTooLargeError,
    DailyBotTimeoutError,
    DailyBotTransportError,
    DailyBotUnexpectedResponseError,
    error_class_for,
    format_error_message,
)
from airflow_provider_dailybot.retries import parse_retry_after
from airflow_provider_dailybot.summaries import SUMMARY_PREFIX_CHARS, summarise_page

#: How OpenSSL (and LibreSSL) report a TLS handshake answered in plain http.
_PLAIN_HTTP_SIGNS = ("wrong version number", "record layer failure", "packet length too long", "unknown protocol")
#: Longest description kept in ``detail`` before :func:`format_error_message` shortens the message.
_DETAIL_CHARS = 1_000


def decode(method: str, path: str, answer: Answer) -> Any:
    """Return the JSON value of a 2xx answer (``None`` for an empty body or a 204).

    :param method: HTTP method, for the error.
    :param path: URL path, for the error.
    :param answer: The complete answer.
    :raises DailyBotUnexpectedResponseError: For a body that is not JSON (or nested too deeply to decode).
    """
    if answer.status_code == 204 or not answer.body:
        return None
    try:
        return json.loads(answer.body)
    except (ValueError, RecursionError):
        summary = summarise_page(answer.body.decode("utf-8", "replace")) or "empty after its tags"
        raise unexpected(
            method, path, answer.status_code, f"a non-JSON body ({summary}); check the connection's base URL"
        ) from None


def unexpected(method: str, path: str, status: int, detail: str) -> DailyBotUnexpectedResponseError:
    """The error for a 2xx whose body is not what the endpoint returns.

    :param method: HTTP method.
    :param path: URL path.
    :param status: The 2xx status.
    :param detail: What was expected and what came (from :mod:`airflow_provider_dailybot.shapes`).
    """
    detail = scrubbing.cut(f"HTTP {status} but {detail}", _DETAIL_CHARS)
    return DailyBotUnexpectedResponseError(
        format_error_message(method=method, path=path, status_code=status, code=None, detail=detail),
        method=method,
        path=path,
        status_code=status,
        detail=detail,
    )


def transport_error(
    method: str, path: str, failure: ExchangeFailure, *, timeout: float, bare_host: str | None = None
) -> DailyBotError:
    """The error for an exchange that produced no complete answer.

    :param method: HTTP method.
    :param path: URL path.
    :param failure: What :func:`~airflow_provider_dailybot.bounded_http.exchange` raised.
    :param timeout: The per-read timeout, for the message.
    :param bare_host: ``host:port`` when the connection's host had no scheme (``https`` was assumed):
        a TLS "wrong version number" then gets a hint that the server may speak plain http.
    """
    kind: type[DailyBotTransportError] = DailyBotTransportError
    description = failure.description
    if failure.kind == "timeout":
        kind = DailyBotTimeoutError
        description = f"{failure.description} after {timeout:g} s timeout"
    elif failure.kind == "deadline":
        kind = DailyBotTimeoutError
    elif failure.kind == "too_large":
        kind = DailyBotResponseTooLargeError
    if failure.ssl_error and bare_host and any(sign in description.lower() for sign in _PLAIN_HTTP_SIGNS):
        description += (
            f" (the server speaks plain http? write http://{bare_host} in the connection host; "
            "a host without a scheme means https)"
        )
    detail = scrubbing.cut(description, _DETAIL_CHARS)
    message = format_error_message(method=method, path=path, status_code=failure.status_code, code=None, detail=detail)
    return kind(message, method=method, path=path, status_code=failure.status_code, detail=detail)


def api_error(method: str, path: str, answer: Answer) -> DailyBotApiError:
    """The typed error for a non-2xx answer, with DailyBot's ``code``, ``detail``, field errors and ``extra``.

    :param method: HTTP method.
    :param path: URL path.
    :param answer: The complete answer (its body within ``max_response_bytes``).
    """
    status = answer.status_code
    body = _json_or_none(answer.body)
    code: str | None = None
    detail: str | None = None
    field_errors: dict[str, list[str]] = {}
    extra: dict[str, Any] = {}
    if isinstance(body, dict):
        raw_code = body.get("code")
        code = scrubbing.cut(str(raw_code), 100) if raw_code is not None else None
        raw_detail = first_value(body, ERROR_DETAIL_KEYS)
        detail = _bounded_text(raw_detail) if raw_detail else None
        errors = body.get("errors")
        if isinstance(errors, dict):
            field_errors = _field_errors(errors)
        elif not detail and status == 400:
            field_errors = _field_errors({k: v for k, v in body.items() if k not in ("code", "extra")})
        if field_errors:
            listed = "; ".join(f"{k}: {' '.join(v)}" for k, v in field_errors.items())
            detail = f"{detail} ({listed})" if detail else listed
        if isinstance(body.get("extra"), dict):
            extra.update(scrubbing.scrub_value(body["extra"]))
        if body.get("upgrade_url"):
            extra.setdefault("upgrade_url", scrubbing.scrub_value(body["upgrade_url"]))
    elif isinstance(body, list):
        detail = _bounded_text("; ".join(str(item) for item in body[:50]))
    else:
        detail = summarise_page(answer.body.decode("utf-8", "replace"))
    if 300 <= status < 400:
        location = scrubbing.cut(str(answer.headers.get("Location", "?")), 300)
        detail = f"redirect to {location} not followed (it could leak the API key); check the connection's base URL"
    detail = scrubbing.scrub(detail) if detail else None
    message = format_error_message(method=method, path=path, status_code=status, code=code, detail=detail)
    cls = error_class_for(status, code)
    kwargs: dict[str, Any] = {
        "method": method,
        "path": path,
        "status_code": status,
        "code": code,
        "detail": detail,
        "extra": extra,
    }
    if issubclass(cls, DailyBotRateLimitError):
        kwargs["retry_after"] = parse_retry_after(answer.headers.get("Retry-After"))
    if issubclass(cls, DailyBotBadRequestError):
        kwargs["field_errors"] = field_errors
    return cls(message, **kwargs)


def _bounded_text(value: Any) -> str:
    """A server-provided detail as text, scrubbed and bounded before anything else looks at it."""
    text = value if isinstance(value, str) else json.dumps(scrubbing.scrub_value(value))
    return scrubbing.scrub_prefix(text, SUMMARY_PREFIX_CHARS)[0]


def _json_or_none(body: bytes) -> Any:
    if not body:
        return None
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        return None


def _field_errors(errors: dict[Any, Any]) -> dict[str, list[str]]:
    """DailyBot's per-field messages, scrubbed and bounded (at most 100 fields, 1,000 characters each)."""
    bounded: dict[str, list[str]] = {}
    for key, value in list(errors.items())[: scrubbing.MAX_VALUE_ITEMS]:
        messages = value if isinstance(value, list) else [value]
        bounded[scrubbing.cut(str(key), 200)] = [
            scrubbing.cut(
                item if isinstance(item, str) else str(scrubbing.scrub_value(item)), scrubbing.MAX_VALUE_CHARS
            )
            for item in messages[: scrubbing.MAX_VALUE_ITEMS]
        ]
    return bounded
