"""What each DailyBot endpoint must answer: the shape checks of every hook method, in one place.

Each check takes the decoded JSON body of a 2xx answer and returns what the method needs, or raises
:class:`UnexpectedShape` saying what was expected and what came instead; the hook turns that into
:class:`~airflow_provider_dailybot.exceptions.DailyBotUnexpectedResponseError`. A 2xx with the wrong
shape usually means the base URL points at something that is not DailyBot; returning ``{}`` or ``[]``
would make it look like success.

The checks are as tolerant as DailyBot's documents are uncertain (``dailybot-api.md``): ``/v1/me/``
may carry the legacy flat keys or the nested ``organization``; a list may be the DRF envelope or a
bare list; resources carry ``uuid`` or ``id``. Nothing here does I/O or imports Airflow.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from airflow_provider_dailybot._api_compat import (
    PROFILE_NESTED_ORG_KEYS,
    PROFILE_ORG_KEYS,
    PROFILE_USER_KEYS,
    SUBSCRIPTION_ID_KEYS,
    first_value,
)
from airflow_provider_dailybot.resources import resource_id, split_page
from airflow_provider_dailybot.summaries import describe_value


class UnexpectedShape(ValueError):
    """A 2xx body is not what the endpoint returns; the message names what was missing."""


def _text(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def profile_names(body: Mapping[str, object]) -> tuple[str | None, str | None]:
    """Return ``(user, organization)`` display names of a ``/v1/me/`` profile (``None`` when absent).

    :param body: A profile that passed :func:`profile`.
    """
    user = next((_text(body.get(key)) for key in PROFILE_USER_KEYS if _text(body.get(key))), None)
    organization = body.get("organization")
    nested = organization if isinstance(organization, dict) else {}
    name_key, uuid_key = PROFILE_ORG_KEYS
    nested_name, nested_uuid = PROFILE_NESTED_ORG_KEYS
    org = (
        _text(body.get(name_key))
        or _text(nested.get(nested_name))
        or _text(organization)
        or _text(body.get(uuid_key))
        or _text(nested.get(nested_uuid))
    )
    return user, org


def profile(body: Any) -> dict[str, Any]:
    """``GET /v1/me/``: an object naming the key's owner and organization.

    :param body: The decoded body.
    """
    if not isinstance(body, dict):
        raise UnexpectedShape(f"expected the API key owner's profile (an object), got {describe_value(body)}")
    user, org = profile_names(body)
    missing = [
        what
        for what, found in (
            ("the owner (full_name, user or uuid)", user),
            ("the organization (organization_name, organization_uuid or organization)", org),
        )
        if not found
    ]
    if missing:
        raise UnexpectedShape(
            f"expected the API key owner's profile, but it names neither {' nor '.join(missing)}; "
            f"got {describe_value(body)}"
            if len(missing) == 2
            else f"expected the API key owner's profile, but it does not name {missing[0]}; got {describe_value(body)}"
        )
    return body


def sample_envelope(body: Any) -> dict[str, Any]:
    """``POST /v1/webhook-subscription/sample/``: a delivery envelope (``event`` and an object ``body``).

    :param body: The decoded body.
    """
    if not isinstance(body, dict):
        raise UnexpectedShape(f"expected a sample delivery envelope (an object), got {describe_value(body)}")
    if not _text(body.get("event")) or not isinstance(body.get("body"), dict):
        raise UnexpectedShape(
            f"expected a sample delivery envelope with an 'event' name and an object 'body', got {describe_value(body)}"
        )
    return body


def list_page(body: Any) -> tuple[list[Any], str | None]:
    """A list endpoint: the DRF envelope with a ``results`` list, or a bare list.

    :param body: The decoded body.
    :return: ``(items, next_url)``; ``next_url`` is ``None`` on the last page.
    """
    if body is None:
        raise UnexpectedShape("expected a list or a paginated envelope with a 'results' list, got an empty body")
    try:
        return split_page(body)
    except ValueError:
        pass
    if isinstance(body, dict) and isinstance(body.get("results"), list):
        raise UnexpectedShape(f"'next' must be a URL, null or false, got {describe_value(body.get('next'))}")
    raise UnexpectedShape(f"expected a list or a paginated envelope with a 'results' list, got {describe_value(body)}")


def records(items: list[Any], what: str) -> list[dict[str, Any]]:
    """Items of a list that must all be objects.

    :param items: The items of one page.
    :param what: What they are, for the message (``"user"``).
    """
    for index, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            raise UnexpectedShape(f"expected every item to be a {what} object, item #{index} is {describe_value(item)}")
    return items


def resource(what: str) -> Callable[[Any], dict[str, Any]]:
    """A single resource (``GET /v1/users/<uuid>/``): an object with a ``uuid`` or ``id``.

    :param what: What it is, for the message (``"user"``).
    """

    def check(body: Any) -> dict[str, Any]:
        if not isinstance(body, dict) or resource_id(body) is None:
            raise UnexpectedShape(f"expected a {what} object with a 'uuid' or 'id', got {describe_value(body)}")
        return body

    return check


def action_answer(what: str, *, empty_ok: bool) -> Callable[[Any], dict[str, Any]]:
    """The answer of a POST action: an object (``{}`` for an empty body where DailyBot documents one).

    :param what: What the action answers, for the message (``"the kudos DailyBot created"``).
    :param empty_ok: An empty body (204) is a documented success.
    """

    def check(body: Any) -> dict[str, Any]:
        if body is None and empty_ok:
            return {}
        if not isinstance(body, dict):
            raise UnexpectedShape(
                f"expected {what} (an object), got {describe_value(body)}; DailyBot may have acted on the request"
            )
        return body

    return check


def created_subscription(body: Any) -> dict[str, Any]:
    """``POST /v1/webhook-subscription/``: an object with the new subscription's ``id`` (or ``uuid``, ``hook_id``).

    :param body: The decoded body.
    """
    if not isinstance(body, dict):
        raise UnexpectedShape(
            f"expected the created subscription (an object with an id), got {describe_value(body)}; "
            "the create response has no id and the subscription may exist in DailyBot"
        )
    hook_id = first_value(body, SUBSCRIPTION_ID_KEYS)
    if not hook_id or isinstance(hook_id, (bool, dict, list)):
        raise UnexpectedShape(
            f"the create response has no id ({describe_value(body)}); the subscription may exist in DailyBot"
        )
    return body
