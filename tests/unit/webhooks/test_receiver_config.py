"""The receiver's new options (webhooks/config.py) and the provider info that shows them."""

from __future__ import annotations

import pytest

from airflow_provider_dailybot.get_provider_info import get_provider_info
from airflow_provider_dailybot.webhooks import config

NEW_OPTIONS = {
    "receiver_state_cache_seconds": (config.receiver_state_cache_seconds, 5, 0),
    "receiver_state_cache_max_channels": (config.receiver_state_cache_max_channels, 1024, 1),
    "receiver_retry_after_seconds": (config.receiver_retry_after_seconds, 30, 1),
    "receiver_body_timeout_seconds": (config.receiver_body_timeout_seconds, 30, 1),
}


@pytest.mark.parametrize("option", sorted(NEW_OPTIONS))
def test_defaults_minimums_and_provider_info(option: str, monkeypatch: pytest.MonkeyPatch) -> None:
    read, default, minimum = NEW_OPTIONS[option]
    variable = f"AIRFLOW__DAILYBOT__{option.upper()}"
    monkeypatch.delenv(variable, raising=False)
    assert read() == default
    assert get_provider_info()["config"]["dailybot"]["options"][option]["default"] == str(default)
    monkeypatch.setenv(variable, str(minimum))
    assert read() == minimum
    monkeypatch.setenv(variable, str(minimum - 1))
    with pytest.raises(ValueError, match=option):
        read()


def test_the_dedupe_window_is_documented_as_the_backfill_bound() -> None:
    described = get_provider_info()["config"]["dailybot"]["options"]["receiver_dedupe_window_seconds"]["description"]
    assert "0.1" in described
    assert "copied into the delivery table" in described
    assert "turns duplicate detection off" not in described


def test_an_option_is_reused_briefly_but_an_environment_change_applies_at_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from airflow.configuration import conf

    now = [1000.0]
    monkeypatch.setattr(config.time, "monotonic", lambda: now[0])
    monkeypatch.delenv("AIRFLOW__DAILYBOT__RECEIVER_RETRY_AFTER_SECONDS", raising=False)
    config._int_options.clear()
    assert config.receiver_retry_after_seconds() == 30
    monkeypatch.setattr(conf, "get", lambda *a, **k: "12")  # a change outside the environment (conf.set)
    assert config.receiver_retry_after_seconds() == 30  # reused ...
    now[0] += 1.0
    assert config.receiver_retry_after_seconds() == 12  # ... for a second
    monkeypatch.setenv("AIRFLOW__DAILYBOT__RECEIVER_RETRY_AFTER_SECONDS", "40")
    monkeypatch.setattr(conf, "get", lambda *a, **k: "40")
    assert config.receiver_retry_after_seconds() == 40  # the environment changed: read at once
