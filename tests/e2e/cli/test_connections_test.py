"""``airflow connections test dailybot_default`` as a process, against the fake DailyBot over a real socket.

What Airflow 3.1.8 and 3.3.2 print (``airflow/cli/commands/connection_command.py``): on success only
"Connection success!" — the hook's message is dropped, and the command runs under
``suppress_logs_and_warning``, which disables logging unless ``--verbose``. With ``--verbose`` the hook's
INFO line "DailyBot connection <id>: Authenticated as <user> (<organization>)" shows. On failure Airflow
prints the hook's message after "Connection failed!", so the bare-host hint reaches the user (3.3.2 then
exits 1, 3.1.8 exits 0). The API key is never printed.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from airflow_provider_dailybot import scrubbing
from airflow_provider_dailybot.testing import FakeDailyBotServer
from airflow_provider_dailybot.testing.airflow_components import clean_environment
from tests.conftest import API_KEY, airflow_version, conn_json

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

AIRFLOW = str(Path(sys.executable).with_name("airflow"))


def _connections_test(fake_conn: str, home: Path, *flags: str) -> subprocess.CompletedProcess[str]:
    env = clean_environment({
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__TEST_CONNECTION": "Enabled",
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW_CONN_DAILYBOT_DEFAULT": fake_conn,
    })  # fmt: skip
    return subprocess.run(
        [AIRFLOW, "connections", "test", "dailybot_default", *flags],
        env=env,
        cwd=home,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def _assert_no_key(done: subprocess.CompletedProcess[str]) -> None:
    for form in scrubbing.encoded_forms(API_KEY):
        assert form not in done.stdout
        assert form not in done.stderr


def test_success_prints_only_airflows_line_and_verbose_shows_who(
    dailybot_fake_server: FakeDailyBotServer, tmp_path: Path
) -> None:
    fake = dailybot_fake_server
    who = f"Authenticated as {fake.user_full_name} ({fake.organization_name})"

    quiet = _connections_test(conn_json(fake), tmp_path)
    assert quiet.returncode == 0, quiet.stderr[-2000:]
    assert "Connection success!" in quiet.stdout
    assert who not in quiet.stdout + quiet.stderr  # Airflow drops the message on success
    verbose = _connections_test(conn_json(fake), tmp_path, "--verbose")
    assert verbose.returncode == 0, verbose.stderr[-2000:]
    assert "Connection success!" in verbose.stdout
    assert f"DailyBot connection dailybot_default: {who}" in verbose.stdout + verbose.stderr
    assert [r.path for r in fake.requests] == ["/v1/me/", "/v1/me/"]
    _assert_no_key(quiet)
    _assert_no_key(verbose)


def test_a_bare_host_against_plain_http_fails_with_the_hint(
    dailybot_fake_server: FakeDailyBotServer, tmp_path: Path
) -> None:
    fake = dailybot_fake_server
    bare = fake.url.removeprefix("http://").rstrip("/")  # 127.0.0.1:<port>: https is assumed
    done = _connections_test(json.dumps({"conn_type": "dailybot", "host": bare, "password": API_KEY}), tmp_path)
    # Airflow 3.3.2 exits 1 after "Connection failed!"; 3.1.8 prints it and exits 0 (no SystemExit there).
    assert done.returncode == (1 if airflow_version() >= (3, 3) else 0)
    assert "Connection failed!" in done.stdout
    assert f"write http://{bare} in the connection host" in done.stdout
    assert fake.requests == []  # the TLS hello never became a request
    _assert_no_key(done)
