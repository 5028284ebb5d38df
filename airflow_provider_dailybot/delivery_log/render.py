"""The delivery log's HTML, built as text with every value escaped (``html.escape``, quotes included).

Payloads are text anyone who knows a channel's secret could write, so nothing from a row reaches the
page unescaped: not in text, not in an attribute, not in a URL (URLs are built with
``urllib.parse`` and then escaped). The pages hold no script at all (the response's
Content-Security-Policy forbids every script, see :mod:`.router`), no inline style (the one
stylesheet is :data:`STYLESHEET`, served by the same app) and no image; expanding a payload uses
``<details>``, which needs no script.
"""

from __future__ import annotations

from html import escape
from typing import Any
from urllib.parse import quote, urlencode

from airflow_provider_dailybot.delivery_log.filters import STORED_OUTCOMES, DeliveryFilter
from airflow_provider_dailybot.delivery_log.views import (
    PREVIEW_CHARS,
    PREVIEW_MAX_BYTES,
    SOURCE_NOT_LOADED,
    SOURCE_UNAVAILABLE,
    DeliveryPage,
    Payload,
)

#: Path of the stylesheet, relative to the receiver's mount point.
STYLESHEET = "/ui/static/delivery-log.css"
#: Path of the list page, relative to the receiver's mount point.
LIST_PATH = "/ui/deliveries"
#: Page sizes offered by the form.
PAGE_SIZES = (25, 50, 100, 200)


def e(value: object) -> str:
    """Return ``value`` as text safe in HTML content and in quoted attributes (None is empty).

    :param value: Anything; it is converted with ``str``.
    """
    return "" if value is None else escape(str(value), quote=True)


def _document(root: str, title: str, body: str) -> str:
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="referrer" content="same-origin">'
        f"<title>{e(title)}</title>"
        f'<link rel="stylesheet" href="{e(root + STYLESHEET)}">'
        f'</head><body><main class="dailybot-log"><h1>{e(title)}</h1>{body}</main></body></html>\n'
    )


def _time(value: object) -> str:
    """``2026-01-31T12:00:03.123456+00:00`` → ``2026-01-31 12:00:03``."""
    text = "" if value is None else str(value)
    return text[:19].replace("T", " ")


def _input_time(value: object) -> str:
    """A time as a ``datetime-local`` input value (UTC, seconds)."""
    if value is None:
        return ""
    return value.isoformat()[:19] if hasattr(value, "isoformat") else str(value)[:19]


def _filter_form(root: str, flt: DeliveryFilter, channels: list[str]) -> str:
    outcome_options = "".join(
        f'<option value="{e(o)}"{" selected" if flt.outcome == o else ""}>{e(o)}</option>' for o in STORED_OUTCOMES
    )
    size_options = "".join(
        f'<option value="{n}"{" selected" if flt.limit == n else ""}>{n}</option>' for n in PAGE_SIZES
    )
    channel_list = "".join(f'<option value="{e(c)}"></option>' for c in channels)
    return (
        f'<form class="filters" method="get" action="{e(root + LIST_PATH)}">'
        f'<label>Channel <input name="channel" list="dailybot-channels" maxlength="64" value="{e(flt.channel)}">'
        f'</label><datalist id="dailybot-channels">{channel_list}</datalist>'
        f'<label>Event <input name="event" maxlength="128" value="{e(flt.event)}"></label>'
        f'<label>Outcome <select name="outcome"><option value="">any</option>{outcome_options}</select></label>'
        f'<label>Received from (UTC) <input type="datetime-local" step="1" name="since" '
        f'value="{e(_input_time(flt.since))}"></label>'
        f'<label>until (UTC) <input type="datetime-local" step="1" name="until" '
        f'value="{e(_input_time(flt.until))}"></label>'
        f'<label>Rows <select name="limit">{size_options}</select></label>'
        '<button type="submit">Filter</button>'
        f'<a class="reset" href="{e(root + LIST_PATH)}">Reset</a>'
        "</form>"
    )


def _hooks(row: dict[str, Any]) -> str:
    items = []
    for delivery in row["deliveries"] or ([{"hook_id": row["hook_id"]}] if row["hook_id"] else []):
        flag = ' <span class="flag">hook id mismatch</span>' if delivery.get("hook_id_mismatch") else ""
        items.append(f"<li>{e(delivery.get('hook_id'))}{flag}</li>")
    return f'<ul class="hooks">{"".join(items)}</ul>' if items else ""


def payload_block(payload: Payload | None, *, limit: int | None) -> str:
    """Return the ``<pre>`` of a payload (escaped), or a note saying why it is not shown.

    :param payload: The payload, or None when it was not looked up.
    :param limit: Most characters shown.
    """
    if payload is None or payload.source == SOURCE_NOT_LOADED:
        return f'<p class="note">Larger than {PREVIEW_MAX_BYTES // 1024} KiB: open the delivery to see it.</p>'
    if payload.source == SOURCE_UNAVAILABLE:
        return '<p class="note">No longer stored: its asset event was deleted (airflow db clean).</p>'
    return f'<pre class="payload">{e(payload.pretty(limit))}</pre>'


