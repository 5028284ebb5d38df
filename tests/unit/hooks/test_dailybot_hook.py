"""DailyBotHook against the fake DailyBot server over real sockets.

Covers errors, retries, DELETE forms, validation and secrets.
"""

from __future__ import annotations

import logging

import pytest
from airflow.exceptions import AirflowProviderDeprecationWarning

from airflow_provider_dailybot.events import KNOWN_EVENTS
from airflow_provider_dailybot.exceptions import (
    DailyBotApiError,
    DailyBotAuthenticationError,
    DailyBotBadRequestError,
    DailyBotError,
    DailyBotNotFoundError,
    DailyBotPermissionError,
    DailyBotQuotaExceededError,
    DailyBotRateLimitError,
    DailyBotServerError,
    DailyBotTimeoutError,
    DailyBotTransportError,
)
from airflow_provider_dailybot.hooks.dailybot import DailyBotHook
from airflow_provider_dailybot.retries import RetryPolicy
from airflow_provider_dailybot.testing.processes import free_port
from tests.conftest import API_KEY

HOOK_URL = "https://airflow.example.com/dailybot/webhooks/standups"
SUBSCRIPTION_PATH = "/v1/webhook-subscription/"


@pytest.fixture
def hook(fake, set_dailybot_connection, sleeps):
    set_dailybot_connection(fake.base_url)
    return DailyBotHook(retry_policy=RetryPolicy(max_attempts=3, sleep=sleeps))


def _requests(fake, method, path=SUBSCRIPTION_PATH):
    return [r for r in fake.requests if r.method == method and r.path.startswith(path)]


# -- identity and test_connection -----------------------------------------------------------


def test_get_me_and_test_connection(hook):
    me = hook.get_me()
    assert me["organization_name"] == "Acme Corp"
    assert hook.test_connection() == (True, "Authenticated as Ada Lovelace (Acme Corp)")


def test_wrong_key_fails_test_connection_with_detail_never_the_key(fake, set_dailybot_connection):
    set_dailybot_connection(fake.base_url, password="sk-wrong-" + API_KEY[::-1])
    ok, message = DailyBotHook().test_connection()
    assert ok is False
    assert "HTTP 401" in message
    assert "Invalid API key." in message
    assert "authentication_failed" in message
    assert API_KEY[::-1] not in message


@pytest.mark.parametrize(
    ("switch", "code", "error_class"),
    [("free_plan", "plan_free_api_keys_forbidden", DailyBotPermissionError)],
)
def test_free_plan_key_is_a_permission_error_with_a_hint(fake, hook, switch, code, error_class):
    setattr(fake, switch, True)
    with pytest.raises(error_class) as excinfo:
        hook.get_me()
    assert excinfo.value.code == code
    assert "upgrade" in str(excinfo.value)
    ok, message = hook.test_connection()
    assert ok is False
    assert code in message


def test_non_admin_key_cannot_manage_webhooks(fake, hook):
    fake.org_admin = False
    with pytest.raises(DailyBotPermissionError) as excinfo:
        hook.create_webhook_subscription(hook_url=HOOK_URL, events=["kudos.posted"])
    assert excinfo.value.code == "org_admin_required"
    assert excinfo.value.status_code == 403
    assert "organization admin" in str(excinfo.value)
    assert fake.subscriptions == []


def test_auth_failure_as_403_is_still_an_auth_error(fake, set_dailybot_connection):
    fake.auth_failure_status = 403
    set_dailybot_connection(fake.base_url, password="sk-not-the-key")
    with pytest.raises(DailyBotPermissionError) as excinfo:
        DailyBotHook().get_me()
    assert excinfo.value.detail == "Invalid API key."


# -- every error status maps to a typed exception ----------------------------------------------


