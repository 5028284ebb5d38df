"""The hook-side findings of the hostile-input review (issue 11, rows 1-5, 7, 8), one focused test each.

The generated matrix in ``test_hostile_server.py`` covers every method against every mode; these tests
pin the exact scenarios the review reported, with the limits it used, plus the retry rules and the
bare-host hint around them.
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import threading
import time
import tracemalloc
from typing import Any

import pytest

from airflow_provider_dailybot.connection import DailyBotConnectionError
from airflow_provider_dailybot.exceptions import (
    DailyBotError,
    DailyBotResponseTooLargeError,
    DailyBotServerError,
    DailyBotTimeoutError,
    DailyBotTransportError,
    DailyBotUnexpectedResponseError,
)
from airflow_provider_dailybot.hooks.dailybot import DailyBotHook
from airflow_provider_dailybot.retries import RetryPolicy
from tests.conftest import API_KEY
from tests.unit.hooks.hostile_dailybot import HostileDailyBot
from tests.unit.hooks.test_hostile_server import KEY_40, KEY_600, leak_markers

HOOK_URL = "https://airflow.example.com/dailybot/webhooks/standups"


@pytest.fixture
def hostile():
    with HostileDailyBot() as server:
        yield server


def _in_thread(call: Any, budget: float) -> tuple[Any, BaseException | None, float]:
    """Run ``call`` and give up waiting after ``budget`` seconds (a hung call fails the test, not the run)."""
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["result"] = call()
        except BaseException as err:
            outcome["error"] = err

    started = time.monotonic()
    worker = threading.Thread(target=target, daemon=True)
    worker.start()
    worker.join(budget)
    elapsed = time.monotonic() - started
    if worker.is_alive():
        pytest.fail(f"still running after {budget} s", pytrace=False)
    return outcome.get("result"), outcome.get("error"), elapsed


def _in_child(call: Any, budget: float) -> tuple[str, str, float]:
    """Run ``call`` in a forked child and kill it after ``budget`` seconds.

    For CPU-bound hangs: a regular expression that goes quadratic holds the GIL for its whole
    match, so a thread could not even be waited for. Returns ``(outcome, message, elapsed)``, the
    outcome being ``"result"`` or the exception's class name.
    """
    context = multiprocessing.get_context("fork")
    reader, writer = context.Pipe(duplex=False)

    def target() -> None:
        started = time.monotonic()
        try:
            call()
            outcome = ("result", "")
        except BaseException as err:
            outcome = (type(err).__name__, str(err)[:500])
        writer.send((*outcome, time.monotonic() - started))

    process = context.Process(target=target, daemon=True)
    process.start()
    try:
        if not reader.poll(budget):
            pytest.fail(f"still running after {budget} s", pytrace=False)
        return reader.recv()
    finally:
        process.kill()
        process.join(5)


def _no_leak(key: str, *texts: str) -> None:
    for marker in leak_markers(key):
        for text in texts:
            assert marker not in text, f"{marker!r} (a prefix of the key) in {text[:400]!r}"


# -- row 1: unbounded body -------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["endless", "endless_chunked", "huge_undeclared", "gzip_bomb"])
def test_row1_an_endless_or_huge_body_stops_at_max_response_bytes(hostile, set_dailybot_connection, mode):
    hostile.mode = mode
    set_dailybot_connection(hostile.base_url, timeout=2, max_response_bytes=1024 * 1024)
    hook = DailyBotHook(max_attempts=1)
    tracemalloc.start()
    try:
        _, error, elapsed = _in_thread(hook.get_me, 15)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert isinstance(error, DailyBotResponseTooLargeError), repr(error)
    assert error.status_code == 200
    assert "max_response_bytes (1048576)" in str(error)
    assert peak < 8 * 1024 * 1024, f"peak Python memory {peak / 2**20:.1f} MiB for a 1 MiB cap"
    assert elapsed < 5


def test_row1_a_declared_length_over_the_cap_is_refused_before_reading(hostile, set_dailybot_connection):
    hostile.mode = "huge"
    set_dailybot_connection(hostile.base_url, max_response_bytes=64 * 1024)
    with pytest.raises(DailyBotResponseTooLargeError, match="declares"):
        DailyBotHook().get_me()


def test_row1_an_oversized_answer_is_never_retried_get_or_post(hostile, set_dailybot_connection, sleeps):
    hostile.mode = "huge_error"  # a 503: retryable for a GET, were it not too large
    set_dailybot_connection(hostile.base_url, max_response_bytes=64 * 1024)
    hook = DailyBotHook(retry_policy=RetryPolicy(max_attempts=3, sleep=sleeps))
    with pytest.raises(DailyBotResponseTooLargeError):
        hook.get_me()
    with pytest.raises(DailyBotResponseTooLargeError):
        hook.create_webhook_subscription(hook_url=HOOK_URL, events=["kudos.posted"])
    assert [r.method for r in hostile.seen()] == ["GET", "POST"]
    assert sleeps.waits == []


def test_row1_gzip_answers_are_still_decoded(hostile, set_dailybot_connection):
    hostile.mode = "gzip_profile"
    set_dailybot_connection(hostile.base_url, max_response_bytes=1024)
    assert DailyBotHook().get_me()["full_name"] == "Ada Lovelace"
    assert hostile.seen()[0].headers["accept-encoding"] == "gzip, deflate"


# -- row 2: per-read timeout only -----------------------------------------------------------------


@pytest.mark.parametrize("mode", ["trickle_body", "trickle_headers", "continue_flood"])
def test_row2_a_trickling_answer_ends_at_total_timeout(hostile, set_dailybot_connection, mode):
    hostile.mode = mode  # one byte every 0.1 s: every read is well within the 1 s timeout
    set_dailybot_connection(hostile.base_url, timeout=1, total_timeout=2)
    _, error, elapsed = _in_thread(lambda: DailyBotHook(max_attempts=1).get_me(), 15)
    assert isinstance(error, DailyBotTimeoutError), repr(error)
    assert "2 s total_timeout" in str(error)
    assert 1.5 < elapsed < 4


def test_row2_a_get_is_retried_within_its_attempts_and_a_post_is_not(hostile, set_dailybot_connection, sleeps):
    hostile.mode = "trickle_body"
    set_dailybot_connection(hostile.base_url, timeout=0.5, total_timeout=1)
    hook = DailyBotHook(retry_policy=RetryPolicy(max_attempts=2, sleep=sleeps))
    _, error, elapsed = _in_thread(hook.get_me, 15)
    assert isinstance(error, DailyBotTimeoutError)
    assert elapsed < 2 * 1 + 2
    _, error, _ = _in_thread(lambda: hook.create_webhook_subscription(hook_url=HOOK_URL, events=["kudos.posted"]), 15)
    assert isinstance(error, DailyBotTimeoutError)
    assert [r.method for r in hostile.seen()] == ["GET", "GET", "POST"]  # a POST that went out is sent once


def test_total_timeout_validation_names_the_connection(set_dailybot_connection):
    set_dailybot_connection("http://127.0.0.1:9", timeout=30, total_timeout=10, conn_id="slow")
    with pytest.raises(DailyBotConnectionError, match=r"Connection 'slow': total_timeout \(10 s\) must not be below"):
        DailyBotHook("slow").settings  # noqa: B018
    with pytest.raises(ValueError, match="total_timeout"):
        DailyBotHook(timeout=5, total_timeout=1)


# -- row 3: quadratic error summary -----------------------------------------------------------------


_needs_fork = pytest.mark.skipif(
    "fork" not in multiprocessing.get_all_start_methods(), reason="runs the call in a forked child"
)


@_needs_fork
@pytest.mark.parametrize("method", ["get_me", "create"])
def test_row3_a_megabyte_of_less_than_signs_is_summarised_at_once(hostile, set_dailybot_connection, method):
    hostile.mode = "less_than_mib"
    set_dailybot_connection(hostile.base_url)  # default cap (16 MiB): the whole page is read
    hook = DailyBotHook(max_attempts=1)
    hook.settings  # noqa: B018  (read the connection before forking)
    call = (
        hook.get_me
        if method == "get_me"
        else (lambda: hook.create_webhook_subscription(hook_url=HOOK_URL, events=["kudos.posted"]))
    )
    outcome, message, elapsed = _in_child(call, 10)
    assert outcome == "DailyBotServerError", message
    assert len(message) < 500
    assert elapsed < 3


@_needs_fork
@pytest.mark.parametrize("mode", ["nested_tags", "title_flood", "open_title", "less_than_page"])
def test_row3_other_pathological_pages_are_summarised_at_once(hostile, set_dailybot_connection, mode):
    hostile.mode = mode
    set_dailybot_connection(hostile.base_url)
    hook = DailyBotHook(max_attempts=1)
    hook.settings  # noqa: B018
    outcome, message, elapsed = _in_child(hook.get_me, 10)
    assert outcome == "DailyBotServerError", message
    assert len(message) < 500
    assert elapsed < 3


# -- row 4: key leak through repr ------------------------------------------------------------------

_BAD_KEYS = {
    "newline": "sk-live-" + "a" * 16 + "\n" + "b" * 16,
    "space": "sk-live-" + "a" * 16 + " " + "b" * 16,
    "tab": "sk-live-" + "a" * 16 + "\t" + "b" * 16,
    "nul": "sk-live-" + "a" * 16 + "\x00" + "b" * 16,
    "del": "sk-live-" + "a" * 16 + "\x7f" + "b" * 16,
    "non-latin-1": "sk-live-" + "a" * 16 + "ключ" + "b" * 16,
    "latin-1": "sk-live-" + "a" * 16 + "é" + "b" * 16,
    "zero-width": "sk-live-" + "a" * 16 + "\u200b" + "b" * 16,
}


@pytest.mark.parametrize("name", sorted(_BAD_KEYS))
def test_row4_an_unusable_key_is_refused_when_the_connection_is_read(
    hostile, set_dailybot_connection, caplog, capsys, name
):
    caplog.set_level(logging.DEBUG)
    key = _BAD_KEYS[name]
    hostile.mode = "profile"
    set_dailybot_connection(hostile.base_url, password=key, conn_id="pasted")
    hook = DailyBotHook("pasted", retry_policy=RetryPolicy(max_attempts=2, sleep=lambda s: None))
    with pytest.raises(DailyBotConnectionError) as excinfo:
        hook.get_me()
    message = str(excinfo.value)
    assert "Connection 'pasted'" in message
    assert "position 25" in message
    ok, answer = hook.test_connection()
    assert ok is False
    assert "Connection 'pasted'" in answer
    captured = capsys.readouterr()
    secret_part = key[8:]  # "aaaa…": distinctive, unlike the "sk-live-" head shared by every key here
    for text in (message, repr(excinfo.value), answer, caplog.text, captured.out, captured.err):
        for marker in leak_markers(secret_part):
            assert marker not in text
    assert hostile.seen() == []  # refused before any request


def test_row4_a_good_key_with_outer_whitespace_still_works(hostile, set_dailybot_connection):
    hostile.mode = "profile"
    set_dailybot_connection(hostile.base_url, password=f"  {KEY_40}\n")
    assert DailyBotHook().test_connection() == (True, "Authenticated as Ada Lovelace (Acme Corp)")
    assert hostile.seen()[0].headers["x-api-key"] == KEY_40


# -- row 5: key prefix through truncation -----------------------------------------------------------


@pytest.mark.parametrize("key", [KEY_40, KEY_600], ids=["40 chars", "600 chars"])
def test_row5_a_500_page_echoing_the_key_180_characters_in(hostile, set_dailybot_connection, caplog, capsys, key):
    caplog.set_level(logging.DEBUG)
    hostile.mode = "echo_html_180"
    set_dailybot_connection(hostile.base_url, password=key)
    hook = DailyBotHook(retry_policy=RetryPolicy(max_attempts=2, sleep=lambda s: None))
    with pytest.raises(DailyBotServerError) as excinfo:
        hook.get_me()
    error = excinfo.value
    assert "X-API-KEY=***" in str(error)  # scrubbed where it stood, then cut
    ok, message = hook.test_connection()
    assert ok is False
    captured = capsys.readouterr()
    assert "[Try 1 of 2]" in caplog.text + captured.out
    _no_leak(key, str(error), repr(error), repr(error.args), error.detail or "", message)
    _no_leak(key, caplog.text, captured.out, captured.err)


@pytest.mark.parametrize("offset", range(150, 320, 7))
def test_row5_no_cut_point_leaves_a_key_prefix_in_an_error_detail(fake, set_dailybot_connection, offset):
    set_dailybot_connection(fake.base_url)
    fake.inject(status=400, detail="d" * offset + f"key={API_KEY} end", times=1)
    with pytest.raises(DailyBotError) as excinfo:
        DailyBotHook(max_attempts=1).get_me()
    _no_leak(API_KEY, str(excinfo.value), repr(excinfo.value), excinfo.value.detail or "")


# -- row 7: silent successes -------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["shape_list", "shape_string", "shape_empty", "shape_null", "shape_unrelated"])
def test_row7_a_200_that_is_not_a_profile(hostile, set_dailybot_connection, mode):
    hostile.mode = mode
    set_dailybot_connection(hostile.base_url)
    hook = DailyBotHook()
    with pytest.raises(DailyBotUnexpectedResponseError) as excinfo:
        hook.get_me()
    assert excinfo.value.status_code == 200
    assert "profile" in str(excinfo.value)
    ok, message = hook.test_connection()
    assert ok is False
    assert "unknown" not in message
    assert "profile" in message
    with pytest.raises(DailyBotUnexpectedResponseError, match="sample delivery envelope"):
        hook.get_sample_event("kudos.posted")
    with pytest.raises(DailyBotUnexpectedResponseError, match="user object"):
        hook.get_user("3f2504e0-4f89-11d3-9a0c-0305e82c3301")


@pytest.mark.parametrize("mode", ["shape_string", "shape_empty", "shape_null", "shape_unrelated", "shape_number"])
def test_row7_a_list_endpoint_that_answers_no_list(hostile, set_dailybot_connection, mode):
    hostile.mode = mode
    set_dailybot_connection(hostile.base_url)
    with pytest.raises(DailyBotUnexpectedResponseError, match="'results' list"):
        DailyBotHook().list_users()


def test_row7_list_items_must_be_objects(hostile, set_dailybot_connection):
    hostile.mode = "shape_items_not_objects"
    set_dailybot_connection(hostile.base_url)
    with pytest.raises(DailyBotUnexpectedResponseError, match="item #1 is a string"):
        DailyBotHook().list_users()


def test_row7_kudos_answered_with_a_list_is_not_an_empty_success(hostile, set_dailybot_connection):
    hostile.mode = "shape_list"
    set_dailybot_connection(hostile.base_url)
    with pytest.raises(DailyBotUnexpectedResponseError, match="DailyBot may have acted on the request"):
        DailyBotHook().give_kudos(receivers=["3f2504e0-4f89-11d3-9a0c-0305e82c3301"], content="thanks")


# -- row 8: path escape in pagination --------------------------------------------------------------


@pytest.mark.parametrize(
    "link",
    [
        "/v1/../../outside/secret-endpoint/",
        "/v1/../outside/secret-endpoint/",
        "/v1/%2e%2e/outside/secret-endpoint/",
        "/v1/users/%2E%2E/%2E%2E/outside/",
        "/v1/users/..%2f..%2foutside/",
        "/v1/users/%252e%252e/%252e%252e/outside/",
        "/v1/users/..;/..;/outside/",
        "/v1//..//..//outside/",
        "../../outside/secret-endpoint/",
    ],
)
def test_row8_a_next_link_that_escapes_the_base_path_is_refused(fake, set_dailybot_connection, link):
    set_dailybot_connection(fake.base_url)
    absolute = fake.url + link if link.startswith("/") else link
    page = {"count": 2, "next": absolute, "previous": None, "results": [{"uuid": "a"}]}
    fake.inject(status=200, path="/v1/users/", body=json.dumps(page).encode())
    with pytest.raises(DailyBotError, match="outside /v1/") as refused:
        DailyBotHook().list_users()
    assert refused.value.status_code is None
    assert [r.path for r in fake.requests] == ["/v1/users/"]  # nothing was sent to the escaped path


def test_row8_a_link_with_dot_segments_inside_the_base_path_is_followed_normalised(fake, set_dailybot_connection):
    set_dailybot_connection(fake.base_url)
    page = {"results": [{"uuid": "a"}], "next": fake.url + "/v1/teams/../users/./?limit=1&offset=1"}
    fake.inject(status=200, path="/v1/users/", body=json.dumps(page).encode())
    assert len(DailyBotHook().list_users()) >= 2
    assert {r.path for r in fake.requests} == {"/v1/users/"}  # the path that was checked, not the raw one
    assert fake.requests[1].query == {"limit": "1", "offset": "1"}


def test_max_pages_bounds_an_endless_list(hostile, set_dailybot_connection):
    hostile.mode = "next_endless"
    set_dailybot_connection(hostile.base_url, max_pages=3)
    with pytest.raises(DailyBotError, match=r"more than 3 pages \(max_pages\)"):
        DailyBotHook().list_users()
    assert len(hostile.seen()) == 3


# -- issue 14: a bare host against a plain-http server ------------------------------------------------


def test_a_bare_host_speaking_plain_http_gets_a_hint(hostile, set_dailybot_connection):
    host = f"127.0.0.1:{hostile.port}"
    set_dailybot_connection(host)  # no scheme: https is assumed
    with pytest.raises(DailyBotTransportError) as excinfo:
        DailyBotHook(max_attempts=1).get_me()
    assert f"write http://{host} in the connection host" in str(excinfo.value)
    set_dailybot_connection(f"https://{host}")  # an explicit https: no such guess
    with pytest.raises(DailyBotTransportError) as excinfo:
        DailyBotHook(max_attempts=1).get_me()
    assert "plain http?" not in str(excinfo.value)
