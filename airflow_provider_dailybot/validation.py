"""Argument checks shared by the hook, the connection, the receiver's config and the trigger.

Pure (no I/O, no Airflow import). Each check raises ``ValueError`` (``TypeError`` for a wrong type
where callers expect it) with a message that starts with the ``label`` it is given, so every caller
names the argument, extra or option the way its users wrote it.
"""

from __future__ import annotations

import math
from typing import Any
from urllib.parse import SplitResult, urlsplit

_TRUE = frozenset({"true", "1", "yes", "on"})
_FALSE = frozenset({"false", "0", "no", "off"})


def http_url(value: object, label: str, *, query: bool = True, credentials: bool = False) -> SplitResult:
    """Check that ``value`` is an absolute http(s) URL and return its parts.

    :param value: The URL.
    :param label: What the URL is, for messages (e.g. ``"hook_url"``).
    :param query: Accept a query string and a fragment.
    :param credentials: Accept ``user:password@`` in the URL.
    """
    if not isinstance(value, str):
        raise TypeError(f"{label} must be a string, got {type(value).__name__}")
    if any(ch.isspace() or ord(ch) < 32 for ch in value.strip()):
        raise ValueError(f"{label} must not contain spaces or control characters, got {value!r}")
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{label} must be an absolute http(s) URL, got {value!r}")
    try:
        parts.port  # noqa: B018  (raises ValueError for a port out of range or not a number)
    except ValueError:
        raise ValueError(f"{label} {value!r} has an invalid port") from None
    if not query and (parts.query or parts.fragment):
        raise ValueError(f"{label} must be an absolute http(s) URL without query or fragment, got {value!r}")
    if not credentials and (parts.username or parts.password):
        raise ValueError(f"{label} must not embed credentials")
    return parts


def positive_seconds(value: object, label: str) -> float:
    """Check a duration given in code: a finite number above zero (not a bool).

    :param value: The number.
    :param label: The argument name, for messages.
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < math.inf:
        raise ValueError(f"{label} must be a positive number of seconds, got {value!r}")
    return float(value)


def parse_positive(value: Any, label: str, *, integer: bool = False) -> float | None:
    """Read a positive number from text or a number (an extra, an option); ``None`` when unset.

    :param value: The raw value; ``None`` and ``""`` mean unset.
    :param label: What the value is, for messages.
    :param integer: Read it as an integer.
    """
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValueError(f"{label} must be a number, got {value!r}")
    try:
        number = int(value) if integer else float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{label} must be a number, got {value!r}") from None
    if not math.isfinite(number) or number <= 0:
        raise ValueError(f"{label} must be positive, got {value!r}")
    return number


def parse_int(value: str, label: str, *, minimum: int) -> int:
    """Read an integer option of at least ``minimum``.

    :param value: The raw text.
    :param label: What the value is, for messages.
    :param minimum: The smallest value accepted.
    """
    try:
        number = int(value)
    except ValueError:
        raise ValueError(f"{label} must be an integer, got {value!r}") from None
    if number < minimum:
        raise ValueError(f"{label} must be at least {minimum}, got {number}")
    return number


def parse_boolean(value: object, label: str) -> bool | None:
    """Read a boolean from a bool or text (``true``/``false``, ``1``/``0``, ``yes``/``no``, ``on``/``off``).

    :param value: The raw value; ``None`` and ``""`` mean unset.
    :param label: What the value is, for messages.
    """
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(f"{label} must be true or false, got {value!r}")
