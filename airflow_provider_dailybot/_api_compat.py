"""Every guess the provider makes about DailyBot's uncertain API contract, in one place.

DailyBot's public sources disagree or are silent on several details (the project's API reference
tags each fact CONFIRMED, INFERRED or UNKNOWN). Each constant and helper below is one such guess,
with the reference section and tag it rests on, so a contract change is a one-line edit here and
the hook, the shape checks and the error mapping read the same decision. Pure: no I/O, no Airflow.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# -- identifiers ---------------------------------------------------------------------------------

#: Keys naming a resource's identifier, in the order read. Reference §2.5, CONFIRMED: most
#: resources use ``uuid``, check-ins (followups) and kudos still use ``id``.
RESOURCE_ID_KEYS = ("uuid", "id")

#: Keys naming a created webhook subscription's id, in the order read. Reference §3.1: ``id`` is
#: CONFIRMED (2020 overview, Pipedream); ``uuid`` and ``hook_id`` are INFERRED from the Slates hedge
#: (``result.id ?? result.uuid ?? result.hook_id``) and the low-trust preview docs.
SUBSCRIPTION_ID_KEYS = ("id", "uuid", "hook_id")

#: Keys naming a created subscription's delivery URL. Reference §3.1: ``url`` CONFIRMED (2020
#: overview); ``hook_url`` INFERRED (preview docs, low trust). Absent: the URL that was sent.
SUBSCRIPTION_URL_KEYS = ("url", "hook_url")


def first_value(body: Mapping[str, Any], keys: tuple[str, ...]) -> Any:
    """Return the first truthy value of ``keys`` in ``body`` (``None`` when none is set).

    :param body: A decoded JSON object.
    :param keys: The candidate keys, most trusted first.
    """
    for key in keys:
        value = body.get(key)
        if value:
            return value
    return None


# -- errors --------------------------------------------------------------------------------------

#: Keys of an error body holding the human-readable reason. Reference §2.1: ``detail`` CONFIRMED
#: (v3 docs), ``error`` CONFIRMED as the CLI's fallback; ``message`` INFERRED (common elsewhere).
ERROR_DETAIL_KEYS = ("detail", "error", "message")

# -- identity --------------------------------------------------------------------------------------

#: Keys of ``GET /v1/me/`` naming the key's owner. Reference §4.1, CONFIRMED: ``full_name`` and
#: ``uuid`` (v3 docs, CLI), legacy ``user``; ``username`` and ``email`` INFERRED fallbacks.
PROFILE_USER_KEYS = ("full_name", "user", "username", "email", "uuid")
#: Flat keys naming the organization. Reference §4.1, CONFIRMED legacy keys (CLI reads both).
PROFILE_ORG_KEYS = ("organization_name", "organization_uuid")
#: Keys of the nested ``organization`` object, in the order read. Reference §4.1, CONFIRMED
#: (``organization{uuid,name,…}`` in the newer docs snapshot).
PROFILE_NESTED_ORG_KEYS = ("name", "uuid")

# -- check-in responses ----------------------------------------------------------------------------

#: Path prefixes of a check-in's responses, current first. Reference §4.3, CONFIRMED:
#: ``/v1/checkins/{id}/responses/`` with legacy ``/v1/followups/{id}/responses/``. INFERRED: fall
#: back to the legacy one on 404 (older deployments) and remember which one answered.
CHECKIN_RESPONSE_FORMS = ("checkins", "followups")

# -- webhook subscriptions ---------------------------------------------------------------------------

WEBHOOK_SUBSCRIPTION_PATH = "webhook-subscription/"

#: The two DELETE forms, first tried first. Reference §3.2 (sources conflict), INFERRED strategy:
#: the collection URL with ``hook_id``/``hook_url`` as query *and* JSON body (Pipedream sends the
#: body, Slates the query), then ``DELETE /v1/webhook-subscription/<id>/`` (2020 overview).
DELETE_FORMS = ("collection", "path")
#: Statuses meaning "this DELETE form is not understood, try the other". Reference §3.2, INFERRED
#: (404/405 named there; 400 added because a DRF view refuses a body it does not expect).
DELETE_FALLBACK_STATUSES = frozenset({400, 404, 405})


def delete_forms(preferred: str | None) -> tuple[str, ...]:
    """Return the DELETE forms in the order to try, the one that worked last first.

    :param preferred: The form that answered last time (``None`` at first).
    """
    return tuple(reversed(DELETE_FORMS)) if preferred == DELETE_FORMS[1] else DELETE_FORMS


def delete_request(form: str, hook_id: str, hook_url: str | None) -> tuple[str, dict[str, str] | None, Any]:
    """Return ``(path, params, json_body)`` of a DELETE of ``hook_id`` in ``form``.

    :param form: One of :data:`DELETE_FORMS`.
    :param hook_id: The id DailyBot returned on creation (already validated).
    :param hook_url: The subscription's URL, sent along in the collection form when known.
    """
    from urllib.parse import quote

    if form == "path":
        return f"{WEBHOOK_SUBSCRIPTION_PATH}{quote(hook_id, safe='')}/", None, None
    params = {"hook_id": hook_id}
    if hook_url:
        params["hook_url"] = hook_url
    return WEBHOOK_SUBSCRIPTION_PATH, params, dict(params)


def sample_request(event: str) -> dict[str, str]:
    """The body of ``POST /v1/webhook-subscription/sample/`` for ``event``.

    Reference §3.3: the endpoint is CONFIRMED, its schema UNKNOWN; INFERRED: the event is named as
    ``subscription`` or ``event``, so both are sent.

    :param event: A validated event name.
    """
    return {"subscription": event, "event": event}
