"""The fake's own view of DailyBot's contract, independent of the provider's, and the two compared.

The fake validates with :mod:`airflow_provider_dailybot.testing.contract` (written from the
reference, ``dailybot-api.md``), never with the provider's ``events`` module: a provider that
learnt a wrong event name must meet a fake that refuses it, as DailyBot would.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterable

import pytest

from airflow_provider_dailybot import events as provider_events
from airflow_provider_dailybot.testing import FakeDailyBotServer, sample_body
from airflow_provider_dailybot.testing.contract import EVENTS
from tests.unit.testing.conftest import EXAMPLE_URL, HOOKS, Client

#: A name a client could plausibly get wrong: singular ``followup``, ``complete`` for ``completed``.
WRONG_EVENT = "followup.response.complete"
#: Event names on purpose on one side only (provider or contract), each with its reason. Empty:
#: today the provider knows exactly the contract's eleven names (``dailybot-api.md`` §3.6). A name
#: goes here only with a source in the reference; anything else is a bug in one of the two lists.
DISAGREEMENTS: dict[str, str] = {}


def _unknown_to_the_contract(provider_list: Iterable[str]) -> list[str]:
    return [name for name in provider_list if name not in EVENTS and name not in DISAGREEMENTS]


def test_the_fake_refuses_a_wrong_event_with_dailybots_400(server: FakeDailyBotServer, client: Client) -> None:
    response = client.create(EXAMPLE_URL, [WRONG_EVENT])
    assert response.status_code == 400
    assert response.headers["Content-Type"] == "application/json"
    body = response.json()
    assert set(body) == {"detail", "code", "errors"}
    assert (body["detail"], body["code"]) == ("Invalid input.", "invalid")
    (message,) = body["errors"]["subscriptions"]
    assert list(body["errors"]) == ["subscriptions"]
    assert f"Unknown DailyBot event {WRONG_EVENT!r}" in message
    assert "did you mean 'followups.response.completed'" in message
    assert server.subscriptions == []
    sample = client("POST", HOOKS + "sample/", json={"event": WRONG_EVENT})
    assert (sample.status_code, list(sample.json()["errors"])) == (400, ["event"])
    with pytest.raises(ValueError, match="Unknown DailyBot event"):
        server.emit(WRONG_EVENT)


def test_the_fake_does_not_follow_the_providers_list(
    server: FakeDailyBotServer, client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A provider release that wrongly adds the name: its own check now lets it through ...
    monkeypatch.setattr(provider_events, "KNOWN_EVENTS", (*provider_events.KNOWN_EVENTS, WRONG_EVENT))
    assert provider_events.validate_event_names([WRONG_EVENT]) == [WRONG_EVENT]
    # ... and the fake still answers what DailyBot would.
    assert client.create(EXAMPLE_URL, [WRONG_EVENT]).status_code == 400
    assert server.subscriptions == []


def test_the_provider_knows_no_event_the_contract_does_not() -> None:
    assert _unknown_to_the_contract(provider_events.KNOWN_EVENTS) == []
    # The check is not vacuous: a wrong name in the provider's list is reported.
    assert _unknown_to_the_contract((*provider_events.KNOWN_EVENTS, WRONG_EVENT)) == [WRONG_EVENT]


def test_the_provider_knows_every_event_of_the_contract() -> None:
    missing = [name for name in EVENTS if name not in provider_events.KNOWN_EVENTS and name not in DISAGREEMENTS]
    assert missing == [], "the provider would refuse an event DailyBot delivers"


def test_every_provider_event_is_accepted_by_the_fake(server: FakeDailyBotServer, client: Client) -> None:
    response = client.create(EXAMPLE_URL, provider_events.KNOWN_EVENTS)
    assert response.status_code == 201, response.text
    assert response.json()["subscriptions"] == list(provider_events.KNOWN_EVENTS)


def test_every_contract_event_has_a_sample_body() -> None:
    for name in EVENTS:
        assert sample_body(name)
    with pytest.raises(ValueError, match="Unknown DailyBot event"):
        sample_body(WRONG_EVENT)


def test_the_fake_imports_nothing_of_the_provider() -> None:
    code = (
        "import sys, airflow_provider_dailybot.testing, airflow_provider_dailybot.testing.__main__;"
        "bad = sorted(m for m in sys.modules if m.startswith('airflow_provider_dailybot.')"
        " and not m.startswith('airflow_provider_dailybot.testing'));"
        "assert not bad, bad"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
