"""The organisation the fake DailyBot server starts with: deterministic users, teams, a check-in and a form.

Everything is fixed so that tests, demos and documentation can name things: the same UUIDs, names,
dates and answers on every start (and after :meth:`FakeDailyBotServer.reset`). Shapes follow
``dailybot-api.md`` §4 and the captured webhook bodies of §3.7 (check-in responses carry ``content``
keyed by question UUID, ``has_issue`` and ``blockers_status``).

* 5 users: the API key's owner (an org admin, by default *Ada Lovelace*) and four members;
* 2 teams: *Engineering* (Grace, Alan, Margaret) and *Design* (Katherine, Margaret);
* the check-in *Daily Standup* (:data:`CHECKIN_ID`; check-ins use ``id``, not ``uuid``) with three
  questions, the last one the blocker question, and 19 responses from Monday 2025-01-06 to Friday
  2025-01-10 (Katherine was off on the 9th). One response has a blocker: Alan on 2025-01-08;
* the form *Incident report* (:data:`FORM_ID`) with three responses.

Only the standard library is used (no Airflow import).
"""

from __future__ import annotations

import copy
import datetime as dt
import uuid
from dataclasses import dataclass, field
from typing import Any

from airflow_provider_dailybot.testing.samples import _question as sample_question

#: Namespace of the UUIDs derived here (responses); any fixed UUID would do.
_NAMESPACE = uuid.UUID("6f1de3b4-52c8-4a9e-8f0b-3d5c2a7e9b10")

ORGANIZATION_NAME = "Acme Corp"
GRACE = "2c4e6a80-1b3d-4f5a-8c7e-9d0f1a2b3c01"
ALAN = "2c4e6a80-1b3d-4f5a-8c7e-9d0f1a2b3c02"
KATHERINE = "2c4e6a80-1b3d-4f5a-8c7e-9d0f1a2b3c03"
MARGARET = "2c4e6a80-1b3d-4f5a-8c7e-9d0f1a2b3c04"
ENGINEERING_TEAM = "7a9b1c3d-5e7f-4a1b-9c3d-5e7f9a1b3c01"
DESIGN_TEAM = "7a9b1c3d-5e7f-4a1b-9c3d-5e7f9a1b3c02"
CHECKIN_ID = "c8f1d4a2-3b6e-4f1a-9d2c-7e5b8a0f1c33"
CHECKIN_NAME = "Daily Standup"
QUESTION_DONE = "11111111-1111-4111-8111-111111111111"
QUESTION_PLAN = "22222222-2222-4222-8222-222222222222"
QUESTION_BLOCKERS = "33333333-3333-4333-8333-333333333333"
FORM_ID = "f0a7c2d9-4e6b-4c8a-9e1f-3b5d7f9a1c55"
FORM_NAME = "Incident report"
FORM_QUESTION_WHAT = "44444444-4444-4444-8444-444444444444"
FORM_QUESTION_SEVERITY = "55555555-5555-4555-8555-555555555555"
#: The weekdays with seeded check-in responses, first to last.
CHECKIN_DATES: tuple[str, ...] = ("2025-01-06", "2025-01-07", "2025-01-08", "2025-01-09", "2025-01-10")
#: The one seeded response with a blocker: (user, date, answer).
SEEDED_BLOCKER = (ALAN, "2025-01-08", "Waiting for the staging database credentials from IT")
NO_BLOCKERS = "No blockers"

_AVATAR = "https://avatars.slack-edge.com/2022-06-21/image.png"
_OFFSET = "-05:00"  # the organisation's time zone, America/New_York in January

