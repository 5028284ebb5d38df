"""Pytest plugin providing the ``dailybot_fake_server`` fixture.

Enable it in a root ``conftest.py``::

    pytest_plugins = ["airflow_provider_dailybot.testing.pytest_plugin"]

The server is built from the ``dailybot_fake_server_options`` fixture (no options by default). Override
that fixture to configure it, e.g. a fixed, recognisable API key for the whole suite, or a ``transport``
that hands deliveries to an in-process receiver in one directory::

    @pytest.fixture
    def dailybot_fake_server_options():
        return {"api_key": "sk-test-LEAKCANARY-1234", "user_full_name": "Grace Hopper"}

An override may request the fixture it overrides, to extend rather than replace it::

    @pytest.fixture
    def dailybot_fake_server_options(dailybot_fake_server_options):
        return {**dailybot_fake_server_options, "delivery_timeout": 1.0}
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from airflow_provider_dailybot.testing.server import FakeDailyBotServer


@pytest.fixture
def dailybot_fake_server_options() -> dict[str, Any]:
    """Keyword arguments of :class:`FakeDailyBotServer` for ``dailybot_fake_server``; none by default.

    Any constructor argument may be given (``api_key``, ``organization_name``, ``user_full_name``,
    ``delivery_timeout``, ``transport``, ``ssl_context``, ``host``, ``port``); ``host`` defaults to
    ``127.0.0.1`` and ``port`` to ``0`` (an ephemeral port).
    """
    return {}


@pytest.fixture
def dailybot_fake_server(dailybot_fake_server_options: dict[str, Any]) -> Iterator[FakeDailyBotServer]:
    """Yield a started :class:`FakeDailyBotServer` on ``127.0.0.1`` (ephemeral port); stop it after the test.

    Its API key is ``server.api_key`` and its API base URL ``server.base_url``. It is configured by
    ``dailybot_fake_server_options``.

    :param dailybot_fake_server_options: Keyword arguments of the server's constructor.
    """
    options: dict[str, Any] = {"host": "127.0.0.1", "port": 0, **dailybot_fake_server_options}
    with FakeDailyBotServer(**options) as server:
        yield server
