"""The delivery log's filters: every value from a query string or a command line is checked and bounded."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from airflow_provider_dailybot.delivery_log.filters import (
    DEFAULT_PAGE_SIZE,
    MAX_PAGE_SIZE,
    STORED_OUTCOMES,
    DeliveryFilter,
    InvalidFilter,
    checked_delivery_id,
    parse_filter,
    parse_time,
)


def test_an_empty_form_is_no_filter_with_the_default_page_size():
    # An HTML GET form sends every field, empty ones included.
    flt = parse_filter({"channel": "", "event": " ", "outcome": "", "since": "", "until": "", "limit": ""})
    assert flt == DeliveryFilter()
    assert flt.limit == DEFAULT_PAGE_SIZE


def test_every_field_is_parsed():
    flt = parse_filter({
        "channel": "check-ins_2",
        "event": "followups.response.completed",
        "outcome": "no_consumer",
        "since": "2026-01-31T12:00",
        "until": "2026-02-01T00:00:00Z",
        "limit": "25",
        "before_id": "1234",
        "unknown": "ignored",
    })  # fmt: skip
    assert flt == DeliveryFilter(
        channel="check-ins_2",
        event="followups.response.completed",
        outcome="no_consumer",
        since=datetime(2026, 1, 31, 12, tzinfo=timezone.utc),
        until=datetime(2026, 2, 1, tzinfo=timezone.utc),
        limit=25,
        before_id=1234,
    )
    assert flt.store_kwargs(extra_rows=1)["limit"] == 26


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("channel", "Checkins"),  # upper case is not a channel name
        ("channel", "a" * 65),
        ("channel", "<script>"),
        ("event", "followups response"),
        ("event", "e" * 129),
        ("event", '"><img>'),
        ("outcome", "duplicate"),  # a duplicate has no row of its own
        ("since", "yesterday"),
        ("since", "2026-01-31T12:00" + "0" * 40),
        ("limit", "0"),
        ("limit", str(MAX_PAGE_SIZE + 1)),
        ("limit", "-5"),
        ("limit", "1e3"),
        ("before_id", "0"),
        ("before_id", "9" * 19),
        ("before_id", "abc"),
    ],
)
def test_a_malformed_or_out_of_range_value_is_refused_naming_its_field(field: str, value: str):
    with pytest.raises(InvalidFilter) as raised:
        parse_filter({field: value})
    assert str(raised.value).startswith(field)
    assert value not in str(raised.value) or len(value) < 3  # the message does not echo the input back


def test_the_largest_page_is_accepted():
    assert parse_filter({"limit": str(MAX_PAGE_SIZE)}).limit == MAX_PAGE_SIZE


def test_since_must_be_earlier_than_until():
    with pytest.raises(InvalidFilter, match="since must be earlier than until"):
        parse_filter({"since": "2026-01-31T12:00", "until": "2026-01-31T12:00"})


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-01-31T12:00", datetime(2026, 1, 31, 12, tzinfo=timezone.utc)),  # no zone: UTC
        ("2026-01-31T12:00:05Z", datetime(2026, 1, 31, 12, 0, 5, tzinfo=timezone.utc)),
        ("2026-01-31T14:00+02:00", datetime(2026, 1, 31, 12, tzinfo=timezone.utc)),
        ("2026-01-31", datetime(2026, 1, 31, tzinfo=timezone.utc)),
    ],
)
def test_times_are_iso_8601_and_come_back_in_utc(text: str, expected: datetime):
    parsed = parse_time(text, "since")
    assert parsed == expected
    assert parsed is not None
    assert parsed.utcoffset() == timedelta(0)


def test_query_params_round_trip_and_carry_only_what_is_set():
    flt = parse_filter({"channel": "checkins", "since": "2026-01-31T12:00", "limit": "100"})
    params = flt.query_params(before_id=77)
    assert params == {"channel": "checkins", "since": "2026-01-31T12:00:00+00:00", "limit": "100", "before_id": "77"}
    assert parse_filter(params) == DeliveryFilter(channel="checkins", since=flt.since, limit=100, before_id=77)
    assert DeliveryFilter().query_params() == {}


def test_delivery_ids_are_uuids():
    assert checked_delivery_id(" 3F0C2A9E-5B1D-4C1E-9A57-2F6F1E0F4B7D ") == "3f0c2a9e-5b1d-4c1e-9a57-2f6f1e0f4b7d"
    for bad in ("", "../etc/passwd", "x" * 37, "<script>", "0" * 37):
        with pytest.raises(InvalidFilter):
            checked_delivery_id(bad)


def test_the_outcomes_offered_are_the_store_s():
    from airflow_provider_dailybot.store.models import OUTCOMES

    assert set(STORED_OUTCOMES) == set(OUTCOMES)
