"""The DailyBot hook's read endpoints: users, teams, check-ins and forms, with their responses.

Each method validates its arguments before any request and reads every page through
:meth:`~airflow_provider_dailybot.hooks._transport.DailyBotTransport.paginate`.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

from airflow_provider_dailybot import _api_compat, shapes
from airflow_provider_dailybot.exceptions import DailyBotNotFoundError
from airflow_provider_dailybot.hooks._transport import DailyBotTransport
from airflow_provider_dailybot.resources import as_date, date_range, validate_identifier


class DailyBotReads(DailyBotTransport):
    """List and read DailyBot resources (``GET`` endpoints of reference §4)."""

    def list_users(self, *, include_email: bool = False, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """Return the organization's users (``GET /v1/users/``, every page).

        :param include_email: Ask for ``email`` (DailyBot only sends it to admins and managers).
        :param params: Further query parameters.
        """
        return self._list("users/", _with_flags(params, include_email=include_email), "user")

    def get_user(self, user_id: str) -> dict[str, Any]:
        """Return one user (``GET /v1/users/<uuid>/``).

        :param user_id: The user's UUID.
        """
        path = f"users/{quote(validate_identifier(user_id, 'user_id'), safe='')}/"
        user: dict[str, Any] = self.request("GET", path, expect=shapes.resource("user"))
        return user

    def list_teams(self, *, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """Return the teams the key's owner may see (``GET /v1/teams/``; envelope or bare list).

        :param params: Query parameters.
        """
        return self._list("teams/", params, "team")

    def list_team_members(self, team_id: str) -> list[dict[str, Any]]:
        """Return a team's members as user objects (``GET /v1/teams/<uuid>/members/``).

        :param team_id: The team's UUID.
        """
        team = validate_identifier(team_id, "team_id")
        return self._list(f"teams/{quote(team, safe='')}/members/", None, "user")

    def list_checkins(
        self, *, include_archived: bool = False, params: dict[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        """Return the check-ins the key's owner may see (``GET /v1/checkins/``); they carry ``id``, not ``uuid``.

        :param include_archived: Include archived check-ins.
        :param params: Further query parameters (``search``, ``labels`` …).
        """
        return self._list("checkins/", _with_flags(params, include_archived=include_archived), "check-in")

    def iter_checkin_responses(
        self,
        checkin_id: str,
        *,
        date_start: Any,
        date_end: Any,
        user: str | None = None,
        params: dict[str, Any] | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Yield a check-in's responses of an inclusive date range, page after page.

        Reads ``GET /v1/checkins/<id>/responses/`` and falls back to the legacy
        ``GET /v1/followups/<id>/responses/`` when the first answers 404 (older DailyBot
        deployments); the path that worked is tried first next time. Both 404 raise the first
        :class:`~airflow_provider_dailybot.exceptions.DailyBotNotFoundError`. The arguments are
        validated at once, before any request.

        :param checkin_id: The check-in's ``id`` (check-ins have no ``uuid``).
        :param date_start: First day: a ``date``, ``datetime`` or ``YYYY-MM-DD`` string.
        :param date_end: Last day, inclusive.
        :param user: Only this participant's responses (a user UUID; admins and managers only).
        :param params: Further query parameters (e.g. ``search``).
        """
        checkin = validate_identifier(checkin_id, "checkin_id")
        start, end = date_range(date_start, date_end)
        query = dict(params or {})
        query.update(date_start=start, date_end=end)
        if user is not None:
            query["user"] = validate_identifier(user, "user")
        return self._iter_checkin_responses(quote(checkin, safe=""), query)

    def _iter_checkin_responses(self, checkin: str, query: dict[str, Any]) -> Iterator[dict[str, Any]]:
        forms = list(_api_compat.CHECKIN_RESPONSE_FORMS)
        if self._checkin_responses_form == forms[1]:
            forms.reverse()
        first_error: DailyBotNotFoundError | None = None
        for form in forms:
            pages = self._records(f"{form}/{checkin}/responses/", query, "check-in response")
            try:
                first = next(pages, None)
            except DailyBotNotFoundError as err:
                first_error = first_error or err
                continue
            if form != _api_compat.CHECKIN_RESPONSE_FORMS[0]:
                self.log.info("DailyBot check-in responses of %s read from the legacy followups path", checkin)
            self._checkin_responses_form = form
            if first is not None:
                yield from itertools.chain([first], pages)
            return
        assert first_error is not None
        raise first_error

    def list_checkin_responses(self, checkin_id: str, **kwargs: Any) -> list[dict[str, Any]]:
        """Return a check-in's responses of an inclusive date range, every page read.

        :param checkin_id: The check-in's ``id``.
        :param kwargs: ``date_start``, ``date_end`` (required), ``user``, ``params``: see
            :meth:`iter_checkin_responses`.
        """
        return list(self.iter_checkin_responses(checkin_id, **kwargs))

    def list_forms(
        self, *, include_archived: bool = False, params: dict[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        """Return the organization's forms (``GET /v1/forms/``; a bare list or an envelope).

        :param include_archived: Include archived forms.
        :param params: Further query parameters (``include=questions``, ``search`` …).
        """
        return self._list("forms/", _with_flags(params, include_archived=include_archived), "form")

    def iter_form_responses(
        self,
        form_id: str,
        *,
        date_from: Any = None,
        date_to: Any = None,
        all_responses: bool = True,
        state: str | None = None,
        params: dict[str, Any] | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Yield a form's responses (``GET /v1/forms/<uuid>/responses/``), page after page.

        DailyBot returns only the caller's own responses unless ``all=true`` is sent, which needs
        the form's owner or an admin; this method sends it by default.

        :param form_id: The form's UUID.
        :param date_from: First day (inclusive), optional.
        :param date_to: Last day (inclusive), optional.
        :param all_responses: Ask for every respondent's responses (``all=true``).
        :param state: Only responses in this approval state.
        :param params: Further query parameters.
        """
        form = validate_identifier(form_id, "form_id")
        query = dict(params or {})
        if date_from is not None and date_to is not None:
            query["date_from"], query["date_to"] = date_range(date_from, date_to)
        elif date_from is not None:
            query["date_from"] = as_date(date_from, "date_from").isoformat()
        elif date_to is not None:
            query["date_to"] = as_date(date_to, "date_to").isoformat()
        if not isinstance(all_responses, bool):
            raise TypeError(f"all_responses must be a bool, got {all_responses!r}")
        if all_responses:
            query["all"] = "true"
        if state is not None:
            query["state"] = validate_identifier(state, "state")
        return self._records(f"forms/{quote(form, safe='')}/responses/", query or None, "form response")

    def list_form_responses(self, form_id: str, **kwargs: Any) -> list[dict[str, Any]]:
        """Return a form's responses, every page read.

        :param form_id: The form's UUID.
        :param kwargs: ``date_from``, ``date_to``, ``all_responses``, ``state``, ``params``: see
            :meth:`iter_form_responses`.
        """
        return list(self.iter_form_responses(form_id, **kwargs))


def _with_flags(params: dict[str, Any] | None, **flags: bool) -> dict[str, Any] | None:
    """``params`` plus each set flag as ``"true"`` (DailyBot's boolean query form); ``None`` when empty."""
    query = dict(params or {})
    query.update({name: "true" for name, on in flags.items() if on})
    return query or None