@pytest.mark.parametrize(
    ("status", "error_class"),
    [
        (400, DailyBotBadRequestError),
        (401, DailyBotAuthenticationError),
        (403, DailyBotPermissionError),
        (404, DailyBotNotFoundError),
        (405, DailyBotApiError),
        (406, DailyBotApiError),
        (409, DailyBotApiError),
        (429, DailyBotRateLimitError),
        (500, DailyBotServerError),
        (502, DailyBotServerError),
        (503, DailyBotServerError),
    ],
)
def test_error_status_maps_to_typed_exception(fake, set_dailybot_connection, status, error_class):
    set_dailybot_connection(fake.base_url)
    fake.inject(status=status, code=f"code_{status}", detail=f"detail for {status}", times=5)
    hook = DailyBotHook(retry_policy=RetryPolicy(max_attempts=1))
    with pytest.raises(error_class) as excinfo:
        hook.get_me()
    error = excinfo.value
    assert type(error) is error_class
    assert (error.status_code, error.method, error.path) == (status, "GET", "/v1/me/")
    if status != 500:  # the fake answers 500 with Django's HTML page, which has no code
        assert error.code == f"code_{status}"
        assert error.detail == f"detail for {status}"
    assert str(error).startswith(f"DailyBot GET /v1/me/ failed with HTTP {status}")


def test_django_html_500_page_is_summarised(fake, hook):
    fake.inject(status=500, times=3)
    with pytest.raises(DailyBotServerError) as excinfo:
        hook.get_me()
    assert "Server Error (500)" in str(excinfo.value)
    assert "<" not in str(excinfo.value)


def test_field_errors_of_a_400_are_exposed(fake, hook):
    with pytest.raises(DailyBotBadRequestError) as excinfo:
        hook.create_webhook_subscription(hook_url=HOOK_URL, events=["workflow.finished"], allow_unknown_events=True)
    assert "subscriptions" in excinfo.value.field_errors
    assert "subscriptions" in str(excinfo.value)


def test_long_details_are_truncated(fake, hook):
    fake.inject(status=400, detail="x" * 5000)
    with pytest.raises(DailyBotBadRequestError) as excinfo:
        hook.get_me()
    assert len(str(excinfo.value)) < 400


def test_redirects_are_not_followed(fake, hook):
    fake.inject(status=301)
    with pytest.raises(DailyBotApiError, match="not followed"):
        hook.get_me()


def test_non_json_success_points_at_the_base_url(fake, hook):
    fake.inject(status=200, body=b"<html><title>Welcome to nginx</title></html>")
    with pytest.raises(DailyBotApiError, match=r"non-JSON body.*Welcome to nginx.*base URL"):
        hook.get_me()


# -- retries ------------------------------------------------------------------------------------


def test_get_is_retried_on_5xx_with_backoff_and_logged(fake, hook, sleeps, caplog, capsys):
    caplog.set_level(logging.WARNING)
    fake.inject(status=503, times=2)
    assert hook.get_me()["organization_name"] == "Acme Corp"
    assert len(_requests(fake, "GET", "/v1/me/")) == 3
    assert len(sleeps.waits) == 2
    # exponential: the second wait's range [0.5, 1.0] s lies above the first's [0.25, 0.5] s
    assert 0.25 <= sleeps.waits[0] <= 0.5 <= sleeps.waits[1] <= 1.0
    logged = caplog.text + capsys.readouterr().out
    assert "[Try 1 of 3] DailyBot GET /v1/me/ failed with HTTP 503" in logged
    assert "[Try 2 of 3]" in logged


def test_retries_are_bounded(fake, hook, sleeps):
    fake.inject(status=500, times=10)
    with pytest.raises(DailyBotServerError):
        hook.get_me()
    assert len(_requests(fake, "GET", "/v1/me/")) == 3
    assert len(sleeps.waits) == 2


def test_429_retry_after_is_honoured(fake, hook, sleeps):
    fake.inject(status=429, retry_after=7)
    assert hook.get_me()
    assert sleeps.waits == [7.0]


def test_retry_after_is_capped(fake, set_dailybot_connection, sleeps):
    set_dailybot_connection(fake.base_url)
    fake.inject(status=429, retry_after=3600)
    DailyBotHook(retry_policy=RetryPolicy(retry_after_cap=12, sleep=sleeps)).get_me()
    assert sleeps.waits == [12.0]


def test_daily_quota_is_never_retried(fake, hook, sleeps):
    fake.inject(status=429, code="free_plan_daily_limit_exceeded", retry_after=1, times=5)
    with pytest.raises(DailyBotQuotaExceededError) as excinfo:
        hook.get_me()
    assert sleeps.waits == []
    assert len(_requests(fake, "GET", "/v1/me/")) == 1
    assert excinfo.value.retry_after == 1.0
    assert "quota" in str(excinfo.value)


