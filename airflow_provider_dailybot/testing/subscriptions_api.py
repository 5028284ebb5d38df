"""``GET /v1/me/`` and the webhook-subscription endpoints of the fake DailyBot server (``dailybot-api.md`` §3, §4.1).

* ``POST /v1/webhook-subscription/``: create (validated against :mod:`.contract`, not the provider);
* ``DELETE /v1/webhook-subscription/`` with ``hook_id`` in the query or the JSON body, and
  ``DELETE /v1/webhook-subscription/{id}/``: the three forms the sources disagree on, each one
  switchable (``delete_forms``);
* ``POST /v1/webhook-subscription/sample/``: a sample envelope for a named event.
"""

from __future__ import annotations

import hashlib
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from airflow_provider_dailybot.testing import seed
from airflow_provider_dailybot.testing.access import Access
from airflow_provider_dailybot.testing.contract import SAMPLE_HOOK_ID, check_event, check_events, check_uuids
from airflow_provider_dailybot.testing.contract import is_valid_url as valid_url
from airflow_provider_dailybot.testing.deliveries import Deliveries
from airflow_provider_dailybot.testing.routes import Router
from airflow_provider_dailybot.testing.samples import make_envelope
from airflow_provider_dailybot.testing.state import FakeSubscription, State, Subscription
from airflow_provider_dailybot.testing.wire import (
    Request,
    Response,
    as_list,
    error,
    invalid,
    json_response,
    not_found,
    object_body,
    parse_error,
)

HOOKS = "/v1/webhook-subscription/"
_TRUE = (True, "true", "True", 1, "1")
_FALSE = (None, False, "false", "False", 0, "0")


