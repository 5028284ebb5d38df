"""The delivery log as JSON, under ``/dailybot/api/`` (read-only; login and permission as :mod:`access`).

``GET /api/deliveries``
    ``{"deliveries": [...], "next_before_id": <int|null>, "limit": <int>}``, newest first. Query
    parameters ``channel``, ``event``, ``outcome`` (``recorded`` | ``no_consumer``), ``since``,
    ``until`` (ISO 8601, UTC when no zone), ``limit`` (1 to 200, default 50) and ``before_id`` (the
    previous answer's ``next_before_id``: keyset pagination, stable while rows arrive). Rows carry
    no payload.
``GET /api/deliveries/{delivery_id}``
    One delivery with ``"payload": {"source": "stored" | "asset_event" | "unavailable", "value": ...}``.
``GET /api/channels``
    ``{"channels": [...], "not_shown": <int>}``: the channels whose Variable the caller may also read
    (:mod:`~airflow_provider_dailybot.webhooks.channel_listing`: secrets as hash prefixes), and how
    many others exist.

Answers: 401 without a valid Airflow token (``WWW-Authenticate: Bearer``), 403 without read on
assets, 400 for a malformed filter, 404 for an unknown delivery, 503 with ``Retry-After`` when the
metadata database cannot be read.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from airflow_provider_dailybot.delivery_log import views
from airflow_provider_dailybot.delivery_log.access import Denied, may_read_variable, reader
from airflow_provider_dailybot.delivery_log.filters import InvalidFilter, checked_delivery_id, parse_filter
from airflow_provider_dailybot.delivery_log.responses import StoreUnavailable, json_response, read, unavailable_headers


def _denied(request: Request, denied: Denied) -> Response:
    headers = {"WWW-Authenticate": "Bearer"} if denied.status_code == 401 else None
    return json_response({"detail": denied.detail}, denied.status_code, headers)


#: The login and permission check of every API route (a router dependency, see :func:`api_router`).
_reader = reader(_denied)


def _unavailable() -> Response:
    return json_response({"detail": "The metadata database cannot be read right now."}, 503, unavailable_headers())


async def list_deliveries(request: Request) -> Response:
    """Answer ``GET /api/deliveries`` (see the module docstring).

    :param request: The incoming request.
    """
    try:
        flt = parse_filter(request.query_params)
    except InvalidFilter as err:
        return json_response({"detail": str(err)}, 400)
    try:
        page = await read(views.list_page, flt)
    except StoreUnavailable:
        return _unavailable()
    return json_response({"deliveries": page.rows, "next_before_id": page.next_before_id, "limit": flt.limit})


async def show_delivery(delivery_id: str, request: Request) -> Response:
    """Answer ``GET /api/deliveries/{delivery_id}``: the delivery with its payload.

    :param delivery_id: The receiver-assigned id.
    :param request: The incoming request.
    """
    try:
        wanted = checked_delivery_id(delivery_id)
    except InvalidFilter:
        return json_response({"detail": "No such delivery."}, 404)
    try:
        found = await read(views.find_delivery, wanted)
    except StoreUnavailable:
        return _unavailable()
    if found is None:
        return json_response({"detail": "No such delivery."}, 404)
    row, payload = found
    return json_response({**row, "payload": payload.to_dict()})


def _channel_reports(session: Any, user: Any) -> dict[str, Any]:
    from airflow_provider_dailybot.webhooks.channel_listing import channel_names, channel_report
    from airflow_provider_dailybot.webhooks.channels import MetadataChannelStore, variable_key

    reports: list[dict[str, Any]] = []
    hidden = 0
    store = MetadataChannelStore()
    for name in channel_names(session):
        if not may_read_variable(user, variable_key(name)):
            hidden += 1
            continue
        try:
            state = store.load(name)
        except ValueError:
            reports.append({"channel": name, "error": "The channel's Variable is not a valid channel state."})
            continue
        if state is not None:
            reports.append(channel_report(state))
    return {"channels": reports, "not_shown": hidden}


async def list_channels(user: Annotated[Any, Depends(_reader)]) -> Response:
    """Answer ``GET /api/channels``: the channels the caller may read, secrets as hash prefixes.

    :param user: The reader (the router's dependency, resolved once per request).
    """
    try:
        return json_response(await read(_channel_reports, user))
    except StoreUnavailable:
        return _unavailable()


def api_router() -> APIRouter:
    """Return the router of the JSON API (paths relative to the receiver's mount point)."""
    router = APIRouter(dependencies=[Depends(_reader)])
    router.add_api_route("/api/deliveries", list_deliveries, methods=["GET"], include_in_schema=False)
    router.add_api_route("/api/deliveries/{delivery_id}", show_delivery, methods=["GET"], include_in_schema=False)
    router.add_api_route("/api/channels", list_channels, methods=["GET"], include_in_schema=False)
    return router