_MEMBERS: tuple[tuple[str, str, str, str], ...] = (
    (GRACE, "Grace Hopper", "Compiler engineer", "U01GRACE"),
    (ALAN, "Alan Turing", "Backend engineer", "U02ALAN"),
    (KATHERINE, "Katherine Johnson", "Product designer", "U03KATHERINE"),
    (MARGARET, "Margaret Hamilton", "Engineering manager", "U04MARGARET"),
)
_TEAMS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    (ENGINEERING_TEAM, "Engineering", (GRACE, ALAN, MARGARET)),
    (DESIGN_TEAM, "Design", (KATHERINE, MARGARET)),
)
_WORK: dict[str, tuple[str, ...]] = {
    GRACE: ("the parser rewrite", "error messages", "the grammar tests", "the release notes", "code review"),
    ALAN: ("the payments API", "retry logic", "the staging deploy", "load tests", "the on-call handover"),
    KATHERINE: ("the onboarding flow", "icon set", "usability interviews", "the style guide", "mobile mock-ups"),
    MARGARET: ("sprint planning", "hiring loop", "the roadmap review", "1:1s", "the quarterly report"),
}
_OFF: frozenset[tuple[str, str]] = frozenset({(KATHERINE, "2025-01-09")})


def owner_uuid(full_name: str) -> str:
    """Return the UUID of the API key's owner named ``full_name`` (the one ``GET /v1/me/`` reports).

    :param full_name: The owner's full name.
    """
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"fake-dailybot:user:{full_name}"))


def organization_uuid(name: str) -> str:
    """Return the UUID of the organisation named ``name`` (the one ``GET /v1/me/`` reports).

    :param name: The organisation's name.
    """
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"fake-dailybot:organization:{name}"))


def _user(
    user_id: str, full_name: str, role: str, occupation: str, chat_id: str, org: dict[str, str]
) -> dict[str, Any]:
    handle = full_name.lower().replace(" ", ".")
    return {
        "uuid": user_id,
        "is_active": True,
        "bot_enabled": True,
        "full_name": full_name,
        "role": role,
        "timezone": "America/New_York",
        "image": _AVATAR,
        "username": handle,
        "occupation": occupation,
        "birth_date": None,
        "chat_platform_data": {"user_external_id": chat_id},
        "work_start_time": "09:00:00",
        "work_days": [1, 2, 3, 4, 5],
        "timeoff_start": None,
        "timeoff_end": None,
        "organization": dict(org),
        "email": f"{handle}@example.com",
    }


def public_user(user: dict[str, Any], *, with_email: bool = True) -> dict[str, Any]:
    """Return the short user object embedded in responses, kudos and webhook bodies.

    :param user: A user as held by the fake server.
    :param with_email: Keep the ``email`` field.
    """
    short = {key: user[key] for key in ("uuid", "full_name", "image", "role", "occupation")}
    if with_email:
        short["email"] = user["email"]
    return short


def _question(question_id: str, index: int, count: int, text: str, short: str, *, blocker: bool) -> dict[str, Any]:
    keys = (index + 1 if index + 1 < count else -1, index - 1, index)
    return sample_question(question_id, keys, text, short, is_blocker=blocker)


CHECKIN_QUESTIONS: dict[str, Any] = {
    "fields": [
        _question(QUESTION_DONE, 0, 3, "What did you complete yesterday?", "Yesterday", blocker=False),
        _question(QUESTION_PLAN, 1, 3, "What are you planning to work on today?", "Plans for today", blocker=False),
        _question(QUESTION_BLOCKERS, 2, 3, "Do you have any blockers?", "Any blockers?", blocker=True),
    ],
    "response_source_type": "chat",
    "has_conditional_questions": False,
}
FORM_QUESTIONS: dict[str, Any] = {
    "fields": [
        _question(FORM_QUESTION_WHAT, 0, 2, "What happened?", "What happened", blocker=False),
        _question(FORM_QUESTION_SEVERITY, 1, 2, "How severe is it (low, medium, high)?", "Severity", blocker=False),
    ],
    "has_questions_variations": False,
    "has_conditional_questions": False,
}


