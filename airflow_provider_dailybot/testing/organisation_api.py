"""The read endpoints of the fake DailyBot server's seeded organisation (``dailybot-api.md`` §4.2-4.4).

Users, teams and their members, check-ins (also under the legacy ``followups`` name) and their
responses, forms and their responses; plus :meth:`OrganisationAPI.add_checkin_response`, which
appends a "new standup" and delivers ``followups.response.completed``.
"""

from __future__ import annotations

import copy
import re
import time
import uuid
from dataclasses import dataclass
from typing import Any

from airflow_provider_dailybot.testing import pagination, seed
from airflow_provider_dailybot.testing.contract import CHECKIN_COMPLETED
from airflow_provider_dailybot.testing.deliveries import Deliveries
from airflow_provider_dailybot.testing.routes import Handler, Router
from airflow_provider_dailybot.testing.state import State
from airflow_provider_dailybot.testing.wire import Request, Response, error, json_response, not_found


def is_iso_day(value: str) -> bool:
    """Whether ``value`` looks like ``YYYY-MM-DD``.

    :param value: The candidate.
    """
    return bool(re.fullmatch(r"\d{4}-\d{2}-\d{2}", value))


def today() -> str:
    """Today in the organisation's time zone, as ``YYYY-MM-DD``: the day ``created_at`` (:func:`.seed.now_iso`) names.

    Response dates, the default report range and the daily kudos limit all count days in that zone, so a
    kudos given just after midnight UTC counts on the same day as the ones given before it.
    """
    return seed.now_iso()[:10]


def user_json(user: dict[str, Any], with_email: bool) -> dict[str, Any]:
    """A user as the API shows it.

    :param user: A seeded user.
    :param with_email: Keep ``email``.
    """
    return {k: v for k, v in user.items() if with_email or k != "email"}


_TEAM_KEYS = ("uuid", "name", "active", "is_default")


def _team_json(team: dict[str, Any], *, bare: bool) -> dict[str, Any]:
    return {k: team[k] for k in (_TEAM_KEYS if bare else (*_TEAM_KEYS, "members_count"))}


