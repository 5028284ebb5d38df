"""The two actions of the fake DailyBot server: ``POST /v1/send-message/`` and kudos (``dailybot-api.md`` §4.5-4.6).

Both are validated like DailyBot (unknown users or teams, at most :data:`.contract.MAX_BUTTONS`
buttons, each with a label) and recorded; a kudos also delivers ``kudos.posted``.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from airflow_provider_dailybot.testing import seed
from airflow_provider_dailybot.testing.contract import MAX_BUTTONS
from airflow_provider_dailybot.testing.deliveries import Deliveries, background
from airflow_provider_dailybot.testing.organisation_api import OrganisationAPI, today
from airflow_provider_dailybot.testing.routes import Router
from airflow_provider_dailybot.testing.state import State
from airflow_provider_dailybot.testing.wire import (
    Request,
    Response,
    as_list,
    error,
    invalid,
    json_response,
    object_body,
)

_MESSAGE_FIELDS = frozenset({"message", "target_users", "target_teams", "target_channels", "buttons"})


def _known(
    data: dict[str, Any], key: str, lookup: Callable[[str], dict[str, Any] | None], errors: dict[str, list[str]]
) -> list[str]:
    """Return the identifiers listed under ``key``, adding a DRF-style error for unknown ones."""
    values = as_list(data.get(key))
    if values is None:
        return []
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        errors[key] = [f'Expected a list of items but got type "{type(values).__name__}".']
        return []
    unknown = [v for v in values if lookup(v) is None]
    if unknown:
        errors[key] = [f"Unknown: {', '.join(unknown)}."]
    return list(values)


@dataclass(frozen=True)
class ActionsAPI:
    """The handlers; :meth:`register` puts them on a router.

    :param state: The server's state (messages and kudos are kept there).
    :param deliveries: Delivers ``kudos.posted``.
    :param organisation: Pages the kudos list like the other lists.
    """

    state: State
    deliveries: Deliveries
    organisation: OrganisationAPI

    def register(self, router: Router) -> None:
        """Add the routes.

        :param router: The server's router.
        """
        router.add("POST", "/v1/send-message/", self.send_message)
        router.add("GET", "/v1/kudos/", self.list_kudos)
        router.add("POST", "/v1/kudos/", self.give_kudos)

    def send_message(self, request: Request) -> Response:
        """``POST /v1/send-message/``: at least one target, known users and teams, labelled buttons.

        :param request: The request.
        """
        data = object_body(request)
        if isinstance(data, Response):
            return data
        errors: dict[str, list[str]] = {}
        text = data.get("message")
        if (not isinstance(text, str) or not text.strip()) and not data.get("messages"):
            errors["message"] = ["This field is required." if text is None else "Not a valid string."]
        with self.state.lock:
            org = self.state.org
            users = _known(data, "target_users", org.user, errors)
            teams = _known(data, "target_teams", org.team, errors)
        channels = as_list(data.get("target_channels")) or []
        if not isinstance(channels, list) or not all(
            (isinstance(c, str) and c) or (isinstance(c, dict) and c.get("id")) for c in channels
        ):
            errors["target_channels"] = ["Each channel must be an id or an object with an 'id'."]
        if not errors and not (users or teams or channels):
            errors["non_field_errors"] = ["At least one of target_users, target_teams or target_channels is required."]
        buttons = data.get("buttons") or []
        if not isinstance(buttons, list) or len(buttons) > MAX_BUTTONS:
            return error(400, f"A message takes 1 to {MAX_BUTTONS} buttons.", "buttons_count_out_of_range")
        if not all(isinstance(b, dict) and isinstance(b.get("label"), str) and b["label"].strip() for b in buttons):
            errors["buttons"] = ["Every button needs a label."]
        if errors:
            return invalid(errors)
        message_id = str(uuid.uuid4())
        record = {
            "bot_message_id": message_id,
            "message": text,
            "target_users": users,
            "target_teams": teams,
            "target_channels": channels,
            "buttons": buttons,
            "extra": {k: v for k, v in data.items() if k not in _MESSAGE_FIELDS},
            "sent_at": seed.now_iso(),
        }
        with self.state.lock:
            self.state.messages.append(record)
        return json_response(200, {"bot_message_id": message_id, "thread_responses": []})

    def list_kudos(self, request: Request) -> Response:
        """``GET /v1/kudos/``: the kudos given through this server.

        :param request: The request.
        """
        with self.state.lock:
            return self.organisation.page(request, self.state.kudos)

    def give_kudos(self, request: Request) -> Response:
        """``POST /v1/kudos/``: known receivers, a content; 406 beyond ``kudos_daily_limit``.

        :param request: The request.
        """
        data = object_body(request)
        if isinstance(data, Response):
            return data
        state = self.state
        errors: dict[str, list[str]] = {}
        with state.lock:
            receivers = _known(data, "receivers", state.org.user, errors)
        if not receivers and "receivers" not in errors:
            errors["receivers"] = ["This field is required."]
        content = data.get("content")
        if not isinstance(content, str) or not content.strip():
            errors["content"] = ["This field is required."]
        for key in ("is_anonymous", "by_dailybot"):
            if not isinstance(data.get(key, False), bool):
                errors[key] = ["Must be a valid boolean."]
        if errors:
            return invalid(errors)
        with state.lock:
            limit, day = state.switches.kudos_daily_limit, today()
            if limit and sum(1 for k in state.kudos if k["created_at"][:10] == day) >= limit:
                return error(406, "You have reached the daily kudos limit.", "kudos_daily_limit_reached")
            owner = state.org.user(seed.owner_uuid(state.user_full_name)) or {}
            giver = seed.public_user(owner, with_email=False) if owner else None
            state.kudos_seq += 1
            kudos = {
                "id": state.kudos_seq,
                "parent": None,
                "user": None if data.get("by_dailybot") else giver,
                "receivers": [seed.public_user(state.org.user(r) or {}, with_email=False) for r in receivers],
                "company_value": data.get("company_value"),
                "content": content,
                "is_anonymous": bool(data.get("is_anonymous", False)),
                "by_dailybot": bool(data.get("by_dailybot", False)),
                "metadata": {},
                "created_at": seed.now_iso(),
            }
            state.kudos.append(kudos)
            organization_uuid = seed.organization_uuid(state.organization_name)
        body = {
            "organization_uuid": organization_uuid,
            "uuid": str(uuid.uuid5(uuid.NAMESPACE_URL, f"fake-dailybot:kudos:{kudos['id']}")),
            "company_value": kudos["company_value"],
            "giver": kudos["user"],
            "receivers": kudos["receivers"],
            "content": content,
            "is_anonymous": kudos["is_anonymous"],
        }
        response = json_response(201, copy.deepcopy(kudos))
        response.after = lambda: background(lambda: self.deliveries.emit("kudos.posted", body, wait=True))
        return response
