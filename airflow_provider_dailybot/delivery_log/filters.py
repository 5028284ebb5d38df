"""The filters of the delivery log, parsed once for the page, the JSON API and the CLI.

Every value comes from a user (a query string or a command line), so each is checked here and
bounded: names by the receiver's own syntax, the page size by :data:`MAX_PAGE_SIZE`, times as ISO
8601 (a time without a zone is UTC). Pure: no Airflow, no database.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import Any

from airflow_provider_dailybot.webhooks.assets import is_valid_channel_name

#: Outcomes a stored delivery can have (``store.models``: a duplicate is folded into its original
#: and has no row of its own).
STORED_OUTCOMES = ("recorded", "no_consumer")
#: Rows per page when none is asked for.
DEFAULT_PAGE_SIZE = 50
#: Most rows one page (or one CLI listing) returns.
MAX_PAGE_SIZE = 200
#: Longest event-name filter; the receiver refuses longer event names.
MAX_EVENT_LENGTH = 128
#: Longest delivery id accepted in a path (the receiver's ids are 36-character UUIDs).
MAX_DELIVERY_ID_LENGTH = 36

_EVENT_NAME = re.compile(r"[A-Za-z0-9_.\-]{1,128}")
_DELIVERY_ID = re.compile(r"[0-9a-fA-F-]{1,36}")


class InvalidFilter(ValueError):
    """A filter value is malformed; the message names the field and is safe to show."""


@dataclass(frozen=True)
class DeliveryFilter:
    """What to list: every field optional, combined with AND; newest first.

    :param channel: Only this channel.
    :param event: Only this DailyBot event name.
    :param outcome: Only this outcome (:data:`STORED_OUTCOMES`).
    :param since: Only deliveries received at or after this time (aware, UTC).
    :param until: Only deliveries received before this time (aware, UTC).
    :param limit: Rows per page, 1 to :data:`MAX_PAGE_SIZE`.
    :param before_id: Keyset cursor: only rows whose id is below this one (the next, older page).
    """

    channel: str | None = None
    event: str | None = None
    outcome: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    limit: int = DEFAULT_PAGE_SIZE
    before_id: int | None = None

    def store_kwargs(self, *, extra_rows: int = 0) -> dict[str, Any]:
        """Return the keyword arguments of ``store.deliveries.list_deliveries`` for this filter.

        :param extra_rows: Rows asked for beyond :attr:`limit` (1 to learn whether an older page exists).
        """
        return {
            "channel": self.channel,
            "event": self.event,
            "outcome": self.outcome,
            "since": self.since,
            "until": self.until,
            "limit": self.limit + extra_rows,
            "before_id": self.before_id,
        }

    def query_params(self, **changes: Any) -> dict[str, str]:
        """Return this filter as query parameters (only the fields set), after applying ``changes``.

        :param changes: Fields to replace, e.g. ``before_id=123``.
        """
        target = replace(self, **changes)
        params: dict[str, str] = {}
        for name in ("channel", "event", "outcome"):
            value = getattr(target, name)
            if value:
                params[name] = value
        for name in ("since", "until"):
            moment = getattr(target, name)
            if moment is not None:
                params[name] = moment.isoformat()
        if target.limit != DEFAULT_PAGE_SIZE:
            params["limit"] = str(target.limit)
        if target.before_id is not None:
            params["before_id"] = str(target.before_id)
        return params


def _text(value: object) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def parse_time(value: object, field: str) -> datetime | None:
    """Parse an ISO 8601 time (``2026-01-31T12:00``, ``...Z`` or ``...+02:00``); a time without a zone is UTC.

    :param value: The text; empty or None means "not set".
    :param field: The field's name, for the error message.
    :raises InvalidFilter: When the text is not such a time.
    """
    text = _text(value)
    if text is None:
        return None
    if len(text) > 40:
        raise InvalidFilter(f"{field}: not an ISO 8601 time")
    try:
        moment = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text)
    except ValueError:
        raise InvalidFilter(f"{field}: not an ISO 8601 time such as 2026-01-31T12:00 (UTC) or ...+02:00") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


def _positive_int(value: object, field: str, maximum: int | None = None) -> int | None:
    text = _text(value)
    if text is None:
        return None
    if not text.isdigit() or len(text) > 18 or int(text) < 1:
        raise InvalidFilter(f"{field}: must be a positive whole number")
    number = int(text)
    if maximum is not None and number > maximum:
        raise InvalidFilter(f"{field}: at most {maximum}")
    return number


def parse_filter(params: Mapping[str, Any]) -> DeliveryFilter:
    """Build a :class:`DeliveryFilter` from query parameters or parsed CLI options.

    Keys: ``channel``, ``event``, ``outcome``, ``since``, ``until``, ``limit``, ``before_id``; others
    are ignored. Empty values mean "not set" (an HTML form sends every field).

    :param params: The values, as text (or None).
    :raises InvalidFilter: When a value is malformed or out of range.
    """
    channel = _text(params.get("channel"))
    if channel is not None and not is_valid_channel_name(channel):
        raise InvalidFilter("channel: 1 to 64 characters of a-z, 0-9, '_' and '-'")
    event = _text(params.get("event"))
    if event is not None and _EVENT_NAME.fullmatch(event) is None:
        raise InvalidFilter(f"event: 1 to {MAX_EVENT_LENGTH} characters of A-Z, a-z, 0-9, '_', '.' and '-'")
    outcome = _text(params.get("outcome"))
    if outcome is not None and outcome not in STORED_OUTCOMES:
        raise InvalidFilter(f"outcome: one of {', '.join(STORED_OUTCOMES)}")
    since = parse_time(params.get("since"), "since")
    until = parse_time(params.get("until"), "until")
    if since is not None and until is not None and since >= until:
        raise InvalidFilter("since must be earlier than until")
    limit = _positive_int(params.get("limit"), "limit", MAX_PAGE_SIZE) or DEFAULT_PAGE_SIZE
    before_id = _positive_int(params.get("before_id"), "before_id")
    return DeliveryFilter(channel, event, outcome, since, until, limit, before_id)


def checked_delivery_id(value: str) -> str:
    """Return ``value`` when it can be a receiver-assigned delivery id (a UUID), else raise.

    :param value: The id from a path or the command line.
    :raises InvalidFilter: When it cannot be one.
    """
    text = value.strip()
    if _DELIVERY_ID.fullmatch(text) is None:
        raise InvalidFilter("delivery id: a UUID such as 3f0c2a9e-5b1d-4c1e-9a57-2f6f1e0f4b7d")
    return text.lower()
