"""Pure helpers for DailyBot resources: identifiers, list pages, dates and request bodies.

Nothing here does I/O or imports Airflow, so the rules are unit-testable on their own and shared by
the hook, the operators, the notifier, the trigger and the fake server:

* :func:`resource_id` reads ``uuid`` and falls back to ``id`` (check-ins and kudos still use ``id``;
  ``dailybot-api.md`` §2.5);
* :func:`split_page` accepts DailyBot's DRF envelope (``{"count", "next", "previous", "results"}``) or a
  bare list, and reads a null, ``false`` or empty ``next`` as the last page (§2.4);
* :func:`same_origin` decides whether a ``next`` link may be followed with the API key;
* :func:`build_message_payload` and :func:`build_kudos_payload` validate and build the bodies of
  ``POST /v1/send-message/`` and ``POST /v1/kudos/`` (§4.5, §4.6) before any request is sent.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

#: DailyBot accepts at most this many buttons per message (``buttons_count_out_of_range`` beyond).
MAX_BUTTONS = 25
#: Keys of a button that each name a callback; a button may set at most one of them.
BUTTON_CALLBACK_KEYS = ("callback_url", "callback_form", "callback_command", "callback_prompt", "callback_workflow")
#: The message arguments shared by the hook, the send-message operator and the notifier.
MESSAGE_ARGUMENTS = ("message", "target_users", "target_teams", "target_channels", "buttons", "image_url")
_DEFAULT_PORTS = {"http": 80, "https": 443}


def resource_id(obj: object) -> str | None:
    """Return a resource's identifier: its ``uuid``, else its ``id``, as a string (``None`` if neither).

    :param obj: A resource as DailyBot returned it (a dict); anything else has no identifier.
    """
    if not isinstance(obj, Mapping):
        return None
    for key in ("uuid", "id"):
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
    items: Iterable[object] = [values] if isinstance(values, (str, int)) else _iterable(values, argument)
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


def _iterable(values: object, argument: str) -> Iterable[object]:
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


# -- request bodies -----------------------------------------------------------------------------------


def _non_empty_text(value: object, argument: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{argument} must be a string, got {type(value).__name__}")
    if not value.strip():
        raise ValueError(f"{argument} must not be empty")
    return value


def _channel_targets(values: object) -> list[str | dict[str, Any]]:
    if values is None:
        return []
    items = [values] if isinstance(values, (str, Mapping)) else list(_iterable(values, "target_channels"))
    result: list[str | dict[str, Any]] = []
    for item in items:
        if isinstance(item, Mapping):
            channel = dict(item)
            channel["id"] = validate_identifier(channel.get("id"), "target_channels item 'id'")
            result.append(channel)
        else:
            result.append(validate_identifier(item, "target_channels item"))
    return result


def _buttons(buttons: object) -> list[dict[str, Any]]:
    if buttons is None:
        return []
    if isinstance(buttons, (str, bytes, Mapping)) or not isinstance(buttons, Iterable):
        raise TypeError(f"buttons must be a list of button objects, got {type(buttons).__name__}")
    result = [dict(b) if isinstance(b, Mapping) else b for b in buttons]
    if len(result) > MAX_BUTTONS:
        raise ValueError(f"DailyBot accepts at most {MAX_BUTTONS} buttons per message, got {len(result)}")
    for index, button in enumerate(result, start=1):
        if not isinstance(button, dict):
            raise TypeError(f"button #{index} must be an object such as {{'label': ..., 'url': ...}}")
        label = button.get("label")
        if not isinstance(label, str) or not label.strip():
            raise ValueError(f"button #{index} needs a non-empty 'label'")
        callbacks = [key for key in BUTTON_CALLBACK_KEYS if button.get(key) not in (None, "")]
        if len(callbacks) > 1:
            raise ValueError(f"button {label!r} sets more than one callback: {', '.join(callbacks)}")
    return result


def build_message_payload(
    *,
    message: object,
    target_users: object = None,
    target_teams: object = None,
    target_channels: object = None,
    buttons: object = None,
    image_url: object = None,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Validate the arguments of a bot message and return the ``POST /v1/send-message/`` body.

    :param message: The text (DailyBot renders the chat platform's markdown).
    :param target_users: User UUIDs (DailyBot also accepts emails or chat ids); one string or a list.
    :param target_teams: Team UUIDs; one string or a list.
    :param target_channels: Channel ids, or objects ``{"id": ..., "thread": ...}``; one or a list.
    :param buttons: Up to 25 button objects, each with a ``label`` (``{"label", "button_type": "link",
        "url"}`` or ``{"label", "button_type": "interactive", "value"}``).
    :param image_url: An https image URL shown with the message.
    :param extra: Further body fields passed through unchanged (``platform_settings``, ``metadata``,
        ``skip_users_on_time_off`` …); they cannot override the fields above.
    """
    text = _non_empty_text(message, "message")
    users = identifier_list(target_users, "target_users")
    teams = identifier_list(target_teams, "target_teams", uuids=True)
    channels = _channel_targets(target_channels)
    if not (users or teams or channels):
        raise ValueError("send_message needs at least one target: target_users, target_teams or target_channels")
    payload: dict[str, Any] = {"message": text}
    if users:
        payload["target_users"] = users
    if teams:
        payload["target_teams"] = teams
    if channels:
        payload["target_channels"] = channels
    button_list = _buttons(buttons)
    if button_list:
        payload["buttons"] = button_list
    if image_url is not None:
        url = _non_empty_text(image_url, "image_url")
        if urlsplit(url).scheme != "https":
            raise ValueError(f"image_url must be an https URL, got {url!r}")
        payload["image_url"] = url
    return _merge_extra(payload, extra)


def build_kudos_payload(
    *,
    receivers: object,
    content: object,
    is_anonymous: bool = False,
    by_dailybot: bool = False,
    company_value: object = None,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Validate the arguments of kudos and return the ``POST /v1/kudos/`` body.

    :param receivers: User UUIDs receiving the kudos; one string or a list.
    :param content: The kudos text.
    :param is_anonymous: Hide the giver.
    :param by_dailybot: Give the kudos as the DailyBot bot instead of the API key's owner.
    :param company_value: A company value the kudos celebrates.
    :param extra: Further body fields passed through unchanged; they cannot override the fields above.
    """
    users = identifier_list(receivers, "receivers", uuids=True)
    if not users:
        raise ValueError("give_kudos needs at least one receiver (a user UUID)")
    text = _non_empty_text(content, "content")
    for name, flag in (("is_anonymous", is_anonymous), ("by_dailybot", by_dailybot)):
        if not isinstance(flag, bool):
            raise TypeError(f"{name} must be a bool, got {flag!r}")
    payload: dict[str, Any] = {
        "receivers": users,
        "content": text,
        "is_anonymous": is_anonymous,
        "by_dailybot": by_dailybot,
    }
    if company_value is not None:
        payload["company_value"] = _non_empty_text(company_value, "company_value")
    return _merge_extra(payload, extra)


def _merge_extra(payload: dict[str, Any], extra: Mapping[str, Any] | None) -> dict[str, Any]:
    if not extra:
        return payload
    if not isinstance(extra, Mapping):
        raise TypeError(f"extra must be a dict of body fields, got {type(extra).__name__}")
    clash = sorted(set(extra) & set(payload))
    if clash:
        raise ValueError(f"extra must not repeat fields set by arguments: {', '.join(clash)}")
    return {**payload, **extra}
