"""Who may read the delivery log: an Airflow user, logged in, allowed to read assets.

Airflow does not authenticate the FastAPI apps that plugins mount (every route must do it itself),
so each route of the delivery log depends on a :func:`reader` (which calls :func:`check_reader`):
a refused request never reaches the route, it gets the answer the router chose for a refusal
(JSON 401/403 for the API, a redirect to the login page or an HTML 403 for the pages), raised as
:class:`Refused` and sent by :func:`answer_refused`, the exception handler of the receiver app.

**Login.** The user is resolved exactly as Airflow's own REST API resolves it, by
``airflow.api_fastapi.core_api.security.get_user``: an ``Authorization: Bearer <JWT>`` header (API
clients), else the UI's JWT cookie ``_token`` (``COOKIE_NAME_JWT_TOKEN`` in
``airflow.api_fastapi.auth.managers.base_auth_manager``; on Airflow 3.3 a user already resolved from
that cookie by the api-server's ``JWTRefreshMiddleware`` is reused). ``get_user`` is called
positionally because its parameter names differ between versions (3.1: ``oauth_token``; 3.3:
``_oauth_token``). The auth manager is the api-server's singleton ``get_auth_manager()``: the
``app.state.auth_manager`` that 3.3's ``AuthManagerDep`` reads belongs to the root app, not to a
mounted plugin app.

**Authorisation: read on assets** (``is_authorized_asset(method="GET", details=AssetDetails())``).
Every delivery is, or becomes on replay, an asset event of the channel's asset
(``dailybot://webhooks/<channel>``), and its payload is that event's ``extra``. Airflow guards the
same data, ``GET /api/v2/assets/events``, with ``requires_access_asset(method="GET")`` and no asset
id (``core_api/routes/public/assets.py`` on 3.1.8 and 3.3.2); Airflow 3.3 additionally scopes events
that a DAG's task produced to readers of that DAG (``PermittedAssetEventFilter``), which never
applies here: the receiver records with ``source_is_api=True`` and no source DAG. So whoever may list
the events through Airflow's API may list them here, and nobody else. Stored deliveries without a
consumer are the same payloads before they become asset events. The permission is checked without
an asset id, as Airflow's list endpoint does, because a delivery to a channel no DAG declares has no
asset. The channel listing additionally needs read on each channel's Variable (see
:func:`may_read_variable`), because it shows what that Variable holds.

**No writes over HTTP.** The log's routes only read (``GET``), so an ambient cookie cannot be used
to change anything (no CSRF surface); replay and purge are CLI commands.

Airflow is imported inside the functions: this module is imported when the receiver app is built.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from fastapi import HTTPException, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Denied:
    """Why a request may not read the delivery log.

    :param status_code: 401 (not logged in, or the token expired or is invalid) or 403 (logged in,
        not allowed to read assets).
    :param detail: A short reason, safe to show (never the token).
    """

    status_code: int
    detail: str


def _auth_manager() -> Any:
    from airflow.api_fastapi.app import get_auth_manager

    return get_auth_manager()


async def authenticated_user(request: Request) -> Any:
    """Return the Airflow user of ``request``, or a :class:`Denied` with status 401.

    :param request: The incoming request (bearer header or the UI's ``_token`` cookie).
    """
    from airflow.api_fastapi.core_api.security import bearer_scheme, get_user

    credentials = await bearer_scheme(request)
    try:
        return await get_user(request, None, credentials)
    except HTTPException as exc:
        # 401 "Not authenticated" / "Token Expired", 403 "Invalid JWT token": all mean "log in (again)".
        return Denied(401, str(exc.detail))


def _may_read_assets(user: Any) -> bool:
    from airflow.api_fastapi.auth.managers.models.resource_details import AssetDetails

    return bool(_auth_manager().is_authorized_asset(method="GET", details=AssetDetails(), user=user))


async def check_reader(request: Request) -> Any:
    """Return the user when they may read the delivery log, else a :class:`Denied` (401 or 403).

    :param request: The incoming request.
    """
    user = await authenticated_user(request)
    if isinstance(user, Denied):
        return user
    # An auth manager may consult a database or a remote service (FAB, Keycloak): not on the event loop.
    if not await run_in_threadpool(_may_read_assets, user):
        log.info("Refused the DailyBot delivery log to user %s: no read permission on assets", _user_name(user))
        return Denied(403, "Reading the DailyBot delivery log needs read permission on assets.")
    return user


class Refused(Exception):
    """Raised by a :func:`reader` dependency: the request may not read the log; ``response`` is its answer.

    :param response: What the refused request gets (built by the router's ``refuse`` function).
    """

    def __init__(self, response: Response) -> None:
        super().__init__(response.status_code)
        self.response = response


async def answer_refused(request: Request, exc: Exception) -> Response:
    """Exception handler of :class:`Refused` (registered on the receiver app): send its response.

    :param request: The refused request.
    :param exc: The :class:`Refused` raised by a :func:`reader`.
    """
    if not isinstance(exc, Refused):  # pragma: no cover - registered for Refused only
        raise exc
    return exc.response


def reader(refuse: Callable[[Request, Denied], Response]) -> Callable[[Request], Awaitable[Any]]:
    """Return a FastAPI dependency that resolves the reader of the log (:func:`check_reader`).

    The dependency returns the user; when the request is refused it raises :class:`Refused` with
    ``refuse(request, denied)``, so the route never runs.

    :param refuse: Builds the answer to a refusal (401 or 403, see :class:`Denied`).
    """

    async def log_reader(request: Request) -> Any:
        user = await check_reader(request)
        if isinstance(user, Denied):
            raise Refused(refuse(request, user))
        return user

    return log_reader


def may_read_variable(user: Any, key: str) -> bool:
    """Return True when ``user`` may read the Variable ``key`` (a channel's state). Blocking: call it off the loop.

    :param user: An Airflow user, as returned by :func:`check_reader`.
    :param key: The Variable key.
    """
    from airflow.api_fastapi.auth.managers.models.resource_details import VariableDetails

    return bool(_auth_manager().is_authorized_variable(method="GET", details=VariableDetails(key=key), user=user))


def _user_name(user: Any) -> str:
    try:
        return str(user.get_name())[:80]
    except Exception:
        return "?"


def page_path(request: Request) -> str:
    """Return the path and query of ``request`` (relative to the host), for the login page's ``next``.

    :param request: The incoming request.
    """
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


def login_url(request: Request) -> str:
    """Return the auth manager's login page, with ``next`` set to the page ``request`` asked for.

    Built as Airflow's own ``GET /api/v2/auth/login`` builds it: ``auth_manager.get_url_login()``
    followed by ``next``. The login page checks ``next`` (``is_safe_url``) before it redirects there.
    With ``[core] simple_auth_manager_all_admins`` on Airflow 3.1 the "login" sets the cookie and
    lands on the Airflow home page (that version ignores ``next``); 3.2+ returns to the log.

    :param request: The incoming request.
    """
    base = str(_auth_manager().get_url_login())
    separator = "&" if "?" in base else "?"
    return f"{base}{separator}{urlencode({'next': page_path(request)})}"