def checkin_response(
    user: dict[str, Any],
    *,
    response_id: str,
    response_date: str,
    created_at: str,
    done: str,
    plan: str,
    blocker: str | None = None,
    checkin_id: str = CHECKIN_ID,
    checkin_name: str = CHECKIN_NAME,
) -> dict[str, Any]:
    """Build one check-in response as the REST API lists it (the webhook body plus ``response_date``).

    :param user: The respondent (a user held by the fake server).
    :param response_id: The response's UUID.
    :param response_date: The day the response is for, ``YYYY-MM-DD``.
    :param created_at: ISO 8601 time of the response, with offset.
    :param done: Answer to "What did you complete yesterday?".
    :param plan: Answer to "What are you planning to work on today?".
    :param blocker: The blocker, if any (``has_issue`` is then true); ``None`` answers "No blockers".
    :param checkin_id: The check-in's id.
    :param checkin_name: The check-in's name.
    """
    return {
        "uuid": response_id,
        "user": public_user(user),
        "checkins": [{"uuid": checkin_id, "name": checkin_name}],
        "is_anonymous": False,
        "response_date": response_date,
        "content": {QUESTION_DONE: done, QUESTION_PLAN: plan, QUESTION_BLOCKERS: blocker or NO_BLOCKERS},
        "questions": copy.deepcopy(CHECKIN_QUESTIONS),
        "has_issue": blocker is not None,
        "blockers_status": {QUESTION_BLOCKERS: blocker is not None},
        "record_created_at": created_at,
        "created_at": created_at,
        "updated_at": created_at,
        "edited": False,
        "extra_activity": None,
        "response_completed": True,
    }


def _form_response(user: dict[str, Any], index: int, day: str, what: str, severity: str) -> dict[str, Any]:
    created_at = f"{day}T{14 + index:02d}:05:00{_OFFSET}"
    return {
        "uuid": str(uuid.uuid5(_NAMESPACE, f"form-response:{FORM_ID}:{index}")),
        "user": public_user(user),
        "is_anonymous": False,
        "is_guest_user": False,
        "content": {FORM_QUESTION_WHAT: what, FORM_QUESTION_SEVERITY: severity},
        "responses": {
            "question_1": "What happened?",
            "question_1_short": "What happened",
            "response_1": what,
            "question_2": "How severe is it (low, medium, high)?",
            "question_2_short": "Severity",
            "response_2": severity,
        },
        "questions": copy.deepcopy(FORM_QUESTIONS),
        "metadata": {"response_from_workflow": False},
        "has_issue": False,
        "blockers_status": {},
        "edited": False,
        "response_completed": True,
        "created_at": created_at,
        "updated_at": created_at,
        "flow_status": None,
        "flow_details": [],
    }


@dataclass
class FakeOrganisation:
    """The data a fake DailyBot server serves; every list is in the order the API returns it.

    :param users: Full user objects (``email`` included; the server drops it unless asked).
    :param teams: Teams, each with a private ``member_uuids`` list.
    :param checkins: Check-ins (``id``, no ``uuid``).
    :param checkin_responses: Check-in responses by check-in id, oldest first.
    :param forms: Forms.
    :param form_responses: Form responses by form UUID, oldest first.
    """

    users: list[dict[str, Any]] = field(default_factory=list)
    teams: list[dict[str, Any]] = field(default_factory=list)
    checkins: list[dict[str, Any]] = field(default_factory=list)
    checkin_responses: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    forms: list[dict[str, Any]] = field(default_factory=list)
    form_responses: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def user(self, user_id: str) -> dict[str, Any] | None:
        """Return the user with this UUID (or email), or ``None``.

        :param user_id: A user UUID or email address.
        """
        return next((u for u in self.users if user_id in (u["uuid"], u["email"])), None)

    def team(self, team_id: str) -> dict[str, Any] | None:
        """Return the team with this UUID, or ``None``.

        :param team_id: A team UUID.
        """
        return next((t for t in self.teams if t["uuid"] == team_id), None)

    def checkin(self, checkin_id: str) -> dict[str, Any] | None:
        """Return the check-in with this id, or ``None``.

        :param checkin_id: A check-in id.
        """
        return next((c for c in self.checkins if str(c["id"]) == checkin_id), None)

    def form(self, form_id: str) -> dict[str, Any] | None:
        """Return the form with this UUID, or ``None``.

        :param form_id: A form UUID.
        """
        return next((f for f in self.forms if f["uuid"] == form_id), None)


