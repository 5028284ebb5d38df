"""A fake DailyBot API server and sample webhook payloads, for tests, demos and benchmarks.

This package never imports Airflow (only the standard library and ``requests``)::

    from airflow_provider_dailybot.testing import FakeDailyBotServer

    with FakeDailyBotServer(api_key="test-key") as server:
        ...  # point a client at server.base_url with X-API-KEY: test-key

Run it standalone with ``python -m airflow_provider_dailybot.testing --port 8765`` (it logs each request
at INFO: method, path, status, never the key; ``GET /_fake/state`` with the key shows everything it holds,
see :mod:`.control` and ``--help``), or use the
``dailybot_fake_server`` pytest fixture by adding
``pytest_plugins = ["airflow_provider_dailybot.testing.pytest_plugin"]`` to a root ``conftest.py``.
"""

from __future__ import annotations

from airflow_provider_dailybot.testing.samples import make_envelope, sample_body
from airflow_provider_dailybot.testing.server import (
    DeliveryAttempt,
    DeliveryFault,
    FakeDailyBotServer,
    FakeSubscription,
    Fault,
    RecordedRequest,
)

__all__ = [
    "DeliveryAttempt",
    "DeliveryFault",
    "FakeDailyBotServer",
    "FakeSubscription",
    "Fault",
    "RecordedRequest",
    "make_envelope",
    "sample_body",
]
