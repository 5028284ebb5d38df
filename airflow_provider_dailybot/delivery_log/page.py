"""The delivery log's HTML pages, under ``/dailybot/ui/`` (the Airflow UI shows them under Browse).

``GET /ui/deliveries``
    The filter form (channel, event, outcome, received from/until in UTC, rows per page) and one
    page of deliveries, newest first, each with its payload folded in a ``<details>``; "Older" and
    "Newest" links page by keyset (``before_id``).
``GET /ui/deliveries/{delivery_id}``
    One delivery: its fields, the subscriptions that delivered it and the whole payload.
``GET /ui/static/delivery-log.css``
    The stylesheet (no login needed: it holds nothing private).

A browser that is not logged in (no or an expired ``_token`` cookie) is sent to the auth manager's
login page with ``next`` pointing back here (303); a user without read on assets gets 403.
"""

from __future__ import annotations

from importlib import resources
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from airflow_provider_dailybot.delivery_log import render, views
from airflow_provider_dailybot.delivery_log.access import Denied, login_url, reader
from airflow_provider_dailybot.delivery_log.filters import (
    DeliveryFilter,
    InvalidFilter,
    checked_delivery_id,
    parse_filter,
)
from airflow_provider_dailybot.delivery_log.responses import (
    SECURITY_HEADERS,
    STATIC_CACHE,
    StoreUnavailable,
    html_response,
    read,
    unavailable_headers,
)

_STYLESHEET_NAME = "delivery-log.css"


def _root(request: Request) -> str:
    """The receiver's mount path as the browser sees it (``[api] base_url``'s path included)."""
    return str(request.scope.get("root_path", "")).rstrip("/")


def _denied(request: Request, denied: Denied) -> Response:
    if denied.status_code == 401:
        return RedirectResponse(login_url(request), status_code=303, headers=SECURITY_HEADERS)
    return html_response(render.message_document(_root(request), "Forbidden", denied.detail), 403)


#: The login and permission check of the pages (the stylesheet needs none).
_reader = reader(_denied)


def _unavailable(request: Request) -> Response:
    text = "The metadata database cannot be read right now; try again in a moment."
    return html_response(render.message_document(_root(request), "Unavailable", text), 503, unavailable_headers())


def _list_with_channels(session: Any, flt: DeliveryFilter | None) -> tuple[views.DeliveryPage | None, list[str]]:
    from airflow_provider_dailybot.webhooks.channel_listing import channel_names

    page = views.list_page(session, flt, with_payloads=True) if flt is not None else None
    return page, channel_names(session)


async def deliveries_page(request: Request) -> Response:
    """Answer ``GET /ui/deliveries``: the filter form and one page of deliveries.

    :param request: The incoming request.
    """
    error = None
    flt: DeliveryFilter | None
    try:
        flt = parse_filter(request.query_params)
    except InvalidFilter as err:
        flt, error = None, str(err)
    try:
        page, channels = await read(_list_with_channels, flt)
    except StoreUnavailable:
        return _unavailable(request)
    document = render.list_document(_root(request), flt or DeliveryFilter(), page, channels, error)
    return html_response(document, 400 if error else 200)


async def delivery_page(delivery_id: str, request: Request) -> Response:
    """Answer ``GET /ui/deliveries/{delivery_id}``: one delivery with its whole payload.

    :param delivery_id: The receiver-assigned id.
    :param request: The incoming request.
    """
    root = _root(request)
    try:
        found = await read(views.find_delivery, checked_delivery_id(delivery_id))
    except InvalidFilter:
        found = None
    except StoreUnavailable:
        return _unavailable(request)
    if found is None:
        return html_response(render.message_document(root, "Not found", "No such delivery."), 404)
    row, payload = found
    return html_response(render.detail_document(root, row, payload))


def _stylesheet() -> bytes:
    return (
        resources.files("airflow_provider_dailybot.delivery_log")
        .joinpath("static")
        .joinpath(_STYLESHEET_NAME)
        .read_bytes()
    )


async def stylesheet() -> Response:
    """Answer ``GET /ui/static/delivery-log.css``."""
    headers = {**SECURITY_HEADERS, "Cache-Control": STATIC_CACHE}
    return Response(_stylesheet(), media_type="text/css; charset=utf-8", headers=headers)


def page_router() -> APIRouter:
    """Return the router of the HTML pages (paths relative to the receiver's mount point)."""
    router = APIRouter()
    pages = APIRouter(dependencies=[Depends(_reader)])
    pages.add_api_route(render.LIST_PATH, deliveries_page, methods=["GET"], include_in_schema=False)
    pages.add_api_route(render.LIST_PATH + "/{delivery_id}", delivery_page, methods=["GET"], include_in_schema=False)
    router.include_router(pages)
    router.add_api_route(render.STYLESHEET, stylesheet, methods=["GET"], include_in_schema=False)
    return router
