"""The fake DailyBot server's HTTP contract: auth, switches, /me/, create, delete, sample, routing."""

from __future__ import annotations

import hashlib
import time
import uuid
from typing import Any

import pytest
import requests

from airflow_provider_dailybot.testing import FakeDailyBotServer, sample_body
from airflow_provider_dailybot.testing.contract import EVENTS
from airflow_provider_dailybot.testing.routes import Router, compile_template
from airflow_provider_dailybot.testing.wire import Response
from tests.conftest import API_KEY
from tests.unit.testing.conftest import BEARER, EXAMPLE_URL, HOOKS, Client, Receiver


def _error(response: requests.Response, status: int, code: str | None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"] == "application/json"
    assert int(response.headers["Content-Length"]) == len(response.content)
    body: dict[str, Any] = response.json()
    assert body.get("code") == code
    return body


# --------------------------------------------------------------------------- auth and switches


@pytest.mark.parametrize("failure_status", [401, 403])
def test_missing_and_wrong_api_key(server: FakeDailyBotServer, failure_status: int) -> None:
    server.auth_failure_status = failure_status
    missing = requests.get(server.base_url + "me/", timeout=5)
    assert _error(missing, failure_status, None) == {"detail": "Authentication credentials were not provided."}
    wrong = requests.get(server.base_url + "me/", headers={"X-API-KEY": API_KEY + "x"}, timeout=5)
    assert _error(wrong, failure_status, "authentication_failed")["detail"] == "Invalid API key."
    assert [r.status for r in server.requests] == [failure_status, failure_status]


def test_free_plan_forbids_every_api_call(server: FakeDailyBotServer, client: Client) -> None:
    server.free_plan = True
    for response in (client("GET", "/v1/me/"), client.create(EXAMPLE_URL)):
        body = _error(response, 403, "plan_free_api_keys_forbidden")
        assert body["upgrade_url"].startswith("https://")
    assert server.subscriptions == []
    server.free_plan = False
    assert client("GET", "/v1/me/").status_code == 200


def test_non_admin_cannot_manage_webhooks(server: FakeDailyBotServer, client: Client) -> None:
    server.org_admin = False
    assert client("GET", "/v1/me/").json()["role"] == "MEMBER"
    _error(client.create(EXAMPLE_URL), 403, "org_admin_required")
    _error(client("DELETE", HOOKS, params={"hook_id": str(uuid.uuid4())}), 403, "org_admin_required")
    _error(client("POST", HOOKS + "sample/", json={"event": "kudos.posted"}), 403, "org_admin_required")
    assert server.subscriptions == []


@pytest.mark.parametrize("path", ["/v1/me/", "/v1/me"])
def test_me(server: FakeDailyBotServer, client: Client, path: str) -> None:
    response = client("GET", path)
    assert response.status_code == 200
    me = response.json()
    assert me["full_name"] == me["user"] == "Ada Lovelace"
    assert me["role"] == "ADMIN_ORG"
    assert me["organization"] == {"uuid": me["organization_uuid"], "name": "Acme Corp"}
    assert me["organization_name"] == "Acme Corp"
    uuid.UUID(me["uuid"])
    assert {"email", "timezone", "image", "is_active", "bot_enabled", "occupation"} <= set(me)


# --------------------------------------------------------------------------- create


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"subscriptions": ["kudos.posted"]}, "hook_url", "This field is required."),
        ({"hook_url": "ftp://example.com/x", "subscriptions": ["kudos.posted"]}, "hook_url", "Enter a valid URL."),
        ({"hook_url": "not a url", "subscriptions": ["kudos.posted"]}, "hook_url", "Enter a valid URL."),
        ({"hook_url": "https:///nohost", "subscriptions": ["kudos.posted"]}, "hook_url", "Enter a valid URL."),
        ({"hook_url": EXAMPLE_URL}, "subscriptions", "This field is required."),
        ({"hook_url": EXAMPLE_URL, "subscriptions": []}, "subscriptions", "at least one event"),
        ({"hook_url": EXAMPLE_URL, "subscriptions": ["kudos.post"]}, "subscriptions", "did you mean 'kudos.posted'"),
        ({"hook_url": EXAMPLE_URL, "subscriptions": {"a": 1}}, "subscriptions", "Expected a list"),
        (
            {"hook_url": EXAMPLE_URL, "subscriptions": ["kudos.posted"], "subscribed_objects": ["nope"]},
            "subscribed_objects",
            "is not a UUID",
        ),
        ({"hook_url": EXAMPLE_URL, "subscriptions": ["kudos.posted"], "bearer": 5}, "bearer", "Not a valid string."),
        (
            {"hook_url": EXAMPLE_URL, "subscriptions": ["kudos.posted"], "immediate_sample_event": "maybe"},
            "immediate_sample_event",
            "Must be a valid boolean.",
        ),
    ],
)
def test_create_validation(
    server: FakeDailyBotServer, client: Client, body: dict[str, Any], field: str, message: str
) -> None:
    error = _error(client("POST", HOOKS, json=body), 400, "invalid")
    assert error["detail"] == "Invalid input."
    assert list(error["errors"]) == [field]
    assert message in error["errors"][field][0]
    assert server.subscriptions == []


