"""Unit tests of the pure modules behind the hook's hardening: scrubbing, summaries, shapes, pagination,
connection limits and the bounded body decoder."""

from __future__ import annotations

import base64
import gzip
import json
import sys
import zlib
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any
from urllib.parse import quote, quote_plus

import pytest

from airflow_provider_dailybot import scrubbing, shapes
from airflow_provider_dailybot.bounded_http import ExchangeFailure, _Decoder
from airflow_provider_dailybot.connection import (
    DailyBotConnectionError,
    DailyBotConnectionSettings,
    validate_api_key,
    validate_overrides,
)
from airflow_provider_dailybot.exceptions import DailyBotError, format_error_message
from airflow_provider_dailybot.pagination import LinkRefused, normalise_path, resolve_next, within
from airflow_provider_dailybot.summaries import SUMMARY_PREFIX_CHARS, describe_value, summarise_page

SECRET = 'unit"Secret\\/+%&=<>' + "9f8e7d6c5b4a3210" * 2


@pytest.fixture(autouse=True)
def _registered():
    scrubbing.register_secret(SECRET)


# -- scrubbing ------------------------------------------------------------------------------------

_ENCODED = {
    "raw": SECRET,
    "repr": repr(SECRET)[1:-1],
    "repr of repr": repr(repr(SECRET)[1:-1])[1:-1],
    "json": json.dumps(SECRET)[1:-1],
    "quote": quote(SECRET, safe=""),
    "quote lower hex": quote(SECRET, safe="").replace("%2F", "%2f").replace("%5C", "%5c").replace("%3C", "%3c"),
    "quote_plus lower hex": quote_plus(SECRET).lower().replace("unit", "unit").replace("secret", "Secret"),
    "quote_plus": quote_plus(SECRET),
    "base64": base64.b64encode(SECRET.encode()).decode(),
    "urlsafe base64": base64.urlsafe_b64encode(SECRET.encode()).decode().rstrip("="),
}


@pytest.mark.parametrize("name", sorted(_ENCODED))
def test_every_encoding_of_a_secret_is_scrubbed(name):
    text = f"before {_ENCODED[name]} after"
    assert scrubbing.scrub(text) == "before *** after"


def test_a_cut_never_leaves_a_prefix_of_a_secret():
    for form in _ENCODED.values():
        text = "x" * 37 + form + " tail"
        for limit in range(30, len(text) + 2):
            shown = scrubbing.cut(text, limit)
            assert len(shown) <= limit
            for length in range(scrubbing.MIN_PARTIAL_CHARS, len(form) + 1):
                assert form[:length] not in shown, (limit, shown)


def test_scrub_prefix_finds_a_secret_straddling_the_cut_and_reads_only_the_window(monkeypatch):
    text = "a" * 95 + SECRET + "b" * 10_000_000
    scrubbed: list[int] = []
    real_scrub = scrubbing.scrub

    def spy(value: str, **kwargs: Any) -> str:
        scrubbed.append(len(value))
        return real_scrub(value, **kwargs)

    monkeypatch.setattr(scrubbing, "scrub", spy)
    prefix, cut = scrubbing.scrub_prefix(text, 100)
    assert scrubbed, "scrub_prefix scrubbed nothing"
    assert max(scrubbed) < 1_000  # the window past the cut; the 10 MB tail is never scanned
    assert cut is True
    assert prefix.startswith("a" * 95)
    assert SECRET[:3] not in prefix


def test_errors_scrub_before_they_cut_even_without_the_hook():
    detail = "d" * 280 + SECRET
    error = DailyBotError(
        format_error_message(method="GET", path="/v1/me/", status_code=500, code=SECRET, detail=detail),
        code=SECRET,
        detail=detail,
    )
    for text in (str(error), repr(error), error.detail or "", error.code or ""):
        assert SECRET[:6] not in text


def test_scrub_value_bounds_and_scrubs_nested_values():
    value = {"a": [SECRET] * 500, "b": {"c": {"d": {"e": {"f": SECRET}}}}, "long": "z" * 5000}
    bounded = scrubbing.scrub_value(value)
    assert len(bounded["a"]) == scrubbing.MAX_VALUE_ITEMS
    assert bounded["a"][0] == "***"
    assert len(bounded["long"]) <= scrubbing.MAX_VALUE_CHARS
    assert SECRET[:6] not in json.dumps(bounded)


# -- summaries ----------------------------------------------------------------------------------------


def _lines_run(call: Callable[[], Any], budget: int) -> tuple[Any, int]:
    """Run ``call`` and count the Python lines it executes; stop it once it exceeds ``budget``."""
    lines = 0

    def tracer(frame: Any, event: str, arg: Any) -> Any:
        nonlocal lines
        if event == "line":
            lines += 1
            if lines > budget:
                raise AssertionError(f"more than {budget} lines executed: not linear in the prefix")
        return tracer

    sys.settrace(tracer)
    try:
        return call(), lines
    finally:
        sys.settrace(None)


