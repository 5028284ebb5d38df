"""Typed errors raised by :class:`~airflow_provider_dailybot.hooks.dailybot.DailyBotHook`.

Every DailyBot error status maps to one class, so callers (and Airflow 3.3's task
``retry_policy`` rules, which match dotted exception paths) never parse messages::

    DailyBotError                      base; method, path, status_code, code, detail
    ├── DailyBotTransportError         no complete HTTP answer: connection refused/reset, DNS, TLS
    │   ├── DailyBotTimeoutError       connect or read timeout, or no complete answer within total_timeout
    │   └── DailyBotResponseTooLargeError     the body exceeds max_response_bytes (never retried)
    └── DailyBotApiError               DailyBot answered with a non-2xx status
        ├── DailyBotUnexpectedResponseError   a 2xx whose body is not what the endpoint returns
        ├── DailyBotBadRequestError    400, with DailyBot's per-field ``errors``
        ├── DailyBotAuthError          401 and 403 (DailyBot sends either for bad keys)
        │   ├── DailyBotAuthenticationError   401
        │   └── DailyBotPermissionError       403 (``org_admin_required``, ``plan_free_api_keys_forbidden`` …)
        ├── DailyBotNotFoundError      404
        ├── DailyBotRateLimitError     429, with ``retry_after`` seconds
        │   └── DailyBotQuotaExceededError    429 ``free_plan_daily_limit_exceeded`` (never retried)
        └── DailyBotServerError        5xx

Messages carry the method, path, status, DailyBot's ``code`` and a truncated ``detail``;
never headers, never the API key: every text is passed through
:func:`airflow_provider_dailybot.scrubbing.scrub` (every encoding of every registered secret)
before it is cut to length.
"""

from __future__ import annotations

from typing import Any

from airflow.exceptions import AirflowException

from airflow_provider_dailybot import scrubbing

#: Longest ``detail`` text kept in a message; DailyBot's 500 pages can be large HTML documents.
MAX_DETAIL_CHARS = 300
#: Longest DailyBot ``code`` kept (a hostile server could send anything there).
MAX_CODE_CHARS = 100

#: DailyBot help for the codes users hit most, appended to messages.
_CODE_HINTS: dict[str, str] = {
    "org_admin_required": "the API key's owner must be an organization admin in DailyBot",
    "plan_free_api_keys_forbidden": "DailyBot's free plan does not allow API keys; upgrade the organization's plan",
    "free_plan_daily_limit_exceeded": "the organization's daily API quota is used up; retry tomorrow",
    "api_key_owner_inactive": "the API key's owner is deactivated in DailyBot; create a key as an active admin",
}


def _truncate(text: str | None, limit: int = MAX_DETAIL_CHARS) -> str | None:
    """Scrub secrets first, then collapse whitespace and cut: a cut never leaves a secret's prefix.

    Only a window of a few times ``limit`` characters is read, however long ``text`` is.
    """
    if text is None:
        return None
    window, truncated = scrubbing.scrub_prefix(str(text), 4 * limit + 64)
    collapsed = " ".join(window.split())
    if truncated and len(collapsed) < limit:
        return collapsed + "…"
    return scrubbing.cut(collapsed, limit)


class DailyBotError(AirflowException):
    """Base class of every error raised while talking to DailyBot.

    :param message: Human-readable summary (never contains secrets).
    :param method: HTTP method of the failed request, e.g. ``"POST"``.
    :param path: URL path of the failed request, e.g. ``"/v1/webhook-subscription/"``.
    :param status_code: HTTP status DailyBot answered, or ``None`` without an answer.
    :param code: DailyBot's machine-readable ``code``, e.g. ``"org_admin_required"``.
    :param detail: DailyBot's ``detail`` text (truncated).
    """

    def __init__(
        self,
        message: str,
        *,
        method: str | None = None,
        path: str | None = None,
        status_code: int | None = None,
        code: str | None = None,
        detail: str | None = None,
    ) -> None:
        super().__init__(scrubbing.scrub(message))
        self.method = method
        self.path = scrubbing.scrub(path) if path else path
        self.status_code = status_code  # type: ignore[assignment]  # AirflowException declares an HTTPStatus
        self.code = _truncate(code, MAX_CODE_CHARS)
        self.detail = _truncate(detail)

    def __reduce__(self) -> tuple[Any, ...]:
        # Keep the keyword attributes when the error is pickled (e.g. sent between processes).
        return (_rebuild_error, (type(self), str(self), self.__dict__.copy()))


def _rebuild_error(cls: type[DailyBotError], message: str, state: dict[str, Any]) -> DailyBotError:
    error = cls.__new__(cls)
    Exception.__init__(error, message)
    error.__dict__.update(state)
    return error


