"""DailyBot webhook event names and validation used by the hook and operators (the fake server keeps its own list).

The eleven dotted names are the wire values confirmed by DailyBot's documentation and by
working integrations (see ``dailybot-api.md`` §3.6). DailyBot's newer portal also lists
upper-case enum names whose wire values are unknown; they are not accepted unless the caller
opts in with ``allow_unknown=True``.
"""

from __future__ import annotations

import difflib
import re
import uuid
from collections.abc import Iterable

#: Every webhook event name DailyBot is known to deliver.
KNOWN_EVENTS: tuple[str, ...] = (
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

_EVENT_SHAPE = re.compile(r"^[A-Za-z0-9_.\-]{1,128}$")


def validate_event_names(events: object, *, allow_unknown: bool = False, argument: str = "subscriptions") -> list[str]:
    """Return ``events`` as a list of event names, or raise a ``ValueError`` that names the valid ones.

    :param events: A non-empty list (or tuple) of event-name strings. A single string is refused
        so that ``"kudos.posted"`` is not silently read as a list of characters.
    :param allow_unknown: Let through well-formed names the provider does not know yet.
    :param argument: The argument name used in error messages.
    """
    if isinstance(events, (str, bytes)) or not isinstance(events, Iterable):
        raise TypeError(f"{argument} must be a list of DailyBot event names, got {type(events).__name__}")
    names = list(events)
    if not names:
        raise ValueError(f"{argument} must name at least one event; valid events: {', '.join(KNOWN_EVENTS)}")
    result: list[str] = []
    for name in names:
        if not isinstance(name, str):
            raise TypeError(f"{argument} items must be strings, got {type(name).__name__}")
        if name in KNOWN_EVENTS or (allow_unknown and _EVENT_SHAPE.match(name)):
            pass
        else:
            hint = difflib.get_close_matches(name, KNOWN_EVENTS, n=1)
            did_you_mean = f" (did you mean {hint[0]!r}?)" if hint else ""
            raise ValueError(
                f"Unknown DailyBot event {name!r}{did_you_mean}. Valid events: {', '.join(KNOWN_EVENTS)}. "
                "Pass allow_unknown_events=True to send a name the provider does not know yet."
            )
        if name not in result:
            result.append(name)
    return result


def validate_uuids(values: object, *, argument: str = "subscribed_objects") -> list[str]:
    """Return ``values`` as a list of canonical UUID strings, or raise ``ValueError``/``TypeError``.

    :param values: A list of UUID strings (check-in or form identifiers).
    :param argument: The argument name used in error messages.
    """
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        raise TypeError(f"{argument} must be a list of UUID strings, got {type(values).__name__}")
    result: list[str] = []
    for value in values:
        if not isinstance(value, str):
            raise TypeError(f"{argument} items must be UUID strings, got {type(value).__name__}")
        try:
            result.append(str(uuid.UUID(value)))
        except ValueError:
            raise ValueError(f"{argument} item {value!r} is not a UUID") from None
    return result
