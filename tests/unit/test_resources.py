"""Pure helpers: identifiers, pages, origins, dates and request bodies (no I/O)."""

from __future__ import annotations

import datetime as dt

import pytest

from airflow_provider_dailybot.payloads import build_kudos_payload, build_message_payload
from airflow_provider_dailybot.resources import (
    as_date,
    date_range,
    identifier_list,
    resource_id,
    same_origin,
    split_page,
)


def test_resource_id_reads_uuid_then_id() -> None:
    assert resource_id({"uuid": "u-1", "id": 7}) == "u-1"
    assert resource_id({"id": 7}) == "7"
    assert resource_id({"uuid": "", "id": "c-1"}) == "c-1"
    assert resource_id({"uuid": None}) is None
    assert resource_id({"id": True}) is None
    assert resource_id(["uuid"]) is None


def test_split_page_accepts_envelopes_and_bare_lists() -> None:
    assert split_page([{"a": 1}]) == ([{"a": 1}], None)
    assert split_page(None) == ([], None)
    assert split_page({"results": [1], "next": "https://x/v1/u/?page=2"}) == ([1], "https://x/v1/u/?page=2")
    for last in (None, False, ""):
        assert split_page({"count": 1, "next": last, "results": [1]}) == ([1], None)
    with pytest.raises(ValueError, match="'results' list"):
        split_page({"detail": "x"})
    with pytest.raises(ValueError, match="'next' must be a URL"):
        split_page({"results": [], "next": 2})
    with pytest.raises(ValueError, match="paginated envelope"):
        split_page("text")


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://api.dailybot.com/v1/users/?offset=2", True),
        ("https://API.dailybot.com:443/v1/users/", True),
        ("http://api.dailybot.com/v1/users/", False),
        ("https://api.dailybot.com:8443/v1/users/", False),
        ("https://api.dailybot.com.evil.io/v1/users/", False),
        ("https://evil.io/v1/users/", False),
        ("https://api.dailybot.com:bad/v1/", False),
    ],
)
def test_same_origin(url: str, expected: bool) -> None:
    assert same_origin(url, "https://api.dailybot.com/v1/") is expected


def test_dates() -> None:
    assert as_date("2025-01-08", "d") == dt.date(2025, 1, 8)
    assert as_date("2025-01-08T23:59:00Z", "d") == dt.date(2025, 1, 8)
    assert as_date(dt.datetime(2025, 1, 8, 5), "d") == dt.date(2025, 1, 8)
    assert date_range(dt.date(2025, 1, 6), "2025-01-06") == ("2025-01-06", "2025-01-06")
    with pytest.raises(ValueError, match="date_end 2025-01-05 is before"):
        date_range("2025-01-06", "2025-01-05")
    with pytest.raises(ValueError, match="YYYY-MM-DD"):
        as_date(20250106, "date_start")


def test_identifier_lists() -> None:
    assert identifier_list(None, "x") == []
    assert identifier_list("a", "x") == ["a"]
    assert identifier_list(["a", "b", "a", 3], "x") == ["a", "b", "3"]
    upper = "2C4E6A80-1B3D-4F5A-8C7E-9D0F1A2B3C01"
    assert identifier_list([upper], "x", uuids=True) == [upper.lower()]
    with pytest.raises(TypeError, match="list of identifiers"):
        identifier_list({"a": 1}, "x")
    with pytest.raises(TypeError, match="string"):
        identifier_list([None], "x")


def test_message_payload_keeps_only_what_is_given() -> None:
    team = "7a9b1c3d-5e7f-4a1b-9c3d-5e7f9a1b3c01"
    assert build_message_payload(message="hi", target_teams=team) == {"message": "hi", "target_teams": [team]}
    with pytest.raises(ValueError, match="more than one callback"):
        build_message_payload(
            message="hi", target_teams=team, buttons=[{"label": "x", "callback_url": "u", "callback_form": "f"}]
        )
    with pytest.raises(TypeError, match="item 'id'"):
        build_message_payload(message="hi", target_channels=[{"thread": "1"}])


def test_kudos_payload() -> None:
    user = "2c4e6a80-1b3d-4f5a-8c7e-9d0f1a2b3c02"
    assert build_kudos_payload(receivers=user, content="thanks") == {
        "receivers": [user],
        "content": "thanks",
        "is_anonymous": False,
        "by_dailybot": False,
    }
    with pytest.raises(ValueError, match="company_value must not be empty"):
        build_kudos_payload(receivers=user, content="thanks", company_value="")