def seed_organisation(
    *, owner_name: str = "Ada Lovelace", organization_name: str = ORGANIZATION_NAME
) -> FakeOrganisation:
    """Return a fresh copy of the seeded organisation.

    :param owner_name: Full name of the API key's owner, the first user (an org admin).
    :param organization_name: The organisation's name.
    """
    org = {"uuid": organization_uuid(organization_name), "name": organization_name}
    owner = _user(owner_uuid(owner_name), owner_name, "ADMIN_ORG", "Founder", "U00OWNER", org)
    members = [_user(uid, name, "MEMBER", job, chat, org) for uid, name, job, chat in _MEMBERS]
    users = [owner, *members]
    by_id = {u["uuid"]: u for u in users}
    teams = [
        {
            "uuid": team_id,
            "name": name,
            "active": True,
            "is_default": False,
            "members_count": len(member_ids),
            "member_uuids": list(member_ids),
        }
        for team_id, name, member_ids in _TEAMS
    ]
    checkin = {
        "id": CHECKIN_ID,
        "name": CHECKIN_NAME,
        "active": True,
        "is_anonymous": False,
        "privacy": "TEAM",
        "frequency_type": "weekly",
        "frequency": 1,
        "frequency_on_days": [1, 2, 3, 4, 5],
        "custom_trigger_time": "09:00:00",
        "send_reports_one_by_one": False,
        "time_for_report": "11:00:00",
        "start_on": "2025-01-01",
        "end_on": None,
        "participants": [uid for uid, *_ in _MEMBERS],
    }
    responses: list[dict[str, Any]] = []
    for day_index, day in enumerate(CHECKIN_DATES):
        for member_index, (uid, *_rest) in enumerate(_MEMBERS):
            if (uid, day) in _OFF:
                continue
            work = _WORK[uid]
            blocker = SEEDED_BLOCKER[2] if (uid, day) == SEEDED_BLOCKER[:2] else None
            responses.append(
                checkin_response(
                    by_id[uid],
                    response_id=str(uuid.uuid5(_NAMESPACE, f"checkin-response:{CHECKIN_ID}:{uid}:{day}")),
                    response_date=day,
                    created_at=f"{day}T09:{5 + 7 * member_index:02d}:00{_OFFSET}",
                    done=f"Finished {work[(day_index + 4) % len(work)]}" if day_index else "Caught up after the break",
                    plan=f"Working on {work[day_index]}",
                    blocker=blocker,
                )
            )
    form = {
        "uuid": FORM_ID,
        "name": FORM_NAME,
        "active": True,
        "is_anonymous": False,
        "archived": False,
        "owner": {"uuid": owner["uuid"], "full_name": owner["full_name"]},
        "created_at": f"2025-01-02T10:00:00{_OFFSET}",
    }
    form_responses = [
        _form_response(by_id[ALAN], 0, "2025-01-07", "Checkout returned 502s for ten minutes", "high"),
        _form_response(by_id[KATHERINE], 1, "2025-01-08", "The design system site is down", "low"),
        _form_response(owner, 2, "2025-01-10", "A status page update was late", "medium"),
    ]
    return FakeOrganisation(
        users=users,
        teams=teams,
        checkins=[checkin],
        checkin_responses={CHECKIN_ID: responses},
        forms=[form],
        form_responses={FORM_ID: form_responses},
    )


def now_iso(offset: str = _OFFSET) -> str:
    """Return the current time as DailyBot writes ``created_at`` (ISO 8601, seconds, the org's offset).

    :param offset: The UTC offset, ``±HH:MM``.
    """
    sign = -1 if offset.startswith("-") else 1
    hours, minutes = (int(part) for part in offset[1:].split(":"))
    zone = dt.timezone(sign * dt.timedelta(hours=hours, minutes=minutes))
    return dt.datetime.now(tz=zone).replace(microsecond=0).isoformat()
