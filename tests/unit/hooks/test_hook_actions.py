"""DailyBotHook list, message and kudos methods against the fake DailyBot over real sockets."""

from __future__ import annotations

import json
from typing import Any

import pytest

from airflow_provider_dailybot.exceptions import (
    DailyBotApiError,
    DailyBotError,
    DailyBotNotFoundError,
    DailyBotServerError,
)
from airflow_provider_dailybot.hooks.dailybot import DailyBotHook
from airflow_provider_dailybot.resources import resource_id
from airflow_provider_dailybot.testing import FakeDailyBotServer, seed
from tests.conftest import API_KEY

RESPONSES = f"/v1/checkins/{seed.CHECKIN_ID}/responses/"
LEGACY = f"/v1/followups/{seed.CHECKIN_ID}/responses/"


def _queries(fake: FakeDailyBotServer, path: str) -> list[dict[str, str]]:
    return [r.query for r in fake.requests if r.path == path]


# --------------------------------------------------------------------------- pagination


def test_users_follow_limit_offset_pages(fake: FakeDailyBotServer, hook: DailyBotHook) -> None:
    fake.default_page_size = 2
    users = hook.list_users()
    assert users == [{k: v for k, v in u.items() if k != "email"} for u in fake.organisation.users]
    assert len(users) == 5
    assert _queries(fake, "/v1/users/") == [{}, {"limit": "2", "offset": "2"}, {"limit": "2", "offset": "4"}]
    with_email = hook.list_users(include_email=True)
    assert [u["email"] for u in with_email] == [u["email"] for u in fake.organisation.users]


def test_page_number_pagination_gives_the_same_rows(fake: FakeDailyBotServer, hook: DailyBotHook) -> None:
    fake.default_page_size = 4
    by_offset = hook.list_checkin_responses(seed.CHECKIN_ID, date_start="2025-01-06", date_end="2025-01-10")
    fake.pagination_style = "page"
    by_page = hook.list_checkin_responses(seed.CHECKIN_ID, date_start="2025-01-06", date_end="2025-01-10")
    assert by_page == by_offset == fake.checkin_responses(date_start="2025-01-06", date_end="2025-01-10")
    assert len(by_page) == 19
    pages = [q.get("page") for q in _queries(fake, RESPONSES)[5:]]
    assert pages == [None, "2", "3", "4", "5"]
    assert all(q["date_start"] == "2025-01-06" and q["date_end"] == "2025-01-10" for q in _queries(fake, RESPONSES))


def test_envelope_or_bare_list(fake: FakeDailyBotServer, hook: DailyBotHook) -> None:
    enveloped = hook.list_teams()
    assert [t["name"] for t in enveloped] == ["Engineering", "Design"]
    assert enveloped[0]["members_count"] == 3
    fake.teams_bare_list = True
    bare = hook.list_teams()
    assert [resource_id(t) for t in bare] == [seed.ENGINEERING_TEAM, seed.DESIGN_TEAM]
    assert "members_count" not in bare[0]
    members = hook.list_team_members(seed.DESIGN_TEAM)
    assert [m["full_name"] for m in members] == ["Katherine Johnson", "Margaret Hamilton"]
    forms = hook.list_forms()  # DailyBot documents /v1/forms/ as a flat array
    assert [resource_id(f) for f in forms] == [seed.FORM_ID]


def test_a_next_link_to_another_origin_is_refused(fake: FakeDailyBotServer, hook: DailyBotHook) -> None:
    port = int(fake.url.rsplit(":", 1)[1])
    for elsewhere in (
        "http://evil.example.com/v1/users/?offset=2",
        f"http://127.0.0.1:{port + 1}/v1/users/?offset=2",
        f"https://127.0.0.1:{port}/v1/users/?offset=2",
    ):
        page = {"count": 3, "next": elsewhere, "previous": None, "results": [{"uuid": "a"}]}
        fake.inject(status=200, path="/v1/users/", body=json.dumps(page).encode())
        with pytest.raises(DailyBotError, match="another origin") as refused:
            hook.list_users()
        assert refused.value.status_code is None
        assert API_KEY not in str(refused.value)
    assert len(fake.requests) == 3  # the foreign pages were never requested