@pytest.mark.parametrize("status", [500, 502, 503])
def test_create_is_not_retried_on_5xx(fake, hook, sleeps, status):
    fake.inject(status=status, method="POST", times=3)
    with pytest.raises(DailyBotServerError):
        hook.create_webhook_subscription(hook_url=HOOK_URL, events=["kudos.posted"])
    assert len(_requests(fake, "POST")) == 1
    assert sleeps.waits == []


def test_create_that_dailybot_processed_but_answered_500_leaves_exactly_one(fake, hook):
    fake.inject(status=500, method="POST", after_processing=True)
    with pytest.raises(DailyBotServerError):
        hook.create_webhook_subscription(hook_url=HOOK_URL, events=["kudos.posted"])
    assert len(fake.subscriptions) == 1  # DailyBot did the work; the hook did not do it twice
    assert len(_requests(fake, "POST")) == 1


def test_create_is_retried_after_429(fake, hook, sleeps):
    fake.inject(status=429, method="POST", retry_after=1)
    sub = hook.create_webhook_subscription(hook_url=HOOK_URL, events=["kudos.posted"])
    assert [s.id for s in fake.subscriptions] == [sub.id]
    assert sleeps.waits == [1.0]


def test_create_with_a_dropped_connection_is_not_retried(fake, hook, sleeps):
    fake.inject(drop=True, method="POST", after_processing=True)
    with pytest.raises(DailyBotTransportError):
        hook.create_webhook_subscription(hook_url=HOOK_URL, events=["kudos.posted"])
    assert len(fake.subscriptions) == 1
    assert sleeps.waits == []


def test_create_read_timeout_is_not_retried(fake, set_dailybot_connection, sleeps):
    set_dailybot_connection(fake.base_url)
    fake.inject(delay=1.0, method="POST")
    hook = DailyBotHook(timeout=0.3, retry_policy=RetryPolicy(sleep=sleeps))
    with pytest.raises(DailyBotTimeoutError) as excinfo:
        hook.create_webhook_subscription(hook_url=HOOK_URL, events=["kudos.posted"])
    assert "0.3 s timeout" in str(excinfo.value)
    assert len(_requests(fake, "POST")) <= 1
    assert sleeps.waits == []


def test_get_read_timeout_and_dropped_connection_are_retried(fake, set_dailybot_connection, sleeps):
    set_dailybot_connection(fake.base_url)
    fake.inject(delay=1.0, method="GET")
    fake.inject(drop=True, method="GET")
    hook = DailyBotHook(timeout=0.3, retry_policy=RetryPolicy(sleep=sleeps))
    assert hook.get_me()["organization_name"] == "Acme Corp"
    assert len(sleeps.waits) == 2


def test_create_is_retried_when_nothing_was_sent(set_dailybot_connection, sleeps):
    # A port with nothing listening: the connection is refused before any byte is sent.
    set_dailybot_connection(f"http://127.0.0.1:{free_port()}")
    hook = DailyBotHook(retry_policy=RetryPolicy(max_attempts=3, sleep=sleeps))
    with pytest.raises(DailyBotTransportError) as excinfo:
        hook.create_webhook_subscription(hook_url=HOOK_URL, events=["kudos.posted"])
    assert len(sleeps.waits) == 2
    assert "refused" in str(excinfo.value).lower()


# -- create ------------------------------------------------------------------------------------


@pytest.mark.parametrize("id_key", ["id", "uuid", "hook_id"])
@pytest.mark.parametrize("status", [200, 201])
def test_create_reads_the_id_tolerantly(fake, hook, id_key, status):
    fake.create_id_key = id_key
    fake.create_status = status
    sub = hook.create_webhook_subscription(
        hook_url=HOOK_URL,
        events=["followups.response.completed", "kudos.posted"],
        subscribed_objects=["3F2504E0-4F89-11D3-9A0C-0305E82C3301"],
        name="airflow standups",
        bearer="s3cret-bearer-value",
        immediate_sample_event=False,
    )
    (stored,) = fake.subscriptions
    assert sub.id == stored.id
    assert sub.hook_url == HOOK_URL
    assert sub.events == ["followups.response.completed", "kudos.posted"]
    assert stored.subscribed_objects == ["3f2504e0-4f89-11d3-9a0c-0305e82c3301"]
    assert stored.name == "airflow standups"
    assert stored.has_bearer
    assert "s3cret-bearer-value" not in repr(sub)


