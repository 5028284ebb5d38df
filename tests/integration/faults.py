"""Helpers of the fault tests: the lowered connection limits, the bearer probe, the provider's operator classes.

Their fixtures (``fast_fake``, ``lenient_client``, ``task_errors``) are in ``tests/integration/conftest.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

#: Seconds per DailyBot request in the reliability tests (a "delay past the timeout" fault exceeds it).
HOOK_TIMEOUT = 1.5
#: Attempts per DailyBot request (the hook's own retries) in the reliability tests.
HOOK_ATTEMPTS = 2


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


def operator_classes() -> list[type]:
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
