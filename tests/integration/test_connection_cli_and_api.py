"""Defining the connection with ``airflow connections add`` and testing it as the CLI and the UI do."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import airflow
import pytest

from tests.conftest import API_KEY

pytestmark = pytest.mark.db

AIRFLOW_VERSION = tuple(int(part) for part in airflow.__version__.split(".")[:2])


def _airflow(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    airflow_cli = Path(sys.executable).with_name("airflow")
    env = {**os.environ, "COLUMNS": "400"}  # rich wraps the CLI's messages at the terminal width
    return subprocess.run([str(airflow_cli), *args], capture_output=True, text=True, timeout=180, env=env, check=check)


@pytest.mark.e2e  # runs the `airflow` CLI as processes
def test_connections_add_then_connections_test(airflow_db, dailybot_fake_server):
    _airflow("connections", "delete", "dailybot_cli", check=False)
    _airflow(
        "connections",
        "add",
        "dailybot_cli",
        "--conn-type",
        "dailybot",
        "--conn-host",
        dailybot_fake_server.url,
        "--conn-password",
        API_KEY,
        "--conn-extra",
        json.dumps({"timeout": 5}),
    )
    ok = _airflow("connections", "test", "dailybot_cli", check=False)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "Connection success!" in ok.stdout
    assert [r.path for r in dailybot_fake_server.requests] == ["/v1/me/"]

    dailybot_fake_server.free_plan = True
    failed = _airflow("connections", "test", "dailybot_cli", check=False)
    assert "Connection failed!" in failed.stdout
    if AIRFLOW_VERSION >= (3, 3):
        assert failed.returncode == 1  # Airflow 3.1's CLI prints the failure but exits 0
    assert "plan_free_api_keys_forbidden" in failed.stdout
    for output in (ok.stdout, ok.stderr, failed.stdout, failed.stderr):
        assert API_KEY not in output


def test_api_server_test_connection_route(api_client, dailybot_fake_server):
    # The route the UI's "Test" button calls, in the real api-server app.
    body = {
        "connection_id": "dailybot_ui",
        "conn_type": "dailybot",
        "host": dailybot_fake_server.base_url,
        "password": API_KEY,
    }
    response = api_client.post("/api/v2/connections/test", json=body)
    assert response.status_code == 200
    assert response.json() == {"status": True, "message": "Authenticated as Ada Lovelace (Acme Corp)"}

    response = api_client.post("/api/v2/connections/test", json={**body, "password": "sk-typo"})
    assert response.json()["status"] is False
    assert "Invalid API key." in response.json()["message"]
    assert "authentication_failed" in response.json()["message"]

    response = api_client.post("/api/v2/connections/test", json={**body, "password": ""})
    assert response.json()["status"] is False
    assert "has no DailyBot API key" in response.json()["message"]