def test_subscriptions_is_a_deprecated_alias_of_events(fake, hook):
    with pytest.warns(AirflowProviderDeprecationWarning, match=r"subscriptions=\.\.\.\) is deprecated; use events"):
        sub = hook.create_webhook_subscription(hook_url=HOOK_URL, subscriptions=["kudos.posted"])
    assert [s.subscriptions for s in fake.subscriptions] == [["kudos.posted"]]
    with pytest.warns(AirflowProviderDeprecationWarning, match=r"\.subscriptions is deprecated; use \.events"):
        assert sub.subscriptions == sub.events == ["kudos.posted"]
    with pytest.raises(TypeError, match="not both"):
        hook.create_webhook_subscription(hook_url=HOOK_URL, events=["kudos.posted"], subscriptions=["kudos.posted"])
    assert len(fake.subscriptions) == 1


def test_create_without_an_id_in_the_response_is_an_error(fake, hook):
    fake.create_id_key = "something_else"
    with pytest.raises(DailyBotApiError, match="no id"):
        hook.create_webhook_subscription(hook_url=HOOK_URL, events=["kudos.posted"])


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"hook_url": "ftp://x.example.com/h"}, ValueError, "absolute http"),
        ({"hook_url": "/dailybot/webhooks/x"}, ValueError, "absolute http"),
        ({"hook_url": "http://airflow.example.com/h"}, ValueError, "plain http"),
        ({"hook_url": "https://u:p@airflow.example.com/h"}, ValueError, "credentials"),
        ({"hook_url": 42}, TypeError, "hook_url must be a string"),
        ({"events": "kudos.posted"}, TypeError, "list of DailyBot event names"),
        ({"events": []}, ValueError, "at least one event"),
        ({"events": ["kudos.post"]}, ValueError, "did you mean 'kudos.posted'"),
        ({"events": [7]}, TypeError, "must be strings"),
        ({"subscribed_objects": ["not-a-uuid"]}, ValueError, "is not a UUID"),
        ({"subscribed_objects": "3f2504e0-4f89-11d3-9a0c-0305e82c3301"}, TypeError, "list of UUID"),
        ({"name": "  "}, ValueError, "name"),
        ({"bearer": ""}, ValueError, "bearer"),
        ({"immediate_sample_event": "yes"}, TypeError, "immediate_sample_event"),
    ],
)
def test_create_validates_before_any_request(fake, hook, kwargs, error, message):
    arguments = {"hook_url": HOOK_URL, "events": ["kudos.posted"], **kwargs}
    with pytest.raises(error, match=message):
        hook.create_webhook_subscription(**arguments)
    assert fake.requests == []


def test_unknown_event_message_names_every_valid_event(hook):
    with pytest.raises(ValueError, match=r"Unknown DailyBot event 'checkin\.completed'") as excinfo:
        hook.create_webhook_subscription(hook_url=HOOK_URL, events=["checkin.completed"])
    for event in KNOWN_EVENTS:
        assert event in str(excinfo.value)


def test_opt_ins_let_through_new_events_and_plain_http(fake, hook):
    with pytest.raises(DailyBotBadRequestError):  # the fake, like DailyBot, refuses what it does not know
        hook.create_webhook_subscription(
            hook_url="http://airflow.internal/h",
            events=["FORMS_RESPONSE_APPROVED"],
            allow_unknown_events=True,
            allow_insecure_hook_url=True,
        )
    assert len(_requests(fake, "POST")) == 1


def test_loopback_http_hook_url_is_fine(fake, hook):
    sub = hook.create_webhook_subscription(hook_url="http://127.0.0.1:9/h", events=["kudos.posted"])
    assert sub.hook_url == "http://127.0.0.1:9/h"


# -- delete ------------------------------------------------------------------------------------


