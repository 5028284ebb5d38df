"""List answers of the fake DailyBot server: DRF's ``{count, next, previous, results}`` envelope (§2.4).

Two styles, as DailyBot's endpoints differ: ``limit``/``offset`` (``LimitOffsetPagination``, the
default) and ``page``/``page_size`` (``PageNumberPagination``); ``next``/``previous`` are absolute
URLs on the origin the client used. Or a bare array, for the endpoints documented that way.
"""

from __future__ import annotations

import copy
from typing import Any
from urllib.parse import urlencode

from airflow_provider_dailybot.testing.contract import MAX_LIMIT, MAX_PAGE_SIZE
from airflow_provider_dailybot.testing.wire import Request, Response, error, json_response


def page(request: Request, items: list[dict[str, Any]], *, style: str, default_size: int) -> Response:
    """Answer one page of ``items`` (deep-copied) in ``style``, as the request's query selects it.

    :param request: The request (``limit``/``offset`` or ``page``/``page_size`` in its query).
    :param items: Every item, in order.
    :param style: ``"limit_offset"`` or ``"page"``.
    :param default_size: The page size when the query names none (or a bad one).
    """
    items = copy.deepcopy(items)
    query, total = dict(request.query), len(items)
    if style == "page":
        size = min(_positive_int(query.get("page_size"), default_size), MAX_PAGE_SIZE)
        page_text = query.get("page", "1")
        number = int(page_text) if page_text.isdigit() else 0  # DRF answers "Invalid page." below
        if number < 1 or (number > 1 and (number - 1) * size >= total):
            return error(404, "Invalid page.", "not_found")
        start, stop = (number - 1) * size, number * size
        next_query = {**query, "page": str(number + 1), "page_size": str(size)} if stop < total else None
        previous_query = {**query, "page": str(number - 1), "page_size": str(size)} if number > 1 else None
    else:
        size = min(_positive_int(query.get("limit"), default_size), MAX_LIMIT)
        start = _positive_int(query.get("offset"), 0, minimum=0)
        stop = start + size
        next_query = {**query, "limit": str(size), "offset": str(stop)} if stop < total else None
        previous_query = {**query, "limit": str(size), "offset": str(max(0, start - size))} if start else None
    return json_response(
        200,
        {
            "count": total,
            "next": _link(request, next_query),
            "previous": _link(request, previous_query),
            "results": items[start:stop],
        },
    )


def bare(items: list[dict[str, Any]]) -> Response:
    """Answer ``items`` (deep-copied) as a bare JSON array.

    :param items: Every item, in order.
    """
    return json_response(200, copy.deepcopy(items))


def _link(request: Request, query: dict[str, str] | None) -> str | None:
    return None if query is None else f"{request.origin}{request.path}?{urlencode(query)}"


def _positive_int(value: str | None, default: int, *, minimum: int = 1) -> int:
    """DRF's paginators ignore a malformed or out-of-range number and use the default."""
    try:
        number = int(value) if value is not None else default
    except ValueError:
        return default
    return number if number >= minimum else default
