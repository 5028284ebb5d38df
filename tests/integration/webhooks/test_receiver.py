"""The receiver inside the real api-server app (``airflow.api_fastapi.app.create_app``) on the sqlite metadata DB.

The app is built by Airflow itself, so ``/dailybot`` is mounted through the plugin's ``airflow.plugins``
entry point exactly as in a running api-server. The client sends no Airflow credentials.
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from airflow_provider_dailybot.testing.samples import make_envelope
from airflow_provider_dailybot.webhooks.bindings import secret_ref
from airflow_provider_dailybot.webhooks.channels import MetadataChannelStore, generate_secret, hash_secret
from tests.integration.conftest import (
    DeclaredChannel,
    add_channel_secret,
    channel_events,
    total_events,
    unique_channel,
    unpause,
)

pytestmark = pytest.mark.db

CHECKIN = "followups.response.completed"


def envelope(hook_id: str = "hook-1", *, timestamp: float = 1707154471.495433, **kwargs: Any) -> dict[str, Any]:
    return make_envelope(CHECKIN, hook_id=hook_id, hook_name="Airflow", timestamp=timestamp, **kwargs)


def post(client: Any, channel: DeclaredChannel | str, payload: Any = None, *, bearer: str | None = None, **kw: Any):
    path = channel.path if isinstance(channel, DeclaredChannel) else f"/dailybot/webhooks/{channel}"
    if bearer is None and isinstance(channel, DeclaredChannel):
        bearer = channel.secret
    headers = dict(kw.pop("headers", {}))
    if bearer:
        headers["X-BEARER"] = bearer
    if payload is not None and "content" not in kw:
        kw["content"] = json.dumps(payload).encode()
        headers.setdefault("Content-Type", "application/json")
    return client.post(path, headers=headers, **kw)


@pytest.fixture
def channel(declare_channel: Any) -> DeclaredChannel:
    return declare_channel()


# -- accepted deliveries ---------------------------------------------------------------------------
def test_delivery_is_recorded_as_asset_event_and_queues_the_consumer(receiver_client: Any, channel: DeclaredChannel):
    from airflow.models.asset import AssetDagRunQueue, AssetModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    assert channel.dag_id
    unpause(channel.dag_id)
    sent = envelope()
    response = post(receiver_client, channel, sent)

    assert response.status_code == 202, response.text
    answer = response.json()
    assert set(answer) == {"delivery_id", "duplicate", "outcome"}
    assert answer["duplicate"] is False
    assert answer["outcome"] == "recorded"
    uuid.UUID(answer["delivery_id"])
    (event,) = channel_events(channel.name)
    ref = secret_ref(hash_secret(channel.secret))
    assert event.extra == {
        "delivery_id": answer["delivery_id"],
        "dedupe_key": event.extra["dedupe_key"],
        "channel": channel.name,
        "event": CHECKIN,
        "event_timestamp": 1707154471.495433,
        "hook": {"id": "hook-1", "name": "Airflow"},
        "body": sent["body"],
        "delivered_by": ["hook-1"],
        "secret_ref": ref,
        "deliveries": [{"hook_id": "hook-1", "secret_ref": ref, "hook_id_mismatch": False}],
        "hook_id_mismatch": False,
    }
    assert len(ref) == 16
    assert ref not in hash_secret(channel.secret)  # a reference, not (part of) the hash
    assert len(event.extra["dedupe_key"]) == 64
    assert event.source_dag_id is None  # recorded like POST /api/v2/assets/events, not by a task
    with create_session() as session:
        queued = session.scalars(
            select(AssetDagRunQueue.target_dag_id)
            .join(AssetModel, AssetModel.id == AssetDagRunQueue.asset_id)
            .where(AssetModel.name == f"dailybot_{channel.name}")
        ).all()
    assert queued == [channel.dag_id]


def test_iso_event_timestamp_is_kept_as_received(receiver_client: Any, channel: DeclaredChannel) -> None:
    sent = {**envelope(), "event_timestamp": "2026-01-31T12:34:56.789+00:00"}
    assert post(receiver_client, channel, sent).status_code == 202
    (event,) = channel_events(channel.name)
    assert event.extra["event_timestamp"] == "2026-01-31T12:34:56.789+00:00"


def test_bearer_prefix_is_accepted(receiver_client: Any, channel: DeclaredChannel) -> None:
    response = post(receiver_client, channel, envelope(), bearer=f"Bearer {channel.secret}")
    assert response.status_code == 202, response.text
    assert len(channel_events(channel.name)) == 1


def test_chunked_delivery_under_the_limit_is_accepted(receiver_client: Any, channel: DeclaredChannel) -> None:
    raw = json.dumps(envelope()).encode()
    chunks = iter([raw[:100], raw[100:]])
    response = post(receiver_client, channel, bearer=channel.secret, content=chunks)
    assert response.status_code == 202, response.text


# -- refused deliveries record nothing ------------------------------------------------------------
@pytest.fixture
def recorded_nothing() -> Iterator[None]:
    before = total_events()
    yield
    assert total_events() == before, "a refused request recorded an asset event"


@pytest.mark.parametrize(
    "case",
    [
        "no header",
        "empty header",
        "wrong secret",
        "bearer prefix with wrong secret",
        "other channel's secret",
        "hash instead of secret",
        "unknown channel",
        "upper-case channel name",
        "too long channel name",
        "secret in query string",
        "corrupt channel variable",
    ],
)
def test_bad_authentication_is_401_and_records_nothing(
    receiver_client: Any, declare_channel: Any, recorded_nothing: None, case: str
) -> None:
    from airflow.models.variable import Variable

    from airflow_provider_dailybot.webhooks.channels import hash_secret, variable_key

    channel = declare_channel()
    other = declare_channel()
    target: DeclaredChannel | str = channel
    headers: dict[str, str] = {}
    params: dict[str, str] = {}
    bearer: str | None = None
    if case == "no header":
        bearer = ""
    elif case == "empty header":
        bearer, headers = "", {"X-BEARER": ""}
    elif case == "wrong secret":
        bearer = generate_secret()
    elif case == "bearer prefix with wrong secret":
        bearer = f"Bearer {generate_secret()}"
    elif case == "other channel's secret":
        bearer = other.secret
    elif case == "hash instead of secret":
        bearer = hash_secret(channel.secret)
    elif case == "unknown channel":
        target, bearer = unique_channel("nochannel"), channel.secret
    elif case == "upper-case channel name":
        target, bearer = channel.name.upper(), channel.secret
    elif case == "too long channel name":
        target, bearer = "a" * 65, channel.secret
    elif case == "secret in query string":
        bearer, params = "", {"bearer": channel.secret, "x-bearer": channel.secret}
    elif case == "corrupt channel variable":
        Variable.set(variable_key(channel.name), "{not json")
        bearer = channel.secret

    response = post(receiver_client, target, envelope(), bearer=bearer, headers=headers, params=params)

    assert response.status_code == 401
    assert response.json() == {"detail": "Missing or invalid X-BEARER for this webhook channel."}


def test_authentication_runs_before_the_size_check(
    receiver_client: Any, channel: DeclaredChannel, recorded_nothing: None
) -> None:
    oversized = b"x" * (1024 * 1024 + 1)
    assert post(receiver_client, channel, bearer=generate_secret(), content=oversized).status_code == 401
    assert post(receiver_client, channel, bearer=channel.secret, content=oversized).status_code == 413


def test_body_over_limit_by_content_length_is_413(
    receiver_client: Any, channel: DeclaredChannel, monkeypatch: pytest.MonkeyPatch, recorded_nothing: None
) -> None:
    raw = json.dumps(envelope()).encode()
    monkeypatch.setenv("AIRFLOW__DAILYBOT__RECEIVER_MAX_BODY_BYTES", str(len(raw) - 1))
    response = post(receiver_client, channel, bearer=channel.secret, content=raw)
    assert response.status_code == 413
    assert str(len(raw) - 1) in response.json()["detail"]


def test_chunked_body_over_limit_is_413(
    receiver_client: Any, channel: DeclaredChannel, monkeypatch: pytest.MonkeyPatch, recorded_nothing: None
) -> None:
    monkeypatch.setenv("AIRFLOW__DAILYBOT__RECEIVER_MAX_BODY_BYTES", "4096")
    raw = json.dumps(envelope(body={"padding": "x" * 5000})).encode()
    sent: list[int] = []

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(raw), 1000):
            sent.append(start)
            yield raw[start : start + 1000]

    response = post(receiver_client, channel, bearer=channel.secret, content=chunks())
    assert response.status_code == 413
    assert "4096" in response.json()["detail"]


def test_limit_is_configurable_upwards(
    receiver_client: Any, channel: DeclaredChannel, monkeypatch: pytest.MonkeyPatch
) -> None:
    payload = envelope(body={"padding": "x" * (1024 * 1024)})
    assert post(receiver_client, channel, payload).status_code == 413
    monkeypatch.setenv("AIRFLOW__DAILYBOT__RECEIVER_MAX_BODY_BYTES", str(2 * 1024 * 1024))
    assert post(receiver_client, channel, payload).status_code == 202


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"{not json",
        b"[1, 2, 3]",
        b'{"event": "kudos.posted"}',
        b'{"body": {}}',
        b'{"event": "kudos.posted", "body": {"n": NaN}}',
        b'{"event": "kudos.posted", "body": {}, "event_timestamp": false}',
        b"\xff\xfe\xfd",
    ],
)
def test_malformed_or_non_envelope_body_is_400(
    receiver_client: Any, channel: DeclaredChannel, recorded_nothing: None, raw: bytes
) -> None:
    response = post(receiver_client, channel, bearer=channel.secret, content=raw)
    assert response.status_code == 400
    assert response.json()["detail"].startswith("Not a DailyBot delivery")


def test_invalid_content_length_is_400(receiver_client: Any, channel: DeclaredChannel, recorded_nothing: None) -> None:
    from starlette.requests import Request

    from airflow_provider_dailybot.webhooks.receiver import receive_delivery

    # httpx always sends a correct Content-Length, so call the endpoint with a crafted ASGI scope.
    scope = {
        "type": "http",
        "method": "POST",
        "path": channel.path,
        "headers": [(b"x-bearer", channel.secret.encode()), (b"content-length", b"12abc")],
    }

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"{}", "more_body": False}

    import anyio

    response = anyio.run(receive_delivery, channel.name, Request(scope, receive))
    assert response.status_code == 400


def test_undeclared_asset_is_202_no_consumer_naming_the_fix(
    receiver_client: Any, declare_channel: Any, recorded_nothing: None
) -> None:
    channel = declare_channel(declared=False)
    response = post(receiver_client, channel, envelope())
    assert response.status_code == 202
    answer = response.json()
    assert (answer["outcome"], answer["duplicate"]) == ("no_consumer", False)
    assert f"dailybot_webhook_asset('{channel.name}')" in answer["detail"]
    assert f"dailybot://webhooks/{channel.name}" in answer["detail"]


def test_orphaned_asset_is_202_no_consumer(
    receiver_client: Any, channel: DeclaredChannel, recorded_nothing: None
) -> None:
    from airflow.models.asset import AssetActive
    from airflow.utils.session import create_session
    from sqlalchemy import delete

    with create_session() as session:  # what the scheduler does once no DAG declares the asset any more
        session.execute(delete(AssetActive).where(AssetActive.name == f"dailybot_{channel.name}"))
    assert post(receiver_client, channel, envelope()).json()["outcome"] == "no_consumer"


# -- duplicates ------------------------------------------------------------------------------------
def test_same_event_from_two_subscriptions_is_recorded_once(receiver_client: Any, channel: DeclaredChannel) -> None:
    first = post(receiver_client, channel, envelope("hook-old"))
    second = post(receiver_client, channel, envelope("hook-new"))
    again = post(receiver_client, channel, envelope("hook-new"))  # a retry of the same hook

    assert first.status_code == second.status_code == again.status_code == 202
    assert first.json()["duplicate"] is False
    assert second.json() == {"delivery_id": first.json()["delivery_id"], "duplicate": True, "outcome": "duplicate"}
    assert again.json() == second.json()
    (event,) = channel_events(channel.name)
    assert event.extra["delivered_by"] == ["hook-old", "hook-new"]
    assert event.extra["hook"] == {"id": "hook-old", "name": "Airflow"}


def test_different_timestamp_or_body_is_a_new_delivery(receiver_client: Any, channel: DeclaredChannel) -> None:
    base = envelope()
    later = {**base, "event_timestamp": base["event_timestamp"] + 1}
    other_body = {**base, "body": {**base["body"], "uuid": "another-response"}}
    ids = {post(receiver_client, channel, payload).json()["delivery_id"] for payload in (base, later, other_body)}
    assert len(ids) == 3
    assert len(channel_events(channel.name)) == 3


def test_dedupe_is_scoped_to_the_channel(receiver_client: Any, declare_channel: Any) -> None:
    one, two = declare_channel(), declare_channel()
    assert post(receiver_client, one, envelope()).json()["duplicate"] is False
    assert post(receiver_client, two, envelope()).json()["duplicate"] is False
    assert len(channel_events(one.name)) == len(channel_events(two.name)) == 1


def test_duplicate_outside_the_old_window_is_still_a_duplicate(
    receiver_client: Any, channel: DeclaredChannel, monkeypatch: pytest.MonkeyPatch
) -> None:
    from datetime import timedelta

    from airflow.models.asset import AssetEvent
    from airflow.utils.session import create_session
    from sqlalchemy import update

    monkeypatch.setenv("AIRFLOW__DAILYBOT__RECEIVER_DEDUPE_WINDOW_SECONDS", "60")
    assert post(receiver_client, channel, envelope()).json()["duplicate"] is False
    assert post(receiver_client, channel, envelope("hook-2")).json()["duplicate"] is True
    (event,) = channel_events(channel.name)
    with create_session() as session:
        session.execute(
            update(AssetEvent)
            .where(AssetEvent.id == event.id)
            .values(timestamp=event.timestamp - timedelta(seconds=61))
        )
    assert post(receiver_client, channel, envelope("hook-3")).json()["duplicate"] is True  # the table decides
    assert len(channel_events(channel.name)) == 1


def test_window_zero_no_longer_disables_dedupe(
    receiver_client: Any, channel: DeclaredChannel, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIRFLOW__DAILYBOT__RECEIVER_DEDUPE_WINDOW_SECONDS", "0")  # bounds the 0.1 backfill only
    assert post(receiver_client, channel, envelope()).json()["duplicate"] is False
    assert post(receiver_client, channel, envelope()).json()["duplicate"] is True
    assert len(channel_events(channel.name)) == 1


def test_concurrent_duplicates_are_recorded_once(receiver_client: Any, channel: DeclaredChannel) -> None:
    hooks = [f"hook-{i}" for i in range(8)]
    barrier = threading.Barrier(len(hooks))
    answers: dict[str, Any] = {}

    def deliver(hook_id: str) -> None:
        barrier.wait()
        answers[hook_id] = post(receiver_client, channel, envelope(hook_id))

    threads = [threading.Thread(target=deliver, args=(h,)) for h in hooks]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert {r.status_code for r in answers.values()} == {202}
    assert len({r.json()["delivery_id"] for r in answers.values()}) == 1
    assert sorted(r.json()["duplicate"] for r in answers.values()) == [False] + [True] * 7
    (event,) = channel_events(channel.name)
    assert sorted(event.extra["delivered_by"]) == hooks


# -- rotation -------------------------------------------------------------------------------------
def test_secret_rotation(receiver_client: Any, channel: DeclaredChannel, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW__DAILYBOT__RECEIVER_STATE_CACHE_SECONDS", "0")  # with a cache: tests/unit/webhooks
    new_secret = add_channel_secret(channel.name)

    def status(secret: str, n: int) -> int:
        return post(receiver_client, channel, envelope(timestamp=float(n)), bearer=secret).status_code

    assert status(channel.secret, 1) == 202  # old and new are both accepted during the overlap
    assert status(new_secret, 2) == 202

    store = MetadataChannelStore()
    state = store.load(channel.name)
    assert state is not None
    state.remove_secret(channel.secret)
    store.save(state)
    assert status(channel.secret, 3) == 401  # removed: refused at once (cache off)
    assert status(new_secret, 4) == 202
    assert len(channel_events(channel.name)) == 3


# -- secrecy, health, docs ------------------------------------------------------------------------
def test_accepted_delivery_logs_no_secret(
    receiver_client: Any, channel: DeclaredChannel, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    response = post(receiver_client, channel, envelope(), bearer=f"Bearer {channel.secret}")
    refused = post(receiver_client, channel, envelope(), bearer=channel.secret + "x")
    assert response.status_code == 202
    assert refused.status_code == 401
    delivery_id = response.json()["delivery_id"]

    out, err = capfd.readouterr()
    logged = caplog.text + out + err
    assert delivery_id in logged  # the accepted delivery was logged ...
    assert f"channel={channel.name}" in logged
    assert channel.secret not in logged  # ... without the secret
    assert channel.secret[:16] not in logged
    for record in caplog.records:
        assert channel.secret not in repr(record.__dict__)


def test_health_reports_mounted_without_details(receiver_client: Any, declare_channel: Any) -> None:
    declare_channel()
    response = receiver_client.get("/dailybot/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.parametrize("path", ["/dailybot/docs", "/dailybot/redoc", "/dailybot/openapi.json"])
def test_docs_and_openapi_are_disabled(receiver_client: Any, path: str) -> None:
    assert receiver_client.get(path).status_code == 404


def test_receiver_is_mounted_by_the_entry_point_plugin() -> None:
    from airflow import plugins_manager

    get_plugins = getattr(plugins_manager, "get_fastapi_plugins", None)
    if get_plugins is not None:  # Airflow 3.2+
        apps, _ = get_plugins()
    else:  # Airflow 3.1
        plugins_manager.initialize_fastapi_plugins()
        apps = plugins_manager.fastapi_apps or []
    ours = [app for app in apps if app.get("url_prefix") == "/dailybot"]
    assert len(ours) == 1
    assert ours[0]["name"] == "DailyBot webhook receiver"


def test_channel_store_round_trip_in_the_metadata_db(airflow_db: str) -> None:
    from airflow.models.variable import Variable

    from airflow_provider_dailybot.webhooks.channels import ChannelState, variable_key

    name = unique_channel("store")
    store = MetadataChannelStore()
    assert store.load(name) is None
    state = ChannelState(channel=name)
    state.add_secret("s")
    store.save(state)
    assert store.load(name) == state
    assert json.loads(Variable.get(variable_key(name)))["secret_sha256"] == state.secret_sha256
    store.delete(name)
    assert store.load(name) is None
