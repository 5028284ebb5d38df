"""Pure helpers for DailyBot resources: identifiers, list pages, dates and request bodies.

Nothing here does I/O or imports Airflow, so the rules are unit-testable on their own and shared by
the hook, the operators, the notifier, the trigger and the fake server:

* :func:`resource_id` reads ``uuid`` and falls back to ``id`` (check-ins and kudos still use ``id``;
  ``dailybot-api.md`` §2.5);
* :func:`split_page` accepts DailyBot's DRF envelope (``{"count", "next", "previous", "results"}``) or a
  bare list, and reads a null, ``false`` or empty ``next`` as the last page (§2.4);
* :func:`same_origin` decides whether a ``next`` link may be followed with the API key;

The request bodies (send-message, kudos) are built in :mod:`airflow_provider_dailybot.payloads`.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

from airflow_provider_dailybot._api_compat import RESOURCE_ID_KEYS

_DEFAULT_PORTS = {"http": 80, "https": 443}


def resource_id(obj: object) -> str | None:
    """Return a resource's identifier: its ``uuid``, else its ``id``, as a string (``None`` if neither).

    :param obj: A resource as DailyBot returned it (a dict); anything else has no identifier.
    """
    if not isinstance(obj, Mapping):
        return None
    for key in RESOURCE_ID_KEYS:
        value = obj.get(key)
        if value is not None and value != "" and not isinstance(value, bool):
            return str(value)
    return None


def split_page(body: object) -> tuple[list[Any], str | None]:
    """Return ``(items, next_url)`` of one list response; ``next_url`` is ``None`` on the last page.

    :param body: The decoded JSON body: the DRF envelope or a bare list (DailyBot serves both).
    :raises ValueError: When the body is neither, or ``next`` is neither a string nor null/false.
    """
    if body is None:
        return [], None
    if isinstance(body, list):
        return list(body), None
    if not isinstance(body, dict):
        raise ValueError(f"expected a list or a paginated envelope, got {type(body).__name__}")
    if not isinstance(body.get("results"), list):
        raise ValueError(f"expected a paginated envelope with a 'results' list, got keys {sorted(body)}")
    next_url = body.get("next")
    if next_url is None or next_url is False or next_url == "":
        return list(body["results"]), None
    if not isinstance(next_url, str):
        raise ValueError(f"'next' must be a URL, null or false, got {next_url!r}")
    return list(body["results"]), next_url


def same_origin(url: str, base_url: str) -> bool:
    """Return True when ``url`` has the scheme, host and port of ``base_url`` (default ports included).

    The hook sends the API key with every request, so a ``next`` link is followed only to the
    origin the connection names: a page pointing elsewhere must not receive the key.

    :param url: An absolute URL, e.g. a page's ``next`` link.
    :param base_url: The connection's API base URL.
    """
    try:
        one, two = urlsplit(url), urlsplit(base_url)
        ports = (one.port, two.port)
    except ValueError:
        return False
    scheme_one, scheme_two = one.scheme.lower(), two.scheme.lower()
    if scheme_one != scheme_two or not one.hostname or one.hostname.lower() != (two.hostname or "").lower():
        return False
    return (ports[0] or _DEFAULT_PORTS.get(scheme_one)) == (ports[1] or _DEFAULT_PORTS.get(scheme_two))


# -- arguments ---------------------------------------------------------------------------------------


def validate_identifier(value: object, argument: str) -> str:
    """Return ``value`` as a non-empty identifier string (a UUID or DailyBot's numeric/string ``id``).

    :param value: The identifier; strings and integers are accepted.
    :param argument: The argument name used in error messages.
    """
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise TypeError(f"{argument} must be a string (or integer) identifier, got {type(value).__name__}")
    text = str(value).strip()
    if not text or text == "None":
        raise ValueError(f"{argument} must be a non-empty identifier, got {value!r}")
    if "/" in text or "?" in text or "#" in text:
        raise ValueError(f"{argument} must be a bare identifier without '/', '?' or '#', got {value!r}")
    return text


def identifier_list(values: object, argument: str, *, uuids: bool = False) -> list[str]:
    """Return ``values`` as a de-duplicated list of identifiers; a single string counts as one.

    :param values: ``None``, one identifier, or an iterable of identifiers.
    :param argument: The argument name used in error messages.
    :param uuids: Require every identifier to be a UUID (returned in canonical form).
    """
    if values is None:
        return []
    items: Iterable[object] = [values] if isinstance(values, (str, int)) else as_iterable(values, argument)
    result: list[str] = []
    for item in items:
        text = validate_identifier(item, f"{argument} item")
        if uuids:
            try:
                text = str(uuid.UUID(text))
            except ValueError:
                raise ValueError(f"{argument} item {item!r} is not a UUID") from None
        if text not in result:
            result.append(text)
    return result


def as_iterable(values: object, argument: str) -> Iterable[object]:
    """Return ``values`` if it is a list-like of identifiers (not a string, bytes or mapping).

    :param values: The value to check.
    :param argument: The argument name used in error messages.
    """
    if isinstance(values, (bytes, Mapping)) or not isinstance(values, Iterable):
        raise TypeError(f"{argument} must be a list of identifiers, got {type(values).__name__}")
    return values


def as_date(value: object, argument: str) -> dt.date:
    """Return ``value`` as a calendar date.

    :param value: A ``date``, a ``datetime`` (its date is taken as is, in its own time zone), or a
        string ``YYYY-MM-DD`` or ISO 8601 date-time.
    :param argument: The argument name used in error messages.
    """
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        text = value.strip()
        try:
            return dt.date.fromisoformat(text)
        except ValueError:
            pass
        try:
            return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).date()
        except ValueError:
            pass
    raise ValueError(f"{argument} must be a date (YYYY-MM-DD) or an ISO date-time, got {value!r}")


def date_range(date_start: object, date_end: object) -> tuple[str, str]:
    """Validate an inclusive date range and return it as two ``YYYY-MM-DD`` strings.

    :param date_start: First day (see :func:`as_date` for accepted forms).
    :param date_end: Last day, inclusive; not before ``date_start``.
    """
    start, end = as_date(date_start, "date_start"), as_date(date_end, "date_end")
    if end < start:
        raise ValueError(f"date_end {end.isoformat()} is before date_start {start.isoformat()}")
    return start.isoformat(), end.isoformat()
