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
