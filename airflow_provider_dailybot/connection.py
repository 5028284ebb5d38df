"""Reading a ``dailybot`` Airflow connection into validated client settings.

Kept apart from the hook so that the parsing rules (base URL forms, extras, defaults) are one
pure, testable function and the hook only consumes the result.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from airflow_provider_dailybot.get_provider_info import DEFAULT_BASE_URL, DEFAULT_TIMEOUT_SECONDS

DEFAULT_MAX_ATTEMPTS = 3
#: Connection id every DailyBot operator, sensor, notifier, trigger and task group uses unless told otherwise.
DEFAULT_CONN_ID = "dailybot_default"


class DailyBotConnectionError(ValueError):
    """A ``dailybot`` connection is missing the API key or holds an unusable value."""


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


def _positive_number(value: Any, name: str, conn_id: str, *, integer: bool = False) -> float | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise DailyBotConnectionError(f"Connection {conn_id!r}: extra {name!r} must be a number, got {value!r}")
    try:
        number = int(value) if integer else float(value)
    except (TypeError, ValueError):
        raise DailyBotConnectionError(
            f"Connection {conn_id!r}: extra {name!r} must be a number, got {value!r}"
        ) from None
    if number <= 0:
        raise DailyBotConnectionError(f"Connection {conn_id!r}: extra {name!r} must be positive, got {value!r}")
    return number


def _boolean(value: Any, name: str, conn_id: str) -> bool | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "1", "yes", "on"):
        return True
    if text in ("false", "0", "no", "off"):
        return False
    raise DailyBotConnectionError(f"Connection {conn_id!r}: extra {name!r} must be true or false, got {value!r}")


@dataclass(frozen=True)
class DailyBotConnectionSettings:
    """Everything the hook needs from a ``dailybot`` connection, validated.

    :param conn_id: The Airflow connection id (for messages).
    :param api_key: DailyBot API key (never shown in ``repr``).
    :param base_url: API base URL ending in ``/v1/``.
    :param timeout: Seconds for connect and read of each request.
    :param max_attempts: Attempts for retryable failures.
    :param verify: ``requests``' ``verify``: ``True``, ``False`` or a CA bundle path.
    """

    conn_id: str
    api_key: str = field(repr=False)
    base_url: str = DEFAULT_BASE_URL
    timeout: float = DEFAULT_TIMEOUT_SECONDS
    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    verify: bool | str = True

    @classmethod
    def from_connection(
        cls,
        conn: Any,
        *,
        timeout: float | None = None,
        max_attempts: int | None = None,
    ) -> DailyBotConnectionSettings:
        """Build settings from an Airflow ``Connection``; explicit arguments win over extras.

        :param conn: An ``airflow.sdk.Connection`` (or anything with the same attributes).
        :param timeout: Overrides the ``timeout`` extra.
        :param max_attempts: Overrides the ``max_attempts`` extra.
        """
        conn_id = conn.conn_id
        api_key = (conn.password or "").strip()
        if not api_key:
            raise DailyBotConnectionError(
                f"Connection {conn_id!r} has no DailyBot API key: put the key in the password field "
                "(labelled 'API Key' in the Airflow UI)"
            )
        extra = conn.extra_dejson or {}
        extra_timeout = _positive_number(extra.get("timeout"), "timeout", conn_id)
        extra_attempts = _positive_number(extra.get("max_attempts"), "max_attempts", conn_id, integer=True)
        verify_ssl = _boolean(extra.get("verify_ssl"), "verify_ssl", conn_id)
        ca_bundle = extra.get("ca_bundle") or None
        verify: bool | str = ca_bundle if ca_bundle else (verify_ssl if verify_ssl is not None else True)
        try:
            base_url = normalize_base_url(conn.host, conn.port)
        except DailyBotConnectionError as err:
            raise DailyBotConnectionError(f"Connection {conn_id!r}: {err}") from None
        return cls(
            conn_id=conn_id,
            api_key=api_key,
            base_url=base_url,
            timeout=float(timeout or extra_timeout or DEFAULT_TIMEOUT_SECONDS),
            max_attempts=int(max_attempts or extra_attempts or DEFAULT_MAX_ATTEMPTS),
            verify=verify,
        )