@pytest.mark.parametrize("forms", [{"query"}, {"body"}, {"path"}, {"query", "body", "path"}])
def test_delete_works_whichever_form_the_server_implements(fake, hook, forms):
    fake.delete_forms = set(forms)
    first = hook.create_webhook_subscription(hook_url=HOOK_URL, events=["kudos.posted"])
    second = hook.create_webhook_subscription(hook_url=HOOK_URL, events=["kudos.posted"])
    assert hook.delete_webhook_subscription(first.id, hook_url=first.hook_url) is True
    before = len(_requests(fake, "DELETE"))
    assert hook.delete_webhook_subscription(second.id, hook_url=second.hook_url) is True
    assert fake.subscriptions == []
    # The form that worked is remembered: the second delete takes exactly one request.
    assert len(_requests(fake, "DELETE")) - before == 1


def test_delete_of_a_gone_subscription(fake, hook):
    sub = hook.create_webhook_subscription(hook_url=HOOK_URL, events=["kudos.posted"])
    assert hook.delete_webhook_subscription(sub.id) is True
    assert hook.delete_webhook_subscription(sub.id) is False
    with pytest.raises(DailyBotNotFoundError):
        hook.delete_webhook_subscription(sub.id, missing_ok=False)


def test_delete_is_retried_on_5xx(fake, hook, sleeps):
    sub = hook.create_webhook_subscription(hook_url=HOOK_URL, events=["kudos.posted"])
    fake.inject(status=503, method="DELETE")
    assert hook.delete_webhook_subscription(sub.id, hook_url=sub.hook_url) is True
    assert len(sleeps.waits) == 1
    assert fake.subscriptions == []


def test_delete_permission_error_is_raised_not_swallowed(fake, hook):
    sub = hook.create_webhook_subscription(hook_url=HOOK_URL, events=["kudos.posted"])
    fake.org_admin = False
    with pytest.raises(DailyBotPermissionError):
        hook.delete_webhook_subscription(sub.id)
    assert len(fake.subscriptions) == 1


@pytest.mark.parametrize("hook_id", ["", "   ", None, 12])
def test_delete_validates_hook_id(fake, hook, hook_id):
    with pytest.raises(ValueError, match="hook_id"):
        hook.delete_webhook_subscription(hook_id)
    assert fake.requests == []


# -- sample, session, headers, secrets ----------------------------------------------------------


def test_get_sample_event(hook):
    envelope = hook.get_sample_event("kudos.posted")
    assert envelope["event"] == "kudos.posted"
    assert isinstance(envelope["body"], dict)
    with pytest.raises(ValueError, match="Valid events"):
        hook.get_sample_event("kudos")


def test_one_keep_alive_connection_and_provider_headers(fake, hook):
    for _ in range(5):
        hook.get_me()
    assert fake.connections_accepted == 1
    headers = fake.requests[-1].headers
    user_agent = next(v for k, v in headers.items() if k.lower() == "user-agent")
    assert user_agent.startswith("airflow-provider-dailybot/")
    assert "apache-airflow/" in user_agent
    assert next(v for k, v in headers.items() if k.lower() == "accept") == "application/json"


def test_api_key_is_registered_with_airflows_secrets_masker(hook):
    from airflow.sdk.log import mask_secret  # noqa: F401  (the API the hook calls)

    hook.get_me()
    masker = _secrets_masker()
    assert API_KEY not in masker.redact(f"key={API_KEY}")


def _secrets_masker():
    try:
        from airflow.sdk._shared.secrets_masker import _secrets_masker  # Airflow 3.3
    except ImportError:  # Airflow 3.1
        from airflow.sdk.execution_time.secrets_masker import _secrets_masker
    return _secrets_masker()


def test_api_key_never_in_logs_errors_or_reprs(fake, hook, caplog, capsys):
    caplog.set_level(logging.DEBUG)
    fake.inject(status=503, times=2)
    hook.get_me()
    fake.inject(status=500, method="POST")
    errors: list[DailyBotError] = []
    try:
        hook.create_webhook_subscription(hook_url=HOOK_URL, events=["kudos.posted"])
    except DailyBotError as err:
        errors.append(err)
    fake.free_plan = True
    ok, message = hook.test_connection()
    captured = capsys.readouterr()
    texts = [caplog.text, captured.out, captured.err, message, repr(hook), repr(hook.settings)]
    texts += [str(e) for e in errors] + [repr(e) for e in errors] + [repr(r) for r in fake.requests]
    assert ok is False
    assert errors
    for text in texts:
        assert API_KEY not in text