@pytest.mark.parametrize(
    "page",
    [
        "<" * 2**20,
        "<a" * 2**19,
        "<title>" * 150_000,
        "<html><title>" + "x" * 2**20,
        "<TITLE><h1>" * 100_000,
        "</title" * 150_000,
        "<title " + ">" * 2**20,
    ],
    ids=["lt", "nested", "title-flood", "open-title", "mixed", "close-flood", "gt-flood"],
)
def test_summaries_of_pathological_pages_take_linear_time(page):
    # The work, counted without a clock: Python lines executed. A constant number per character of the
    # prefix read (about 1.5 for the worst page); the quadratic version needed minutes for 1 MiB.
    budget = 4 * SUMMARY_PREFIX_CHARS
    summary, lines = _lines_run(lambda: summarise_page(page), budget)
    assert lines <= budget
    assert summary is None or len(summary) <= 200


@pytest.mark.parametrize(
    ("page", "summary"),
    [
        ("<html><head><TITLE>Server Error (500)</TITLE></head><body>x</body></html>", "Server Error (500)"),
        ("<h1 class='x'>Bad <b>Gateway</b></h1>", "Bad Gateway"),
        ("<titlebar>no</titlebar><h1>yes</h1>", "yes"),
        ("plain text\n\n error", "plain text error"),
        ("<p>ok</p><unclosed", "ok"),
        ("", None),
        ("<br><br>", None),
    ],
)
def test_summaries_keep_the_gist(page, summary):
    assert summarise_page(page) == summary


def test_describe_value_names_shapes_without_showing_values():
    assert describe_value(None).startswith("no JSON value")
    assert describe_value([1, 2]) == "a list of 2 items"
    assert describe_value("abc") == "a string of 3 characters"
    assert describe_value({SECRET: 1}) == "an object with keys ['***']"
    assert describe_value({str(i): i for i in range(20)}).endswith("and 12 more")


# -- shapes -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "names"),
    [
        ({"user": "Grace Hopper", "organization_uuid": "o-1", "organization_name": "Navy"}, ("Grace Hopper", "Navy")),
        ({"uuid": "u-1", "full_name": "Ada", "organization": {"uuid": "o", "name": "Acme"}}, ("Ada", "Acme")),
        ({"uuid": "u-1", "organization": {"uuid": "o-1"}}, ("u-1", "o-1")),
        ({"username": "ada", "organization": "Acme"}, ("ada", "Acme")),
    ],
)
def test_profile_is_tolerant_of_every_documented_form(body, names):
    assert shapes.profile(body) is body
    assert shapes.profile_names(body) == names


@pytest.mark.parametrize(
    "body",
    [None, [], "me", 3, {}, {"status": "ok"}, {"uuid": "team-1", "name": "Engineering"}, {"full_name": "  "}],
)
def test_anything_else_is_not_a_profile(body):
    with pytest.raises(shapes.UnexpectedShape, match="profile"):
        shapes.profile(body)


def test_list_pages_and_other_shapes():
    assert shapes.list_page([{"a": 1}]) == ([{"a": 1}], None)
    with pytest.raises(shapes.UnexpectedShape, match="empty body"):
        shapes.list_page(None)
    with pytest.raises(shapes.UnexpectedShape, match="'next' must be a URL"):
        shapes.list_page({"results": [], "next": 3})
    assert shapes.action_answer("x", empty_ok=True)(None) == {}
    with pytest.raises(shapes.UnexpectedShape):
        shapes.action_answer("x", empty_ok=False)(None)
    with pytest.raises(shapes.UnexpectedShape, match="no id"):
        shapes.created_subscription({"id": True})
    with pytest.raises(shapes.UnexpectedShape, match="'event' name"):
        shapes.sample_envelope({"event": "kudos.posted", "body": "x"})


# -- pagination ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "normalised", "inside"),
    [
        ("/v1/users/", "/v1/users/", True),
        ("/v1/users/./", "/v1/users/", True),
        ("/v1/teams/../users/", "/v1/users/", True),
        ("/v1//users//", "/v1/users/", True),
        ("/v1/../outside/", "/outside/", False),
        ("/v1/users/../../outside/secret-endpoint/", "/outside/secret-endpoint/", False),
        ("/v1/%2e%2e/outside", "/outside", False),
        ("/v1/%2E%2e/outside", "/outside", False),
        ("/v1/users/..;/..;/x", "/x", False),
        ("/v1", "/v1", False),
    ],
)
def test_normalise_path(path, normalised, inside):
    assert normalise_path(path) == normalised
    assert within(path, "/v1/") is inside


@pytest.mark.parametrize(
    "path", ["/v1/users/..%2f..%2foutside/", "/v1/users/%252e%252e/%252e%252e/x/", "/v1/users/..\\..\\x/"]
)
def test_a_lenient_servers_reading_counts_too(path):
    assert within(path, "/v1/") is False


