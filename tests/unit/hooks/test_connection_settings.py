"""Reading a ``dailybot`` connection: base URL forms, extras, missing key, the three ways to define it."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from airflow_provider_dailybot.connection import (
    ConnectionFields,
    DailyBotConnectionError,
    DailyBotConnectionSettings,
    is_loopback_host,
    normalize_base_url,
)
from airflow_provider_dailybot.hooks.dailybot import DailyBotHook
from tests.conftest import API_KEY


@pytest.mark.parametrize(
    ("host", "port", "expected"),
    [
        (None, None, "https://api.dailybot.com/v1/"),
        ("", None, "https://api.dailybot.com/v1/"),
        ("api.dailybot.com", None, "https://api.dailybot.com/v1/"),
        ("api.dailybot.com/v1", None, "https://api.dailybot.com/v1/"),
        ("https://api.dailybot.com", None, "https://api.dailybot.com/v1/"),
        ("https://api.dailybot.com/", None, "https://api.dailybot.com/v1/"),
        ("https://api.dailybot.com/v1", None, "https://api.dailybot.com/v1/"),
        ("https://api.dailybot.com/v1/", None, "https://api.dailybot.com/v1/"),
        ("  HTTPS://api.dailybot.com/v1//  ", None, "https://api.dailybot.com/v1/"),
        ("http://127.0.0.1:8765", None, "http://127.0.0.1:8765/v1/"),
        ("127.0.0.1", 8765, "https://127.0.0.1:8765/v1/"),
        ("http://127.0.0.1:8765/v1/", 9999, "http://127.0.0.1:8765/v1/"),
        ("https://proxy.example.com/dailybot", None, "https://proxy.example.com/dailybot/v1/"),
        ("http://[::1]:8765", None, "http://[::1]:8765/v1/"),
    ],
)
def test_normalize_base_url_accepts_every_documented_form(host, port, expected):
    assert normalize_base_url(host, port) == expected


@pytest.mark.parametrize(
    ("host", "message"),
    [
        ("ftp://api.dailybot.com", "http or https"),
        ("https://", "no host name"),
        ("https://user:pw@api.dailybot.com", "must not contain credentials"),
        ("https://api.dailybot.com/v1/?x=1", "query string"),
    ],
)
def test_normalize_base_url_refuses_unusable_values(host, message):
    with pytest.raises(DailyBotConnectionError, match=message):
        normalize_base_url(host)


@pytest.mark.parametrize(
    ("hostname", "expected"),
    [
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("::1", True),
        ("localhost", True),
        ("10.0.0.1", False),
        ("example.com", False),
        ("", False),
        (None, False),
    ],
)
def test_is_loopback_host(hostname, expected):
    assert is_loopback_host(hostname) is expected


def _conn(**overrides):
    values = {"conn_id": "db", "password": API_KEY, "host": None, "port": None, "extra_dejson": {}}
    values.update(overrides)
    return SimpleNamespace(**values)


def test_missing_api_key_names_the_connection():
    for password in (None, "", "   "):
        with pytest.raises(DailyBotConnectionError, match=r"Connection 'db' has no DailyBot API key.*password"):
            DailyBotConnectionSettings.from_connection(_conn(password=password))


def test_extras_and_arguments_precedence():
    conn = _conn(extra_dejson={"timeout": "7.5", "max_attempts": 5, "verify_ssl": "false"})
    settings = DailyBotConnectionSettings.from_connection(conn)
    assert (settings.timeout, settings.max_attempts, settings.verify) == (7.5, 5, False)
    settings = DailyBotConnectionSettings.from_connection(conn, timeout=2, max_attempts=1)
    assert (settings.timeout, settings.max_attempts) == (2.0, 1)
    default = DailyBotConnectionSettings.from_connection(_conn())
    assert (default.timeout, default.max_attempts, default.verify) == (30.0, 3, True)
    bundle = DailyBotConnectionSettings.from_connection(_conn(extra_dejson={"ca_bundle": "/etc/ca.pem"}))
    assert bundle.verify == "/etc/ca.pem"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"timeout": "soon"}, "'timeout' must be a number"),
        ({"timeout": 0}, "'timeout' must be positive"),
        ({"timeout": True}, "'timeout' must be a number"),
        ({"max_attempts": "many"}, "'max_attempts' must be a number"),
        ({"verify_ssl": "maybe"}, "'verify_ssl' must be true or false"),
    ],
)
def test_bad_extras_are_named(extra, message):
    with pytest.raises(DailyBotConnectionError, match=message):
        DailyBotConnectionSettings.from_connection(_conn(extra_dejson=extra))


def test_settings_repr_never_shows_the_key():
    settings = DailyBotConnectionSettings.from_connection(_conn())
    assert API_KEY not in repr(settings)


@pytest.mark.parametrize(
    ("env_value", "expected_base"),
    [
        (json.dumps({"conn_type": "dailybot", "password": API_KEY}), "https://api.dailybot.com/v1/"),
        (
            json.dumps(
                {"conn_type": "dailybot", "host": "http://127.0.0.1:8765", "password": API_KEY, "extra": {"timeout": 5}}
            ),
            "http://127.0.0.1:8765/v1/",
        ),
        (f"dailybot://:{API_KEY}@api.dailybot.com", "https://api.dailybot.com/v1/"),
        (f"dailybot://:{API_KEY}@http%3A%2F%2F127.0.0.1%3A8765%2Fv1%2F?timeout=5", "http://127.0.0.1:8765/v1/"),
    ],
    ids=["json-default", "json-fake", "uri-default", "uri-encoded-scheme"],
)
def test_env_var_connection_forms(monkeypatch, env_value, expected_base):
    monkeypatch.setenv("AIRFLOW_CONN_DAILYBOT_DEFAULT", env_value)
    settings = DailyBotHook().settings
    assert settings.base_url == expected_base
    assert settings.api_key == API_KEY
    assert settings.conn_id == "dailybot_default"


def test_hook_constructor_does_no_io_and_validates_arguments(monkeypatch):
    monkeypatch.delenv("AIRFLOW_CONN_DAILYBOT_DEFAULT", raising=False)
    hook = DailyBotHook("does_not_exist")  # no connection lookup until the first request
    assert hook.dailybot_conn_id == "does_not_exist"
    with pytest.raises(ValueError, match="timeout"):
        DailyBotHook(timeout=0)
    with pytest.raises(TypeError, match="max_attempts"):
        DailyBotHook(max_attempts="3")
    with pytest.raises(ValueError, match="max_attempts"):
        DailyBotHook(max_attempts=0)


def test_connection_error_is_in_the_dailybot_error_tree_and_still_a_value_error():
    from airflow_provider_dailybot.exceptions import DailyBotError

    assert issubclass(DailyBotConnectionError, DailyBotError)
    assert issubclass(DailyBotConnectionError, ValueError)
    with pytest.raises(DailyBotError, match="no DailyBot API key"):
        DailyBotConnectionSettings.from_connection(ConnectionFields(conn_id="db", password=""))


def test_settings_given_to_the_constructor_are_used_and_the_connection_is_not_read():
    settings = DailyBotConnectionSettings.from_connection(ConnectionFields(conn_id="nowhere", password=API_KEY))
    hook = DailyBotHook("nowhere", settings=settings)  # no such connection: reading it would raise
    assert hook.settings is settings
    assert hook.session.headers["X-API-KEY"] == API_KEY


def test_the_async_factory_reads_the_connection_once_and_applies_the_overrides(set_dailybot_connection, monkeypatch):
    import asyncio

    from airflow_provider_dailybot.hooks.dailybot import async_dailybot_hook

    conn_id = set_dailybot_connection("https://dailybot.example.com", conn_id="async_conn", timeout=7, max_pages=3)
    hook = asyncio.run(async_dailybot_hook(conn_id, timeout=5))
    monkeypatch.delenv("AIRFLOW_CONN_ASYNC_CONN")  # the hook must not read the connection again
    assert (hook.settings.base_url, hook.settings.timeout, hook.settings.max_pages) == (
        "https://dailybot.example.com/v1/",
        5.0,
        3,
    )
    with pytest.raises(ValueError, match="timeout must be a positive number"):
        asyncio.run(async_dailybot_hook("async_conn", timeout=-1))
