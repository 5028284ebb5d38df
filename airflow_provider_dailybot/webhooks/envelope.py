"""Reading a delivery request: the presented secrets and the DailyBot envelope in the body (pure functions).

:func:`parse_delivery` accepts exactly what the receiver can record and its readers can read back:
a JSON object with an ``event`` name and a ``body`` object, optional ``event_timestamp`` and ``hook``,
nested at most :data:`MAX_JSON_DEPTH` levels, without NaN/infinity, lone surrogates or NUL characters.

:func:`redact_secrets` takes the presented ``X-BEARER`` secret out of an envelope before anything is
stored: a body that carries its own secret (an echoing sender, a misconfigured relay) would otherwise
hand it to every reader of the channel's asset events and of the delivery log.

No Airflow import.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

from airflow_provider_dailybot.scrubbing import encoded_forms
from airflow_provider_dailybot.webhooks.channels import MAX_HOOK_ID_LENGTH

_EVENT_NAME = re.compile(r"[A-Za-z0-9_.\-]{1,128}")
_MAX_TIMESTAMP_TEXT = 64


class InvalidDelivery(ValueError):
    """The request body is not a DailyBot delivery envelope (answered with 400)."""


def presented_bearers(headers: Mapping[str, str]) -> list[str]:
    """Return the candidate secrets in the ``X-BEARER`` header: raw, and without a ``Bearer`` prefix.

    :param headers: The request headers (case-insensitive mapping).
    """
    raw = (headers.get("x-bearer") or "").strip()
    if not raw:
        return []
    candidates = [raw]
    scheme, _, rest = raw.partition(" ")
    if scheme.lower() == "bearer" and rest.strip():
        candidates.append(rest.strip())
    return candidates


def _reject_constant(name: str) -> Any:
    raise InvalidDelivery(f"the body contains {name}, which is not valid JSON")


#: Deepest nesting of objects and arrays accepted in a delivery. Airflow's readers of asset events (the
#: Execution API serving ``inlet_events``, the REST API) fail on much deeper documents; DailyBot's are ~6 deep.
MAX_JSON_DEPTH = 64


def _check_storable(value: Any, depth: int) -> None:
    """Refuse what would be recorded but break the event's readers: deep nesting, inf, lone surrogates."""
    if depth > MAX_JSON_DEPTH:
        raise InvalidDelivery(f"the delivery is nested deeper than {MAX_JSON_DEPTH} levels")
    if isinstance(value, dict):
        for key, item in value.items():
            _check_storable(key, depth + 1)
            _check_storable(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            _check_storable(item, depth + 1)
    elif isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise InvalidDelivery("the delivery holds a number out of range")
    elif isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise InvalidDelivery("the delivery holds text that is not valid Unicode") from None
        if "\x00" in value:  # PostgreSQL's json operators (->>) fail on a row holding \u0000
            raise InvalidDelivery("the delivery holds a NUL character (\\u0000), which the database cannot store")


def parse_delivery(raw: bytes) -> dict[str, Any]:
    """Parse and check a delivery body; return the envelope as a dict.

    A DailyBot envelope is a JSON object with ``event`` (an event name), ``body`` (an object), and
    optionally ``event_timestamp`` (epoch seconds or an ISO string, kept as received) and ``hook``
    (``{"id": ..., "name": ...}``).

    :param raw: The request body.
    :raises InvalidDelivery: When the body is not such an envelope.
    """
    if not raw.strip():
        raise InvalidDelivery("the request body is empty")
    try:
        envelope = json.loads(raw, parse_constant=_reject_constant)
    except InvalidDelivery:
        raise
    except (ValueError, RecursionError):
        raise InvalidDelivery("the request body is not valid JSON") from None
    if not isinstance(envelope, dict):
        raise InvalidDelivery("a DailyBot delivery must be a JSON object")
    _check_storable(envelope, 0)
    event = envelope.get("event")
    if not isinstance(event, str) or _EVENT_NAME.fullmatch(event) is None:
        raise InvalidDelivery("a DailyBot delivery needs an 'event' name such as 'followups.response.completed'")
    if not isinstance(envelope.get("body"), dict):
        raise InvalidDelivery("a DailyBot delivery needs a 'body' object")
    timestamp = envelope.get("event_timestamp")
    if timestamp is not None and (
        isinstance(timestamp, bool)
        or not isinstance(timestamp, (int, float, str))
        or (isinstance(timestamp, str) and len(timestamp) > _MAX_TIMESTAMP_TEXT)
    ):
        raise InvalidDelivery("'event_timestamp' must be epoch seconds or an ISO 8601 string")
    hook = envelope.get("hook")
    if hook is not None:
        if not isinstance(hook, dict):
            raise InvalidDelivery("'hook' must be an object with 'id' and 'name'")
        if hook.get("id") is not None and not isinstance(hook.get("id"), str):
            raise InvalidDelivery("'hook.id' must be a string")
        if isinstance(hook.get("id"), str) and len(hook["id"]) > MAX_HOOK_ID_LENGTH:
            raise InvalidDelivery(f"'hook.id' is longer than {MAX_HOOK_ID_LENGTH} characters")
        if hook.get("name") is not None and not isinstance(hook.get("name"), str):
            raise InvalidDelivery("'hook.name' must be a string")
    return envelope


#: What a secret found in a delivery is replaced with (Airflow's mask).
REDACTED = "***"
#: Shortest secret that is redacted, as Airflow's masker (``[logging] min_length_masked_secret``, 5):
#: replacing a shorter one would garble the body. The channels' generated secrets have 43 characters.
MIN_REDACTED_LENGTH = 5


def redact_secrets(envelope: dict[str, Any], secrets: Iterable[str]) -> tuple[dict[str, Any], bool]:
    """Return ``envelope`` with every encoding of ``secrets`` replaced by :data:`REDACTED`.

    The encodings are the scrubber's (:func:`~airflow_provider_dailybot.scrubbing.encoded_forms`: raw,
    repr/JSON escapes, HTML, percent-encoded, base64).

    Strings are searched after JSON decoding (so a JSON escape hides nothing), keys included.
    Other encodings (a secret split, hashed or encrypted by the sender) cannot be recognised.

    :param envelope: A parsed envelope (:func:`parse_delivery`; its depth is bounded).
    :param secrets: The presented secrets; those shorter than :data:`MIN_REDACTED_LENGTH` are skipped.
    :returns: The redacted envelope (a new object when anything was replaced) and whether anything was.
    """
    forms = sorted({f for s in secrets if len(s) >= MIN_REDACTED_LENGTH for f in encoded_forms(s)}, key=len)
    if not forms:
        return envelope, False
    pattern = re.compile("|".join(re.escape(f) for f in reversed(forms)))  # longest first
    found = False

    def redact(value: Any) -> Any:
        nonlocal found
        if isinstance(value, str):
            cleaned = pattern.sub(REDACTED, value)
            found = found or cleaned != value
            return cleaned
        if isinstance(value, dict):
            return {redact(key): redact(item) for key, item in value.items()}
        if isinstance(value, list):
            return [redact(item) for item in value]
        return value

    cleaned = redact(envelope)
    return (cleaned, True) if found else (envelope, False)


def log_safe(value: object, limit: int = 80) -> str:
    """Return ``value`` as printable text of bounded length, for log lines built from request data."""
    text = str(value)
    return "".join(ch if ch.isprintable() else "?" for ch in text[:limit])