def test_create_rejects_non_json_and_non_objects(server: FakeDailyBotServer, client: Client) -> None:
    garbage = client("POST", HOOKS, data=b"{not json", headers={"Content-Type": "application/json"})
    assert _error(garbage, 400, "parse_error")["detail"].startswith("JSON parse error")
    listed = client("POST", HOOKS, json=[EXAMPLE_URL])
    assert "non_field_errors" in _error(listed, 400, "invalid")["errors"]
    assert server.subscriptions == []


@pytest.mark.parametrize(("id_key", "status"), [("id", 201), ("uuid", 200), ("hook_id", 201)])
def test_create_response_shape(server: FakeDailyBotServer, client: Client, id_key: str, status: int) -> None:
    server.create_id_key, server.create_status = id_key, status
    objects = [str(uuid.uuid4())]
    response = client.create(
        EXAMPLE_URL, ["kudos.posted", "forms.response.created"], name="n", subscribed_objects=objects
    )
    assert response.status_code == status
    body = response.json()
    assert set(body) == {id_key, "url", "name", "subscriptions", "subscribed_objects"}
    assert body["url"] == EXAMPLE_URL
    assert body["name"] == "n"
    assert body["subscriptions"] == ["kudos.posted", "forms.response.created"]
    (subscription,) = server.subscriptions
    assert subscription.id == body[id_key]
    assert subscription.subscribed_objects == objects
    assert not subscription.has_bearer
    assert subscription.bearer_sha256 is None


def test_create_wraps_single_strings_and_keeps_only_a_bearer_hash(server: FakeDailyBotServer, client: Client) -> None:
    object_id = str(uuid.uuid4())
    body = {"hook_url": EXAMPLE_URL, "subscriptions": "kudos.posted", "subscribed_objects": object_id, "bearer": BEARER}
    response = client("POST", HOOKS, json=body)
    assert response.status_code == 201, response.text
    assert response.json()["subscriptions"] == ["kudos.posted"]
    (subscription,) = server.subscriptions
    assert subscription.subscribed_objects == [object_id]
    assert subscription.has_bearer
    assert subscription.bearer_sha256 == hashlib.sha256(BEARER.encode()).hexdigest()
    assert BEARER not in repr(subscription)
    assert server.requests[-1].json["bearer"] == "***"


