"""Operating the fake DailyBot server: secrets, keep-alive, HTTPS, control endpoints, CLI, pytest plugin."""

from __future__ import annotations

import json
import logging
import os
import signal
import ssl
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import requests

from airflow_provider_dailybot.testing import FakeDailyBotServer, make_envelope, sample_body
from airflow_provider_dailybot.testing.__main__ import main as cli_main
from airflow_provider_dailybot.testing.contract import EVENTS
from tests.conftest import API_KEY
from tests.unit.testing.conftest import BEARER, HOOKS, Client, Receiver

REPO_ROOT = Path(__file__).resolve().parents[3]


def test_secrets_never_reach_logs_or_state(
    server: FakeDailyBotServer, client: Client, receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="airflow_provider_dailybot.testing")
    headers = {"X-BEARER": BEARER, "Authorization": f"Bearer {BEARER}"}
    hook_id = client.create_id(receiver.url, bearer=BEARER, immediate_sample_event=True)
    client(
        "POST", HOOKS, json={"hook_url": "bad", "subscriptions": ["kudos.posted"], "bearer": BEARER}, headers=headers
    )
    client("DELETE", HOOKS, json={"hook_id": hook_id, "nested": [{"bearer": BEARER}]}, headers=headers)
    requests.get(server.base_url + "me/", headers={"X-API-KEY": API_KEY[:-1]}, timeout=5)
    server.wait_for_deliveries(1)
    state = client("GET", "/_fake/state").text

    recorded = [*server.requests, *server.subscriptions, *server.deliveries]
    assert len(server.requests) == 4
    texts = [state, caplog.text, *map(repr, recorded), *map(str, recorded)]
    for text in texts:
        assert API_KEY not in text
        assert API_KEY[:-1] not in text
        assert BEARER not in text
    assert json.loads(state)["request_count"] == 4
    assert server.requests[2].json == {"hook_id": hook_id, "nested": [{"bearer": "***"}]}
    assert "x-api-key" not in server.requests[0].headers
    assert "user-agent" in server.requests[0].headers
    assert "DELETE /v1/webhook-subscription/ -> 204" in caplog.text  # request lines are logged at INFO


def test_every_request_is_logged_at_info_without_secrets(
    server: FakeDailyBotServer, client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="airflow_provider_dailybot.testing")
    secret_url = f"https://example.com/hook?token={BEARER}"
    hook_id = client.create_id(secret_url, bearer=BEARER)
    client("DELETE", HOOKS, params={"hook_id": hook_id, "hook_url": secret_url})
    requests.get(server.base_url + "me/", headers={"X-API-KEY": API_KEY + "x", "X-BEARER": BEARER}, timeout=5)
    server.inject(drop=True)
    with pytest.raises(requests.ConnectionError):
        client("GET", "/v1/me/", params={"api_key": API_KEY})
    client("GET", "/_fake/state")

    lines = [r.getMessage() for r in caplog.records if r.name.startswith("airflow_provider_dailybot.testing")]
    requests_logged = [line.split(" (")[0] for line in lines if " -> " in line]
    assert requests_logged == [
        "POST /v1/webhook-subscription/ -> 201",
        "DELETE /v1/webhook-subscription/ -> 204",
        "GET /v1/me/ -> 401",
        "GET /v1/me/ -> dropped",
        "GET /_fake/state -> 200",
    ]
    assert all(r.levelno == logging.INFO for r in caplog.records if " -> " in r.getMessage())
    for text in (caplog.text, *(repr(r.__dict__) for r in caplog.records)):
        assert API_KEY not in text
        assert BEARER not in text


def test_keep_alive_reuses_one_connection(server: FakeDailyBotServer, client: Client) -> None:
    assert client("GET", "/v1/me/").status_code == 200
    hook_id = client.create_id("https://example.com/hook")
    assert client("DELETE", HOOKS, params={"hook_id": hook_id}).status_code == 204
    assert client("GET", "/v1/nope/").status_code == 404
    assert client("POST", HOOKS, data=b"{").status_code == 400
    server.inject(status=500)
    assert client("GET", "/v1/me/").status_code == 500
    assert client("GET", "/v1/me").status_code == 200
    assert server.connections_accepted == 1
    requests.get(server.base_url + "me/", headers={"X-API-KEY": API_KEY}, timeout=5)
    assert server.connections_accepted == 2


def test_stop_closes_idle_keep_alive_connections(server: FakeDailyBotServer, client: Client) -> None:
    assert client("GET", "/v1/me/").status_code == 200
    server.stop()
    server.stop()  # idempotent
    with pytest.raises(requests.ConnectionError):
        client("GET", "/v1/me/")
    with pytest.raises(RuntimeError, match="not started"):
        _ = FakeDailyBotServer().url


