"""Fixtures of the hook tests: connections defined through the environment, retries that record instead of sleeping."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from airflow_provider_dailybot.testing import FakeDailyBotServer
from tests.conftest import API_KEY


@pytest.fixture
def set_dailybot_connection(monkeypatch: pytest.MonkeyPatch) -> Callable[..., str]:
    """Define a ``dailybot`` connection through ``AIRFLOW_CONN_<ID>`` (JSON form) and return its id."""

    def _set(
        host: str | None, *, password: str | None = API_KEY, conn_id: str = "dailybot_default", **extra: object
    ) -> str:
        conn: dict[str, object] = {"conn_type": "dailybot"}
        if host is not None:
            conn["host"] = host
        if password is not None:
            conn["password"] = password
        if extra:
            conn["extra"] = extra
        monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(conn))
        return conn_id

    return _set


class SleepRecorder:
    """Stands in for ``time.sleep`` in a RetryPolicy: records waits instead of sleeping."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@pytest.fixture
def sleeps() -> SleepRecorder:
    return SleepRecorder()


@pytest.fixture
def hook(fake: FakeDailyBotServer) -> Iterator[Any]:
    """A hook on the suite's ``fake`` (``dailybot_default``) whose retries do not sleep."""
    from airflow_provider_dailybot.hooks.dailybot import DailyBotHook
    from airflow_provider_dailybot.retries import RetryPolicy

    hook = DailyBotHook(retry_policy=RetryPolicy(max_attempts=3, sleep=lambda _: None))
    yield hook
    hook.close()
