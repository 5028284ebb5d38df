"""Acceptance: the hook against an independent DailyBot double (not the project's fake server)."""

from __future__ import annotations

import json
import logging
import time
from urllib.parse import parse_qs

import pytest

from airflow_provider_dailybot.exceptions import DailyBotPermissionError, DailyBotServerError
from airflow_provider_dailybot.hooks.dailybot import DailyBotHook
from airflow_provider_dailybot.retries import RetryPolicy
from tests.conftest import API_KEY
from tests.unit.hooks.dailybot_double import DailyBotDouble

HOOK_URL = "https://airflow.example.com/dailybot/webhooks/standups"


@pytest.mark.parametrize("delete_form", ["path", "query", "body"])
def test_create_then_delete_whichever_form_the_server_supports(set_dailybot_connection, delete_form):
    with DailyBotDouble(API_KEY, delete_form=delete_form) as double:
        set_dailybot_connection(double.base_url)
        hook = DailyBotHook()
        sub = hook.create_webhook_subscription(hook_url=HOOK_URL, events=["kudos.posted"], bearer="b" * 32)
        assert sub.id in double.hooks
        assert double.hooks[sub.id]["subscriptions"] == ["kudos.posted"]
        assert double.received[-1]["headers"]["X-API-KEY"] == API_KEY

        assert hook.delete_webhook_subscription(sub.id, hook_url=sub.hook_url) is True
        assert double.hooks == {}
        # Already gone: success by default, and no further form is needed once one worked.
        assert hook.delete_webhook_subscription(sub.id, hook_url=sub.hook_url) is False

    deletes = [r for r in double.received if r["method"] == "DELETE"]
    if delete_form == "query":
        assert parse_qs(deletes[0]["query"])["hook_id"] == [sub.id]
    if delete_form == "body":
        assert json.loads(deletes[0]["body"])["hook_id"] == sub.id


def test_waits_out_retry_after_then_succeeds(set_dailybot_connection):
    with DailyBotDouble(API_KEY) as double:
        set_dailybot_connection(double.base_url)
        double.script(
            "POST",
            "/v1/webhook-subscription/",
            (429, {"Retry-After": "1"}, {"detail": "Request was throttled. Expected available in 1 seconds."}),
        )
        hook = DailyBotHook()
        started = time.monotonic()
        sub = hook.create_webhook_subscription(hook_url=HOOK_URL, events=["kudos.posted"])
        waited = time.monotonic() - started
    posts = [r for r in double.received if r["method"] == "POST"]
    assert len(posts) == 2
    assert sub.id in double.hooks
    assert waited >= 0.95, "the hook must wait out Retry-After before the second attempt"


def test_does_not_retry_a_create_that_got_a_500(set_dailybot_connection, sleeps):
    with DailyBotDouble(API_KEY) as double:
        set_dailybot_connection(double.base_url)
        double.script("POST", "/v1/webhook-subscription/", (500, {}, b"<h1>Server Error (500)</h1>"))
        hook = DailyBotHook(retry_policy=RetryPolicy(max_attempts=5, sleep=sleeps))
        with pytest.raises(DailyBotServerError) as excinfo:
            hook.create_webhook_subscription(hook_url=HOOK_URL, events=["kudos.posted"])
    assert [r["method"] for r in double.received] == ["POST"]
    assert sleeps.waits == []
    assert excinfo.value.status_code == 500
    assert "Server Error (500)" in str(excinfo.value)


def test_typed_error_carries_dailybot_code_and_never_the_key(set_dailybot_connection, caplog):
    caplog.set_level(logging.DEBUG)
    with DailyBotDouble(API_KEY) as double:
        set_dailybot_connection(double.base_url)
        double.script(
            "POST",
            "/v1/webhook-subscription/",
            (403, {}, {"detail": f"Key {API_KEY} is not an admin key.", "code": "org_admin_required"}),
        )
        hook = DailyBotHook()
        with pytest.raises(DailyBotPermissionError) as excinfo:
            hook.create_webhook_subscription(hook_url=HOOK_URL, events=["kudos.posted"])
        ok, message = hook.test_connection()
    error = excinfo.value
    assert error.code == "org_admin_required"
    assert error.status_code == 403
    assert "org_admin_required" in str(error)
    assert ok is True
    assert message == "Authenticated as Grace Hopper (Navy)"
    for text in (str(error), repr(error), error.detail or "", caplog.text, repr(hook), repr(hook.settings)):
        assert API_KEY not in text
