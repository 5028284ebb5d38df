"""The shared argument checks (URLs, positive numbers, booleans) and that each caller uses them."""

from __future__ import annotations

import math

import pytest

from airflow_provider_dailybot import validation


@pytest.mark.parametrize(
    ("value", "kwargs", "error", "message"),
    [
        (42, {}, TypeError, "u must be a string"),
        ("ftp://h.example.com/", {}, ValueError, "absolute http"),
        ("https:///path", {}, ValueError, "absolute http"),
        ("https://h.example.com/a b", {}, ValueError, "spaces or control"),
        ("https://h.example.com:99999/", {}, ValueError, "invalid port"),
        ("https://h.example.com/?q=1", {"query": False}, ValueError, "without query or fragment"),
        ("https://u:p@h.example.com/", {}, ValueError, "credentials"),
    ],
)
def test_http_url_refuses(value, kwargs, error, message):
    with pytest.raises(error, match=message):
        validation.http_url(value, "u", **kwargs)


def test_http_url_accepts_and_returns_the_parts():
    parts = validation.http_url(" https://u:p@h.example.com:8443/x?q=1 ", "u", credentials=True)
    assert (parts.hostname, parts.port, parts.query) == ("h.example.com", 8443, "q=1")


@pytest.mark.parametrize("value", [0, -1, True, math.inf, math.nan, "5", None])
def test_positive_seconds_refuses(value):
    with pytest.raises(ValueError, match="t must be a positive number of seconds"):
        validation.positive_seconds(value, "t")


@pytest.mark.parametrize(
    ("value", "integer", "expected"),
    [(None, False, None), ("", False, None), ("2.5", False, 2.5), (3, True, 3), ("7", True, 7)],
)
def test_parse_positive(value, integer, expected):
    assert validation.parse_positive(value, "x", integer=integer) == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [(True, "must be a number"), ("abc", "must be a number"), ("0", "must be positive"), ("inf", "must be positive")],
)
def test_parse_positive_refuses(value, message):
    with pytest.raises(ValueError, match=f"x {message}"):
        validation.parse_positive(value, "x")


@pytest.mark.parametrize(("value", "expected"), [("yes", True), ("Off", False), (True, True), ("", None), (None, None)])
def test_parse_boolean(value, expected):
    assert validation.parse_boolean(value, "b") is expected


def test_parse_boolean_and_int_refuse():
    with pytest.raises(ValueError, match="b must be true or false"):
        validation.parse_boolean("maybe", "b")
    with pytest.raises(ValueError, match="n must be at least 1, got 0"):
        validation.parse_int("0", "n", minimum=1)
    with pytest.raises(ValueError, match="n must be an integer"):
        validation.parse_int("1.5", "n", minimum=1)


def test_the_callers_share_the_checks():
    from airflow_provider_dailybot.connection import validate_overrides
    from airflow_provider_dailybot.hooks.subscriptions import validate_hook_url
    from airflow_provider_dailybot.triggers.checkin_responses import DailyBotNewCheckinResponsesTrigger
    from airflow_provider_dailybot.webhooks import config

    with pytest.raises(ValueError, match=r"hook_url .* has an invalid port"):
        validate_hook_url("https://h.example.com:0x/")
    with pytest.raises(ValueError, match="timeout must be a positive number of seconds"):
        validate_overrides(timeout=math.nan)
    with pytest.raises(ValueError, match="spaces or control"):
        config._checked_base("https://h.example.com/a\tb", "[api] base_url")
    with pytest.raises(ValueError, match="poll_interval must be a positive number of seconds"):
        DailyBotNewCheckinResponsesTrigger(checkin_id="c", poll_interval=0)
