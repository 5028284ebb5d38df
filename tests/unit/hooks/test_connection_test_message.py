"""What ``test_connection()`` tells, and where: its message (the UI shows it), its INFO log line (what
``airflow connections test --verbose`` shows) and the bare-host hint, against the fake DailyBot over a socket."""

from __future__ import annotations

import logging

import pytest

from airflow_provider_dailybot import scrubbing
from airflow_provider_dailybot.exceptions import DailyBotTransportError
from airflow_provider_dailybot.hooks.dailybot import DailyBotHook
from airflow_provider_dailybot.testing import FakeDailyBotServer
from tests.conftest import API_KEY


def _no_key(*texts: str) -> None:
    for form in scrubbing.encoded_forms(API_KEY):
        for text in texts:
            assert form not in text


def _logged(caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]) -> list[str]:
    """Log lines, wherever Airflow routed the hook's logger (stdlib records, or structlog's output)."""
    output = capsys.readouterr()
    records = [f"{r.levelname.lower()} {r.getMessage()}" for r in caplog.records]
    return records + (output.out + output.err).splitlines()


def test_success_returns_and_logs_who_the_key_authenticates_as(
    fake: FakeDailyBotServer, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.INFO)
    assert DailyBotHook().test_connection() == (True, "Authenticated as Ada Lovelace (Acme Corp)")
    lines = _logged(caplog, capsys)
    (line,) = [line for line in lines if "Authenticated as" in line]
    assert "DailyBot connection dailybot_default: Authenticated as Ada Lovelace (Acme Corp)" in line
    assert "info" in line
    _no_key(*lines)


def test_a_failure_is_returned_not_logged_as_success(
    fake: FakeDailyBotServer,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
    set_dailybot_connection,
) -> None:
    caplog.set_level(logging.INFO)
    set_dailybot_connection(fake.base_url, password=API_KEY + "x")
    ok, message = DailyBotHook(max_attempts=1).test_connection()
    assert ok is False
    assert "401" in message
    lines = _logged(caplog, capsys)
    assert not [line for line in lines if "Authenticated as" in line]
    _no_key(message, *lines)


def test_a_bare_host_against_the_fakes_plain_http_gets_the_hint(
    fake: FakeDailyBotServer, caplog: pytest.LogCaptureFixture, set_dailybot_connection
) -> None:
    caplog.set_level(logging.DEBUG)
    bare = fake.url.removeprefix("http://").rstrip("/")
    set_dailybot_connection(bare)
    with pytest.raises(DailyBotTransportError) as excinfo:
        DailyBotHook(max_attempts=1).get_me()
    error = str(excinfo.value)
    assert "SSLError" in error
    assert f"(the server speaks plain http? write http://{bare} in the connection host" in error
    ok, message = DailyBotHook(max_attempts=1).test_connection()
    assert ok is False
    assert f"write http://{bare} in the connection host" in message
    set_dailybot_connection(f"http://{bare}")  # the hint's advice works
    assert DailyBotHook().test_connection()[0] is True
    _no_key(error, message, repr(excinfo.value), caplog.text)
