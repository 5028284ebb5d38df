"""The delivery log never shows a channel's secret: not the bearer, in no encoding, nor its full hash.

Deliveries go through the real receiver (the api-server app in-process) with the secret in the
``X-BEARER`` and ``Authorization`` headers *and* inside the body (raw, JSON-escaped so the raw bytes
do not hold it, percent-encoded in a URL, base64 in a field); then every page and JSON answer of
the log that shows them is searched for each form of the secret.
"""

from __future__ import annotations

import base64
import html
import json
import logging
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import quote, quote_plus

import pytest

from airflow_provider_dailybot.testing import make_envelope
from airflow_provider_dailybot.webhooks.channels import MetadataChannelStore, hash_secret
from tests.integration.conftest import DeclaredChannel

#: A secret with characters that every encoding changes (``/+=&<>"'%?#`` and a space).
SECRET = "Tk/+=&<>\"'%?# " + uuid.uuid4().hex


def forms(secret: str) -> dict[str, str]:
    """The secret as raw text, percent-encoded, base64 (four variants), JSON-escaped and HTML-escaped."""
    raw = secret.encode()
    b64, url64 = base64.b64encode(raw).decode(), base64.urlsafe_b64encode(raw).decode()
    return {
        "raw": secret,
        "percent": quote(secret, safe=""),
        "percent-plus": quote_plus(secret),
        "base64": b64,
        "base64-unpadded": b64.rstrip("="),
        "base64url": url64,
        "base64url-unpadded": url64.rstrip("="),
        "json": json.dumps(secret)[1:-1],
        "json-ascii": json.dumps(secret, ensure_ascii=True)[1:-1],
        "html": html.escape(secret, quote=True),
        "full-sha256": hash_secret(secret),
    }


def _escaped_raw(envelope: dict[str, Any], secret: str) -> bytes:
    """The envelope as JSON in which the secret's first character is a ``\\uXXXX`` escape (not in the raw bytes)."""
    text = json.dumps(envelope)
    escaped = json.dumps(secret)[1:-1]
    return text.replace(escaped, f"\\u{ord(secret[0]):04x}{escaped[1:]}").encode()


@pytest.fixture
def secret_channel(declare_channel: Callable[..., DeclaredChannel]) -> Callable[[bool], DeclaredChannel]:
    """Return ``make(declared)``: a channel (with or without a consumer DAG) that accepts :data:`SECRET`."""

    def make(declared: bool) -> DeclaredChannel:
        channel = declare_channel(declared=declared)
        store = MetadataChannelStore()
        state = store.load(channel.name)
        assert state is not None
        state.add_secret(SECRET)
        store.save(state)
        return DeclaredChannel(channel.name, SECRET, channel.dag_id)

    return make


@pytest.fixture
def cleanup() -> Iterator[list[str]]:
    """Channels whose Variables are deleted after the test."""
    names: list[str] = []
    yield names
    for name in names:
        MetadataChannelStore().delete(name)


@pytest.mark.parametrize("declared", [True, False], ids=["recorded", "no-consumer"])
def test_no_answer_of_the_log_holds_the_bearer_in_any_encoding(
    receiver_client: Any,
    api_client: Any,
    admin_token: str,
    delivery_table: None,
    caplog: pytest.LogCaptureFixture,
    secret_channel: Callable[[bool], DeclaredChannel],
    cleanup: list[str],
    declared: bool,
) -> None:
    channel = secret_channel(declared)
    cleanup.append(channel.name)
    body = {
        "echo": SECRET,
        "header": f"Bearer {SECRET}",
        "link": f"https://example.com/cb?token={quote(SECRET, safe='')}",
        "basic": base64.b64encode(SECRET.encode()).decode(),
        "urlsafe": base64.urlsafe_b64encode(SECRET.encode()).decode().rstrip("="),
        SECRET: "as a key",
        "response": {"text": "all good"},
    }
    envelope = make_envelope("kudos.posted", hook_id=f"hook-{uuid.uuid4().hex[:8]}", hook_name=SECRET, body=body)
    envelope["event_timestamp"] = time.time()
    raw = _escaped_raw(envelope, SECRET)
    assert SECRET.encode() not in raw  # the raw body holds it only JSON-escaped
    headers = {"X-BEARER": SECRET, "Authorization": f"Bearer {SECRET}", "Content-Type": "application/json"}
    caplog.set_level(logging.INFO, logger="airflow_provider_dailybot")
    accepted = receiver_client.post(f"/dailybot/webhooks/{channel.name}", headers=headers, content=raw)
    assert accepted.status_code == 202, accepted.text
    delivery_id = accepted.json()["delivery_id"]
    assert accepted.json()["outcome"] == ("recorded" if declared else "no_consumer")

    answers = {
        "receiver": accepted,
        "api list": api_client.get("/dailybot/api/deliveries", params={"channel": channel.name}),
        "api delivery": api_client.get(f"/dailybot/api/deliveries/{delivery_id}"),
        "api channels": api_client.get("/dailybot/api/channels"),
        "page list": api_client.get("/dailybot/ui/deliveries", params={"channel": channel.name}),
        "page delivery": api_client.get(f"/dailybot/ui/deliveries/{delivery_id}"),
    }
    assert {name: a.status_code for name, a in answers.items()} == {name: 200 for name in answers} | {"receiver": 202}
    shown = answers["api delivery"].json()
    assert shown["payload"]["value"]["body"]["response"] == {"text": "all good"}  # the rest is kept
    assert shown["payload"]["value"]["body"]["echo"] == "***"
    assert "all good" in answers["page delivery"].text
    (report,) = [c for c in answers["api channels"].json()["channels"] if c["channel"] == channel.name]
    assert hash_secret(SECRET)[:12] in [s["sha256_prefix"] for s in report["secrets"]]  # prefixes are allowed
    for name, answer in answers.items():
        text = answer.content.decode("utf-8")
        assert admin_token not in text  # nor the reader's own Airflow token
        for form, value in forms(SECRET).items():
            assert value not in text, f"the {name} answer holds the secret ({form})"
    assert "carries its own X-BEARER secret in the body" in caplog.text
    for form, value in forms(SECRET).items():
        assert value not in caplog.text, f"the log holds the secret ({form})"
