"""Sample DailyBot webhook bodies and delivery envelopes (``dailybot-api.md`` §3.5 and §3.7).

The three confirmed bodies (``followups.response.completed``, ``forms.response.created`` and
``kudos.posted``) are the shapes captured from real deliveries. The other events have no public
sample, so their bodies are inferred: ``*.updated`` reuses the created/completed body with
``edited: True``, ``*.deleted`` the same body unchanged, and ``organization.*`` carries a user
object (plus a ``team`` object for the team membership events).
"""

from __future__ import annotations

import copy
import time
from typing import Any

from airflow_provider_dailybot.testing.contract import check_event

_PLACEHOLDER = "12345678-1234-1234-1234-123456789012"
_Q1 = "11111111-1111-1111-1111-111111111111"
_Q2 = "22222222-2222-2222-2222-222222222222"
_Q3 = "33333333-3333-3333-3333-333333333333"
_AVATAR = "https://avatars.slack-edge.com/2022-06-21/image.png"


def _question(uuid: str, keys: tuple[int, int, int], question: str, short: str, **extra: Any) -> dict[str, Any]:
    next_key, prev_key, question_key = keys
    field: dict[str, Any] = {
        "uuid": uuid,
        "logic": {"next_key": next_key, "prev_key": prev_key, "question_key": question_key},
        "question": question,
        "is_hidden": False,
        "is_blocker": False,
        "is_optional": False,
        "extra_params": {"i18n": {}},
        "question_type": "text",
        "question_short": short,
        "question_variations": [],
        "question_without_special_vars": None,
    }
    field.update(extra)
    return field


_FOLLOWUP_RESPONSE: dict[str, Any] = {
    "uuid": _PLACEHOLDER,
    "user": {
        "uuid": _PLACEHOLDER,
        "full_name": "User Full Name",
        "image": _AVATAR,
        "role": "ADMIN_ORG",
        "occupation": "",
        "email": "email@test.com",
    },
    "checkins": [{"uuid": _PLACEHOLDER, "name": "check-in name"}],
    "is_anonymous": False,
    "content": {_Q1: "response 01", _Q2: "response 02", _Q3: "response 03"},
    "questions": {
        "fields": [
            _question(
                _Q1,
                (1, -1, 0),
                "Your previous day plan ({previous_response_date}):\n{previous_response_#2}\n\n"
                "What did you complete in your previous workday?",
                "Previous work day progress",
                extra_params={
                    "i18n": {"es": {"question": "…", "question_short": "…"}},
                    "special_vars": ["previous_response_#2", "previous_response_date"],
                },
                question_without_special_vars="What did you complete in your previous workday?",
            ),
            _question(_Q2, (2, 0, 1), "What are you planning to work on today?", "Plans for today"),
            _question(
                _Q3,
                (-1, 1, 2),
                "Great. Do you have any blockers? If so, just tell me. Otherwise please say: no.",
                "Any blockers?",
                is_blocker=True,
            ),
        ],
        "response_source_type": "webapp",
        "has_conditional_questions": False,
    },
    "has_issue": True,
    "blockers_status": {_Q3: True},
    "record_created_at": "2024-02-05T12:34:29.142575-05:00",
    "created_at": "2024-02-05T12:34:29-05:00",
    "updated_at": "2024-02-05T12:34:29.181095-05:00",
    "edited": False,
    "extra_activity": None,
    "response_completed": True,
}

_USER: dict[str, Any] = {
    "uuid": _PLACEHOLDER,
    "full_name": "USer Full Name",
    "image": _AVATAR,
    "role": "ADMIN_ORG",
    "is_active": True,
    "bot_enabled": True,
    "timezone": "America/New_York",
    "occupation": "",
    "birth_date": None,
    "chat_platform_data": {"user_external_id": "U03LDQHECDC", "external_grid_id": None},
    "work_days": [1, 2, 3, 4, 5, 6, 7],
    "timeoff_start": None,
    "timeoff_end": None,
    "hour_init_work": "08:30:00",
    "email": "email@test.com",
}