def test_https_with_trustme(tmp_path: Path) -> None:
    trustme = pytest.importorskip("trustme")
    ca = trustme.CA()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    with FakeDailyBotServer(api_key=API_KEY, ssl_context=context) as fake:
        assert fake.url.startswith("https://127.0.0.1:")
        assert fake.base_url == fake.url + "/v1/"
        client = Client(fake)
        for _ in range(3):
            assert client("GET", "/v1/me/", verify=str(ca_file)).json()["full_name"] == "Ada Lovelace"
        assert fake.connections_accepted == 1
        with pytest.raises(requests.exceptions.SSLError):
            requests.get(fake.base_url + "me/", timeout=5, verify=True)  # not signed by a public CA
        # After a failed handshake the server still serves.
        assert client("GET", "/v1/me/", verify=str(ca_file)).status_code == 200


def test_control_endpoints(server: FakeDailyBotServer, client: Client, receiver: Receiver) -> None:
    assert requests.get(server.url + "/_fake/state", timeout=5).status_code == 401
    hook_id = client.create_id(receiver.url, bearer=BEARER)
    emitted = client("POST", "/_fake/emit", json={"event": "kudos.posted", "body": {"content": "hi"}})
    (attempt,) = emitted.json()["deliveries"]
    assert attempt["hook_id"] == hook_id
    assert attempt["status"] == 200
    assert attempt["envelope"]["body"] == {"content": "hi"}
    assert client("POST", "/_fake/emit", json={"event": "nope"}).status_code == 400

    fault = client("POST", "/_fake/faults", json={"status": 429, "retry_after": 2, "path": "/v1/me"})
    assert fault.status_code == 201
    assert fault.json()["fault"]["remaining"] == 1
    assert client("GET", "/v1/me/").headers["Retry-After"] == "2"
    assert client("POST", "/_fake/faults", json={"statuz": 500}).status_code == 400
    assert client("POST", "/_fake/delivery-faults", json={"drop": True}).status_code == 201
    (dropped,) = server.emit("kudos.posted")
    assert dropped.status is None

    switched = client("POST", "/_fake/switches", json={"free_plan": True, "delete_forms": ["path"]})
    assert switched.json()["free_plan"] is True
    assert server.delete_forms == {"path"}
    assert client("POST", "/_fake/switches", json={"free_plan": "yes"}).status_code == 400
    assert client("GET", "/v1/me/").status_code == 403

    state = client("GET", "/_fake/state").json()
    assert [s["id"] for s in state["subscriptions"]] == [hook_id]
    assert state["subscriptions"][0]["has_bearer"] is True
    assert len(state["deliveries"]) == 2
    assert state["request_count"] == 3
    assert client("POST", "/_fake/reset").status_code == 204
    assert server.subscriptions == []
    assert server.deliveries == []
    assert server.requests == []
    assert server.free_plan is False
    assert server.delete_forms == {"query", "body", "path"}


def test_state_endpoint_holds_what_its_docstring_says(server: FakeDailyBotServer, client: Client) -> None:
    client.create_id("https://example.com/hook", bearer=BEARER)
    state = client("GET", "/_fake/state")
    assert state.status_code == 200
    body = state.json()
    assert set(body) == {"subscriptions", "deliveries", "request_count", "switches", "sent_messages", "kudos"}
    assert body["switches"] == client("GET", "/_fake/switches").json()
    (subscription,) = body["subscriptions"]
    assert subscription["has_bearer"] is True
    assert "bearer" not in subscription
    assert BEARER not in state.text
    assert API_KEY not in state.text


def test_reset_restores_switches_from_start() -> None:
    fake = FakeDailyBotServer()
    fake.org_admin = False  # set before start: kept by reset (this is how the CLI configures it)
    with fake:
        fake.org_admin, fake.create_status = True, 200
        fake.inject(status=500)
        fake.reset()
        assert fake.org_admin is False
        assert fake.create_status == 201
        assert Client(fake)("GET", "/v1/me/").status_code == 200  # the fault is gone
        with pytest.raises(RuntimeError, match="already started"):
            fake.start()


def test_samples_and_envelopes() -> None:
    for event in EVENTS:
        body = sample_body(event)
        assert body
        assert body is not sample_body(event)
        body.clear()
        assert sample_body(event), "sample_body must hand out deep copies"
    assert sample_body("followups.response.updated")["edited"] is True
    assert sample_body("followups.response.completed")["edited"] is False
    assert sample_body("forms.response.deleted") == sample_body("forms.response.created")
    assert set(sample_body("organization.team_user_added")) == {"user", "team"}
    assert set(sample_body("organization.user_deactivated")) == {"user"}
    assert sample_body("kudos.posted")["giver"]["full_name"] == "Giver Full Name"
    with pytest.raises(ValueError, match="Unknown DailyBot event"):
        sample_body("kudos.given")

    envelope = make_envelope("kudos.posted", hook_id="h", hook_name="n", timestamp=1707157378)
    assert envelope == {
        "event": "kudos.posted",
        "event_timestamp": 1707157378.0,
        "hook": {"id": "h", "name": "n"},
        "body": sample_body("kudos.posted"),
    }
    body = {"x": [1]}
    custom = make_envelope("custom.event", hook_id="h", hook_name="n", body=body)
    assert custom["body"] == body
    assert custom["body"] is not body
    assert isinstance(custom["event_timestamp"], float)


