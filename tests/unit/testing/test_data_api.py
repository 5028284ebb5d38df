"""The fake DailyBot's organisation endpoints: seeded data, both pagination styles, messages, kudos, new responses."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from airflow_provider_dailybot.testing import FakeDailyBotServer, seed
from tests.unit.testing.conftest import Client, Receiver

RESPONSES = f"/v1/checkins/{seed.CHECKIN_ID}/responses/"
WEEK = {"date_start": "2025-01-06", "date_end": "2025-01-10"}


def _ok(response: requests.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def test_the_seed_is_deterministic_and_realistic() -> None:
    one, two = seed.seed_organisation(), seed.seed_organisation()
    assert one == two
    assert one is not two
    assert [u["full_name"] for u in one.users] == [
        "Ada Lovelace",
        "Grace Hopper",
        "Alan Turing",
        "Katherine Johnson",
        "Margaret Hamilton",
    ]
    assert [t["name"] for t in one.teams] == ["Engineering", "Design"]
    responses = one.checkin_responses[seed.CHECKIN_ID]
    assert len(responses) == 19
    assert sorted({r["response_date"] for r in responses}) == list(seed.CHECKIN_DATES)
    blocked = [r for r in responses if r["has_issue"]]
    assert [(r["user"]["uuid"], r["response_date"]) for r in blocked] == [seed.SEEDED_BLOCKER[:2]]
    assert blocked[0]["blockers_status"] == {seed.QUESTION_BLOCKERS: True}
    assert blocked[0]["content"][seed.QUESTION_BLOCKERS] == seed.SEEDED_BLOCKER[2]
    assert len({r["uuid"] for r in responses}) == 19
    assert len(one.form_responses[seed.FORM_ID]) == 3


def test_me_is_the_first_seeded_user(server: FakeDailyBotServer, client: Client) -> None:
    me = _ok(client("GET", "/v1/me/"))
    users = _ok(client("GET", "/v1/users/", params={"include_email": "true"}))["results"]
    assert users[0]["uuid"] == me["uuid"]
    assert users[0]["email"] == me["email"]
    assert users[0]["organization"] == me["organization"]


def test_limit_offset_envelope(server: FakeDailyBotServer, client: Client) -> None:
    first = _ok(client("GET", RESPONSES, params={**WEEK, "limit": "5"}))
    assert first["count"] == 19
    assert len(first["results"]) == 5
    assert first["previous"] is None
    link = urlsplit(first["next"])
    assert f"{link.scheme}://{link.netloc}" == server.url
    assert parse_qs(link.query) == {
        "date_start": ["2025-01-06"],
        "date_end": ["2025-01-10"],
        "limit": ["5"],
        "offset": ["5"],
    }
    last = _ok(client("GET", RESPONSES, params={**WEEK, "limit": "5", "offset": "15"}))
    assert last["next"] is None
    assert parse_qs(urlsplit(last["previous"]).query)["offset"] == ["10"]
    assert len(last["results"]) == 4
    capped = _ok(client("GET", RESPONSES, params={**WEEK, "limit": "1000", "offset": "nonsense"}))
    assert len(capped["results"]) == 19  # DRF ignores a bad offset and caps the limit


def test_page_number_envelope(server: FakeDailyBotServer, client: Client) -> None:
    server.pagination_style = "page"
    server.default_page_size = 8
    first = _ok(client("GET", RESPONSES, params=WEEK))
    assert (first["count"], len(first["results"])) == (19, 8)
    assert parse_qs(urlsplit(first["next"]).query)["page"] == ["2"]
    third = _ok(client("GET", RESPONSES, params={**WEEK, "page": "3"}))
    assert (len(third["results"]), third["next"]) == (3, None)
    for bad in ("4", "0", "x"):
        assert _ok(client("GET", RESPONSES, params={**WEEK, "page": bad}), 404) == {
            "detail": "Invalid page.",
            "code": "not_found",
        }
    every_page = [
        r["uuid"] for p in ("1", "2", "3") for r in _ok(client("GET", RESPONSES, params={**WEEK, "page": p}))["results"]
    ]
    assert every_page == [r["uuid"] for r in server.checkin_responses()]


def test_teams_members_and_the_bare_list_switch(server: FakeDailyBotServer, client: Client) -> None:
    envelope = _ok(client("GET", "/v1/teams/"))
    assert [t["members_count"] for t in envelope["results"]] == [3, 2]
    server.teams_bare_list = True
    bare = _ok(client("GET", "/v1/teams/"))
    assert bare == [
        {"uuid": seed.ENGINEERING_TEAM, "name": "Engineering", "active": True, "is_default": False},
        {"uuid": seed.DESIGN_TEAM, "name": "Design", "active": True, "is_default": False},
    ]
    members = _ok(client("GET", f"/v1/teams/{seed.ENGINEERING_TEAM}/members/"))
    assert [m["uuid"] for m in members] == [seed.GRACE, seed.ALAN, seed.MARGARET]
    assert "email" not in members[0]
    assert _ok(client("GET", f"/v1/teams/{seed.DESIGN_TEAM}/"))["name"] == "Design"
    _ok(client("GET", "/v1/teams/7a9b1c3d-5e7f-4a1b-9c3d-000000000000/members/"), 404)


def test_checkins_and_the_legacy_followups_paths(server: FakeDailyBotServer, client: Client) -> None:
    (checkin,) = _ok(client("GET", "/v1/checkins/"))["results"]
    assert checkin["id"] == seed.CHECKIN_ID
    assert "uuid" not in checkin
    assert _ok(client("GET", "/v1/followups/"))["results"] == [checkin]
    assert _ok(client("GET", f"/v1/checkins/{seed.CHECKIN_ID}/"))["name"] == "Daily Standup"
    legacy = f"/v1/followups/{seed.CHECKIN_ID}/responses/"
    assert _ok(client("GET", legacy, params=WEEK))["count"] == 19
    server.legacy_checkin_responses = True
    _ok(client("GET", RESPONSES, params=WEEK), 404)
    assert _ok(client("GET", legacy, params=WEEK))["count"] == 19


def test_response_filters(server: FakeDailyBotServer, client: Client) -> None:
    assert _ok(client("GET", RESPONSES))["count"] == 0  # the default range is today
    alan = _ok(client("GET", RESPONSES, params={**WEEK, "user": seed.ALAN}))["results"]
    assert {r["user"]["full_name"] for r in alan} == {"Alan Turing"}
    bad = _ok(client("GET", RESPONSES, params={"date_start": "2025-01-10", "date_end": "2025-01-06"}), 400)
    assert bad["code"] == "invalid_date_range"
    _ok(client("GET", "/v1/checkins/unknown/responses/", params=WEEK), 404)


def test_forms_are_a_flat_list_and_responses_default_to_the_callers_own(client: Client) -> None:
    forms = _ok(client("GET", "/v1/forms/"))
    assert [f["uuid"] for f in forms] == [seed.FORM_ID]
    path = f"/v1/forms/{seed.FORM_ID}/responses/"
    assert [r["user"]["full_name"] for r in _ok(client("GET", path))["results"]] == ["Ada Lovelace"]
    everyone = _ok(client("GET", path, params={"all": "true", "date_from": "2025-01-07", "date_to": "2025-01-08"}))
    assert [r["user"]["full_name"] for r in everyone["results"]] == ["Alan Turing", "Katherine Johnson"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"target_users": [seed.ALAN]}, "message"),
        ({"message": "hi"}, "non_field_errors"),
        ({"message": "hi", "target_users": ["2c4e6a80-0000-4000-8000-000000000000"]}, "target_users"),
        ({"message": "hi", "target_teams": "nope"}, "target_teams"),
        ({"message": "hi", "target_channels": [{"thread": "1"}]}, "target_channels"),
        ({"message": "hi", "target_users": [seed.ALAN], "buttons": [{"url": "https://x"}]}, "buttons"),
    ],
)
def test_send_message_validation(server: FakeDailyBotServer, client: Client, body: dict[str, Any], field: str) -> None:
    refused = _ok(client("POST", "/v1/send-message/", json=body), 400)
    assert (refused["code"], list(refused["errors"])) == ("invalid", [field])
    assert server.sent_messages == []


def test_send_message_records_and_caps_buttons(server: FakeDailyBotServer, client: Client) -> None:
    too_many = _ok(
        client(
            "POST",
            "/v1/send-message/",
            json={"message": "hi", "target_users": [seed.ALAN], "buttons": [{"label": "b"}] * 26},
        ),
        400,
    )
    assert too_many["code"] == "buttons_count_out_of_range"
    answer = _ok(
        client(
            "POST",
            "/v1/send-message/",
            json={"message": "hi", "target_users": "alan.turing@example.com", "metadata": {"source": "airflow"}},
        )
    )
    (sent,) = server.sent_messages
    assert answer == {"bot_message_id": sent["bot_message_id"], "thread_responses": []}
    assert sent["target_users"] == ["alan.turing@example.com"]
    assert sent["extra"] == {"metadata": {"source": "airflow"}}


def test_kudos(server: FakeDailyBotServer, client: Client, receiver: Receiver) -> None:
    client.create_id(receiver.url, ["kudos.posted"])
    created = _ok(client("POST", "/v1/kudos/", json={"receivers": [seed.GRACE], "content": "Great talk"}), 201)
    assert created["id"] == 1
    assert created["user"]["full_name"] == "Ada Lovelace"
    assert [r["full_name"] for r in created["receivers"]] == ["Grace Hopper"]
    assert server.kudos == [created]
    assert _ok(client("GET", "/v1/kudos/"))["results"] == [created]
    (delivery,) = receiver.wait(1)
    assert delivery.json["event"] == "kudos.posted"
    assert delivery.json["body"]["giver"]["full_name"] == "Ada Lovelace"
    refused = _ok(client("POST", "/v1/kudos/", json={"receivers": ["nobody"], "content": ""}), 400)
    assert set(refused["errors"]) == {"receivers", "content"}
    server.kudos_daily_limit = 1
    limited = _ok(client("POST", "/v1/kudos/", json={"receivers": [seed.ALAN], "content": "Again"}), 406)
    assert limited["code"] == "kudos_daily_limit_reached"


def test_new_responses_reach_matching_subscriptions(
    server: FakeDailyBotServer, client: Client, receiver: Receiver
) -> None:
    everything = client.create_id(receiver.url, ["followups.response.completed"])
    this_checkin = client.create_id(
        receiver.url, ["followups.response.completed"], subscribed_objects=[seed.CHECKIN_ID]
    )
    client.create_id(receiver.url, ["followups.response.completed"], subscribed_objects=[seed.FORM_ID])
    client.create_id(receiver.url, ["kudos.posted"])

    response = server.add_checkin_response(user_id=seed.ALAN, response_date="2025-01-13", blocker="No access to prod")
    deliveries = server.deliveries
    assert sorted(d.hook_id for d in deliveries) == sorted([everything, this_checkin])
    body = deliveries[0].envelope["body"]
    assert body["uuid"] == response["uuid"]
    assert (body["has_issue"], body["blockers_status"]) == (True, {seed.QUESTION_BLOCKERS: True})
    assert body["checkins"] == [{"uuid": seed.CHECKIN_ID, "name": "Daily Standup"}]
    listed = _ok(client("GET", RESPONSES, params={"date_start": "2025-01-13", "date_end": "2025-01-13"}))["results"]
    assert listed == [response]
    with pytest.raises(ValueError, match="unknown user"):
        server.add_checkin_response(user_id="nobody")


def test_control_endpoint_for_new_responses_state_and_reset(
    server: FakeDailyBotServer, client: Client, receiver: Receiver
) -> None:
    client.create_id(receiver.url, ["followups.response.completed"])
    added = _ok(client("POST", "/_fake/checkin-responses", json={"user_id": seed.GRACE, "blocker": "CI is red"}), 201)
    assert added["response"]["user"]["uuid"] == seed.GRACE
    assert [d["status"] for d in added["deliveries"]] == [200]
    assert _ok(client("POST", "/_fake/checkin-responses", json={"nope": 1}), 400)["code"] == "invalid"
    _ok(client("POST", "/v1/send-message/", json={"message": "hi", "target_teams": [seed.DESIGN_TEAM]}))
    state = _ok(client("GET", "/_fake/state"))
    assert [m["message"] for m in state["sent_messages"]] == ["hi"]
    assert state["kudos"] == []
    assert state["switches"]["pagination_style"] == "limit_offset"
    assert _ok(client("POST", "/_fake/switches", json={"pagination_style": "cursor"}), 400)["code"] == "invalid"
    assert _ok(client("POST", "/_fake/switches", json={"default_page_size": 0}), 400)["code"] == "invalid"
    _ok(client("POST", "/_fake/switches", json={"pagination_style": "page", "teams_bare_list": True}))
    server.reset()
    assert server.sent_messages == []
    assert len(server.checkin_responses()) == 19
    assert (server.pagination_style, server.teams_bare_list) == ("limit_offset", False)


def test_plan_and_role_rules_apply_to_the_new_endpoints(server: FakeDailyBotServer, client: Client) -> None:
    server.org_admin = False  # reading and messaging do not need an org admin; webhooks do
    assert _ok(client("GET", "/v1/users/"))["count"] == 5
    assert client("DELETE", "/v1/users/").status_code == 405
    assert requests.get(server.base_url + "users/", timeout=5).status_code == 401
    server.free_plan = True
    assert _ok(client("GET", "/v1/users/"), 403)["code"] == "plan_free_api_keys_forbidden"