class DailyBotConnectionError(DailyBotError, ValueError):
    """A ``dailybot`` connection is missing the API key or holds an unusable value.

    Also a :class:`ValueError`, as it was before it joined the :class:`DailyBotError` tree.
    """


class DailyBotTransportError(DailyBotError):
    """The request got no HTTP answer (connection refused or reset, DNS or TLS failure)."""


class DailyBotTimeoutError(DailyBotTransportError):
    """DailyBot did not connect or answer within ``timeout``, or the whole answer took over ``total_timeout``."""


class DailyBotResponseTooLargeError(DailyBotTransportError):
    """The answer's body exceeds ``max_response_bytes``; it was not read further and is never retried.

    ``status_code`` is the status the oversized answer carried.
    """


class DailyBotApiError(DailyBotError):
    """DailyBot answered with a non-2xx status (or, for the subclass below, with a 2xx it should not send).

    :param extra: DailyBot's optional ``extra`` object (e.g. ``upgrade_url``, ``required_role``).
    """

    def __init__(self, message: str, *, extra: dict[str, Any] | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.extra = extra or {}


class DailyBotBadRequestError(DailyBotApiError):
    """DailyBot refused the request as invalid (400).

    :param field_errors: DailyBot's per-field messages, e.g. ``{"hook_url": ["Enter a valid URL."]}``.
    """

    def __init__(self, message: str, *, field_errors: dict[str, list[str]] | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.field_errors = field_errors or {}


class DailyBotAuthError(DailyBotApiError):
    """The API key was refused (401) or lacks a permission or plan (403); never retried."""


class DailyBotAuthenticationError(DailyBotAuthError):
    """The API key is missing, invalid or revoked (401)."""


class DailyBotPermissionError(DailyBotAuthError):
    """The key is valid but not allowed to do this (403); ``code`` says why."""


class DailyBotNotFoundError(DailyBotApiError):
    """The resource does not exist or is not visible to the key's owner (404)."""


class DailyBotRateLimitError(DailyBotApiError):
    """DailyBot throttled the request (429).

    :param retry_after: Seconds DailyBot asked to wait (``Retry-After``), if it said.
    """

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class DailyBotQuotaExceededError(DailyBotRateLimitError):
    """The organization's daily API quota is used up (``free_plan_daily_limit_exceeded``); never retried."""


class DailyBotServerError(DailyBotApiError):
    """DailyBot failed with a 5xx status."""


class DailyBotUnexpectedResponseError(DailyBotApiError):
    """DailyBot answered 2xx, but the body is not what the endpoint returns (``detail`` says what was missing).

    A wrong base URL (a proxy's or another service's page) is the usual cause. For a POST the request
    was answered with a success status, so DailyBot may have acted on it: check before sending it again.
    """


def error_class_for(status_code: int, code: str | None) -> type[DailyBotApiError]:
    """Return the exception class for an HTTP error status and DailyBot ``code``.

    :param status_code: HTTP status (4xx or 5xx).
    :param code: DailyBot's ``code`` from the error body, if any.
    """
    if status_code == 400:
        return DailyBotBadRequestError
    if status_code == 401:
        return DailyBotAuthenticationError
    if status_code == 403:
        return DailyBotPermissionError
    if status_code == 404:
        return DailyBotNotFoundError
    if status_code == 429:
        return DailyBotQuotaExceededError if code == "free_plan_daily_limit_exceeded" else DailyBotRateLimitError
    if status_code >= 500:
        return DailyBotServerError
    return DailyBotApiError


def format_error_message(
    *, method: str, path: str, status_code: int | None, code: str | None, detail: str | None
) -> str:
    """Build the one-line message used by every :class:`DailyBotError`.

    :param method: HTTP method.
    :param path: URL path (no query string: it could hold identifiers users consider private).
    :param status_code: HTTP status, or ``None`` for transport failures.
    :param code: DailyBot's ``code``.
    :param detail: DailyBot's ``detail`` or a transport error description.
    """
    parts = [f"DailyBot {method} {path} failed"]
    if status_code is not None:
        parts.append(f"with HTTP {status_code}")
    code = _truncate(code, MAX_CODE_CHARS)
    if code:
        # Parentheses, not brackets: Airflow's CLI prints messages through rich, which eats "[word]" as markup.
        parts.append(f"({code})")
    message = " ".join(parts)
    short = _truncate(detail)
    if short:
        message += f": {short}"
    hint = _CODE_HINTS.get(code or "")
    if hint:
        message += f" ({hint})"
    return message


def pagination_error(path: str, detail: str) -> DailyBotError:
    """The error for a list that cannot be read to its end (a refused ``next`` link, a loop, too many pages).

    :param path: URL path of the page whose link was refused.
    :param detail: What was wrong.
    """
    message = format_error_message(method="GET", path=path, status_code=None, code=None, detail=detail)
    return DailyBotError(message, method="GET", path=path, detail=detail)
