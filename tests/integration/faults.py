"""Fixtures of the reliability tests.

The fake DailyBot delivering into the in-process api-server app and the channel-state reader are the
lifecycle suite's fixtures (``tests/lifecycle/conftest.py``), imported here rather than copied.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from airflow_provider_dailybot.testing import FakeDailyBotServer
from tests.lifecycle.conftest import API_KEY, channel_state, fake, receiver_client
from tests.webhooks.conftest import declare_channel

__all__ = ["channel_state", "declare_channel", "fake", "receiver_client"]

#: Seconds per DailyBot request in the reliability tests (a "delay past the timeout" fault exceeds it).
HOOK_TIMEOUT = 1.5
#: Attempts per DailyBot request (the hook's own retries) in the reliability tests.
HOOK_ATTEMPTS = 2


@pytest.fixture
def fast_fake(fake: FakeDailyBotServer, monkeypatch: pytest.MonkeyPatch) -> FakeDailyBotServer:
    """The lifecycle ``fake``, with the connection's timeout and attempts lowered so faults cost little time."""
    monkeypatch.setenv(
        "AIRFLOW_CONN_DAILYBOT_DEFAULT",
        json.dumps(
            {
                "conn_type": "dailybot",
                "host": fake.base_url,
                "password": API_KEY,
                "extra": {"timeout": HOOK_TIMEOUT, "max_attempts": HOOK_ATTEMPTS},
            }
        ),
    )
    return fake


@pytest.fixture
def lenient_client(api_app: Any) -> Iterator[Any]:
    """A client of the real api-server app that reports server errors as 5xx answers instead of raising them."""
    from fastapi.testclient import TestClient

    with TestClient(api_app, raise_server_exceptions=False) as client:
        yield client


def bearer_accepted(client: Any, channel: str, bearer: str) -> bool:
    """Whether the receiver accepts ``bearer`` on ``channel``, without recording anything.

    The receiver authenticates before it reads the body, so an empty JSON object answers 400 when the
    bearer is accepted and 401 when it is not; neither records an event.
    """
    response = client.post(f"/dailybot/webhooks/{channel}", content=b"{}", headers={"X-BEARER": bearer})
    assert response.status_code in (400, 401), (response.status_code, response.text)
    return response.status_code == 400


@dataclass
class TaskError:
    """An exception a provider task raised: the task id (without group), its try number and the error."""

    task: str
    try_number: int
    error: BaseException


def _operator_classes() -> list[type]:
    """Every provider operator class that defines its own ``execute``."""
    from airflow_provider_dailybot.operators import export, kudos, message, webhook_subscription
    from airflow_provider_dailybot.sensors import webhook_delivery

    modules = (webhook_subscription, webhook_delivery, message, kudos, export)
    return [
        cls
        for module in modules
        for cls in vars(module).values()
        if isinstance(cls, type) and cls.__module__ == module.__name__ and "execute" in vars(cls)
    ]


@pytest.fixture
def task_errors(monkeypatch: pytest.MonkeyPatch) -> list[TaskError]:
    """Record the exception each provider task raised (and re-raise it unchanged)."""
    try:  # Airflow 3.2+
        from airflow.sdk.exceptions import AirflowRescheduleException
    except ImportError:  # Airflow 3.1
        from airflow.exceptions import AirflowRescheduleException  # type: ignore[no-redef]

    records: list[TaskError] = []
    for cls in _operator_classes():

        def spy(self: Any, context: Any, _original: Callable[..., Any] = cls.execute) -> Any:
            try:
                return _original(self, context)
            except AirflowRescheduleException:
                raise
            except Exception as err:
                records.append(TaskError(self.task_id.rsplit(".", 1)[-1], context["ti"].try_number, err))
                raise

        monkeypatch.setattr(cls, "execute", spy)
    return records