_FORM_RESPONSE: dict[str, Any] = {
    "uuid": _PLACEHOLDER,
    "user": _USER,
    "is_anonymous": False,
    "is_guest_user": False,
    "content": {_PLACEHOLDER: "<p>Content</p>"},
    "created_at": "2024-02-05T12:18:42.698988-05:00",
    "metadata": {"response_from_workflow": False},
    "responses": {"question_1": "Q1", "question_1_short": "question 01", "response_1": "<p>response text</p>"},
    "questions": {
        "fields": [_question(_PLACEHOLDER, (-1, -1, 0), "Q1", "question 01", extra_params={"special_vars": []})],
        "has_questions_variations": False,
        "has_conditional_questions": False,
    },
    "has_issue": False,
    "blockers_status": {},
    "edited": False,
    "response_completed": True,
    "updated_at": "2024-02-05T12:18:42.699523-05:00",
    "flow_status": None,
    "flow_details": [],
}


def _kudos_person(full_name: str, image: str) -> dict[str, Any]:
    return {
        "uuid": _PLACEHOLDER,
        "full_name": full_name,
        "image": image,
        "language": "us",
        "timezone": "America/New_York",
        "is_active": True,
        "is_approved": True,
    }


_KUDOS: dict[str, Any] = {
    "organization_uuid": _PLACEHOLDER,
    "uuid": _PLACEHOLDER,
    "company_value": None,
    "giver": _kudos_person("Giver Full Name", _AVATAR),
    "receivers": [_kudos_person("Receiver Full Name", "https://avatars.slack-edge.com/2022-06-21/image.jpg")],
    "content": "content text",
    "is_anonymous": False,
}

_TEAM: dict[str, Any] = {"uuid": _PLACEHOLDER, "name": "Team Name", "active": True, "is_default": False}

_BODIES: dict[str, dict[str, Any]] = {
    "followups.response.completed": _FOLLOWUP_RESPONSE,
    "followups.response.updated": {**_FOLLOWUP_RESPONSE, "edited": True},
    "followups.response.deleted": _FOLLOWUP_RESPONSE,
    "forms.response.created": _FORM_RESPONSE,
    "forms.response.updated": {**_FORM_RESPONSE, "edited": True},
    "forms.response.deleted": _FORM_RESPONSE,
    "kudos.posted": _KUDOS,
    "organization.user_activated": {"user": _USER},
    "organization.user_deactivated": {"user": {**_USER, "is_active": False}},
    "organization.team_user_added": {"user": _USER, "team": _TEAM},
    "organization.team_user_removed": {"user": _USER, "team": _TEAM},
}


def sample_body(event: str) -> dict[str, Any]:
    """Return a fresh (deep-copied) sample ``body`` for a DailyBot webhook event.

    :param event: One of the fake's event names, :data:`.contract.EVENTS`.
    :raises ValueError: When ``event`` is not a known event name.
    """
    return copy.deepcopy(_BODIES[check_event(event)])


def make_envelope(
    event: str,
    *,
    hook_id: str,
    hook_name: str,
    body: dict[str, Any] | None = None,
    timestamp: float | None = None,
) -> dict[str, Any]:
    """Build a delivery envelope exactly as DailyBot POSTs it to a subscription's ``hook_url``.

    :param event: The event name carried in ``event``.
    :param hook_id: The subscription id carried in ``hook.id``.
    :param hook_name: The subscription name carried in ``hook.name``.
    :param body: The event body; defaults to :func:`sample_body` for ``event`` (which must then be
        a known event). A given body is deep-copied.
    :param timestamp: ``event_timestamp`` as Unix epoch seconds; defaults to now.
    """
    return {
        "event": event,
        "event_timestamp": float(time.time() if timestamp is None else timestamp),
        "hook": {"id": hook_id, "name": hook_name},
        "body": sample_body(event) if body is None else copy.deepcopy(body),
    }