@dataclass(frozen=True)
class OrganisationAPI:
    """The handlers; :meth:`register` puts them on a router. Each runs under the state's lock.

    :param state: The server's state.
    :param deliveries: Delivers the events of new check-in responses.
    """

    state: State
    deliveries: Deliveries

    def register(self, router: Router) -> None:
        """Add the routes.

        :param router: The server's router.
        """
        reads: dict[str, Handler] = {
            "/v1/users/": self.users,
            "/v1/users/{id}/": self.user,
            "/v1/teams/": self.teams,
            "/v1/teams/{id}/": self.team,
            "/v1/teams/{id}/members/": self.team_members,
            "/v1/checkins/": self.checkins,
            "/v1/followups/": self.checkins,
            "/v1/checkins/{id}/": self.checkin,
            "/v1/checkins/{id}/responses/": self.checkin_responses,
            "/v1/followups/{id}/responses/": self.followup_responses,
            "/v1/forms/": self.forms,
            "/v1/forms/{id}/responses/": self.form_responses,
        }
        for template, handler in reads.items():
            router.add("GET", template, self._locked(handler))

    def _locked(self, handler: Handler) -> Handler:
        def run(request: Request) -> Response:
            with self.state.lock:
                return handler(request)

        return run

    def page(self, request: Request, items: list[dict[str, Any]], *, bare: bool = False) -> Response:
        """Answer a list in the server's ``pagination_style``, or as a bare array.

        :param request: The request.
        :param items: Every item.
        :param bare: Answer a bare array.
        """
        switches = self.state.switches
        if bare:
            return pagination.bare(items)
        return pagination.page(request, items, style=switches.pagination_style, default_size=switches.default_page_size)

    def users(self, request: Request) -> Response:
        """``GET /v1/users/`` (``email`` only with ``include_email=true``).

        :param request: The request.
        """
        with_email = request.query.get("include_email", "").lower() == "true"
        return self.page(request, [user_json(u, with_email) for u in self.state.org.users])

    def user(self, request: Request) -> Response:
        """``GET /v1/users/{id}/``.

        :param request: The request.
        """
        user = self.state.org.user(request.params["id"])
        return json_response(200, user_json(user, True)) if user else not_found()

    def teams(self, request: Request) -> Response:
        """``GET /v1/teams/`` (a bare array with the ``teams_bare_list`` switch).

        :param request: The request.
        """
        bare = self.state.switches.teams_bare_list
        return self.page(request, [_team_json(t, bare=bare) for t in self.state.org.teams], bare=bare)

    def team(self, request: Request) -> Response:
        """``GET /v1/teams/{id}/``.

        :param request: The request.
        """
        team = self.state.org.team(request.params["id"])
        return json_response(200, _team_json(team, bare=True)) if team else not_found()

    def team_members(self, request: Request) -> Response:
        """``GET /v1/teams/{id}/members/``.

        :param request: The request.
        """
        org = self.state.org
        team = org.team(request.params["id"])
        if team is None:
            return not_found()
        members = [user_json(u, False) for u in org.users if u["uuid"] in team["member_uuids"]]
        return self.page(request, members, bare=self.state.switches.teams_bare_list)

    def checkins(self, request: Request) -> Response:
        """``GET /v1/checkins/`` and the legacy ``GET /v1/followups/``.

        :param request: The request.
        """
        checkins = [{k: v for k, v in c.items() if k != "participants"} for c in self.state.org.checkins]
        return self.page(request, checkins)

    def checkin(self, request: Request) -> Response:
        """``GET /v1/checkins/{id}/``.

        :param request: The request.
        """
        checkin = self.state.org.checkin(request.params["id"])
        return json_response(200, checkin) if checkin else not_found()

    def checkin_responses(self, request: Request) -> Response:
        """``GET /v1/checkins/{id}/responses/`` (404 with ``legacy_checkin_responses``, as an older DailyBot).

        :param request: The request.
        """
        if self.state.switches.legacy_checkin_responses:
            return not_found()
        return self.followup_responses(request)

    def followup_responses(self, request: Request) -> Response:
        """``GET /v1/followups/{id}/responses/``: ``date_start``/``date_end`` (default today), ``user``.

        :param request: The request.
        """
        checkin_id = request.params["id"]
        if self.state.org.checkin(checkin_id) is None:
            return not_found()
        start, end = request.query.get("date_start") or today(), request.query.get("date_end") or today()
        if not (is_iso_day(start) and is_iso_day(end)) or end < start:
            return error(400, "date_start and date_end must be YYYY-MM-DD, date_start first.", "invalid_date_range")
        user = request.query.get("user")
        rows = [
            r
            for r in self.state.org.checkin_responses.get(checkin_id, [])
            if start <= r["response_date"] <= end and (not user or r["user"]["uuid"] == user)
        ]
        return self.page(request, rows)

    def forms(self, request: Request) -> Response:
        """``GET /v1/forms/``: a flat array, as DailyBot documents it.

        :param request: The request.
        """
        return pagination.bare(self.state.org.forms)

    def form_responses(self, request: Request) -> Response:
        """``GET /v1/forms/{id}/responses/``: the owner's own unless ``all=true``; ``date_from``/``date_to``.

        :param request: The request.
        """
        form_id = request.params["id"]
        if self.state.org.form(form_id) is None:
            return not_found()
        query = request.query
        start, end = query.get("date_from") or "0000-00-00", query.get("date_to") or "9999-99-99"
        everyone = query.get("all", "").lower() == "true"
        owner = seed.owner_uuid(self.state.user_full_name)
        rows = [
            r
            for r in self.state.org.form_responses.get(form_id, [])
            if start <= r["created_at"][:10] <= end and (everyone or r["user"]["uuid"] == owner)
        ]
        return self.page(request, rows)

    def add_checkin_response(
        self,
        *,
        user_id: str,
        checkin_id: str,
        response_date: str | None,
        done: str,
        plan: str,
        blocker: str | None,
        deliver: bool,
    ) -> dict[str, Any]:
        """Append a check-in response and deliver it; see :meth:`FakeDailyBotServer.add_checkin_response`.

        :param user_id: The respondent's UUID.
        :param checkin_id: The check-in's id.
        :param response_date: ``YYYY-MM-DD``, ``None`` for today (UTC).
        :param done: The first answer.
        :param plan: The second answer.
        :param blocker: The blocker answer, or ``None``.
        :param deliver: Deliver ``followups.response.completed``.
        """
        day = response_date or today()
        if not is_iso_day(day):
            raise ValueError(f"response_date must be YYYY-MM-DD, got {response_date!r}")
        with self.state.lock:
            org = self.state.org
            user, checkin = org.user(user_id), org.checkin(checkin_id)
            if user is None:
                raise ValueError(f"unknown user: {user_id}")
            if checkin is None:
                raise ValueError(f"unknown check-in: {checkin_id}")
            response = seed.checkin_response(
                user,
                response_id=str(uuid.uuid4()),
                response_date=day,
                created_at=seed.now_iso(),
                done=done,
                plan=plan,
                blocker=blocker,
                checkin_id=checkin_id,
                checkin_name=checkin["name"],
            )
            rows = org.checkin_responses.setdefault(checkin_id, [])
            rows.append(response)
            rows.sort(key=lambda r: (r["response_date"], r["created_at"]))
            targets = self.state.subscribers(CHECKIN_COMPLETED, checkin_id)
        if deliver:
            body = {k: v for k, v in response.items() if k != "response_date"}
            timestamp = time.time()
            for target in targets:
                self.deliveries.deliver(target, CHECKIN_COMPLETED, body, timestamp)
        return copy.deepcopy(response)
