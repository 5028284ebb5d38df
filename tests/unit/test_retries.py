"""The retry policy's rules, as a table: which failures may be retried for which methods."""

from __future__ import annotations

import pytest

from airflow_provider_dailybot.exceptions import (
    DailyBotAuthenticationError,
    DailyBotBadRequestError,
    DailyBotNotFoundError,
    DailyBotPermissionError,
    DailyBotQuotaExceededError,
    DailyBotRateLimitError,
    DailyBotServerError,
    DailyBotTimeoutError,
    DailyBotTransportError,
)
from airflow_provider_dailybot.retries import RetryPolicy, parse_retry_after

ERRORS = {
    "400": DailyBotBadRequestError("x"),
    "401": DailyBotAuthenticationError("x"),
    "403": DailyBotPermissionError("x"),
    "404": DailyBotNotFoundError("x"),
    "429": DailyBotRateLimitError("x"),
    "429-quota": DailyBotQuotaExceededError("x"),
    "5xx": DailyBotServerError("x"),
    "transport": DailyBotTransportError("x"),
    "timeout": DailyBotTimeoutError("x"),
}

# (method, error, request_sent) -> retryable
EXPECTED = {
    ("GET", "429", True): True,
    ("GET", "429-quota", True): False,
    ("GET", "5xx", True): True,
    ("GET", "transport", True): True,
    ("GET", "timeout", True): True,
    ("DELETE", "5xx", True): True,
    ("DELETE", "timeout", True): True,
    ("POST", "429", True): True,
    ("POST", "429-quota", True): False,
    ("POST", "5xx", True): False,
    ("POST", "timeout", True): False,
    ("POST", "transport", True): False,
    ("POST", "transport", False): True,
    ("POST", "timeout", False): True,
}


@pytest.mark.parametrize(("method", "error", "sent"), sorted(EXPECTED))
def test_retry_rules(method, error, sent):
    assert RetryPolicy().is_retryable(method, ERRORS[error], request_sent=sent) is EXPECTED[(method, error, sent)]


@pytest.mark.parametrize("error", ["400", "401", "403", "404"])
@pytest.mark.parametrize("method", ["GET", "POST", "DELETE"])
def test_client_errors_are_never_retried(method, error):
    assert RetryPolicy().is_retryable(method, ERRORS[error], request_sent=True) is False


def test_backoff_is_exponential_with_jitter_and_capped():
    policy = RetryPolicy(backoff_base=1.0, backoff_max=5.0, jitter=lambda: 0.999999)
    assert [round(policy.wait_before(n, ERRORS["5xx"]), 3) for n in (1, 2, 3, 4)] == [1.0, 2.0, 4.0, 5.0]
    low = RetryPolicy(backoff_base=1.0, jitter=lambda: 0.0)
    assert low.wait_before(2, ERRORS["5xx"]) == 1.0  # half of 2 s at the lowest jitter


def test_retry_after_wins_and_is_capped():
    policy = RetryPolicy(retry_after_cap=10.0)
    assert policy.wait_before(1, DailyBotRateLimitError("x", retry_after=3)) == 3.0
    assert policy.wait_before(1, DailyBotRateLimitError("x", retry_after=3600)) == 10.0


def test_parse_retry_after_forms():
    assert parse_retry_after("30") == 30.0
    assert parse_retry_after(" 1.5 ") == 1.5
    assert parse_retry_after("-4") == 0.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("") is None
    assert parse_retry_after("soon") is None
    now = 1_700_000_000.0  # Tue, 14 Nov 2023 22:13:20 GMT
    assert parse_retry_after("Tue, 14 Nov 2023 22:13:50 GMT", now=now) == 30.0


def test_policy_refuses_zero_attempts():
    with pytest.raises(ValueError, match="at least 1"):
        RetryPolicy(max_attempts=0)


def _flaky(errors, *, sent=True):
    """An attempt that fails with each of ``errors`` in turn, then answers "ok"; counts its calls."""
    from airflow_provider_dailybot.retries import AttemptFailed

    calls = []

    def attempt():
        calls.append(1)
        if len(calls) <= len(errors):
            raise AttemptFailed(errors[len(calls) - 1], request_sent=sent)
        return "ok"

    return attempt, calls


def test_call_with_retries_waits_the_capped_retry_after_then_backs_off(caplog):
    import logging

    from airflow_provider_dailybot.retries import call_with_retries

    sleeps: list[float] = []
    policy = RetryPolicy(max_attempts=3, backoff_base=0.5, retry_after_cap=10, sleep=sleeps.append, jitter=lambda: 1.0)
    throttled = DailyBotRateLimitError("DailyBot GET /v1/me/ failed with HTTP 429", retry_after=99)
    attempt, calls = _flaky([throttled, DailyBotServerError("DailyBot GET /v1/me/ failed with HTTP 503")])
    log = logging.getLogger("test.retries")
    with caplog.at_level(logging.WARNING, logger="test.retries"):
        assert call_with_retries(attempt, method="GET", policy=policy, log=log) == "ok"
    assert (len(calls), sleeps) == (3, [10.0, 1.0])  # Retry-After capped at 10; then 0.5 * 2 ** 1
    assert "[Try 1 of 3] DailyBot GET /v1/me/ failed with HTTP 429; retrying in 10.00 s" in caplog.text
    assert "[Try 2 of 3]" in caplog.text


@pytest.mark.parametrize(
    ("method", "error", "sent", "attempts"),
    [
        ("POST", DailyBotServerError("x"), True, 1),  # may have been processed: never twice
        ("POST", DailyBotTransportError("x"), False, 3),  # nothing was sent: safe
        ("GET", DailyBotQuotaExceededError("x"), True, 1),  # the daily quota: never retried
        ("GET", DailyBotServerError("x"), True, 3),  # bounded by max_attempts
    ],
)
def test_call_with_retries_raises_the_typed_error_after_the_allowed_attempts(method, error, sent, attempts):
    import logging

    from airflow_provider_dailybot.retries import call_with_retries

    policy = RetryPolicy(max_attempts=3, sleep=lambda _: None)
    attempt, calls = _flaky([error] * 5, sent=sent)
    with pytest.raises(type(error)) as excinfo:
        call_with_retries(attempt, method=method, policy=policy, log=logging.getLogger("test.retries"))
    assert excinfo.value is error
    assert len(calls) == attempts
