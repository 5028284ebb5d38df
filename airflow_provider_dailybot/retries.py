"""When and how long :class:`DailyBotHook` waits before trying a request again.

The rules exist to never duplicate work on DailyBot's side:

* idempotent methods (GET, HEAD, OPTIONS, PUT, DELETE) are retried on transport failures,
  timeouts, 5xx and 429;
* POST is retried only when DailyBot provably did not process it: a 429, or a failure to
  connect before any byte was sent. A read timeout, a dropped connection or a 5xx after the
  request went out raises at once: a duplicate webhook subscription is worse than a failed
  task that Airflow can retry;
* ``free_plan_daily_limit_exceeded`` (and every other 4xx) is never retried, nor is an answer
  larger than ``max_response_bytes`` (it would be as large the next time).

The waits are exponential with jitter, and a ``Retry-After`` from DailyBot is honoured up
to a cap so a worker slot is never held for long; longer back-offs belong to Airflow's own
task ``retries``. Each 429 wait is capped at ``retry_after_cap`` (60 s), so with
``max_attempts=3`` a throttled request can hold a worker slot for about 120 s of waiting (plus the
attempts themselves, each bounded by ``total_timeout``).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar

from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt

from airflow_provider_dailybot.exceptions import (
    DailyBotError,
    DailyBotQuotaExceededError,
    DailyBotRateLimitError,
    DailyBotResponseTooLargeError,
    DailyBotServerError,
    DailyBotTransportError,
)

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
_T = TypeVar("_T")


class AttemptFailed(Exception):
    """One failed attempt: the typed error, and whether the request may have reached DailyBot.

    :param error: The typed error of the attempt.
    :param request_sent: ``False`` only when the connection failed before anything was sent.
    """

    def __init__(self, error: DailyBotError, *, request_sent: bool) -> None:
        super().__init__(str(error))
        self.error = error
        self.request_sent = request_sent


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Read a ``Retry-After`` header: delta seconds or an HTTP date; ``None`` when absent or unreadable.

    :param value: The header value.
    :param now: Current epoch seconds (for tests).
    """
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    current = time.time() if now is None else now
    return max(0.0, when.timestamp() - current)


@dataclass
class RetryPolicy:
    """Bounded retries with exponential backoff, jitter and a capped ``Retry-After``.

    :param max_attempts: Total attempts, the first included (1 disables retries).
    :param backoff_base: Seconds before the second attempt; doubled each time.
    :param backoff_max: Upper bound of one backoff wait.
    :param retry_after_cap: Upper bound of a wait asked for by ``Retry-After``.
    :param sleep: Sleep function (tests pass a recorder).
    :param jitter: Returns a float in [0, 1); the wait is scaled into [50 %, 100 %] of the backoff.
    """

    max_attempts: int = 3
    backoff_base: float = 0.5
    backoff_max: float = 30.0
    retry_after_cap: float = 60.0
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False)
    jitter: Callable[[], float] = field(default=random.random, repr=False)

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, got {self.max_attempts}")

    def is_retryable(self, method: str, error: DailyBotError, *, request_sent: bool) -> bool:
        """Decide whether ``error`` on ``method`` may be retried without risking a duplicate.

        :param method: Upper-case HTTP method.
        :param error: The typed error of the failed attempt.
        :param request_sent: False only when the connection failed before anything was sent.
        """
        if isinstance(error, (DailyBotQuotaExceededError, DailyBotResponseTooLargeError)):
            return False
        if isinstance(error, DailyBotRateLimitError):
            return True
        idempotent = method in IDEMPOTENT_METHODS
        if isinstance(error, DailyBotTransportError):
            return idempotent or not request_sent
        if isinstance(error, DailyBotServerError):
            return idempotent
        return False

    def wait_before(self, attempt: int, error: DailyBotError) -> float:
        """Seconds to wait before attempt number ``attempt + 1``.

        :param attempt: The attempt that just failed (1-based).
        :param error: Its error; a rate-limit error's ``retry_after`` wins over the backoff.
        """
        retry_after = getattr(error, "retry_after", None)
        if retry_after is not None:
            return min(float(retry_after), self.retry_after_cap)
        backoff = min(self.backoff_max, self.backoff_base * (2 ** (attempt - 1)))
        return backoff * (0.5 + self.jitter() / 2)


def call_with_retries(attempt: Callable[[], _T], *, method: str, policy: RetryPolicy, log: Any) -> _T:
    """Run ``attempt`` until it returns, retrying with tenacity what ``policy`` deems safe.

    ``attempt`` raises :class:`AttemptFailed` for a failure; the last one's typed error is raised.
    Each wait honours a capped ``Retry-After``, else exponential backoff with jitter, and is logged
    as ``[Try n of N]`` with the error's (already scrubbed) message.

    :param attempt: One attempt of the request.
    :param method: The method the retry rules apply to (``"GET"`` for a side-effect-free POST).
    :param policy: Attempts, waits and the sleep function.
    :param log: Where the retries are logged (a stdlib or structlog logger: ``warning(msg, *args)``).
    """

    def retryable(exc: BaseException) -> bool:
        return isinstance(exc, AttemptFailed) and policy.is_retryable(method, exc.error, request_sent=exc.request_sent)

    def wait(state: RetryCallState) -> float:
        return policy.wait_before(state.attempt_number, _failure(state).error)

    def before_sleep(state: RetryCallState) -> None:
        pause = state.next_action.sleep if state.next_action else 0.0
        log.warning(
            "[Try %d of %d] %s; retrying in %.2f s",
            state.attempt_number,
            policy.max_attempts,
            _failure(state).error,
            pause,
        )

    retrying = Retrying(
        stop=stop_after_attempt(policy.max_attempts),
        wait=wait,
        retry=retry_if_exception(retryable),
        sleep=policy.sleep,
        before_sleep=before_sleep,
        reraise=True,
    )
    try:
        return retrying(attempt)
    except AttemptFailed as failed:
        raise failed.error from None


def _failure(state: RetryCallState) -> AttemptFailed:
    outcome = state.outcome
    exc = outcome.exception() if outcome is not None else None
    assert isinstance(exc, AttemptFailed)
    return exc
