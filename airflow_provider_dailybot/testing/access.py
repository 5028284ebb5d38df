"""Who may call the fake DailyBot server: the API key, the FREE plan and the org-admin role (``dailybot-api.md`` §1-2).

Router checks and guards (see :mod:`.routes`): each answers DailyBot's refusal, or ``None``.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from airflow_provider_dailybot.testing.contract import UPGRADE_URL
from airflow_provider_dailybot.testing.state import State
from airflow_provider_dailybot.testing.wire import Request, Response, error


@dataclass(frozen=True)
class Access:
    """The access rules of one server, read from its state at every request.

    :param state: The server's state (API key and switches).
    """

    state: State

    def authenticate(self, request: Request) -> Response | None:
        """Refuse a missing or wrong ``X-API-KEY`` with the ``auth_failure_status`` switch (401 or 403).

        :param request: The request.
        """
        status = self.state.switches.auth_failure_status
        given = request.headers.get("x-api-key", "")
        if not given:
            return error(status, "Authentication credentials were not provided.")
        expected = self.state.api_key.encode("utf-8", "replace")
        if not hmac.compare_digest(given.encode("utf-8", "replace"), expected):
            return error(status, "Invalid API key.", "authentication_failed")
        return None

    def plan(self, request: Request) -> Response | None:
        """Refuse every ``/v1/`` call on the FREE plan (``plan_free_api_keys_forbidden``, CONFIRMED).

        :param request: The request.
        """
        if not request.path.startswith("/v1/") or not self.state.switches.free_plan:
            return None
        return error(
            403,
            "API keys are not available on the FREE plan. Upgrade your plan to use the DailyBot API.",
            "plan_free_api_keys_forbidden",
            upgrade_url=UPGRADE_URL,
        )

    def org_admin(self, request: Request) -> Response | None:
        """Refuse webhook management unless the key's owner is an org admin (``org_admin_required``).

        :param request: The request.
        """
        if self.state.switches.org_admin:
            return None
        return error(
            403,
            "You must be an organization admin to manage webhook subscriptions.",
            "org_admin_required",
            extra={"required_role": "ADMIN_ORG"},
        )
