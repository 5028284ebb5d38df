"""Receiver hardening (issue 11) inside the real api-server app, on the session's sqlite metadata DB.

* a delivery whose hook id disagrees with the subscription its secret is bound to is recorded, flagged
  and left out of ``delivered_by`` (row 6, record-time half; the decision-time half is in
  ``tests/integration/lifecycle/test_forged_hook_ids.py``);
* a client that disconnects mid-body gets no traceback and no 5xx (row 9);
* no path under ``/dailybot`` answers a redirect built from the Host header (row 10);
* text holding NUL is refused (it breaks PostgreSQL's JSON operators; the PostgreSQL run is in
  ``test_receiver_e2e_hardening.py``).

The real-process versions of rows 9 and 10 are in ``test_receiver_e2e_hardening.py``.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from airflow_provider_dailybot.testing import make_envelope
from airflow_provider_dailybot.webhooks.channels import (
    ChannelSubscription,
    MetadataChannelStore,
    generate_secret,
    hash_secret,
)
from tests.integration.conftest import DeclaredChannel, channel_events, total_events

pytestmark = pytest.mark.db

CHECKIN = "followups.response.completed"


def envelope(hook_id: str, *, timestamp: float = 1707154471.5, **kwargs: Any) -> dict[str, Any]:
    return make_envelope(CHECKIN, hook_id=hook_id, hook_name="Airflow", timestamp=timestamp, **kwargs)


def post(client: Any, channel: DeclaredChannel, payload: Any, bearer: str | None = None, **kwargs: Any) -> Any:
    content = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    headers = {"X-BEARER": bearer or channel.secret, **kwargs.pop("headers", {})}
    return client.post(channel.path, content=content, headers=headers, **kwargs)


def bind(channel: str, hook_id: str, secret: str) -> None:
    """Record a subscription ``hook_id`` that sends ``secret`` (accepting the secret), as the create operator does."""
    store = MetadataChannelStore()
    state = store.load(channel)
    assert state is not None
    digest = state.add_secret(secret)
    state.add_subscription(
        ChannelSubscription(hook_id=hook_id, hook_url="https://x/y", events=[CHECKIN], secret_sha256=digest)
    )
    store.save(state)


@pytest.fixture
def channel(declare_channel: Any) -> DeclaredChannel:
    return declare_channel()


@pytest.fixture
def recorded_nothing() -> Any:
    before = total_events()
    yield
    assert total_events() == before, "a refused request recorded an asset event"


# -- row 6, at record time ------------------------------------------------------------------------------
def test_delivery_naming_another_hook_id_is_recorded_flagged_and_logged(
    receiver_client: Any, channel: DeclaredChannel, caplog: pytest.LogCaptureFixture, capfd: Any
) -> None:
    bind(channel.name, "hook-own", channel.secret)
    caplog.set_level(logging.INFO)

    forged = post(receiver_client, channel, envelope("hook-of-someone-else"))
    genuine = post(receiver_client, channel, envelope("hook-own", timestamp=2.0))

    assert (forged.status_code, genuine.status_code) == (202, 202)
    first, second = channel_events(channel.name)
    assert first.extra["hook"]["id"] == "hook-of-someone-else"
    assert first.extra["hook_id_mismatch"] is True
    assert first.extra["delivered_by"] == []
    assert first.extra["deliveries"][0]["hook_id_mismatch"] is True
    assert second.extra["hook_id_mismatch"] is False
    assert second.extra["delivered_by"] == ["hook-own"]
    assert first.extra["secret_ref"] == second.extra["secret_ref"]

    out, err = capfd.readouterr()
    logged = caplog.text + out + err
    assert "names hook id hook-of-someone-else, but its X-BEARER belongs to subscription hook-own" in logged
    assert channel.secret not in logged
    assert hash_secret(channel.secret) not in logged


def test_duplicates_keep_each_hook_id_with_its_secret(receiver_client: Any, channel: DeclaredChannel) -> None:
    second_secret = generate_secret()
    bind(channel.name, "hook-a", channel.secret)
    bind(channel.name, "hook-b", second_secret)

    answers = [
        post(receiver_client, channel, envelope("hook-a")),
        post(receiver_client, channel, envelope("hook-b"), bearer=second_secret),
        post(receiver_client, channel, envelope("hook-c"), bearer=second_secret),  # forged duplicate
    ]
    assert [a.json()["duplicate"] for a in answers] == [False, True, True]
    (event,) = channel_events(channel.name)
    assert event.extra["delivered_by"] == ["hook-a", "hook-b"]
    assert event.extra["hook_id_mismatch"] is False  # the event's own hook id agrees with its secret
    refs = [d["secret_ref"] for d in event.extra["deliveries"]]
    assert [d["hook_id"] for d in event.extra["deliveries"]] == ["hook-a", "hook-b", "hook-c"]
    assert refs[1] == refs[2] != refs[0]
    assert [d["hook_id_mismatch"] for d in event.extra["deliveries"]] == [False, False, True]


# -- row 9: a client that goes away mid-body -----------------------------------------------------------
def _asgi_post(app: Any, channel: DeclaredChannel, body_parts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Drive the api-server's ASGI app with a POST whose body messages are ``body_parts``; return what it sent."""
    import anyio

    pending = list(body_parts)
    sent: list[dict[str, Any]] = []
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": channel.path,
        "raw_path": channel.path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver"), (b"x-bearer", channel.secret.encode()), (b"content-length", b"5000")],
        "client": ("127.0.0.1", 40000),
        "server": ("127.0.0.1", 80),
    }

    async def receive() -> dict[str, Any]:
        return pending.pop(0) if pending else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    anyio.run(app, scope, receive, send)
    return sent


