"""Bad input to every public operator, the notifier, the trigger, the task group and every public hook method.

The inputs are wrong types, empty values, malformed URLs and templated values that render wrong. Each
case asserts an error that names the argument, raised before any request reaches the fake DailyBot. It
is the fake's own request log that shows nothing was sent.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest

from airflow_provider_dailybot.connection import DailyBotConnectionError
from airflow_provider_dailybot.hooks.dailybot import DailyBotHook
from airflow_provider_dailybot.notifications.dailybot import DailyBotNotifier
from airflow_provider_dailybot.operators.export import (
    DailyBotExportCheckinResponsesOperator,
    DailyBotExportFormResponsesOperator,
)
from airflow_provider_dailybot.operators.kudos import DailyBotGiveKudosOperator
from airflow_provider_dailybot.operators.message import DailyBotSendMessageOperator
from airflow_provider_dailybot.operators.webhook_subscription import (
    DailyBotCreateWebhookSubscriptionOperator,
    DailyBotDeleteWebhookSubscriptionOperator,
    DailyBotPromoteWebhookSubscriptionOperator,
)
from airflow_provider_dailybot.sensors.webhook_delivery import DailyBotWebhookDeliverySensor
from airflow_provider_dailybot.task_groups.webhook_rotation import dailybot_webhook_rotation
from airflow_provider_dailybot.testing import FakeDailyBotServer, seed
from airflow_provider_dailybot.triggers.checkin_responses import DailyBotNewCheckinResponsesTrigger
from tests.conftest import API_KEY
from tests.integration.conftest import sync_dags
from tests.integration.dag_runs import task_states
from tests.integration.faults import TaskError

pytestmark = pytest.mark.db

EVENTS = ["kudos.posted"]
GOOD_URL = "https://airflow.example.com/dailybot/webhooks/ext"
UUID = "0b9a1c2d-3e4f-4a5b-8c6d-7e8f9a0b1c2d"


@dataclass(frozen=True)
class Bad:
    """A call with bad input and the error it must raise: its type and a fragment naming the argument."""

    name: str
    call: Callable[[Any], Any]
    error: type[Exception]
    says: str


def _create(hook: DailyBotHook, **changes: Any) -> Any:
    arguments: dict[str, Any] = {"hook_url": GOOD_URL, "events": EVENTS, **changes}
    return hook.create_webhook_subscription(**arguments)


def _message(hook: DailyBotHook, **changes: Any) -> Any:
    return hook.send_message(**{"message": "hi", "target_teams": [seed.ENGINEERING_TEAM], **changes})


def _kudos(hook: DailyBotHook, **changes: Any) -> Any:
    return hook.give_kudos(**{"receivers": [seed.GRACE], "content": "thanks", **changes})


def _responses(hook: DailyBotHook, **changes: Any) -> Any:
    arguments = {"checkin_id": seed.CHECKIN_ID, "date_start": "2026-01-01", "date_end": "2026-01-02", **changes}
    return hook.iter_checkin_responses(**arguments)


HOOK_BAD = [
    # construction
    Bad("timeout zero", lambda h: DailyBotHook(timeout=0), ValueError, "timeout"),
    Bad("timeout as text", lambda h: DailyBotHook(timeout="5"), ValueError, "timeout"),  # type: ignore[arg-type]
    Bad("timeout as bool", lambda h: DailyBotHook(timeout=True), ValueError, "timeout"),
    Bad("max_attempts zero", lambda h: DailyBotHook(max_attempts=0), ValueError, "max_attempts"),
    Bad("max_attempts float", lambda h: DailyBotHook(max_attempts=1.5), TypeError, "max_attempts"),  # type: ignore[arg-type]
    # create_webhook_subscription
    Bad("hook_url None", lambda h: _create(h, hook_url=None), TypeError, "hook_url"),
    Bad("hook_url empty", lambda h: _create(h, hook_url=""), ValueError, "hook_url"),
    Bad("hook_url ftp", lambda h: _create(h, hook_url="ftp://example.com/x"), ValueError, "http"),
    Bad("hook_url without host", lambda h: _create(h, hook_url="https:///x"), ValueError, "hook_url"),
    Bad("hook_url relative", lambda h: _create(h, hook_url="/dailybot/webhooks/x"), ValueError, "hook_url"),
    Bad("hook_url plain http", lambda h: _create(h, hook_url="http://example.com/x"), ValueError, "plain http"),
    Bad("hook_url credentials", lambda h: _create(h, hook_url="https://u:p@example.com/x"), ValueError, "credentials"),
    Bad("hook_url bad port", lambda h: _create(h, hook_url="https://example.com:99999/x"), ValueError, "hook_url"),
    Bad("hook_url with space", lambda h: _create(h, hook_url="https://exa mple.com/x"), ValueError, "hook_url"),
    Bad("events a string", lambda h: _create(h, events="kudos.posted"), TypeError, "events"),
    Bad("events empty", lambda h: _create(h, events=[]), ValueError, "events"),
    Bad("events typo", lambda h: _create(h, events=["kudos.psted"]), ValueError, "kudos.posted"),
    Bad("events not strings", lambda h: _create(h, events=[1]), TypeError, "events"),
    Bad("subscribed_objects not UUID", lambda h: _create(h, subscribed_objects=["x"]), ValueError, "UUID"),
    Bad("subscribed_objects a string", lambda h: _create(h, subscribed_objects=UUID), TypeError, "subscribed_objects"),
    Bad("name empty", lambda h: _create(h, name=" "), ValueError, "name"),
    Bad("bearer empty", lambda h: _create(h, bearer=""), ValueError, "bearer"),
    Bad("bearer not text", lambda h: _create(h, bearer=123), ValueError, "bearer"),
    Bad("immediate_sample_event text", lambda h: _create(h, immediate_sample_event="yes"), TypeError, "immediate"),
    # delete_webhook_subscription, get_sample_event
    Bad("hook_id empty", lambda h: h.delete_webhook_subscription(" "), ValueError, "hook_id"),
    Bad("hook_id None", lambda h: h.delete_webhook_subscription(None), ValueError, "hook_id"),
    Bad("hook_id number", lambda h: h.delete_webhook_subscription(7), ValueError, "hook_id"),
    Bad("delete hook_url bad", lambda h: h.delete_webhook_subscription("x", hook_url="nope"), ValueError, "hook_url"),
    Bad("sample unknown event", lambda h: h.get_sample_event("nope"), ValueError, "nope"),
    Bad("sample event a list", lambda h: h.get_sample_event(["kudos.posted"]), TypeError, "event"),
    # reads
    Bad("get_user empty", lambda h: h.get_user(""), ValueError, "user_id"),
    Bad("get_user path", lambda h: h.get_user("../me"), ValueError, "user_id"),
    Bad("get_user None", lambda h: h.get_user(None), TypeError, "user_id"),
    Bad("team members query", lambda h: h.list_team_members("a?b=c"), ValueError, "team_id"),
    Bad("responses checkin empty", lambda h: _responses(h, checkin_id=""), ValueError, "checkin_id"),
    Bad("responses date words", lambda h: _responses(h, date_start="yesterday"), ValueError, "date_start"),
    Bad("responses reversed", lambda h: _responses(h, date_end="2025-12-31"), ValueError, "before date_start"),
    Bad("responses user path", lambda h: _responses(h, user="a/b"), ValueError, "user"),
    Bad("form responses id", lambda h: h.iter_form_responses("a#b"), ValueError, "form_id"),
    Bad("form responses date", lambda h: h.iter_form_responses(UUID, date_from="2026-13-01"), ValueError, "date_from"),
    Bad("form responses all", lambda h: h.iter_form_responses(UUID, all_responses="yes"), TypeError, "all_responses"),
    # send_message, give_kudos
    Bad("message empty", lambda h: _message(h, message="  "), ValueError, "message"),
    Bad("message None", lambda h: _message(h, message=None), TypeError, "message"),
    Bad("message without target", lambda h: _message(h, target_teams=None), ValueError, "target"),
    Bad("message team not UUID", lambda h: _message(h, target_teams=["eng"]), ValueError, "target_teams"),
    Bad("message 26 buttons", lambda h: _message(h, buttons=[{"label": "b"}] * 26), ValueError, "25"),
    Bad("message button label", lambda h: _message(h, buttons=[{"url": "https://x"}]), ValueError, "label"),
    Bad("message buttons text", lambda h: _message(h, buttons="click"), TypeError, "buttons"),
    Bad("message image http", lambda h: _message(h, image_url="http://example.com/a.png"), ValueError, "image_url"),
    Bad("message extra clash", lambda h: _message(h, extra={"message": "x"}), ValueError, "extra"),
    Bad("kudos no receivers", lambda h: _kudos(h, receivers=[]), ValueError, "receiver"),
    Bad("kudos content empty", lambda h: _kudos(h, content=""), ValueError, "content"),
    Bad("kudos anonymous text", lambda h: _kudos(h, is_anonymous="no"), TypeError, "is_anonymous"),
]


@pytest.mark.parametrize("case", HOOK_BAD, ids=[c.name for c in HOOK_BAD])
def test_hook_method_refuses_bad_input_before_any_request(fast_fake: FakeDailyBotServer, case: Bad) -> None:
    with pytest.raises(case.error, match=case.says) as caught:
        case.call(DailyBotHook())
    assert fast_fake.requests == [], "a request was sent before the input was checked"
    assert API_KEY not in str(caught.value)


BAD_CONNECTIONS = {
    "no API key": ({"conn_type": "dailybot", "host": "{url}"}, "API key"),
    "ftp base URL": ({"conn_type": "dailybot", "host": "ftp://{netloc}", "password": API_KEY}, "http or https"),
    "base URL with query": ({"conn_type": "dailybot", "host": "{url}?x=1", "password": API_KEY}, "query"),
    "timeout as words": ({"conn_type": "dailybot", "host": "{url}", "password": API_KEY,
                          "extra": {"timeout": "soon"}}, "timeout"),
    "max_attempts zero": ({"conn_type": "dailybot", "host": "{url}", "password": API_KEY,
                           "extra": {"max_attempts": 0}}, "max_attempts"),
    "verify_ssl maybe": ({"conn_type": "dailybot", "host": "{url}", "password": API_KEY,
                          "extra": {"verify_ssl": "maybe"}}, "verify_ssl"),
}  # fmt: skip


@pytest.mark.parametrize("name", list(BAD_CONNECTIONS))
def test_bad_connection_is_refused_before_any_request(
    fast_fake: FakeDailyBotServer, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    template, says = BAD_CONNECTIONS[name]
    text = json.dumps(template).replace("{url}", fast_fake.base_url).replace("{netloc}", fast_fake.url.split("//")[1])
    monkeypatch.setenv("AIRFLOW_CONN_DAILYBOT_BAD", text)
    with pytest.raises(DailyBotConnectionError, match=says) as caught:
        DailyBotHook("dailybot_bad").get_me()
    assert "dailybot_bad" in str(caught.value)
    assert API_KEY not in str(caught.value)
    assert fast_fake.requests == []


# -- arguments checked when the DAG is parsed -----------------------------------------------------
def _create_op(**changes: Any) -> Any:
    return DailyBotCreateWebhookSubscriptionOperator(**{"task_id": "t", "channel": "c", "events": EVENTS, **changes})


def _export_op(**changes: Any) -> Any:
    arguments = {"task_id": "t", "checkin_id": "c", "destination": "/exports/x.jsonl", **changes}
    return DailyBotExportCheckinResponsesOperator(**arguments)


PARSE_BAD = [
    Bad("sensor channel", lambda _: DailyBotWebhookDeliverySensor(task_id="t", channel="Bad Name"),
        ValueError, "channel"),
    Bad("sensor templated channel", lambda _: DailyBotWebhookDeliverySensor(task_id="t", channel="{{ ds }}"),
        ValueError, "channel"),
    Bad("sensor max_events", lambda _: DailyBotWebhookDeliverySensor(task_id="t", channel="c", max_events=0),
        ValueError, "max_events"),
    Bad("sensor clock_skew", lambda _: DailyBotWebhookDeliverySensor(task_id="t", channel="c", clock_skew=-1),
        ValueError, "clock_skew"),
    Bad("promote channel",
        lambda _: DailyBotPromoteWebhookSubscriptionOperator(task_id="t", channel="", subscription={}),
        ValueError, "channel"),
    Bad("rotation channel", lambda _: dailybot_webhook_rotation(channel="a/b", events=EVENTS), ValueError, "channel"),
    Bad("rotation events a string", lambda _: dailybot_webhook_rotation(channel="c", events="kudos.posted"),
        TypeError, "events"),
    Bad("message without target", lambda _: DailyBotSendMessageOperator(task_id="t", message="hi"),
        ValueError, "target"),
    Bad("kudos without receivers", lambda _: DailyBotGiveKudosOperator(task_id="t", receivers=[], content="x"),
        ValueError, "receiver"),
    Bad("notifier without target", lambda _: DailyBotNotifier(message="hi"), ValueError, "target"),
    Bad("notifier empty message", lambda _: DailyBotNotifier(message=" ", target_teams=[UUID]), ValueError, "message"),
    Bad("trigger checkin", lambda _: DailyBotNewCheckinResponsesTrigger(checkin_id=""), ValueError, "checkin_id"),
    Bad("trigger poll", lambda _: DailyBotNewCheckinResponsesTrigger(checkin_id="c", poll_interval=0),
        ValueError, "poll_interval"),
    Bad("trigger lookback", lambda _: DailyBotNewCheckinResponsesTrigger(checkin_id="c", lookback_days=90),
        ValueError, "lookback_days"),
    Bad("trigger failures", lambda _: DailyBotNewCheckinResponsesTrigger(checkin_id="c", max_consecutive_failures="3"),
        TypeError, "max_consecutive_failures"),
    Bad("trigger flag", lambda _: DailyBotNewCheckinResponsesTrigger(checkin_id="c", only_blockers="yes"),
        TypeError, "only_blockers"),
    Bad("trigger conn id", lambda _: DailyBotNewCheckinResponsesTrigger(checkin_id="c", dailybot_conn_id=""),
        ValueError, "dailybot_conn_id"),
    # Static (literal) values of the lifecycle and export operators, checked before any run (issue 12).
    Bad("create events typo", lambda _: _create_op(events=["followup.response.complete"]), ValueError,
        "followups.response.completed"),
    Bad("create events empty", lambda _: _create_op(events=[]), ValueError, "events"),
    Bad("create events not text", lambda _: _create_op(events=[1]), TypeError, "events"),
    Bad("create one literal typo among templates", lambda _: _create_op(events=["{{ var.value.e }}", "kudos.psted"]),
        ValueError, "kudos.posted"),
    Bad("create channel", lambda _: _create_op(channel="Bad Channel!"), ValueError, "channel"),
    Bad("create nowhere", lambda _: _create_op(channel=None), ValueError, "hook_url"),
    Bad("create url ftp", lambda _: _create_op(channel=None, hook_url="ftp://e.com/x"), ValueError, "http"),
    Bad("create url plain http", lambda _: _create_op(channel=None, hook_url="http://e.com/x"), ValueError,
        "plain http"),
    Bad("create objects", lambda _: _create_op(subscribed_objects=["x"]), ValueError, "UUID"),
    Bad("create name blank", lambda _: _create_op(name=" "), ValueError, "name"),
    Bad("create sample flag", lambda _: _create_op(immediate_sample_event="yes"), TypeError,
        "immediate_sample_event"),
    Bad("create unknown flag", lambda _: _create_op(allow_unknown_events=1), TypeError, "allow_unknown_events"),
    Bad("create conn id", lambda _: _create_op(dailybot_conn_id=""), ValueError, "dailybot_conn_id"),
    Bad("delete hook_id", lambda _: DailyBotDeleteWebhookSubscriptionOperator(task_id="t", hook_id=" "),
        ValueError, "hook_id"),
    Bad("delete hook_url", lambda _: DailyBotDeleteWebhookSubscriptionOperator(task_id="t", hook_id="h",
                                                                                hook_url="not a url"),
        ValueError, "hook_url"),
    Bad("delete channel", lambda _: DailyBotDeleteWebhookSubscriptionOperator(task_id="t", hook_id="h", channel="BAD"),
        ValueError, "channel"),
    Bad("delete missing_ok", lambda _: DailyBotDeleteWebhookSubscriptionOperator(task_id="t", hook_id="h",
                                                                                  missing_ok="yes"),
        TypeError, "missing_ok"),
    Bad("promote lookback", lambda _: DailyBotPromoteWebhookSubscriptionOperator(
        task_id="t", channel="c", subscription={}, orphan_lookback=8), ValueError, "orphan_lookback"),
    Bad("promote max_events", lambda _: DailyBotPromoteWebhookSubscriptionOperator(
        task_id="t", channel="c", subscription={}, max_events=0), ValueError, "max_events"),
    Bad("sensor since", lambda _: DailyBotWebhookDeliverySensor(task_id="t", channel="c", since="yesterday"),
        ValueError, "since"),
    Bad("sensor hook_id", lambda _: DailyBotWebhookDeliverySensor(task_id="t", channel="c", hook_id=""),
        ValueError, "hook_id"),
    Bad("sensor max_events templated", lambda _: DailyBotWebhookDeliverySensor(task_id="t", channel="c",
                                                                                max_events="{{ 5 }}"),
        TypeError, "max_events"),
    Bad("rotation events typo", lambda _: dailybot_webhook_rotation(channel="c", events=["kudos.psted"]),
        ValueError, "kudos.posted"),
    Bad("rotation timeout", lambda _: dailybot_webhook_rotation(channel="c", events=EVENTS, verify_timeout=0),
        ValueError, "verify_timeout"),
    Bad("rotation objects", lambda _: dailybot_webhook_rotation(channel="c", events=EVENTS,
                                                                subscribed_objects=["x"]),
        ValueError, "UUID"),
    Bad("export relative", lambda _: _export_op(destination="out.jsonl"), ValueError, "destination"),
    Bad("export folder", lambda _: _export_op(destination="/exports/dailybot/"), ValueError, "folder"),
    Bad("export date words", lambda _: _export_op(date_start="yesterday"), ValueError, "date_start"),
    Bad("export reversed", lambda _: _export_op(date_start="2026-02-01", date_end="2026-01-01"), ValueError,
        "before date_start"),
    Bad("export checkin_id", lambda _: _export_op(checkin_id="a/b"), ValueError, "checkin_id"),
    Bad("export form_id", lambda _: DailyBotExportFormResponsesOperator(task_id="t", form_id="",
                                                                        destination="/exports/x.jsonl"),
        ValueError, "form_id"),
    Bad("export all_responses", lambda _: DailyBotExportFormResponsesOperator(
        task_id="t", form_id=UUID, destination="/exports/x.jsonl", all_responses="yes"), TypeError, "all_responses"),
]  # fmt: skip


@pytest.mark.parametrize("case", PARSE_BAD, ids=[c.name for c in PARSE_BAD])
def test_bad_argument_is_refused_when_the_dag_is_parsed(case: Bad) -> None:
    from airflow.sdk import DAG

    with DAG(dag_id="parse_bad_input", schedule=None), pytest.raises(case.error, match=case.says):
        case.call(None)


def test_notifier_refuses_a_template_that_renders_wrong_before_any_request(fast_fake: FakeDailyBotServer) -> None:
    notifier = DailyBotNotifier(message="{{ '' }}", target_teams=[seed.ENGINEERING_TEAM])
    notifier.render_template_fields({})
    with pytest.raises(ValueError, match="message"):
        notifier.notify({})
    assert fast_fake.requests == []


# -- templated values that render wrong, checked when the task runs -------------------------------
def _templated_tasks(channel: str, tmp: str) -> dict[str, tuple[type[Exception], str]]:
    """Build one task per bad templated value; return task id -> (error, fragment)."""
    create = DailyBotCreateWebhookSubscriptionOperator
    delete = DailyBotDeleteWebhookSubscriptionOperator
    export = DailyBotExportCheckinResponsesOperator
    missing = "{{ ti.xcom_pull(task_ids='no_such_task') }}"
    dates = {"date_start": "2026-01-01", "date_end": "2026-01-02", "destination": f"{tmp}/out.jsonl"}
    ext = {"channel": None, "hook_url": GOOD_URL}
    cases: dict[str, tuple[Callable[..., Any], dict[str, Any], type[Exception], str]] = {
        "create_events_empty": (create, {"channel": channel, "events": "{{ '' }}"}, ValueError, "Unknown"),
        "create_events_typo": (create, {"channel": channel, "events": "{{ 'kudos.psted' }}"}, ValueError,
                               "kudos.posted"),
        "create_channel_bad": (create, {"channel": "{{ 'Not A Channel' }}", "events": EVENTS}, ValueError, "channel"),
        "create_nowhere": (create, {"channel": "{{ '' }}", "events": EVENTS}, ValueError, "hook_url"),
        "create_url_ftp": (create, {**ext, "hook_url": "{{ 'ftp://e.com/x' }}", "events": EVENTS}, ValueError, "http"),
        "create_url_http": (create, {**ext, "hook_url": "{{ 'http://e.com/x' }}", "events": EVENTS}, ValueError,
                            "plain http"),
        "create_objects": (create, {**ext, "events": EVENTS, "subscribed_objects": "{{ 'x' }}"}, ValueError, "UUID"),
        "create_conn_empty": (create, {**ext, "events": EVENTS, "dailybot_conn_id": "{{ '' }}"}, ValueError,
                              "dailybot_conn_id"),
        "delete_no_xcom": (delete, {"subscription": missing}, ValueError, "hook id"),
        "delete_bad_url": (delete, {"hook_id": "h", "hook_url": "{{ 'not a url' }}"}, ValueError, "hook_url"),
        "delete_bad_channel": (delete, {"hook_id": "h", "channel": "{{ 'BAD' }}"}, ValueError, "channel"),
        "verify_no_xcom": (DailyBotWebhookDeliverySensor, {"channel": channel, "subscription": missing, "timeout": 5},
                           ValueError, "hook id"),
        "verify_since_words": (DailyBotWebhookDeliverySensor,
                               {"channel": channel, "hook_id": "h", "since": "{{ 'yesterday' }}", "timeout": 5},
                               ValueError, "since"),
        "promote_no_xcom": (DailyBotPromoteWebhookSubscriptionOperator, {"channel": channel, "subscription": missing},
                            ValueError, "subscription"),
        "message_empty": (DailyBotSendMessageOperator, {"message": "{{ ' ' }}", "target_teams": [UUID]},
                          ValueError, "message"),
        "message_team": (DailyBotSendMessageOperator, {"message": "m", "target_teams": "{{ 'eng' }}"},
                         ValueError, "target_teams"),
        "message_image": (DailyBotSendMessageOperator,
                          {"message": "m", "target_teams": [UUID], "image_url": "{{ 'http://e.com/a.png' }}"},
                          ValueError, "image_url"),
        "message_buttons": (DailyBotSendMessageOperator,
                            {"message": "m", "target_teams": [UUID], "buttons": "{{ 'click' }}"}, TypeError, "buttons"),
        "kudos_receivers": (DailyBotGiveKudosOperator, {"receivers": "{{ '' }}", "content": "c"}, ValueError,
                            "receiver"),
        "kudos_content": (DailyBotGiveKudosOperator, {"receivers": [UUID], "content": "{{ ' ' }}"}, ValueError,
                          "content"),
        "export_relative": (export, {**dates, "checkin_id": "c", "destination": "{{ 'out.jsonl' }}"}, ValueError,
                            "destination"),
        "export_date_words": (export, {**dates, "checkin_id": "c", "date_start": "{{ 'yesterday' }}"}, ValueError,
                              "date"),
        "export_reversed": (export, {**dates, "checkin_id": "c", "date_start": "{{ '2026-02-01' }}"}, ValueError,
                            "before date_start"),
        "export_checkin_id": (export, {**dates, "checkin_id": "{{ 'a/b' }}"}, ValueError, "checkin_id"),
        "export_form_id": (DailyBotExportFormResponsesOperator, {**dates, "form_id": "{{ '' }}"}, ValueError,
                           "form_id"),
    }  # fmt: skip
    expected = {}
    for task_id, (cls, kwargs, error, says) in cases.items():
        cls(task_id=task_id, retries=0, **kwargs)
        expected[task_id] = (error, says)
    return expected


def test_templated_values_that_render_wrong_fail_before_any_request(
    fast_fake: FakeDailyBotServer, task_errors: list[TaskError], channel_state: Callable[[str], Any], tmp_path: Any
) -> None:
    from airflow.sdk import DAG

    channel = "bad-input"
    with DAG(dag_id="bad_templated_input", schedule=None, dagrun_timeout=timedelta(minutes=5)) as dag:
        expected = _templated_tasks(channel, str(tmp_path))
    sync_dags(dag)
    states = task_states(dag.test())

    assert set(states.values()) == {"failed"}, states
    raised = {e.task: e.error for e in task_errors}
    unclear = {
        task_id: repr(raised.get(task_id))
        for task_id, (error, says) in expected.items()
        if not isinstance(raised.get(task_id), error) or says.lower() not in str(raised[task_id]).lower()
    }
    assert unclear == {}, "errors that do not name the bad argument"
    assert fast_fake.requests == [], "a request was sent before the input was checked"
    assert channel_state(channel) is None, "a task that failed on its input changed the channel state"


def test_create_with_an_unusable_connection_leaves_no_secret_behind(
    fast_fake: FakeDailyBotServer, task_errors: list[TaskError], channel_state: Callable[[str], Any]
) -> None:
    """The create operator checks the connection before it registers a secret with the channel."""
    from airflow.sdk import DAG

    channel = "bad-conn"
    with DAG(dag_id="create_bad_connection", schedule=None) as dag:
        for task_id, conn_id in (("conn_empty", "{{ '' }}"), ("conn_missing", "no_such_connection")):
            DailyBotCreateWebhookSubscriptionOperator(
                task_id=task_id, channel=channel, events=EVENTS, dailybot_conn_id=conn_id, retries=0
            )
    sync_dags(dag)
    assert set(task_states(dag.test()).values()) == {"failed"}
    assert {e.task for e in task_errors} == {"conn_empty", "conn_missing"}
    assert fast_fake.requests == []
    state = channel_state(channel)
    assert state is None or state.secret_sha256 == [], "a secret nobody holds was registered with the channel"


def test_subscription_given_as_a_bare_hook_id_is_read_as_the_hook_id_only(
    fast_fake: FakeDailyBotServer, task_errors: list[TaskError], channel_state: Callable[[str], Any]
) -> None:
    """``subscription=<hook id>`` works like ``hook_id=``; the string is not also taken as channel and URL."""
    from airflow.sdk import DAG

    created = DailyBotHook().create_webhook_subscription(hook_url=GOOD_URL, events=EVENTS)
    with DAG(dag_id="delete_by_bare_id", schedule=None) as dag:
        DailyBotDeleteWebhookSubscriptionOperator(task_id="delete_by_id", subscription=created.id, retries=0)
    sync_dags(dag)
    states = task_states(dag.test())
    assert states == {"delete_by_id": "success"}, [repr(e.error) for e in task_errors]
    assert fast_fake.subscriptions == []
    assert channel_state(created.id) is None, "a channel state named after the hook id was written"