def test_relative_and_same_origin_links_are_followed_but_loops_are_not(
    fake: FakeDailyBotServer, hook: DailyBotHook
) -> None:
    page = {"results": [{"uuid": "a"}], "next": "/v1/users/?limit=1&offset=1"}
    fake.inject(status=200, path="/v1/users/", body=json.dumps(page).encode(), times=2)
    with pytest.raises(DailyBotError, match="loop back"):
        hook.list_users()
    assert _queries(fake, "/v1/users/") == [{}, {"limit": "1", "offset": "1"}]
    fake.inject(status=200, path="/v1/users/", body=json.dumps({"results": [{"uuid": "a"}], "next": False}).encode())
    assert hook.list_users() == [{"uuid": "a"}]  # "next": false (DailyBot's kudos lists) ends the list


def test_a_body_that_is_not_a_list_is_a_typed_error(fake: FakeDailyBotServer, hook: DailyBotHook) -> None:
    fake.inject(status=200, path="/v1/teams/", body=b'{"detail": "surprise"}')
    with pytest.raises(DailyBotError, match="'results' list"):
        hook.list_teams()


def test_a_failing_later_page_is_retried_then_raised(fake: FakeDailyBotServer, hook: DailyBotHook) -> None:
    fake.default_page_size = 2
    fake.inject(status=503, path="/v1/users/", times=1)
    assert len(hook.list_users()) == 5  # GET pages are retried
    fake.inject(status=500, path="/v1/users/", times=3)
    with pytest.raises(DailyBotServerError):
        hook.list_users()


# --------------------------------------------------------------------------- check-in and form responses


def test_legacy_followups_path_is_the_fallback(fake: FakeDailyBotServer, hook: DailyBotHook) -> None:
    fake.legacy_checkin_responses = True
    rows = hook.list_checkin_responses(seed.CHECKIN_ID, date_start="2025-01-08", date_end="2025-01-08")
    assert rows == fake.checkin_responses(date_start="2025-01-08", date_end="2025-01-08")
    assert [r["user"]["full_name"] for r in rows if r["has_issue"]] == ["Alan Turing"]
    assert [r.path for r in fake.requests] == [RESPONSES, LEGACY]
    hook.list_checkin_responses(seed.CHECKIN_ID, date_start="2025-01-09", date_end="2025-01-09")
    assert [r.path for r in fake.requests][2:] == [LEGACY]  # the working path is remembered


def test_unknown_checkin_raises_not_found_after_both_paths(fake: FakeDailyBotServer, hook: DailyBotHook) -> None:
    with pytest.raises(DailyBotNotFoundError) as missing:
        hook.list_checkin_responses("no-such-checkin", date_start="2025-01-06", date_end="2025-01-06")
    assert missing.value.path == "/v1/checkins/no-such-checkin/responses/"
    assert [r.path for r in fake.requests] == [
        "/v1/checkins/no-such-checkin/responses/",
        "/v1/followups/no-such-checkin/responses/",
    ]


def test_response_filters_and_empty_ranges(fake: FakeDailyBotServer, hook: DailyBotHook) -> None:
    alan = hook.list_checkin_responses(seed.CHECKIN_ID, date_start="2025-01-06", date_end="2025-01-10", user=seed.ALAN)
    assert len(alan) == 5
    assert {r["user"]["uuid"] for r in alan} == {seed.ALAN}
    assert hook.list_checkin_responses(seed.CHECKIN_ID, date_start="2024-12-01", date_end="2024-12-31") == []
    checkins = hook.list_checkins()
    assert [resource_id(c) for c in checkins] == [seed.CHECKIN_ID]
    assert "uuid" not in checkins[0]  # check-ins carry `id` only