def test_resolve_next():
    base = "https://api.dailybot.com/v1/"
    assert resolve_next(base + "users/", "?offset=2", base) == (base + "users/", "users/", {"offset": "2"})
    url, path, params = resolve_next(base + "users/", "https://API.dailybot.com:443/v1/x/../users/?a=1&a=2", base)
    assert (url, path, params) == (base + "users/", "users/", {"a": ["1", "2"]})
    for link, reason in [
        ("https://evil.example.com/v1/users/", "another origin"),
        ("http://api.dailybot.com/v1/users/", "another origin"),
        ("//evil.example.com/v1/users/", "another origin"),
        ("/v1/../../outside/", "outside /v1/"),
        ("/v1/users/?x=" + "c" * 9000, "characters"),
        ("/v1/users/\r\nX: 1", "control characters"),
    ]:
        with pytest.raises(LinkRefused, match=reason):
            resolve_next(base + "users/", link, base)


# -- connection limits and the API key ----------------------------------------------------------------


def _conn(**overrides):
    values = {"conn_id": "db", "password": SECRET, "host": None, "port": None, "extra_dejson": {}}
    values.update(overrides)
    return SimpleNamespace(**values)


def test_limits_defaults_extras_and_arguments():
    default = DailyBotConnectionSettings.from_connection(_conn())
    assert (default.total_timeout, default.max_response_bytes, default.max_pages) == (120.0, 16 * 2**20, 10_000)
    extras = {"timeout": 200, "max_response_bytes": "4096", "max_pages": 7}
    settings = DailyBotConnectionSettings.from_connection(_conn(extra_dejson=extras))
    assert (settings.total_timeout, settings.max_response_bytes, settings.max_pages) == (200.0, 4096, 7)
    settings = DailyBotConnectionSettings.from_connection(_conn(extra_dejson=extras), total_timeout=300, max_pages=2)
    assert (settings.total_timeout, settings.max_pages) == (300.0, 2)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"timeout": 30, "total_timeout": 5}, r"total_timeout \(5 s\) must not be below timeout \(30 s\)"),
        ({"max_response_bytes": 100}, "at least 1024"),
        ({"max_response_bytes": "lots"}, "'max_response_bytes' must be a number"),
        ({"total_timeout": "inf"}, "'total_timeout' must be positive"),
        ({"timeout": "nan"}, "'timeout' must be positive"),
        ({"max_pages": 0}, "'max_pages' must be positive"),
    ],
)
def test_bad_limits_are_named(extra, message):
    with pytest.raises(DailyBotConnectionError, match=rf"Connection 'db'.*{message}"):
        DailyBotConnectionSettings.from_connection(_conn(extra_dejson=extra))


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"total_timeout": 0}, ValueError),
        ({"total_timeout": float("inf")}, ValueError),
        ({"timeout": 10, "total_timeout": 5}, ValueError),
        ({"max_response_bytes": 10}, ValueError),
        ({"max_response_bytes": 2.5}, TypeError),
        ({"max_pages": True}, TypeError),
    ],
)
def test_bad_hook_arguments(kwargs, error):
    with pytest.raises(error):
        validate_overrides(**kwargs)


def test_a_bare_host_is_remembered_as_implicit_https():
    assert DailyBotConnectionSettings.from_connection(_conn(host="127.0.0.1:8765")).implicit_https is True
    assert DailyBotConnectionSettings.from_connection(_conn(host="https://x.example")).implicit_https is False
    assert DailyBotConnectionSettings.from_connection(_conn()).implicit_https is False


def test_api_key_validation_says_what_and_where_never_the_key():
    assert validate_api_key("sk-live-ok_Key.123", "db") == "sk-live-ok_Key.123"
    with pytest.raises(DailyBotConnectionError) as excinfo:
        validate_api_key("secretpart\nrest", "db")
    assert str(excinfo.value).startswith(
        "Connection 'db': the DailyBot API key contains a space or line break at position 11"
    )
    assert "secret" not in str(excinfo.value)
    with pytest.raises(DailyBotConnectionError, match="more than 4096"):
        validate_api_key("k" * 5000, "db")


# -- the bounded decoder ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("encoding", "data"),
    [
        # mtime=0: the same bytes in every process, so pytest-xdist workers collect the same test ids
        ("gzip", gzip.compress(b"hello world", mtime=0)),
        ("gzip", gzip.compress(b"hello ", mtime=0) + gzip.compress(b"world", mtime=0)),
        ("deflate", zlib.compress(b"hello world")),
        ("deflate", zlib.compress(b"hello world")[2:-4]),  # a raw deflate stream, as some servers send
        ("identity", b"hello world"),
        (None, b"hello world"),
    ],
    ids=["gzip", "gzip-two-members", "zlib", "raw-deflate", "identity", "no-encoding"],
)
def test_decoder_handles_what_servers_send(encoding, data):
    decoder = _Decoder(encoding)
    out = b"".join(decoder.feed(data[i : i + 3], 1000) for i in range(0, len(data), 3)) + decoder.flush(1000)
    assert out == b"hello world"


def test_decoder_stops_a_bomb_at_the_limit():
    decoder = _Decoder("gzip")
    out = decoder.feed(gzip.compress(b"\0" * 10_000_000), 1001)
    assert len(out) == 1001  # the caller sees one byte over its cap and stops


def test_decoder_refuses_what_it_did_not_ask_for():
    with pytest.raises(ExchangeFailure, match="unsupported Content-Encoding 'br'"):
        _Decoder("br")
