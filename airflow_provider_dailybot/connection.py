"""Reading a ``dailybot`` Airflow connection into validated client settings.

Kept apart from the hook so that the parsing rules (base URL forms, extras, defaults) are one
pure, testable function and the hook only consumes the result.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from airflow_provider_dailybot import validation
from airflow_provider_dailybot.connection_form import (
    DEFAULT_APP_URL,
    DEFAULT_BASE_URL,
    DEFAULT_MAX_ATTEMPTS,
    DEFAULT_MAX_PAGES,
    DEFAULT_MAX_RESPONSE_BYTES,
    DEFAULT_TIMEOUT_SECONDS,
    DEFAULT_TOTAL_TIMEOUT_SECONDS,
)
from airflow_provider_dailybot.exceptions import DailyBotConnectionError

#: Smallest ``max_response_bytes`` accepted (an error page must still fit).
MIN_RESPONSE_BYTES = 1024
#: Longest API key accepted; DailyBot's keys are far shorter.
MAX_API_KEY_CHARS = 4096
#: Connection id every DailyBot operator, sensor, notifier, trigger and task group uses unless told otherwise.
DEFAULT_CONN_ID = "dailybot_default"


def normalize_base_url(host: str | None, port: int | None = None) -> str:
    """Turn what a user typed as the connection host into DailyBot's API base URL.

    Accepted: empty (the public API), a bare host (``api.dailybot.com``), with or without
    scheme, with or without ``/v1`` and trailing slash, with a path prefix (a proxy). The
    result always ends in ``/v1/``. Only ``http`` and ``https`` are accepted; a bare host gets
    ``https``.

    :param host: The connection's host field.
    :param port: The connection's port field (used by the URI form when the host has none).
    """
    text = (host or "").strip()
    if not text:
        return DEFAULT_BASE_URL
    if "://" not in text:
        text = "https://" + text
    parts = urlsplit(text)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise DailyBotConnectionError(f"DailyBot base URL must use http or https, got {parts.scheme!r}")
    if not parts.hostname:
        raise DailyBotConnectionError(f"DailyBot base URL {host!r} has no host name")
    if parts.username or parts.password:
        raise DailyBotConnectionError("DailyBot base URL must not contain credentials; put the API key in the password")
    if parts.query or parts.fragment:
        raise DailyBotConnectionError("DailyBot base URL must not contain a query string or fragment")
    netloc = parts.netloc
    if port and parts.port is None:
        netloc = f"{netloc}:{int(port)}"
    path = parts.path.rstrip("/")
    if not path.endswith("/v1"):
        path += "/v1"
    return urlunsplit((scheme, netloc, path + "/", "", ""))


def app_base_url(app_url: object, base_url: str) -> str:
    """Return the DailyBot web app's base URL (no trailing slash): the ``app_url`` extra, else derived from the API.

    An API host ``api.<domain>`` gives ``https://app.<domain>`` (``api.dailybot.com`` gives
    ``https://app.dailybot.com``); any other host (a proxy, a test server) gives :data:`DEFAULT_APP_URL`.

    :param app_url: The connection's ``app_url`` extra (None or empty: derive it).
    :param base_url: The API base URL, as :func:`normalize_base_url` returns it.
    :raises DailyBotConnectionError: When ``app_url`` is not an absolute http(s) URL without credentials,
        query or fragment.
    """
    if app_url is None or (isinstance(app_url, str) and not app_url.strip()):
        host = (urlsplit(base_url).hostname or "").lower()
        if host.startswith("api.") and host.count(".") >= 2:
            return "https://app." + host[len("api.") :]
        return DEFAULT_APP_URL
    parts = urlsplit(app_url.strip()) if isinstance(app_url, str) else None
    if parts is None or parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise DailyBotConnectionError(f"extra 'app_url' must be an absolute http(s) URL, got {app_url!r}")
    if parts.username or parts.password or parts.query or parts.fragment:
        raise DailyBotConnectionError("extra 'app_url' must not contain credentials, a query string or a fragment")
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path.rstrip("/"), "", ""))


def is_loopback_host(hostname: str | None) -> bool:
    """Return True for ``localhost`` and loopback IP addresses (plain http is fine there).

    :param hostname: A host name or IP address, without port.
    """
    if not hostname:
        return False
    if hostname.lower() == "localhost" or hostname.lower().endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(hostname.strip("[]")).is_loopback
    except ValueError:
        return False


def validate_api_key(api_key: str, conn_id: str) -> str:
    """Check that an API key can travel in the ``X-API-KEY`` header; the message never shows the key.

    DailyBot's keys are printable ASCII without spaces. A key with a space, a line break or another
    control character inside, or a non-ASCII character (a paste from a rich-text document), would
    otherwise fail inside ``requests`` with a message quoting the key.

    :param api_key: The key, outer whitespace already stripped.
    :param conn_id: The connection id, for the message.
    """
    if len(api_key) > MAX_API_KEY_CHARS:
        raise DailyBotConnectionError(
            f"Connection {conn_id!r}: the DailyBot API key is {len(api_key)} characters long, more than "
            f"{MAX_API_KEY_CHARS}; check what was pasted into the password field"
        )
    for position, char in enumerate(api_key, start=1):
        code = ord(char)
        if 33 <= code <= 126:
            continue
        if char.isspace():
            what = "a space or line break"
        elif code < 32 or code == 127 or 128 <= code < 160:
            what = "a control character"
        else:
            what = "a non-ASCII character"
        raise DailyBotConnectionError(
            f"Connection {conn_id!r}: the DailyBot API key contains {what} at position {position}; DailyBot "
            "keys are printable ASCII without spaces. Paste the key again (the key itself is not shown)."
        )
    return api_key


def validate_overrides(
    *,
    timeout: float | None = None,
    max_attempts: int | None = None,
    total_timeout: float | None = None,
    max_response_bytes: int | None = None,
    max_pages: int | None = None,
) -> dict[str, Any]:
    """Check the hook's constructor arguments (each ``None`` means "use the connection's extra").

    :param timeout: Seconds per connect and per read.
    :param max_attempts: Attempts for retryable failures.
    :param total_timeout: Seconds per attempt in all; not below ``timeout``.
    :param max_response_bytes: Largest body read; at least :data:`MIN_RESPONSE_BYTES`.
    :param max_pages: Most pages one list call follows.
    :return: The arguments as keywords of :meth:`DailyBotConnectionSettings.from_connection`.
    """
    for name, seconds in (("timeout", timeout), ("total_timeout", total_timeout)):
        if seconds is not None:
            validation.positive_seconds(seconds, name)
    if timeout is not None and total_timeout is not None and total_timeout < timeout:
        raise ValueError(f"total_timeout ({total_timeout!r}) must not be below timeout ({timeout!r})")
    for name, count, minimum in (
        ("max_attempts", max_attempts, 1),
        ("max_response_bytes", max_response_bytes, MIN_RESPONSE_BYTES),
        ("max_pages", max_pages, 1),
    ):
        if count is not None and (isinstance(count, bool) or not isinstance(count, int)):
            raise TypeError(f"{name} must be an integer, got {count!r}")
        if count is not None and count < minimum:
            raise ValueError(f"{name} must be at least {minimum}, got {count}")
    return {
        "timeout": timeout,
        "max_attempts": max_attempts,
        "total_timeout": total_timeout,
        "max_response_bytes": max_response_bytes,
        "max_pages": max_pages,
    }


def _positive_number(value: Any, name: str, conn_id: str, *, integer: bool = False) -> float | None:
    try:
        return validation.parse_positive(value, f"extra {name!r}", integer=integer)
    except ValueError as err:
        raise DailyBotConnectionError(f"Connection {conn_id!r}: {err}") from None


def _boolean(value: Any, name: str, conn_id: str) -> bool | None:
    try:
        return validation.parse_boolean(value, f"extra {name!r}")
    except ValueError as err:
        raise DailyBotConnectionError(f"Connection {conn_id!r}: {err}") from None


@dataclass(frozen=True)
class ConnectionFields:
    """The fields of an Airflow connection the settings are read from (for connections read asynchronously).

    :param conn_id: The connection id.
    :param password: The API key.
    :param host: The base URL override, if any.
    :param port: The port, if any.
    :param extra_dejson: The decoded extras.
    """

    conn_id: str
    password: str | None = field(default=None, repr=False)
    host: str | None = None
    port: int | None = None
    extra_dejson: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class DailyBotConnectionSettings:
    """Everything the hook needs from a ``dailybot`` connection, validated.

    :param conn_id: The Airflow connection id (for messages).
    :param api_key: DailyBot API key (never shown in ``repr``).
    :param base_url: API base URL ending in ``/v1/``.
    :param timeout: Seconds for connect and for each read of each request.
    :param max_attempts: Attempts for retryable failures.
    :param verify: ``requests``' ``verify``: ``True``, ``False`` or a CA bundle path.
    :param total_timeout: Seconds one attempt may take in all (connect, headers, body); ``>= timeout``.
    :param max_response_bytes: Largest response body read.
    :param max_pages: Most pages one list call follows.
    :param implicit_https: The host was configured without a scheme, so ``https`` was assumed.
    :param app_url: Base URL of DailyBot's web app, for links (see :func:`app_base_url`).
    """

    conn_id: str
    api_key: str = field(repr=False)
    base_url: str = DEFAULT_BASE_URL
    timeout: float = DEFAULT_TIMEOUT_SECONDS
    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    verify: bool | str = True
    total_timeout: float = DEFAULT_TOTAL_TIMEOUT_SECONDS
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES
    max_pages: int = DEFAULT_MAX_PAGES
    implicit_https: bool = False
    app_url: str = DEFAULT_APP_URL

    @classmethod
    def from_connection(
        cls,
        conn: Any,
        *,
        timeout: float | None = None,
        max_attempts: int | None = None,
        total_timeout: float | None = None,
        max_response_bytes: int | None = None,
        max_pages: int | None = None,
    ) -> DailyBotConnectionSettings:
        """Build settings from an Airflow ``Connection``; explicit arguments win over extras.

        :param conn: An ``airflow.sdk.Connection`` (or anything with the same attributes).
        :param timeout: Overrides the ``timeout`` extra.
        :param max_attempts: Overrides the ``max_attempts`` extra.
        :param total_timeout: Overrides the ``total_timeout`` extra.
        :param max_response_bytes: Overrides the ``max_response_bytes`` extra.
        :param max_pages: Overrides the ``max_pages`` extra.
        """
        conn_id = conn.conn_id
        api_key = (conn.password or "").strip()
        if not api_key:
            raise DailyBotConnectionError(
                f"Connection {conn_id!r} has no DailyBot API key: put the key in the password field "
                "(labelled 'API Key' in the Airflow UI)"
            )
        validate_api_key(api_key, conn_id)
        extra = conn.extra_dejson or {}
        if not isinstance(extra, dict):
            raise DailyBotConnectionError(f"Connection {conn_id!r}: the extras must be a JSON object")
        extra_timeout = _positive_number(extra.get("timeout"), "timeout", conn_id)
        extra_attempts = _positive_number(extra.get("max_attempts"), "max_attempts", conn_id, integer=True)
        extra_total = _positive_number(extra.get("total_timeout"), "total_timeout", conn_id)
        extra_bytes = _positive_number(extra.get("max_response_bytes"), "max_response_bytes", conn_id, integer=True)
        extra_pages = _positive_number(extra.get("max_pages"), "max_pages", conn_id, integer=True)
        verify_ssl = _boolean(extra.get("verify_ssl"), "verify_ssl", conn_id)
        ca_bundle = extra.get("ca_bundle") or None
        verify: bool | str = ca_bundle if ca_bundle else (verify_ssl if verify_ssl is not None else True)
        try:
            base_url = normalize_base_url(conn.host, conn.port)
        except DailyBotConnectionError as err:
            raise DailyBotConnectionError(f"Connection {conn_id!r}: {err}") from None
        chosen_timeout = float(timeout or extra_timeout or DEFAULT_TIMEOUT_SECONDS)
        explicit_total = total_timeout or extra_total
        if explicit_total is not None and explicit_total < chosen_timeout:
            raise DailyBotConnectionError(
                f"Connection {conn_id!r}: total_timeout ({explicit_total:g} s) must not be below timeout "
                f"({chosen_timeout:g} s): it bounds a whole attempt, timeout bounds each read"
            )
        chosen_bytes = int(max_response_bytes or extra_bytes or DEFAULT_MAX_RESPONSE_BYTES)
        if chosen_bytes < MIN_RESPONSE_BYTES:
            raise DailyBotConnectionError(
                f"Connection {conn_id!r}: max_response_bytes must be at least {MIN_RESPONSE_BYTES}, got {chosen_bytes}"
            )
        host_text = (conn.host or "").strip()
        try:
            app_url = app_base_url(extra.get("app_url"), base_url)
        except DailyBotConnectionError as err:
            raise DailyBotConnectionError(f"Connection {conn_id!r}: {err}") from None
        return cls(
            conn_id=conn_id,
            api_key=api_key,
            base_url=base_url,
            timeout=chosen_timeout,
            max_attempts=int(max_attempts or extra_attempts or DEFAULT_MAX_ATTEMPTS),
            verify=verify,
            total_timeout=float(explicit_total or max(DEFAULT_TOTAL_TIMEOUT_SECONDS, chosen_timeout)),
            max_response_bytes=chosen_bytes,
            max_pages=int(max_pages or extra_pages or DEFAULT_MAX_PAGES),
            implicit_https=bool(host_text) and "://" not in host_text,
            app_url=app_url,
        )