def _row(root: str, row: dict[str, Any], payload: Payload | None) -> str:
    detail = f"{root}/ui/deliveries/{quote(str(row['delivery_id']), safe='')}"
    outcome = str(row["outcome"])
    css = "outcome-" + ("recorded" if outcome == "recorded" else "other")
    return (
        "<tr>"
        f'<td class="nowrap"><a href="{e(detail)}">{e(_time(row["received_at"]))}</a></td>'
        f"<td>{e(row['channel'])}</td>"
        f"<td>{e(row['event'])}</td>"
        f'<td><span class="{css}">{e(outcome)}</span></td>'
        f'<td class="nowrap">{_hooks(row)}</td>'
        f"<td>{e(row['asset_event_id'])}</td>"
        f'<td class="payload-cell"><details><summary>{e(row["payload_bytes"])} bytes</summary>'
        f"{payload_block(payload, limit=PREVIEW_CHARS)}</details></td>"
        "</tr>"
    )


def list_document(
    root: str, flt: DeliveryFilter, page: DeliveryPage | None, channels: list[str], error: str | None = None
) -> str:
    """Return the list page: the filter form, the rows of ``page`` and the pagination links.

    :param root: The receiver's mount path (``request.scope["root_path"]``), e.g. ``/dailybot``.
    :param flt: The filter the page shows.
    :param page: The rows; None when the filter was invalid.
    :param channels: Channel names offered by the form.
    :param error: A message about the filter (already safe to show as text; it is escaped here).
    """
    parts = [_filter_form(root, flt, channels)]
    if error:
        parts.append(f'<p class="error" role="alert">{e(error)}</p>')
    if page is not None:
        if not page.rows:
            parts.append('<p class="empty">No deliveries match.</p>')
        else:
            head = "".join(
                f"<th>{e(h)}</th>"
                for h in ("Received (UTC)", "Channel", "Event", "Outcome", "Hook ids", "Asset event", "Payload")
            )
            rows = "".join(_row(root, row, page.payloads.get(row["id"])) for row in page.rows)
            parts.append(f'<table class="deliveries"><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>')
        links = []
        if flt.before_id is not None:
            links.append(f'<a href="{e(_page_url(root, flt, before_id=None))}">Newest</a>')
        if page.next_before_id is not None:
            links.append(f'<a rel="next" href="{e(_page_url(root, flt, before_id=page.next_before_id))}">Older</a>')
        if links:
            parts.append(f'<nav class="pages">{" ".join(links)}</nav>')
    return _document(root, "DailyBot deliveries", "".join(parts))


def _page_url(root: str, flt: DeliveryFilter, **changes: Any) -> str:
    query = urlencode(flt.query_params(**changes))
    return root + LIST_PATH + (f"?{query}" if query else "")


def detail_document(root: str, row: dict[str, Any], payload: Payload) -> str:
    """Return a delivery's page: its fields, the subscriptions that delivered it, the whole payload.

    :param root: The receiver's mount path.
    :param row: The :func:`~.views.summary` of the delivery.
    :param payload: Its payload.
    """
    fields = (
        ("Delivery id", row["delivery_id"]),
        ("Channel", row["channel"]),
        ("Event", row["event"]),
        ("Event timestamp (as sent)", row["event_timestamp"]),
        ("Received (UTC)", _time(row["received_at"])),
        ("Outcome", row["outcome"]),
        ("Asset event", row["asset_event_id"]),
        ("Recorded (UTC)", _time(row["recorded_at"])),
        ("Size (bytes)", row["payload_bytes"]),
    )
    items = "".join(f"<dt>{e(name)}</dt><dd>{e(value)}</dd>" for name, value in fields)
    deliveries = "".join(
        f"<tr><td>{e(d.get('hook_id'))}</td><td>{e(d.get('secret_ref'))}</td>"
        f"<td>{'yes' if d.get('hook_id_mismatch') else 'no'}</td></tr>"
        for d in row["deliveries"]
    )
    body = (
        f'<p><a href="{e(root + LIST_PATH)}">All deliveries</a></p>'
        f'<dl class="fields">{items}</dl>'
        "<h2>Delivered by</h2>"
        '<table class="deliveries"><thead><tr><th>Hook id</th><th>Secret ref</th><th>Hook id mismatch</th></tr>'
        f"</thead><tbody>{deliveries}</tbody></table>"
        f"<h2>Payload</h2>{payload_block(payload, limit=None)}"
    )
    return _document(root, f"DailyBot delivery {row['delivery_id']}", body)


def message_document(root: str, title: str, text: str) -> str:
    """Return a page that only says ``text`` (forbidden, not found, unavailable).

    :param root: The receiver's mount path.
    :param title: The heading.
    :param text: The message.
    """
    return _document(root, title, f'<p class="message">{e(text)}</p>')