def test_form_responses_of_everyone_or_only_the_key_owner(fake: FakeDailyBotServer, hook: DailyBotHook) -> None:
    everyone = hook.list_form_responses(seed.FORM_ID)
    assert everyone == fake.organisation.form_responses[seed.FORM_ID]
    assert _queries(fake, f"/v1/forms/{seed.FORM_ID}/responses/") == [{"all": "true"}]
    mine = hook.list_form_responses(seed.FORM_ID, all_responses=False)
    assert [r["user"]["full_name"] for r in mine] == ["Ada Lovelace"]
    ranged = hook.list_form_responses(seed.FORM_ID, date_from="2025-01-08", date_to="2025-01-10")
    assert [r["created_at"][:10] for r in ranged] == ["2025-01-08", "2025-01-10"]


def test_get_user(fake: FakeDailyBotServer, hook: DailyBotHook) -> None:
    assert hook.get_user(seed.GRACE)["full_name"] == "Grace Hopper"
    with pytest.raises(DailyBotNotFoundError):
        hook.get_user("2c4e6a80-1b3d-4f5a-8c7e-000000000000")


# --------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda h: h.list_checkin_responses("x", date_start="2025-01-10", date_end="2025-01-09"), ValueError, "before"),
        (
            lambda h: h.list_checkin_responses("x", date_start="10/01/2025", date_end="2025-01-09"),
            ValueError,
            "date_start",
        ),
        (
            lambda h: h.list_checkin_responses("", date_start="2025-01-01", date_end="2025-01-02"),
            ValueError,
            "checkin_id",
        ),
        (lambda h: h.list_checkin_responses("a/b", date_start="2025-01-01", date_end="2025-01-02"), ValueError, "'/'"),
        (lambda h: h.get_user(None), TypeError, "user_id"),
        (lambda h: h.list_form_responses(seed.FORM_ID, all_responses="yes"), TypeError, "all_responses"),
        (lambda h: h.send_message(message="hi"), ValueError, "at least one target"),
        (lambda h: h.send_message(message="", target_users=[seed.ALAN]), ValueError, "message must not be empty"),
        (lambda h: h.send_message(message="hi", target_teams=["Engineering"]), ValueError, "not a UUID"),
        (
            lambda h: h.send_message(message="hi", target_users=seed.ALAN, buttons=[{"label": "x"}] * 26),
            ValueError,
            "at most 25 buttons",
        ),
        (lambda h: h.send_message(message="hi", target_users=seed.ALAN, buttons=[{"url": "u"}]), ValueError, "label"),
        (
            lambda h: h.send_message(message="hi", target_users=seed.ALAN, image_url="http://x/a.png"),
            ValueError,
            "https",
        ),
        (
            lambda h: h.send_message(message="hi", target_users=seed.ALAN, extra={"message": "other"}),
            ValueError,
            "must not repeat",
        ),
        (lambda h: h.give_kudos(receivers=[], content="thanks"), ValueError, "at least one receiver"),
        (lambda h: h.give_kudos(receivers=["alan"], content="thanks"), ValueError, "not a UUID"),
        (lambda h: h.give_kudos(receivers=seed.ALAN, content="  "), ValueError, "content"),
        (lambda h: h.give_kudos(receivers=seed.ALAN, content="x", is_anonymous="no"), TypeError, "is_anonymous"),
    ],
)
def test_arguments_are_validated_before_any_request(
    fake: FakeDailyBotServer, hook: DailyBotHook, call: Any, error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        call(hook)
    assert fake.requests == []


# --------------------------------------------------------------------------- send message and kudos


def test_send_message_to_users_teams_and_channels(fake: FakeDailyBotServer, hook: DailyBotHook) -> None:
    buttons = [{"label": "Open", "button_type": "link", "url": "https://airflow.example.com"}]
    answer = hook.send_message(
        message="Deploy finished",
        target_users=[seed.ALAN, "grace.hopper@example.com", seed.ALAN],
        target_teams=seed.DESIGN_TEAM,
        target_channels=["C0DEPLOYS", {"id": "C0OPS", "thread": "171.2"}],
        buttons=buttons,
        extra={"skip_users_on_time_off": True},
    )
    (sent,) = fake.sent_messages
    assert answer == {"bot_message_id": sent["bot_message_id"], "thread_responses": []}
    assert sent["message"] == "Deploy finished"
    assert sent["target_users"] == [seed.ALAN, "grace.hopper@example.com"]
    assert sent["target_teams"] == [seed.DESIGN_TEAM]
    assert sent["target_channels"] == ["C0DEPLOYS", {"id": "C0OPS", "thread": "171.2"}]
    assert sent["buttons"] == buttons
    assert sent["extra"] == {"skip_users_on_time_off": True}


def test_dailybot_refusals_are_typed_errors(fake: FakeDailyBotServer, hook: DailyBotHook) -> None:
    unknown_user = "2c4e6a80-1b3d-4f5a-8c7e-000000000000"
    with pytest.raises(DailyBotApiError) as refused:
        hook.send_message(message="hi", target_users=[unknown_user])
    assert refused.value.status_code == 400
    assert unknown_user in str(refused.value)
    fake.kudos_daily_limit = 1
    hook.give_kudos(receivers=[seed.GRACE], content="Great review")
    with pytest.raises(DailyBotApiError) as limited:
        hook.give_kudos(receivers=[seed.GRACE], content="Again")
    assert (limited.value.status_code, limited.value.code) == (406, "kudos_daily_limit_reached")
    assert len(fake.kudos) == 1


def test_posts_are_sent_once_on_ambiguous_failures_but_retried_when_throttled(
    fake: FakeDailyBotServer, hook: DailyBotHook
) -> None:
    fake.inject(status=502, path="/v1/send-message/", after_processing=True)
    with pytest.raises(DailyBotServerError):
        hook.send_message(message="once", target_teams=[seed.DESIGN_TEAM])
    assert len(fake.sent_messages) == 1  # DailyBot did process it: a retry would have posted it twice
    fake.inject(status=429, retry_after=0, path="/v1/kudos/")
    kudos = hook.give_kudos(receivers=[seed.KATHERINE, seed.MARGARET], content="Shipped!", company_value="Ownership")
    assert [r.status for r in fake.requests if r.path == "/v1/kudos/"] == [429, 201]
    (given,) = fake.kudos
    assert resource_id(kudos) == str(given["id"])
    assert [r["full_name"] for r in given["receivers"]] == ["Katherine Johnson", "Margaret Hamilton"]
    assert given["user"]["full_name"] == "Ada Lovelace"
    assert given["company_value"] == "Ownership"


def test_kudos_are_announced_to_kudos_subscriptions(fake: FakeDailyBotServer, hook: DailyBotHook) -> None:
    received: list[bytes] = []
    fake.transport = lambda url, headers, body, timeout: received.append(body) or 200
    hook.create_webhook_subscription(hook_url="https://hooks.example.com/kudos", events=["kudos.posted"])
    hook.give_kudos(receivers=[seed.ALAN], content="Thanks for the fix", by_dailybot=True)
    (attempt,) = fake.wait_for_deliveries(1)
    body = attempt.envelope["body"]
    assert attempt.event == "kudos.posted"
    assert body["giver"] is None
    assert [r["uuid"] for r in body["receivers"]] == [seed.ALAN]
    assert body["content"] == "Thanks for the fix"


def test_the_api_key_never_reaches_logs_or_errors(
    fake: FakeDailyBotServer, hook: DailyBotHook, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level("DEBUG")
    fake.default_page_size = 2
    fake.inject(status=503, path="/v1/users/")
    hook.list_users()
    hook.send_message(message="hello", target_users=[seed.GRACE])
    errors: list[str] = []
    for call in (
        lambda: hook.send_message(message="x", target_users=["2c4e6a80-1b3d-4f5a-8c7e-000000000000"]),
        lambda: hook.list_checkin_responses("nope", date_start="2025-01-06", date_end="2025-01-06"),
    ):
        with pytest.raises(DailyBotError) as raised:
            call()
        errors.append(str(raised.value))
    output = capsys.readouterr()
    logs = caplog.text + output.out + output.err  # Airflow may route the hook's log through structlog
    assert "[Try 1 of 3]" in logs
    assert API_KEY not in logs + " ".join(errors)
    assert all(API_KEY not in json.dumps(r.headers) for r in fake.requests)
