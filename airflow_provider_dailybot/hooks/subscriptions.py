"""Webhook subscriptions: the validated create request and the typed result DailyBot returns.

Pure (no I/O, no Airflow import): :class:`SubscriptionRequest` checks every argument before any
request, :class:`WebhookSubscription` reads DailyBot's answer through the guesses of
:mod:`airflow_provider_dailybot._api_compat`.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

from airflow_provider_dailybot import validation
from airflow_provider_dailybot._api_compat import SUBSCRIPTION_ID_KEYS, SUBSCRIPTION_URL_KEYS, first_value
from airflow_provider_dailybot.connection import is_loopback_host
from airflow_provider_dailybot.events import validate_event_names, validate_uuids


def validate_hook_url(hook_url: object, *, allow_insecure: bool = False) -> str:
    """Check that ``hook_url`` is an absolute http(s) URL DailyBot can deliver to.

    ``https`` is required unless the host is loopback (local tests) or ``allow_insecure`` is set.

    :param hook_url: The URL to check.
    :param allow_insecure: Accept plain ``http`` to any host.
    """
    parts = validation.http_url(hook_url, "hook_url", credentials=True)
    if parts.username or parts.password:
        raise ValueError("hook_url must not embed credentials; DailyBot authenticates deliveries with the bearer")
    if parts.scheme == "http" and not allow_insecure and not is_loopback_host(parts.hostname):
        raise ValueError(
            f"hook_url {hook_url!r} uses plain http: DailyBot would send the bearer secret unencrypted. "
            "Use https, or pass allow_insecure_hook_url=True for a trusted network."
        )
    return str(hook_url).strip()


@dataclass(frozen=True)
class SubscriptionRequest:
    """A validated ``POST /v1/webhook-subscription/`` request (reference §3.1).

    :param hook_url: Where DailyBot delivers.
    :param events: Event names.
    :param subscribed_objects: Check-in or form UUIDs the subscription is limited to.
    :param name: Display name in DailyBot.
    :param bearer: Secret DailyBot sends back in ``X-BEARER`` (never shown in ``repr``).
    :param immediate_sample_event: Ask DailyBot to deliver a sample right away.
    """

    hook_url: str
    events: list[str]
    subscribed_objects: list[str] = field(default_factory=list)
    name: str | None = None
    bearer: str | None = field(default=None, repr=False)
    immediate_sample_event: bool = False

    @classmethod
    def build(
        cls,
        *,
        hook_url: object,
        events: object,
        subscribed_objects: object = None,
        name: object = None,
        bearer: object = None,
        immediate_sample_event: object = False,
        allow_unknown_events: bool = False,
        allow_insecure_hook_url: bool = False,
        events_argument: str = "events",
    ) -> SubscriptionRequest:
        """Validate the arguments of a create; raises before any request.

        :param hook_url: Absolute https URL (http only for loopback or with ``allow_insecure_hook_url``).
        :param events: Event names, e.g. ``["followups.response.completed"]``.
        :param subscribed_objects: Check-in or form UUIDs.
        :param name: Display name.
        :param bearer: The delivery secret.
        :param immediate_sample_event: Ask for a sample delivery.
        :param allow_unknown_events: Let through event names the provider does not know yet.
        :param allow_insecure_hook_url: Accept plain http to a non-loopback host.
        :param events_argument: The name the caller gave the events under, for messages.
        """
        url = validate_hook_url(hook_url, allow_insecure=allow_insecure_hook_url)
        names = validate_event_names(events, allow_unknown=allow_unknown_events, argument=events_argument)
        objects = validate_uuids(subscribed_objects) if subscribed_objects is not None else []
        if name is not None and (not isinstance(name, str) or not name.strip()):
            raise ValueError("name must be a non-empty string when given")
        if bearer is not None and (not isinstance(bearer, str) or not bearer):
            raise ValueError("bearer must be a non-empty string when given")
        if not isinstance(immediate_sample_event, bool):
            raise TypeError(f"immediate_sample_event must be a bool, got {immediate_sample_event!r}")
        return cls(url, names, objects, name, bearer, immediate_sample_event)

    def to_payload(self) -> dict[str, Any]:
        """The JSON body; DailyBot's wire name for the events is ``subscriptions`` (reference §3.1)."""
        payload: dict[str, Any] = {
            "hook_url": self.hook_url,
            "subscriptions": list(self.events),
            "immediate_sample_event": self.immediate_sample_event,
        }
        if self.subscribed_objects:
            payload["subscribed_objects"] = list(self.subscribed_objects)
        if self.name:
            payload["name"] = self.name
        if self.bearer:
            payload["bearer"] = self.bearer
        return payload


@dataclass(frozen=True)
class WebhookSubscription:
    """A webhook subscription as DailyBot returned it on creation.

    :param id: DailyBot's hook id (read from ``id``, then ``uuid``, then ``hook_id``).
    :param hook_url: URL DailyBot delivers to.
    :param events: Subscribed event names.
    :param name: Subscription name, if any.
    :param subscribed_objects: Check-in or form UUIDs the subscription is limited to.
    :param raw: DailyBot's response body as received.
    """

    id: str
    hook_url: str
    events: list[str]
    name: str | None = None
    subscribed_objects: list[str] = field(default_factory=list)
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_response(cls, body: dict[str, Any], request: SubscriptionRequest) -> WebhookSubscription:
        """Read a create answer (already shape-checked); absent fields fall back to what was sent.

        :param body: DailyBot's answer.
        :param request: What was sent.
        """
        returned_events = body.get("subscriptions")
        returned_objects = body.get("subscribed_objects")
        return cls(
            id=str(first_value(body, SUBSCRIPTION_ID_KEYS)),
            hook_url=str(first_value(body, SUBSCRIPTION_URL_KEYS) or request.hook_url),
            events=list(returned_events) if isinstance(returned_events, list) else list(request.events),
            name=body.get("name") or request.name,
            subscribed_objects=list(returned_objects)
            if isinstance(returned_objects, list)
            else list(request.subscribed_objects),
            raw=body,
        )

    @property
    def subscriptions(self) -> list[str]:
        """Deprecated alias of :attr:`events` (warns ``AirflowProviderDeprecationWarning``)."""
        from airflow.exceptions import AirflowProviderDeprecationWarning

        warnings.warn(
            "WebhookSubscription.subscriptions is deprecated; use .events",
            AirflowProviderDeprecationWarning,
            stacklevel=2,
        )
        return self.events