def test_client_disconnect_mid_body_is_no_server_error(
    api_app: Any,
    receiver_client: Any,
    channel: DeclaredChannel,
    recorded_nothing: None,
    caplog: pytest.LogCaptureFixture,
    capfd: Any,
) -> None:
    caplog.set_level(logging.DEBUG)
    partial = json.dumps(envelope("hook-1")).encode()[:60]
    sent = _asgi_post(
        api_app, channel, [{"type": "http.request", "body": partial, "more_body": True}, {"type": "http.disconnect"}]
    )

    (start,) = [m for m in sent if m["type"] == "http.response.start"]
    assert start["status"] == 400
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    assert json.loads(body) == {"detail": "The client disconnected before sending the whole body."}
    out, err = capfd.readouterr()
    logged = caplog.text + out + err
    assert "the client disconnected before sending the whole body" in logged
    assert "Traceback" not in logged
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], [r.getMessage() for r in caplog.records]
    assert channel.secret not in logged


# -- row 10: no redirect under /dailybot ---------------------------------------------------------------
@pytest.mark.parametrize(
    ("method", "suffix"),
    [
        ("GET", "/health/"),
        ("GET", "/health//"),
        ("POST", "/webhooks/{channel}/"),
        ("POST", "/webhooks/{channel}//"),
        ("POST", "/webhooks/no-such-channel/"),
        ("GET", "/webhooks/{channel}/"),
    ],
)
def test_no_redirect_under_the_receiver(
    receiver_client: Any, channel: DeclaredChannel, recorded_nothing: None, method: str, suffix: str
) -> None:
    path = "/dailybot" + suffix.format(channel=channel.name)
    response = receiver_client.request(
        method,
        path,
        headers={"Host": "attacker.example", "X-BEARER": channel.secret},
        content=json.dumps(envelope("hook-1")).encode(),
        follow_redirects=False,
    )
    assert response.status_code == 404, (response.status_code, response.headers.get("location"))
    assert "location" not in response.headers
    assert "attacker.example" not in response.text


def test_the_routes_without_a_trailing_slash_still_answer(receiver_client: Any, channel: DeclaredChannel) -> None:
    assert receiver_client.get("/dailybot/health", headers={"Host": "attacker.example"}).json() == {"status": "ok"}
    assert post(receiver_client, channel, envelope("hook-1")).status_code == 202


# -- NUL and over-long hook ids ------------------------------------------------------------------------
@pytest.mark.parametrize(
    "raw",
    [
        b'{"event": "kudos.posted", "body": {"text": "a\\u0000b"}}',
        b'{"event": "kudos.posted", "body": {"a\\u0000": 1}}',
        b'{"event": "kudos.posted", "body": {"deep": [{"x": ["\\u0000"]}]}}',
        b'{"event": "kudos.posted", "body": {}, "hook": {"id": "h\\u0000", "name": "n"}}',
        b'{"event": "kudos.posted", "body": {}, "event_timestamp": "2026\\u0000"}',
    ],
    ids=["value", "key", "nested", "hook id", "timestamp"],
)
def test_nul_anywhere_is_refused(
    receiver_client: Any, channel: DeclaredChannel, recorded_nothing: None, raw: bytes
) -> None:
    response = post(receiver_client, channel, raw)
    assert response.status_code == 400
    assert "NUL character" in response.json()["detail"]


def test_over_long_hook_id_is_refused(receiver_client: Any, channel: DeclaredChannel) -> None:
    response = post(receiver_client, channel, envelope("h" * 257))
    assert response.status_code == 400
    assert "'hook.id' is longer than 256" in response.json()["detail"]
    assert channel_events(channel.name) == []
    assert post(receiver_client, channel, envelope("h" * 256)).status_code == 202
