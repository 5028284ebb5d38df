"""What the fake DailyBot server knows of DailyBot's API contract: event names, limits and field checks.

Written from the reference contract (``dailybot-api.md``), **not** from the provider's own lists:
the fake must be free to disagree with the client, so that a test can catch a client that sends
something DailyBot would refuse. Nothing here imports the provider (``airflow_provider_dailybot``
modules other than ``testing``); ``tests/unit/testing/test_contract.py`` compares the two on purpose.

Each value carries the reference's tag: **CONFIRMED** (a primary source or working code) or
**INFERRED** (a reading of conflicting sources: a design decision of the fake).
"""

from __future__ import annotations

import difflib
import uuid
from typing import Any
from urllib.parse import urlsplit

#: The webhook event names DailyBot delivers (§3.6, CONFIRMED: the old docs, Pipedream, Slates).
#: The upper-case names of the newer portal (``FOLLOWUPS_DAILY_FINISHED`` …) have no known wire
#: value (UNKNOWN), so the fake refuses them, as it refuses any other name.
EVENTS: tuple[str, ...] = (
    "followups.response.completed",
    "followups.response.updated",
    "followups.response.deleted",
    "forms.response.created",
    "forms.response.updated",
    "forms.response.deleted",
    "kudos.posted",
    "organization.user_activated",
    "organization.user_deactivated",
    "organization.team_user_added",
    "organization.team_user_removed",
)
#: The event a completed check-in response delivers (§3.7, CONFIRMED).
CHECKIN_COMPLETED = "followups.response.completed"
#: ``hook.id`` of the envelopes answered by ``POST /v1/webhook-subscription/sample/`` (INFERRED, §3.3).
SAMPLE_HOOK_ID = "00000000-0000-0000-0000-000000000000"
#: The three DELETE forms the sources disagree on (§3.2, INFERRED: the fake accepts all three).
DELETE_FORMS = frozenset({"query", "body", "path"})
#: Keys the create answer may carry the new id under (§3.1: ``id`` CONFIRMED, the others INFERRED).
CREATE_ID_KEYS = ("id", "uuid", "hook_id")
#: Where a FREE-plan refusal points (§1, ``plan_free_api_keys_forbidden`` CONFIRMED; the URL INFERRED).
UPGRADE_URL = "https://app.dailybot.com/settings/billing/"
#: DRF's ``LimitOffsetPagination`` or ``PageNumberPagination`` (§2.4, both CONFIRMED on some endpoints).
PAGINATION_STYLES = ("limit_offset", "page")
#: ``limit`` is capped at 250 (§2.4, [DOCS-V3], CONFIRMED).
MAX_LIMIT = 250
#: ``page_size`` is capped at 100 (§2.4, [CLI], CONFIRMED).
MAX_PAGE_SIZE = 100
#: A message takes at most 25 buttons (§4.6, [HELP] send-message, CONFIRMED).
MAX_BUTTONS = 25
#: Longest ``hook_url`` accepted (INFERRED: the common URL-length limit; DailyBot's is UNKNOWN).
MAX_URL_CHARS = 2048


def check_events(values: list[Any], *, argument: str) -> list[str]:
    """Return the event names in ``values`` without repeats, or raise an error naming the valid ones.

    :param values: The names, as read from a request body (already a list).
    :param argument: The field name used in error messages.
    :raises ValueError: When the list is empty or names an unknown event.
    :raises TypeError: When an item is not a string.
    """
    if not values:
        raise ValueError(f"{argument} must name at least one event; valid events: {', '.join(EVENTS)}")
    names: list[str] = []
    for name in values:
        if not isinstance(name, str):
            raise TypeError(f"{argument} items must be strings, got {type(name).__name__}")
        if name not in EVENTS:
            hint = difflib.get_close_matches(name, EVENTS, n=1)
            did_you_mean = f" (did you mean {hint[0]!r}?)" if hint else ""
            raise ValueError(f"Unknown DailyBot event {name!r}{did_you_mean}. Valid events: {', '.join(EVENTS)}.")
        if name not in names:
            names.append(name)
    return names


def check_event(name: object, *, argument: str = "event") -> str:
    """Return ``name`` when it is a known event name, else raise like :func:`check_events`.

    :param name: The candidate name.
    :param argument: The field name used in error messages.
    """
    (event,) = check_events([name], argument=argument)
    return event


def check_uuids(values: list[Any], *, argument: str) -> list[str]:
    """Return ``values`` as canonical UUID strings (check-in and form ids, §3.1 ``subscribed_objects``).

    :param values: The identifiers, as read from a request body (already a list).
    :param argument: The field name used in error messages.
    :raises ValueError: When an item is not a UUID.
    :raises TypeError: When an item is not a string.
    """
    result: list[str] = []
    for value in values:
        if not isinstance(value, str):
            raise TypeError(f"{argument} items must be UUID strings, got {type(value).__name__}")
        try:
            result.append(str(uuid.UUID(value)))
        except ValueError:
            raise ValueError(f"{argument} item {value!r} is not a UUID") from None
    return result


def is_valid_url(value: object) -> bool:
    """Whether ``value`` is what the create call takes as ``hook_url``: an absolute http(s) URL with a host.

    :param value: The candidate.
    """
    if not isinstance(value, str) or not value or any(c.isspace() for c in value) or len(value) > MAX_URL_CHARS:
        return False
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)
