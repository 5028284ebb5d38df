"""The fake's request log: one INFO line per request (method, path, status), never the API key in any encoding.

The key travels where a client may put it: the ``X-API-KEY`` header (never logged), the query string
(never logged), or the path (each encoding of the key there is logged as ``***``). In process (caplog) and
as the ``python -m airflow_provider_dailybot.testing`` process (its stderr), whose ``--help`` documents
``GET /_fake/state``.
"""

from __future__ import annotations

import base64
import http.client
import logging
import os
import signal
import subprocess
import sys
from urllib.parse import quote, urlsplit

import pytest
import requests

from airflow_provider_dailybot import scrubbing
from airflow_provider_dailybot.testing import FakeDailyBotServer
from tests.conftest import API_KEY
from tests.unit.testing.conftest import Client

B64_KEY = base64.urlsafe_b64encode(API_KEY.encode()).decode().rstrip("=")
PART_ENCODED_KEY = API_KEY.replace("-", "%2D", 1)  # percent-encoded in part: no whole encoding matches


def _raw_get(url: str, target: str, headers: dict[str, str]) -> int:
    """GET ``target`` exactly as written (requests would normalise it)."""
    split = urlsplit(url)
    connection = http.client.HTTPConnection(split.hostname, split.port, timeout=5)
    try:
        connection.request("GET", target, headers=headers)
        return connection.getresponse().status
    finally:
        connection.close()


def _exercise(url: str) -> None:
    key = {"X-API-KEY": API_KEY}
    assert _raw_get(url, "/v1/me/", key) == 200  # the key in the header
    assert _raw_get(url, f"/v1/me/?api_key={API_KEY}&token={quote(API_KEY)}", {}) == 401  # in the query
    assert _raw_get(url, f"/v1/users/{API_KEY}/", key) == 404  # in the path, and its encodings
    assert _raw_get(url, f"/v1/users/{B64_KEY}/", key) == 404
    assert _raw_get(url, f"/v1/users/{PART_ENCODED_KEY}/", key) == 404
    assert _raw_get(url, "/_fake/state", key) == 200


EXPECTED = [
    "GET /v1/me/ -> 200",
    "GET /v1/me/ -> 401",
    "GET /v1/users/***/ -> 404",
    "GET /v1/users/***/ -> 404",
    "GET /v1/users/***/ -> 404",
    "GET /_fake/state -> 200",
]


def _assert_no_key(text: str) -> None:
    for form in {*scrubbing.encoded_forms(API_KEY), PART_ENCODED_KEY, API_KEY[4:-4]}:
        assert form not in text


def test_each_request_is_one_info_line_without_the_key(
    server: FakeDailyBotServer, client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="airflow_provider_dailybot.testing")
    _exercise(server.url)
    lines = [r for r in caplog.records if " -> " in r.getMessage()]
    assert [r.getMessage().split(" (")[0] for r in lines] == EXPECTED
    assert {r.levelno for r in lines} == {logging.INFO}
    assert {r.name for r in lines} == {"airflow_provider_dailybot.testing.transport"}
    _assert_no_key(caplog.text)
    for record in caplog.records:
        _assert_no_key(repr(record.__dict__))


def test_the_cli_logs_requests_at_info_by_default_without_the_key() -> None:
    env = {**os.environ, "DAILYBOT_FAKE_API_KEY": API_KEY}
    command = [sys.executable, "-m", "airflow_provider_dailybot.testing", "--port", "0"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        url = line.split("listening on ", 1)[1].split(" ", 1)[0]
        _exercise(url)
        assert requests.get(url + "/v1/me/", headers={"X-API-KEY": API_KEY}, timeout=5).status_code == 200
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
        stderr = process.communicate()[1]
    finally:
        process.kill()
    logged = [line.split(": ", 1)[1].split(" (")[0] for line in stderr.splitlines() if " -> " in line]
    assert logged == [*EXPECTED, "GET /v1/me/ -> 200"]
    assert all(
        " INFO airflow_provider_dailybot.testing.transport: " in line for line in stderr.splitlines() if " -> " in line
    )
    _assert_no_key(stderr)


def test_help_documents_the_state_endpoint_and_the_log() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "airflow_provider_dailybot.testing", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert "GET /_fake/state answers everything the fake holds" in done.stdout
    assert "Each request is logged at INFO" in done.stdout
    assert "(default: INFO)" in done.stdout


def test_a_key_percent_encoded_with_lowercase_escapes_is_redacted_too() -> None:
    key = "AbCd/EfGh+IjKl"  # characters that percent-encode, letters of both cases around them
    with FakeDailyBotServer(api_key=key) as fake:
        line = fake._redact("GET /v1/users/AbCd%2fEfGh%2bIjKl/ -> 404")  # a client that writes %2f, not %2F
    assert line == "GET /v1/users/***/ -> 404"