def test_sample_is_delivered_to_the_receiver(server: FakeDailyBotServer, client: Client, receiver: Receiver) -> None:
    events = ["forms.response.created", "kudos.posted"]
    hook_id = client.create_id(receiver.url, events, name="Airflow", bearer=BEARER, immediate_sample_event=True)
    (delivery,) = receiver.wait(1)
    assert delivery.path == "/hooks/dailybot"
    assert delivery.headers["X-BEARER"] == BEARER
    assert delivery.headers["Content-Type"] == "application/json"
    assert delivery.headers["User-Agent"].startswith("DailyBot-Fake/")
    envelope = delivery.json
    assert set(envelope) == {"event", "event_timestamp", "hook", "body"}
    assert envelope["event"] == "forms.response.created"
    assert envelope["hook"] == {"id": hook_id, "name": "Airflow"}
    assert isinstance(envelope["event_timestamp"], float)
    assert envelope["body"] == sample_body("forms.response.created")
    (attempt,) = server.wait_for_deliveries(1)
    assert attempt.sample
    assert attempt.ok
    assert attempt.status == 200
    assert attempt.error is None
    assert attempt.envelope == envelope
    assert attempt.hook_id == hook_id
    assert attempt.hook_url == receiver.url


def test_sample_is_sent_only_after_the_create_response(
    server: FakeDailyBotServer, client: Client, receiver: Receiver
) -> None:
    # Processing happens first, then a 0.3 s delay before the response goes out: a sample sent
    # during processing would reach the receiver well before the client sees the response.
    server.inject(delay=0.3, method="POST", path=HOOKS, after_processing=True)
    response = client.create(receiver.url, immediate_sample_event=True)
    answered = time.monotonic()
    assert response.status_code == 201
    (delivery,) = receiver.wait(1)
    assert delivery.received_at >= answered - 0.05


def test_no_sample_unless_asked_or_when_switched_off(
    server: FakeDailyBotServer, client: Client, receiver: Receiver
) -> None:
    client.create_id(receiver.url)  # immediate_sample_event not set
    server.deliver_samples = False
    client.create_id(receiver.url, immediate_sample_event=True)
    server.deliver_samples = True
    client.create_id(receiver.url, ["kudos.posted"], immediate_sample_event="true", name="third")
    (attempt,) = server.wait_for_deliveries(1)
    assert attempt.envelope["hook"]["name"] == "third"
    assert len(receiver.wait(1)) == 1


# --------------------------------------------------------------------------- delete


def _delete_kwargs(form: str, hook_id: str, hook_url: str | None = None) -> tuple[str, dict[str, Any]]:
    fields = {"hook_id": hook_id, **({"hook_url": hook_url} if hook_url else {})}
    if form == "query":
        return HOOKS, {"params": fields}
    if form == "body":
        return HOOKS, {"json": fields}
    return f"{HOOKS}{hook_id}/", {"params": {"hook_url": hook_url} if hook_url else {}}


@pytest.mark.parametrize("form", ["query", "body", "path"])
def test_delete_forms(server: FakeDailyBotServer, client: Client, form: str) -> None:
    keep = client.create_id(EXAMPLE_URL)
    gone = client.create_id(EXAMPLE_URL)
    path, kwargs = _delete_kwargs(form, gone, EXAMPLE_URL)
    response = client("DELETE", path, **kwargs)
    assert response.status_code == 204
    assert response.content == b""
    assert [s.id for s in server.subscriptions] == [keep]
    again = client("DELETE", path, **kwargs)
    _error(again, 404, "not_found")


@pytest.mark.parametrize("form", ["query", "body", "path"])
def test_delete_form_disabled(server: FakeDailyBotServer, client: Client, form: str) -> None:
    server.delete_forms = {"query", "body", "path"} - {form}
    hook_id = client.create_id(EXAMPLE_URL)
    path, kwargs = _delete_kwargs(form, hook_id)
    response = client("DELETE", path, **kwargs)
    if form == "path":
        assert _error(response, 405, "method_not_allowed")["detail"] == 'Method "DELETE" not allowed.'
    else:
        assert _error(response, 400, "invalid")["detail"] == "hook_id is required."
    assert [s.id for s in server.subscriptions] == [hook_id]
    # The other forms still work.
    other = "query" if form != "query" else "body"
    path, kwargs = _delete_kwargs(other, hook_id)
    assert client("DELETE", path, **kwargs).status_code == 204


