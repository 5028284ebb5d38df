"""Injected faults on the fake DailyBot server: API responses and outgoing deliveries."""

from __future__ import annotations

import time

import pytest
import requests

from airflow_provider_dailybot.testing import FakeDailyBotServer
from tests.unit.testing.conftest import BEARER, EXAMPLE_URL, HOOKS, Client, Receiver


def test_status_fault_counts_down(server: FakeDailyBotServer, client: Client) -> None:
    fault = server.inject(status=503, times=2)
    for _ in range(2):
        response = client("GET", "/v1/me/")
        assert response.status_code == 503
        assert response.json() == {"detail": "Service Unavailable.", "code": "service_unavailable"}
    assert (fault.remaining, fault.hits) == (0, 2)
    assert client("GET", "/v1/me/").status_code == 200
    assert [r.status for r in server.requests] == [503, 503, 200]


def test_500_is_django_html_and_overrides_apply(client: Client, server: FakeDailyBotServer) -> None:
    server.inject(status=500)
    html = client("GET", "/v1/me/")
    assert html.status_code == 500
    assert html.headers["Content-Type"].startswith("text/html")
    assert html.text == "<h1>Server Error (500)</h1>"
    server.inject(status=403, code="api_key_owner_inactive", detail="Owner inactive.")
    assert client("GET", "/v1/me/").json() == {"detail": "Owner inactive.", "code": "api_key_owner_inactive"}
    server.inject(status=502, body=b"<html>Bad gateway</html>")
    raw = client("GET", "/v1/me/")
    assert (raw.status_code, raw.text, raw.headers["Content-Length"]) == (502, "<html>Bad gateway</html>", "24")


def test_throttling_with_retry_after(server: FakeDailyBotServer, client: Client) -> None:
    server.inject(status=429, retry_after=3)
    response = client("GET", "/v1/me/")
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "3"
    assert response.json() == {"detail": "Request was throttled. Expected available in 3 seconds."}
    server.inject(status=429, code="free_plan_daily_limit_exceeded")
    bare = client("GET", "/v1/me/")
    assert "Retry-After" not in bare.headers
    assert bare.json() == {"detail": "Request was throttled.", "code": "free_plan_daily_limit_exceeded"}


def test_delay_then_normal_answer(server: FakeDailyBotServer, client: Client) -> None:
    server.inject(delay=0.3)
    started = time.monotonic()
    response = client("GET", "/v1/me/")
    assert response.status_code == 200
    assert time.monotonic() - started >= 0.3
    server.inject(delay=0.5)
    with pytest.raises(requests.Timeout):
        client("GET", "/v1/me/", timeout=0.1)


def test_drop_closes_without_response(server: FakeDailyBotServer, client: Client) -> None:
    server.inject(drop=True)
    with pytest.raises(requests.ConnectionError):
        client("GET", "/v1/me/")
    assert server.requests[-1].status is None
    assert client("GET", "/v1/me/").status_code == 200  # the next request is served again


@pytest.mark.parametrize("kind", ["status", "drop"])
def test_after_processing_changes_state_but_hides_success(
    server: FakeDailyBotServer, client: Client, receiver: Receiver, kind: str
) -> None:
    if kind == "status":
        server.inject(status=500, method="post", path=HOOKS, after_processing=True)
        assert client.create(receiver.url, immediate_sample_event=True).status_code == 500
    else:
        server.inject(drop=True, method="POST", path=HOOKS, after_processing=True)
        with pytest.raises(requests.ConnectionError):
            client.create(receiver.url, immediate_sample_event=True)
    (subscription,) = server.subscriptions
    (attempt,) = server.wait_for_deliveries(1)  # DailyBot did the work, sample included
    assert attempt.hook_id == subscription.id
    assert attempt.sample


def test_faults_match_method_and_path_prefix(server: FakeDailyBotServer, client: Client) -> None:
    fault = server.inject(status=502, method="delete", path="/v1/webhook-subscription")
    assert client("GET", "/v1/me/").status_code == 200
    assert client.create(EXAMPLE_URL).status_code == 201
    assert client("DELETE", HOOKS + "whatever/").status_code == 502
    assert fault.remaining == 0
    assert client("DELETE", HOOKS + "whatever/").status_code == 404
    # A fault without a path does not touch the control endpoints.
    server.inject(status=500)
    assert client("GET", "/_fake/state").status_code == 200
    assert client("GET", "/v1/me/").status_code == 500


