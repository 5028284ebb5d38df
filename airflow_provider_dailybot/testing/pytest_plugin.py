"""Pytest plugin providing the ``dailybot_fake_server`` fixture.

Enable it in a root ``conftest.py``::

    pytest_plugins = ["airflow_provider_dailybot.testing.pytest_plugin"]
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from airflow_provider_dailybot.testing.server import FakeDailyBotServer


@pytest.fixture
def dailybot_fake_server() -> Iterator[FakeDailyBotServer]:
    """Yield a started :class:`FakeDailyBotServer` on ``127.0.0.1`` (ephemeral port); stop it after the test.

    Its API key is ``server.api_key`` and its API base URL ``server.base_url``.
    """
    with FakeDailyBotServer(host="127.0.0.1", port=0) as server:
        yield server
