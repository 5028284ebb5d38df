"""``redact_secrets``: the presented secret leaves a delivery's envelope in every form it knows, nothing else does."""

from __future__ import annotations

import base64
from urllib.parse import quote

from airflow_provider_dailybot.scrubbing import encoded_forms
from airflow_provider_dailybot.webhooks.envelope import REDACTED, redact_secrets

SECRET = "s3cr/t+value=="


def test_every_form_of_the_secret_is_replaced_in_values_keys_and_lists() -> None:
    envelope = {
        "event": "kudos.posted",
        "hook": {"id": "h", "name": f"named {SECRET}"},
        "body": {
            "list": [SECRET, {"deep": quote(SECRET, safe="")}],
            SECRET: base64.b64encode(SECRET.encode()).decode(),
            "urlsafe": base64.urlsafe_b64encode(SECRET.encode()).decode().rstrip("="),
            "n": 3,
            "ok": None,
        },
    }
    cleaned, found = redact_secrets(envelope, [SECRET])
    assert found is True
    assert cleaned == {
        "event": "kudos.posted",
        "hook": {"id": "h", "name": f"named {REDACTED}"},
        "body": {"list": [REDACTED, {"deep": REDACTED}], REDACTED: REDACTED, "urlsafe": REDACTED, "n": 3, "ok": None},
    }
    assert envelope["body"]["list"][0] == SECRET  # the parsed envelope itself is left as it was


def test_an_envelope_without_the_secret_is_returned_unchanged() -> None:
    envelope = {"event": "kudos.posted", "body": {"text": "thanks"}}
    cleaned, found = redact_secrets(envelope, [SECRET, "Bearer " + SECRET])
    assert (cleaned, found) == (envelope, False)
    assert cleaned is envelope


def test_secrets_shorter_than_airflow_s_mask_minimum_are_not_redacted() -> None:
    envelope = {"event": "kudos.posted", "body": {"text": "abcd abcd"}}
    assert redact_secrets(envelope, ["abcd", ""]) == (envelope, False)


def test_the_longest_form_wins_where_forms_overlap() -> None:
    assert encoded_forms("a b+c") >= {"a b+c", "a%20b%2Bc", "a+b%2Bc"}
    cleaned, _ = redact_secrets({"event": "e", "body": {"t": "x=a%20b%2Bc=y"}}, ["a b+c"])
    assert cleaned["body"]["t"] == f"x={REDACTED}=y"