def test_inject_validates_its_arguments(server: FakeDailyBotServer) -> None:
    with pytest.raises(ValueError, match="needs a status"):
        server.inject()
    with pytest.raises(ValueError, match="times"):
        server.inject(status=500, times=0)
    with pytest.raises(ValueError, match="between 200 and 599"):
        server.inject(status=99)
    with pytest.raises(ValueError, match="drop=True, duplicate=True or a delay"):
        server.inject_delivery()


# --------------------------------------------------------------------------- deliveries


def test_emit_reaches_matching_subscriptions_only(
    server: FakeDailyBotServer, client: Client, receiver: Receiver
) -> None:
    kudos = client.create_id(receiver.url + "/a", ["kudos.posted"], bearer=BEARER, name="A")
    client.create_id(receiver.url + "/b", ["forms.response.created"])
    both = client.create_id(receiver.url + "/c", ["forms.response.created", "kudos.posted"], name="C")
    body = {"uuid": "custom", "content": "thanks!"}
    attempts = server.emit("kudos.posted", body)
    assert sorted(a.hook_id for a in attempts) == sorted([kudos, both])
    assert all(a.ok and not a.sample for a in attempts)
    received = {d.path: d for d in receiver.wait(2)}
    assert set(received) == {"/hooks/dailybot/a", "/hooks/dailybot/c"}
    assert received["/hooks/dailybot/a"].headers["X-BEARER"] == BEARER
    assert "X-BEARER" not in received["/hooks/dailybot/c"].headers
    assert received["/hooks/dailybot/c"].json["hook"] == {"id": both, "name": "C"}
    assert all(d.json["body"] == body and d.json["event"] == "kudos.posted" for d in received.values())
    assert server.emit("organization.user_activated") == []
    with pytest.raises(ValueError, match="Unknown DailyBot event"):
        server.emit("kudos.given")


def test_emit_in_the_background(server: FakeDailyBotServer, client: Client, receiver: Receiver) -> None:
    client.create_id(receiver.url)
    assert server.emit("kudos.posted", wait=False) == []
    (attempt,) = server.wait_for_deliveries(1)
    assert attempt.ok
    with pytest.raises(TimeoutError, match="expected 2 webhook deliveries"):
        server.wait_for_deliveries(2, timeout=0.1)


def test_delivery_faults(server: FakeDailyBotServer, client: Client, receiver: Receiver) -> None:
    client.create_id(receiver.url, ["kudos.posted", "forms.response.created"])
    dropped = server.inject_delivery(drop=True, event="kudos.posted")
    server.emit("forms.response.created")  # not matched by the kudos-only fault
    (attempt,) = server.emit("kudos.posted")
    assert (attempt.status, attempt.error) == (None, "dropped by an injected delivery fault")
    assert dropped.remaining == 0
    assert [d.json["event"] for d in receiver.received] == ["forms.response.created"]

    server.inject_delivery(duplicate=True)
    first, second = server.emit("kudos.posted")
    assert first.envelope == second.envelope
    assert first.ok
    assert second.ok
    assert [d.json for d in receiver.wait(3)[1:]] == [first.envelope, second.envelope]

    server.inject_delivery(delay=0.3)
    started = time.monotonic()
    (late,) = server.emit("kudos.posted")
    assert late.ok
    assert time.monotonic() - started >= 0.3
    assert len(server.deliveries) == 5


def test_unreachable_receiver_is_recorded_as_an_error(server: FakeDailyBotServer, client: Client) -> None:
    client.create_id("http://127.0.0.1:9/never")
    (attempt,) = server.emit("kudos.posted")
    assert attempt.status is None
    assert attempt.error
    assert "ConnectionError" in attempt.error
    assert not attempt.ok


def test_custom_transport_replaces_http() -> None:
    calls: list[tuple[str, dict[str, str], bytes, float]] = []

    def transport(url: str, headers: dict[str, str], body: bytes, timeout: float) -> int:
        calls.append((url, headers, body, timeout))
        if "fail" in url:
            raise RuntimeError(f"refused, headers were {headers}")
        return 202

    with FakeDailyBotServer(transport=transport, delivery_timeout=1.5) as fake:
        api = Client(fake)
        api.create_id("https://receiver.invalid/ok", bearer=BEARER)
        api.create_id("https://receiver.invalid/fail", bearer=BEARER)
        ok, failed = fake.emit("kudos.posted")
    assert ok.status == 202
    assert ok.ok
    assert failed.status is None
    assert failed.error is not None
    assert failed.error.startswith("RuntimeError")
    assert BEARER not in failed.error
    assert "***" in failed.error
    url, headers, body, timeout = calls[0]
    assert url == "https://receiver.invalid/ok"
    assert timeout == 1.5
    assert headers["X-BEARER"] == BEARER
    assert headers["Content-Type"] == "application/json"
    assert b'"event": "kudos.posted"' in body