def test_cli_serves_until_sigterm() -> None:
    env = {**os.environ, "DAILYBOT_FAKE_API_KEY": API_KEY}
    command = [sys.executable, "-m", "airflow_provider_dailybot.testing", "--port", "0", "--no-org-admin"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith("Fake DailyBot listening on http://127.0.0.1:"), line
        base_url = line.rsplit("(base URL ", 1)[1].rstrip(")\n")
        me = requests.get(base_url + "me/", headers={"X-API-KEY": API_KEY}, timeout=5)
        assert me.status_code == 200
        assert me.json()["role"] == "MEMBER"
        assert requests.get(base_url + "me/", timeout=5).status_code == 401
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
        assert API_KEY not in process.communicate()[1]
    finally:
        process.kill()


def test_cli_rejects_half_a_tls_configuration(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli_main(["--tls-cert", "cert.pem"])
    assert exit_info.value.code == 2
    assert "--tls-cert and --tls-key go together" in capsys.readouterr().err


def _assert_user_suite_passes(folder: Path, passed: int) -> None:
    """Run pytest on a user's suite in ``folder`` (a new process, the shipped plugin importable); all must pass."""
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(folder)],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{passed} passed" in result.stdout


def test_pytest_plugin_fixture(tmp_path: Path) -> None:
    (tmp_path / "conftest.py").write_text('pytest_plugins = ["airflow_provider_dailybot.testing.pytest_plugin"]\n')
    (tmp_path / "test_user.py").write_text(
        textwrap.dedent(
            """
            import socket
            import requests

            URLS = []

            def test_uses_fixture(dailybot_fake_server):
                assert dailybot_fake_server.url.startswith("http://127.0.0.1:")
                response = requests.get(
                    dailybot_fake_server.base_url + "me/",
                    headers={"X-API-KEY": dailybot_fake_server.api_key},
                    timeout=5,
                )
                assert response.status_code == 200
                URLS.append(dailybot_fake_server.url)

            def test_function_scoped_and_stopped(dailybot_fake_server):
                assert dailybot_fake_server.subscriptions == []
                port = int(URLS[0].rsplit(":", 1)[1])
                with socket.socket() as sock:
                    assert sock.connect_ex(("127.0.0.1", port)) != 0, "the previous server is still listening"
            """
        )
    )
    _assert_user_suite_passes(tmp_path, 2)


def test_pytest_plugin_options_configure_the_server(tmp_path: Path) -> None:
    """``dailybot_fake_server_options`` overrides configure the server; a nested override extends the outer one."""
    (tmp_path / "conftest.py").write_text(
        textwrap.dedent(
            """
            import pytest

            pytest_plugins = ["airflow_provider_dailybot.testing.pytest_plugin"]

            @pytest.fixture
            def dailybot_fake_server_options():
                return {"api_key": "sk-user-fixed-key", "user_full_name": "Grace Hopper"}
            """
        )
    )
    (tmp_path / "test_user.py").write_text(
        textwrap.dedent(
            """
            import requests

            def test_fixed_key_and_name(dailybot_fake_server):
                assert dailybot_fake_server.api_key == "sk-user-fixed-key"
                response = requests.get(
                    dailybot_fake_server.base_url + "me/", headers={"X-API-KEY": "sk-user-fixed-key"}, timeout=5
                )
                assert response.status_code == 200
                assert response.json()["full_name"] == "Grace Hopper"
            """
        )
    )
    nested = tmp_path / "nested"
    nested.mkdir()
    (nested / "conftest.py").write_text(
        textwrap.dedent(
            """
            import pytest

            @pytest.fixture
            def dailybot_fake_server_options(dailybot_fake_server_options):
                return {**dailybot_fake_server_options, "organization_name": "Nested Org"}
            """
        )
    )
    (nested / "test_nested.py").write_text(
        textwrap.dedent(
            """
            import requests

            def test_extended(dailybot_fake_server):
                assert dailybot_fake_server.api_key == "sk-user-fixed-key"
                me = requests.get(
                    dailybot_fake_server.base_url + "me/", headers={"X-API-KEY": "sk-user-fixed-key"}, timeout=5
                ).json()
                assert (me["full_name"], me["organization"]["name"]) == ("Grace Hopper", "Nested Org")
            """
        )
    )
    _assert_user_suite_passes(tmp_path, 2)


def test_the_package_does_not_import_airflow() -> None:
    code = (
        "import sys, airflow_provider_dailybot.testing, airflow_provider_dailybot.testing.__main__;"
        "bad = sorted(m for m in sys.modules if m == 'airflow' or m.startswith('airflow.'));"
        "assert not bad, bad"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
