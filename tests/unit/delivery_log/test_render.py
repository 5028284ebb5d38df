"""The delivery log's HTML: every value escaped, in text and in attributes; no script, no inline style."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any

from airflow_provider_dailybot.delivery_log import render
from airflow_provider_dailybot.delivery_log.filters import DeliveryFilter
from airflow_provider_dailybot.delivery_log.views import (
    PREVIEW_CHARS,
    SOURCE_ASSET_EVENT,
    SOURCE_NOT_LOADED,
    SOURCE_STORED,
    SOURCE_UNAVAILABLE,
    DeliveryPage,
    Payload,
)

HOSTILE = "\"'><script>alert(1)</script><img src=x onerror=alert(2)>&amp;"


class _Collector(HTMLParser):
    """Every start tag with its attributes, and the text, as a browser's parser sees them."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _parse(document: str) -> _Collector:
    collector = _Collector()
    collector.feed(document)
    return collector


def _row(**changes: Any) -> dict[str, Any]:
    row = {
        "id": 7,
        "delivery_id": "3f0c2a9e-5b1d-4c1e-9a57-2f6f1e0f4b7d",
        "channel": "checkins",
        "event": "followups.response.completed",
        "event_timestamp": HOSTILE,
        "hook_id": HOSTILE,
        "deliveries": [{"hook_id": HOSTILE, "secret_ref": HOSTILE, "hook_id_mismatch": True}],
        "received_at": "2026-01-31T12:00:03.123456+00:00",
        "outcome": "recorded",
        "asset_event_id": 42,
        "recorded_at": "2026-01-31T12:00:03.200000+00:00",
        "payload_bytes": 120,
    }
    row.update(changes)
    return row


def _assert_inert(document: str) -> _Collector:
    parsed = _parse(document)
    tags = [tag for tag, _ in parsed.tags]
    assert "script" not in tags
    assert "img" not in tags
    assert "iframe" not in tags
    assert "style" not in tags
    for tag, attrs in parsed.tags:
        assert not any(name.startswith("on") for name in attrs), (tag, attrs)  # no event handler attribute
        assert "style" not in attrs, (tag, attrs)  # the CSP allows no inline style
    assert parsed.tags.count(("link", {"rel": "stylesheet", "href": "/dailybot" + render.STYLESHEET})) == 1
    return parsed


def test_the_list_page_escapes_every_value_and_runs_nothing():
    payload = Payload(SOURCE_ASSET_EVENT, {"body": {"text": HOSTILE}})
    page = DeliveryPage([_row()], {7: payload}, next_before_id=6)
    document = render.list_document("/dailybot", DeliveryFilter(channel="checkins"), page, ["checkins"])
    parsed = _assert_inert(document)
    text = "".join(parsed.text)
    assert HOSTILE in text  # the hook id, as text
    assert HOSTILE.replace('"', '\\"') in text  # inside the payload's JSON
    assert "hook id mismatch" in text


def test_filter_values_are_escaped_in_the_form_attributes():
    # The page shows a filter back in value="..."; it is validated first, but escaped all the same.
    flt = DeliveryFilter(channel='a"><script>', event="e")
    document = render.list_document("/dailybot", flt, None, [HOSTILE], error=HOSTILE)
    parsed = _assert_inert(document)
    inputs = {attrs.get("name"): attrs.get("value") for tag, attrs in parsed.tags if tag == "input"}
    assert inputs["channel"] == 'a"><script>'
    options = [attrs.get("value") for tag, attrs in parsed.tags if tag == "option" and attrs.get("value") == HOSTILE]
    assert options == [HOSTILE]  # the channel list entry, intact as an attribute value
    assert HOSTILE in "".join(parsed.text)  # the error message, as text


def test_pagination_links_keep_the_filter_and_page_by_row_id():
    flt = DeliveryFilter(channel="checkins", outcome="recorded", limit=25, before_id=90)
    document = render.list_document("/airflow/dailybot", flt, DeliveryPage([_row()], {}, next_before_id=7), [])
    anchors = [attrs for tag, attrs in _parse(document).tags if tag == "a"]
    base = "/airflow/dailybot/ui/deliveries?channel=checkins&outcome=recorded&limit=25"
    older = [a["href"] for a in anchors if a.get("rel") == "next"]
    assert older == [base + "&before_id=7"]
    assert base in [a["href"] for a in anchors]  # "Newest": the same filter, no cursor


def test_no_older_link_on_the_last_page():
    document = render.list_document("/dailybot", DeliveryFilter(), DeliveryPage([_row()], {}, None), [])
    assert 'rel="next"' not in document
    assert "No deliveries match" in render.list_document("/dailybot", DeliveryFilter(), DeliveryPage([], {}, None), [])


def test_a_row_links_to_its_delivery_page_with_the_id_encoded():
    document = render.list_document("/dailybot", DeliveryFilter(), DeliveryPage([_row()], {}, None), [])
    hrefs = [attrs["href"] for tag, attrs in _parse(document).tags if tag == "a" and "/ui/deliveries/" in attrs["href"]]
    assert hrefs == ["/dailybot/ui/deliveries/3f0c2a9e-5b1d-4c1e-9a57-2f6f1e0f4b7d"]


def test_a_list_preview_is_cut_and_says_how_much_is_left():
    long_text = "x" * (PREVIEW_CHARS * 2)
    block = render.payload_block(Payload(SOURCE_STORED, {"t": long_text}), limit=PREVIEW_CHARS)
    shown = "".join(_parse(block).text)
    assert len(shown) < PREVIEW_CHARS + 60
    assert re.search(r"… \(\d+ more characters\)$", shown)


def test_payloads_that_are_not_shown_say_why():
    assert "open the delivery" in render.payload_block(Payload(SOURCE_NOT_LOADED), limit=PREVIEW_CHARS)
    assert "airflow db clean" in render.payload_block(Payload(SOURCE_UNAVAILABLE), limit=None)
    assert "open the delivery" in render.payload_block(None, limit=PREVIEW_CHARS)


def test_a_stored_payload_that_is_not_json_is_shown_as_escaped_text():
    block = render.payload_block(Payload(SOURCE_STORED, None, HOSTILE), limit=None)
    parsed = _parse(block)
    assert [tag for tag, _ in parsed.tags] == ["pre"]
    assert "".join(parsed.text) == HOSTILE


def test_the_delivery_page_escapes_fields_deliveries_and_payload():
    payload = Payload(SOURCE_ASSET_EVENT, {"body": {"text": HOSTILE}})
    document = render.detail_document("/dailybot", _row(), payload)
    parsed = _assert_inert(document)
    text = "".join(parsed.text)
    assert text.count(HOSTILE) >= 3  # event timestamp, hook id, secret ref
    assert "2026-01-31 12:00:03" in text


def test_message_pages_escape_their_text():
    _assert_inert(render.message_document("/dailybot", HOSTILE, HOSTILE))