@pytest.mark.parametrize("form", ["query", "body", "path"])
def test_delete_with_a_mismatched_hook_url_is_not_found(server: FakeDailyBotServer, client: Client, form: str) -> None:
    hook_id = client.create_id(EXAMPLE_URL)
    path, kwargs = _delete_kwargs(form, hook_id, "https://example.com/other")
    _error(client("DELETE", path, **kwargs), 404, "not_found")
    assert len(server.subscriptions) == 1


def test_delete_unknown_or_missing_id(client: Client) -> None:
    _error(client("DELETE", HOOKS, params={"hook_id": str(uuid.uuid4())}), 404, "not_found")
    _error(client("DELETE", HOOKS + "not-a-uuid"), 404, "not_found")
    _error(client("DELETE", HOOKS), 400, "invalid")
    _error(client("DELETE", HOOKS, data=b"{", headers={"Content-Type": "application/json"}), 400, "parse_error")


# --------------------------------------------------------------------------- sample endpoint and routing


@pytest.mark.parametrize(
    ("body", "event"),
    [
        ({"subscription": "kudos.posted"}, "kudos.posted"),
        ({"event": "followups.response.completed"}, "followups.response.completed"),
        ({"subscriptions": ["forms.response.updated", "kudos.posted"]}, "forms.response.updated"),
    ],
)
def test_sample_endpoint(client: Client, body: dict[str, Any], event: str) -> None:
    response = client("POST", HOOKS + "sample/", json=body)
    assert response.status_code == 200
    envelope = response.json()
    assert envelope["event"] == event
    assert envelope["hook"] == {"id": "00000000-0000-0000-0000-000000000000", "name": "Sample"}
    assert envelope["body"] == sample_body(event)
    assert isinstance(envelope["event_timestamp"], float)


def test_sample_endpoint_rejects_unknown_or_missing_events(client: Client) -> None:
    unknown = _error(client("POST", HOOKS + "sample/", json={"event": "kudos.given"}), 400, "invalid")
    assert "Unknown DailyBot event" in unknown["errors"]["event"][0]
    missing = _error(client("POST", HOOKS + "sample", json={}), 400, "invalid")
    assert missing["errors"] == {"subscription": ["This field is required."]}


def test_unknown_paths_and_wrong_methods(client: Client) -> None:
    _error(client("GET", "/v1/nothing-here/"), 404, "not_found")
    _error(client("GET", "/"), 404, "not_found")
    wrong = client("GET", HOOKS)
    _error(wrong, 405, "method_not_allowed")
    assert set(wrong.headers["Allow"].split(", ")) == {"POST", "DELETE"}
    _error(client("POST", "/v1/me/"), 405, "method_not_allowed")
    _error(client("DELETE", HOOKS + "sample/"), 405, "method_not_allowed")
    head = client("HEAD", "/v1/me/")
    assert head.status_code == 200
    assert head.content == b""
    assert int(head.headers["Content-Length"]) > 0


def test_every_event_can_be_subscribed_and_emitted(
    server: FakeDailyBotServer, client: Client, receiver: Receiver
) -> None:
    hook_id = client.create_id(receiver.url, EVENTS)
    for event in EVENTS:
        (attempt,) = server.emit(event)
        assert attempt.status == 200
        assert attempt.hook_id == hook_id
    assert [d.json["event"] for d in receiver.wait(len(EVENTS))] == list(EVENTS)


def test_the_routing_table_takes_each_method_and_path_once() -> None:
    router = Router()
    router.add("GET", "/v1/things/", lambda request: Response(200))
    router.add("POST", "/v1/things/", lambda request: Response(201))
    with pytest.raises(ValueError, match="GET /v1/things/ is registered twice"):
        router.add("GET", "/v1/things/", lambda request: Response(200))
    assert compile_template("/v1/teams/{id}/members/").match("/v1/teams/abc/members").groupdict() == {"id": "abc"}
    assert compile_template("/v1/teams/{id}/").match("/v1/teams/a/b/") is None
