"""Every public hook method against every misbehaviour of the hostile DailyBot (``hostile_dailybot.py``).

For each cell (method x mode) the test asserts: a typed ``DailyBotError`` or the right result (``False``
from ``test_connection``), within a bound of the configured limits, with memory bounded (``tracemalloc``
peak), and no secret — in any encoding, not even a 6-character prefix — in the exception (``str``,
``repr``, ``args``, attributes), the logs, the captured output, nor in any request to another origin
or outside the base path. Limits are small so the matrix is quick: timeout 0.5 s, total_timeout 1.5 s,
max_response_bytes 64 KiB, one attempt, five pages.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import html
import json
import logging
import time
import tracemalloc
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, quote_plus

import pytest

from airflow_provider_dailybot.exceptions import (
    DailyBotApiError,
    DailyBotBadRequestError,
    DailyBotError,
    DailyBotRateLimitError,
    DailyBotResponseTooLargeError,
    DailyBotServerError,
    DailyBotTimeoutError,
    DailyBotTransportError,
    DailyBotUnexpectedResponseError,
)
from airflow_provider_dailybot.hooks.dailybot import DailyBotHook
from tests.unit.hooks.hostile_dailybot import MODES, SLOW_MODES, HostileDailyBot

TIMEOUT = 0.5
TOTAL_TIMEOUT = 1.5
#: Limits for the modes that answer at once (not SLOW_MODES): a 0.5 s read timeout there only
#: measures how loaded the machine is (a busy xdist worker turned an echoed 500 into a timeout).
FAST_TIMEOUT = 5.0
FAST_TOTAL_TIMEOUT = 10.0
CAP = 64 * 1024
#: Slack over total_timeout for one call (thread start-up, a loaded CI machine).
TIME_SLACK = 2.0
#: Python memory one call may hold at its peak: a few caps plus the hook's own set-up.
MEMORY_BOUND = 10 * CAP
#: Modes that send more than the cap, or make the client work in proportion to what they send: their
#: cells run under tracemalloc. The other modes' bodies are under 20 KiB, so a memory bound has nothing
#: to catch there, and tracing would triple the matrix's time.
MEMORY_MODES = {
    mode
    for mode in MODES
    if mode.startswith(("endless", "huge", "gzip", "bad_gzip", "trickle", "silent", "continue", "lying", "many"))
    or mode
    in (
        "deep_json",
        "less_than_page",
        "less_than_mib",
        "nested_tags",
        "title_flood",
        "open_title",
        "next_huge",
        "next_endless",
    )
}


def _key(length: int, head: str) -> str:
    tail = "".join(hashlib.sha256(f"{length}-{i}".encode()).hexdigest() for i in range(length // 64 + 1))
    return (head + tail)[:length]


# Characters that every encoding writes differently come first, so that each encoding's prefix is distinct.
KEY_40 = _key(40, 'k"Y\\/+%&=<z')
KEY_600 = _key(600, "P\\'q/+%&=")
BEARER = "bearer-" + _key(40, "Bq")
UUID = "3f2504e0-4f89-11d3-9a0c-0305e82c3301"
HOOK_URL = "https://airflow.example.com/dailybot/webhooks/standups"


def _lower_hex(text: str) -> str:
    parts = text.split("%")
    return parts[0] + "".join("%" + part[:2].lower() + part[2:] for part in parts[1:])


def leak_markers(secret: str) -> set[str]:
    """The 6-character prefixes of every form the secret could take in a text (written independently)."""
    once = repr(secret)[1:-1]
    forms = {
        secret,
        once,
        repr(once)[1:-1],
        ascii(secret)[1:-1],
        json.dumps(secret)[1:-1],
        html.escape(secret),
        quote(secret, safe=""),
        quote(secret),
        quote_plus(secret),
        base64.b64encode(secret.encode()).decode(),
        base64.urlsafe_b64encode(secret.encode()).decode(),
    }
    forms |= {_lower_hex(form) for form in forms}
    return {form[:6] for form in forms}


CALLS: dict[str, Callable[[DailyBotHook], Any]] = {
    "get_me": lambda h: h.get_me(),
    "test_connection": lambda h: h.test_connection(),
    "create_webhook_subscription": lambda h: h.create_webhook_subscription(
        hook_url=HOOK_URL, events=["kudos.posted"], bearer=BEARER
    ),
    "delete_webhook_subscription": lambda h: h.delete_webhook_subscription("hook-1", hook_url=HOOK_URL),
    "get_sample_event": lambda h: h.get_sample_event("kudos.posted"),
    "list_users": lambda h: h.list_users(),
    "get_user": lambda h: h.get_user(UUID),
    "list_teams": lambda h: h.list_teams(),
    "list_team_members": lambda h: h.list_team_members(UUID),
    "list_checkins": lambda h: h.list_checkins(),
    "iter_checkin_responses": lambda h: list(
        h.iter_checkin_responses("42", date_start="2025-01-06", date_end="2025-01-07")
    ),
    "list_checkin_responses": lambda h: h.list_checkin_responses("42", date_start="2025-01-06", date_end="2025-01-07"),
    "list_forms": lambda h: h.list_forms(),
    "iter_form_responses": lambda h: list(h.iter_form_responses(UUID)),
    "list_form_responses": lambda h: h.list_form_responses(UUID),
    "send_message": lambda h: h.send_message(message="hi", target_users=[UUID]),
    "give_kudos": lambda h: h.give_kudos(receivers=[UUID], content="thanks"),
    "paginate": lambda h: list(h.paginate("users/")),
}
LIST_METHODS = {
    "list_users",
    "list_teams",
    "list_team_members",
    "list_checkins",
    "iter_checkin_responses",
    "list_checkin_responses",
    "list_forms",
    "iter_form_responses",
    "list_form_responses",
    "paginate",
}

# -- what each cell must give -------------------------------------------------------------------------

#: The error class each family of modes must raise (for every method that raises).
_ERRORS: list[tuple[str, type[DailyBotError]]] = [
    ("endless", DailyBotResponseTooLargeError),
    ("huge", DailyBotResponseTooLargeError),
    ("gzip_bomb", DailyBotResponseTooLargeError),
    ("trickle", DailyBotTimeoutError),
    ("silent", DailyBotTimeoutError),
    ("continue_flood", DailyBotTimeoutError),
    ("bad_gzip", DailyBotTransportError),
    ("brotli", DailyBotTransportError),
    ("lying_length", DailyBotTransportError),
    ("many_headers", DailyBotTransportError),
    ("deep_json", DailyBotUnexpectedResponseError),
    ("html_200", DailyBotUnexpectedResponseError),
    ("shape_", DailyBotUnexpectedResponseError),
    ("less_than_page", DailyBotServerError),
    ("less_than_mib", DailyBotResponseTooLargeError),
    ("nested_tags", DailyBotServerError),
    ("title_flood", DailyBotServerError),
    ("open_title", DailyBotServerError),
    ("echo_list", DailyBotServerError),
    ("echo_detail", DailyBotBadRequestError),
    ("echo_location", DailyBotApiError),
    ("echo_retry_after", DailyBotRateLimitError),
    ("echo_profile", DailyBotUnexpectedResponseError),
    ("echo_", DailyBotServerError),
    ("redirect_", DailyBotApiError),
    ("next_", DailyBotError),
]

#: 2xx modes whose body is an object: POST actions that take any object succeed with it.
_OBJECT_MODES = {"shape_unrelated", "shape_empty_object", "shape_results_not_list", "shape_next_not_url"}
_OBJECT_MODES |= {"shape_items_not_objects", "echo_profile"} | {m for m in MODES if m.startswith("next_")}
#: 2xx modes with a complete JSON (or empty) body: a DELETE that got one succeeded.
_DELETED_MODES = _OBJECT_MODES | {"shape_list", "shape_string", "shape_empty", "shape_null", "shape_number"}
_DELETED_MODES |= {"shape_true"}


def expected(method: str, mode: str) -> str | type[DailyBotError]:
    """``"false"`` / ``"true"`` / ``"dict"`` / ``"list"`` for a result, else the error class to raise."""
    if method == "test_connection":
        return "true" if mode == "echo_profile" else "false"
    if method == "delete_webhook_subscription" and mode in _DELETED_MODES:
        return "true"
    if method == "send_message" and (mode in _OBJECT_MODES or mode in ("shape_empty", "shape_null")):
        return "dict"  # DailyBot documents 200 {bot_message_id}, 202 and 204 for it: no value is {}
    if method == "give_kudos" and mode in _OBJECT_MODES:
        return "dict"
    if method == "get_me" and mode == "echo_profile":
        return "dict"
    if method == "paginate" and mode in ("shape_list", "shape_items_not_objects"):
        return "list"  # a bare list is a valid page, and paginate() yields raw items
    if method not in LIST_METHODS and mode.startswith("next_"):
        return DailyBotUnexpectedResponseError  # a list page is no profile, user, subscription or envelope
    return next(error for prefix, error in _ERRORS if mode.startswith(prefix))


# -- running one cell -----------------------------------------------------------------------------------


@dataclass
class Cell:
    method: str
    mode: str
    key: str
    result: Any = None
    error: BaseException | None = None
    elapsed: float = 0.0
    peak: int | None = None


@pytest.fixture(scope="module")
def servers() -> Iterator[tuple[HostileDailyBot, HostileDailyBot]]:
    with HostileDailyBot() as foreign, HostileDailyBot(foreign_origin=foreign.origin) as hostile:
        _warm_up(hostile)
        yield hostile, foreign


def _warm_up(hostile: HostileDailyBot) -> None:
    """Call every method once against a well-behaved answer, so one-time set-up (Airflow's secrets
    masker compiling its patterns for the key and the bearer, lazy imports) is not measured as a cell."""
    hostile.mode = "profile"
    with pytest.MonkeyPatch.context() as patch:
        for key in (KEY_40, KEY_600):
            conn = {"conn_type": "dailybot", "host": hostile.base_url, "password": key, "extra": {"max_attempts": 1}}
            patch.setenv("AIRFLOW_CONN_DAILYBOT_DEFAULT", json.dumps(conn))
            for call in CALLS.values():
                with contextlib.suppress(DailyBotError):
                    call(DailyBotHook())


def _hook(
    set_dailybot_connection: Callable[..., str],
    base_url: str,
    key: str,
    *,
    timeout: float = TIMEOUT,
    total_timeout: float = TOTAL_TIMEOUT,
) -> DailyBotHook:
    set_dailybot_connection(
        base_url,
        password=key,
        timeout=timeout,
        total_timeout=total_timeout,
        max_response_bytes=CAP,
        max_attempts=1,
        max_pages=5,
    )
    return DailyBotHook()


def _run(cell: Cell, hook: DailyBotHook, *, measure: bool) -> Cell:
    if measure:
        tracemalloc.reset_peak()
        before = tracemalloc.get_traced_memory()[0]
    started = time.monotonic()
    try:
        cell.result = CALLS[cell.method](hook)
    except Exception as err:  # every failure is checked below, including the wrong kind
        cell.error = err
    cell.elapsed = time.monotonic() - started
    if measure:
        cell.peak = tracemalloc.get_traced_memory()[1] - before
    hook.close()
    return cell


def _texts_of(value: Any, depth: int = 0) -> Iterator[str]:
    """Every text reachable from an exception: str, repr, args and (nested) attributes."""
    yield str(value)
    yield repr(value)
    if depth > 3:
        return
    if isinstance(value, BaseException):
        yield from (t for arg in value.args for t in _texts_of(arg, depth + 1))
        yield from (t for attr in vars(value).values() for t in _texts_of(attr, depth + 1))
    elif isinstance(value, dict):
        yield from (t for k, v in value.items() for t in (*_texts_of(k, depth + 1), *_texts_of(v, depth + 1)))
    elif isinstance(value, (list, tuple)):
        yield from (t for item in value for t in _texts_of(item, depth + 1))


def _problems(cell: Cell, secrets: list[str]) -> list[str]:
    name = f"{cell.method} x {cell.mode}"
    problems: list[str] = []
    want = expected(cell.method, cell.mode)
    error = cell.error
    if isinstance(want, type):
        if not isinstance(error, want):
            problems.append(f"{name}: expected {want.__name__}, got {type(error).__name__ if error else cell.result!r}")
    elif error is not None:
        problems.append(f"{name}: expected a {want} result, got {type(error).__name__}: {str(error)[:300]}")
    elif cell.method == "test_connection":
        ok, message = cell.result
        if ok is not (want == "true") or not message or "unknown" in message:
            problems.append(f"{name}: test_connection answered {cell.result!r}")
    elif want == "true" and cell.result is not True:
        problems.append(f"{name}: expected True, got {cell.result!r}")
    elif want == "dict" and not isinstance(cell.result, dict):
        problems.append(f"{name}: expected a dict, got {cell.result!r}")
    elif want == "list" and not isinstance(cell.result, list):
        problems.append(f"{name}: expected a list, got {cell.result!r}")
    total = TOTAL_TIMEOUT if cell.mode in SLOW_MODES else FAST_TOTAL_TIMEOUT
    if cell.elapsed > total + TIME_SLACK:
        problems.append(f"{name}: took {cell.elapsed:.2f} s (total_timeout {total} s)")
    if cell.peak is not None and cell.peak > MEMORY_BOUND:
        problems.append(f"{name}: peak Python memory {cell.peak / 1024:.0f} KiB (bound {MEMORY_BOUND / 1024:.0f} KiB)")
    texts = list(_texts_of(error)) if error is not None else []
    if cell.method == "test_connection" and isinstance(cell.result, tuple):
        texts.append(cell.result[1])
    for secret in secrets:
        for marker in leak_markers(secret):
            if any(marker in text for text in texts):
                problems.append(f"{name}: the exception or message shows {marker!r}…, a prefix of a secret")
    return problems


def _check_traffic(hostile: HostileDailyBot, foreign: HostileDailyBot) -> list[str]:
    problems = [f"request sent to another origin: {r.method} {r.target}" for r in foreign.seen()]
    problems += [
        f"request outside the base path: {r.method} {r.target}" for r in hostile.seen() if not r.path.startswith("/v1/")
    ]
    return problems


def _check_output(
    caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str], secrets: list[str]
) -> list[str]:
    captured = capsys.readouterr()
    output = caplog.text + captured.out + captured.err
    return [
        f"the logs or output show {marker!r}…, a prefix of a secret"
        for secret in secrets
        for marker in leak_markers(secret)
        if marker in output
    ]


def _matrix(mode: str, key: str, hostile, foreign, set_dailybot_connection, caplog, capsys) -> None:
    if mode in MEMORY_MODES:
        tracemalloc.start()
        try:
            _cells(mode, key, hostile, foreign, set_dailybot_connection, caplog, capsys, measure=True)
        finally:
            tracemalloc.stop()
    else:
        _cells(mode, key, hostile, foreign, set_dailybot_connection, caplog, capsys, measure=False)


def _cells(mode: str, key: str, hostile, foreign, set_dailybot_connection, caplog, capsys, *, measure: bool) -> None:
    caplog.set_level(logging.DEBUG)
    hostile.mode = mode
    hostile.clear()
    foreign.clear()
    secrets = [key, BEARER]
    cells = [Cell(method, mode, key) for method in CALLS]
    if mode in SLOW_MODES:  # time-bound: all methods at once, memory measured for all of them together
        hooks = [_hook(set_dailybot_connection, hostile.base_url, key) for _ in cells]
        for hook in hooks:
            hook.settings  # noqa: B018  (read the connection here, not in the threads)
        tracemalloc.reset_peak()
        before = tracemalloc.get_traced_memory()[0]
        with ThreadPoolExecutor(max_workers=len(cells)) as pool:
            list(pool.map(lambda pair: _run(pair[0], pair[1], measure=False), zip(cells, hooks, strict=True)))
        together = tracemalloc.get_traced_memory()[1] - before
        assert together < len(cells) * MEMORY_BOUND, (
            f"peak Python memory {together / 1024:.0f} KiB for {len(cells)} calls"
        )
    else:
        for cell in cells:
            hook = _hook(
                set_dailybot_connection,
                hostile.base_url,
                key,
                timeout=FAST_TIMEOUT,
                total_timeout=FAST_TOTAL_TIMEOUT,
            )
            hook.settings  # noqa: B018
            _run(cell, hook, measure=True)
    problems = [p for cell in cells for p in _problems(cell, secrets)]
    problems += _check_traffic(hostile, foreign)
    problems += _check_output(caplog, capsys, secrets)
    assert not problems, "\n".join(problems)


_ECHO_MODES = sorted(m for m in MODES if m.startswith("echo_"))
_OTHER_MODES = sorted(m for m in MODES if not m.startswith("echo_") and m not in ("profile", "gzip_profile"))


@pytest.mark.parametrize("mode", _OTHER_MODES)
def test_every_method_against_a_hostile_mode(mode, servers, set_dailybot_connection, caplog, capsys):
    hostile, foreign = servers
    _matrix(mode, KEY_40, hostile, foreign, set_dailybot_connection, caplog, capsys)


@pytest.mark.parametrize("key", [KEY_40, KEY_600], ids=["key40", "key600"])
@pytest.mark.parametrize("mode", _ECHO_MODES)
def test_every_method_against_a_key_echoing_mode(mode, key, servers, set_dailybot_connection, caplog, capsys):
    hostile, foreign = servers
    _matrix(mode, key, hostile, foreign, set_dailybot_connection, caplog, capsys)


def test_the_matrix_covers_every_public_hook_method():
    public = {
        name
        for name, value in vars(DailyBotHook).items()
        if callable(value)
        and not name.startswith("_")
        and name not in {"request", "get_conn", "close"}
        and name not in {"get_ui_field_behaviour", "get_connection", "get_hook", "get_connection_form_widgets"}
    }
    assert public <= set(CALLS), sorted(public - set(CALLS))


def test_a_well_behaved_answer_passes_the_same_checks(servers, set_dailybot_connection, caplog, capsys):
    """Calibration: with the hostile server behaving, the same harness sees results and no problem."""
    hostile, _ = servers
    hostile.mode = "profile"
    hostile.clear()
    hook = _hook(set_dailybot_connection, hostile.base_url, KEY_40)
    assert hook.get_me()["full_name"] == "Ada Lovelace"
    assert hook.test_connection() == (True, "Authenticated as Ada Lovelace (Acme Corp)")
    assert hook.create_webhook_subscription(hook_url=HOOK_URL, events=["kudos.posted"]).id == "1"
    assert hook.get_user(UUID)["uuid"] == "u-1"
    assert _check_output(caplog, capsys, [KEY_40]) == []
    assert all(r.headers["x-api-key"] == KEY_40 for r in hostile.seen())