@dataclass(frozen=True)
class SubscriptionsAPI:
    """The handlers; :meth:`register` puts them on a router.

    :param state: The server's state.
    :param deliveries: Sends the ``immediate_sample_event`` delivery.
    :param access: The role guard for webhook management.
    """

    state: State
    deliveries: Deliveries
    access: Access

    def register(self, router: Router) -> None:
        """Add the routes (``sample/`` before ``{id}/``, which would match it too).

        :param router: The server's router.
        """
        admin = (self.access.org_admin,)
        router.add("GET", "/v1/me/", self.me)
        router.add("POST", HOOKS, self.create, guards=admin)
        router.add("DELETE", HOOKS, self.delete_by_query_or_body, guards=admin)
        router.add("POST", HOOKS + "sample/", self.sample, guards=admin)
        router.add(
            "DELETE",
            HOOKS + "{id}/",
            self.delete_by_path,
            guards=admin,
            enabled=lambda: "path" in self.state.switches.delete_forms,
        )

    def me(self, request: Request) -> Response:
        """``GET /v1/me/``: the key's owner, with the legacy ``user``/``organization_*`` keys.

        :param request: The request.
        """
        state = self.state
        org_uuid = seed.organization_uuid(state.organization_name)
        email_name = re.sub(r"[^a-z0-9]+", ".", state.user_full_name.lower()).strip(".") or "user"
        return json_response(
            200,
            {
                "uuid": seed.owner_uuid(state.user_full_name),
                "full_name": state.user_full_name,
                "role": "ADMIN_ORG" if state.switches.org_admin else "MEMBER",
                "email": f"{email_name}@example.com",
                "timezone": "America/New_York",
                "image": "https://avatars.slack-edge.com/2022-06-21/image.png",
                "is_active": True,
                "bot_enabled": True,
                "occupation": "",
                "organization": {"uuid": org_uuid, "name": state.organization_name},
                "user": state.user_full_name,
                "organization_uuid": org_uuid,
                "organization_name": state.organization_name,
            },
        )

    def create(self, request: Request) -> Response:
        """``POST /v1/webhook-subscription/``: validate, keep, answer, then maybe deliver a sample.

        :param request: The request.
        """
        data = object_body(request, empty_ok=True)
        if isinstance(data, Response):
            return data
        errors: dict[str, list[str]] = {}
        hook_url: str = data.get("hook_url") or ""
        if "hook_url" not in data:
            errors["hook_url"] = ["This field is required."]
        elif not valid_url(hook_url):
            errors["hook_url"] = ["Enter a valid URL."]
        events = _validated_list(data, "subscriptions", check_events, errors, required=True)
        objects = _validated_list(data, "subscribed_objects", check_uuids, errors, required=False)
        for key in ("name", "bearer"):
            if data.get(key) is not None and not isinstance(data[key], str):
                errors[key] = ["Not a valid string."]
        sample = data.get("immediate_sample_event", False)
        if sample not in _TRUE and sample not in _FALSE:
            errors["immediate_sample_event"] = ["Must be a valid boolean."]
        if errors:
            return invalid(errors)
        bearer = data.get("bearer") or None
        public = FakeSubscription(
            id=str(uuid.uuid4()),
            hook_url=hook_url,
            subscriptions=events,
            subscribed_objects=objects,
            name=data.get("name") or "",
            created_at=time.time(),
            has_bearer=bearer is not None,
            bearer_sha256=None if bearer is None else hashlib.sha256(bearer.encode()).hexdigest(),
        )
        subscription = Subscription(public, bearer)
        with self.state.lock:
            self.state.add_subscription(subscription)
            switches = self.state.switches
            status, id_key, deliver_sample = switches.create_status, switches.create_id_key, switches.deliver_samples
        response = json_response(
            status,
            {
                id_key: public.id,
                "url": public.hook_url,
                "name": public.name,
                "subscriptions": list(events),
                "subscribed_objects": list(objects),
            },
        )
        if sample in _TRUE and deliver_sample:
            response.after = lambda: self.deliveries.deliver_sample(subscription, events[0])
        return response

    def delete_by_query_or_body(self, request: Request) -> Response:
        """``DELETE /v1/webhook-subscription/`` with ``hook_id`` (and ``hook_url``) in the query or body.

        :param request: The request.
        """
        forms = self.state.switches.delete_forms
        hook_id = hook_url = None
        if "query" in forms:
            hook_id, hook_url = request.query.get("hook_id"), request.query.get("hook_url")
        if "body" in forms:
            parsed, data = request.parsed
            if not parsed:
                return parse_error(data)
            if isinstance(data, dict):
                hook_id = hook_id or data.get("hook_id")
                hook_url = hook_url or data.get("hook_url")
        if not hook_id:
            return error(400, "hook_id is required.", "invalid")
        return self._delete(str(hook_id), None if hook_url is None else str(hook_url))

    def delete_by_path(self, request: Request) -> Response:
        """``DELETE /v1/webhook-subscription/{id}/`` (``hook_url`` optionally in the query).

        :param request: The request.
        """
        return self._delete(request.params["id"], request.query.get("hook_url"))

    def _delete(self, hook_id: str, hook_url: str | None) -> Response:
        return Response(204) if self.state.remove_subscription(hook_id, hook_url) else not_found()

    def sample(self, request: Request) -> Response:
        """``POST /v1/webhook-subscription/sample/``: the envelope of the event the body names.

        :param request: The request.
        """
        parsed, data = request.parsed
        if not parsed:
            return parse_error(data)
        event, key = _requested_event(data)
        try:
            name = check_event(event, argument=key)
        except (TypeError, ValueError) as exc:
            return invalid({key: ["This field is required." if event is None else str(exc)]})
        return json_response(200, make_envelope(name, hook_id=SAMPLE_HOOK_ID, hook_name="Sample"))


def _validated_list(
    data: dict[str, Any],
    key: str,
    check: Callable[..., list[str]],
    errors: dict[str, list[str]],
    *,
    required: bool,
) -> list[str]:
    """Check a "string or array" field with ``check``; add a DRF-style message to ``errors``."""
    value = as_list(data.get(key))
    if value is None:
        if required:
            errors[key] = ["This field is required."]
        return []
    if not isinstance(value, list):
        errors[key] = [f'Expected a list of items but got type "{type(value).__name__}".']
        return []
    try:
        return check(value, argument=key)
    except (TypeError, ValueError) as exc:
        errors[key] = [str(exc)]
        return []


def _requested_event(data: Any) -> tuple[str | None, str]:
    """Return ``(event, field)`` named by a ``/sample/`` body in any of its three shapes (INFERRED, §3.3)."""
    if not isinstance(data, dict):
        return None, "subscription"
    for key in ("subscription", "event", "subscriptions"):
        if key in data:
            value = as_list(data[key])
            if isinstance(value, list) and value and isinstance(value[0], str):
                return value[0], key
            return None, key
    return None, "subscription"
