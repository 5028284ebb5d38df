"""Hostile input to the webhook receiver, inside the real api-server app on the session's metadata DB.

Part one is a table of hand-picked hostile requests:

* a missing, wrong or foreign ``X-BEARER``;
* unknown and malformed channels;
* oversized bodies;
* malformed and deeply nested JSON;
* wrong content types, huge headers and wrong methods.

Each case asserts the answer and that nothing was recorded.

Part two checks that a delivery the receiver accepts never breaks the channel's readers. Those are
tasks reading ``inlet_events``: the delivery sensor, the promote operator and consumer DAGs. They
also include the api-server's asset-event listing.

Part three is a property-based fuzz (hypothesis) over channels, bearers, headers, content types and
bodies. It asserts:

* no 5xx;
* nothing is recorded for unauthenticated input;
* every well-formed authenticated delivery is recorded exactly once, and its replays are answered
  as duplicates.

Last come the secret-handling rules: the comparison is constant-time over every stored hash, and
only hashes of secrets are stored.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from airflow_provider_dailybot.events import KNOWN_EVENTS
from airflow_provider_dailybot.testing import make_envelope
from airflow_provider_dailybot.webhooks import channel_state as channels  # where ChannelState compares digests
from airflow_provider_dailybot.webhooks.channels import ChannelState, generate_secret, hash_secret
from tests.integration.conftest import DeclaredChannel, channel_events, sync_dags, total_events
from tests.integration.dag_runs import task_states
from tests.integration.webhooks.test_receiver import recorded_nothing

pytestmark = pytest.mark.db
__all__ = ["recorded_nothing"]  # the fixture, shared with the receiver tests

MIB = 1024 * 1024
FUZZ_EXAMPLES = 600
_UNAUTHORIZED = {"detail": "Missing or invalid X-BEARER for this webhook channel."}


def envelope(hook_id: str = "hook-hostile", **kwargs: Any) -> dict[str, Any]:
    return make_envelope("kudos.posted", hook_id=hook_id, hook_name="hostile", timestamp=1707154471.5, **kwargs)


def nested(depth: int) -> bytes:
    """An envelope whose body nests ``depth`` objects (well under the body-size limit)."""
    return b'{"event": "kudos.posted", "body": ' + b'{"a": ' * depth + b"1" + b"}" * depth + b"}"


@dataclass(frozen=True)
class Hostile:
    """One hostile request; ``build(channel, other)`` returns ``(method, path, headers, content)``."""

    name: str
    status: int
    build: Callable[[DeclaredChannel, DeclaredChannel], tuple[str, str, Any, Any]]


def _post(path: str, bearer: str | None, content: Any = None, **headers: str) -> tuple[str, str, Any, Any]:
    hdrs: dict[str, str] = dict(headers)
    if bearer is not None:
        hdrs["X-BEARER"] = bearer
    body = json.dumps(envelope()).encode() if content is None else content
    return "POST", path, hdrs, body


def _raw(**fields: Any) -> bytes:
    """An envelope with ``fields`` replaced, as bytes."""
    return json.dumps({**envelope(), **fields}).encode()


def _oversized_chunks() -> Iterator[bytes]:
    for _ in range(17):
        yield b" " * (64 * 1024)


MANY_HEADERS = {f"x-h{i}": "v" * 50 for i in range(2000)}

HOSTILE = [
    # authentication: 401, the same answer for every reason, before the body is read
    Hostile("no bearer", 401, lambda c, o: _post(c.path, None)),
    Hostile("empty bearer", 401, lambda c, o: _post(c.path, "")),
    Hostile("wrong bearer", 401, lambda c, o: _post(c.path, generate_secret())),
    Hostile("valid bearer of another channel", 401, lambda c, o: _post(c.path, o.secret)),
    Hostile("bearer with a trailing byte", 401, lambda c, o: _post(c.path, c.secret + "x")),
    Hostile("bearer truncated", 401, lambda c, o: _post(c.path, c.secret[:-1])),
    Hostile("the stored hash as bearer", 401, lambda c, o: _post(c.path, hash_secret(c.secret))),
    Hostile("secret in Authorization, not X-BEARER", 401, lambda c, o: _post(c.path, None, Authorization=c.secret)),
    Hostile("secret in the query string", 401, lambda c, o: _post(f"{c.path}?x-bearer={c.secret}", None)),
    Hostile("unknown channel", 401, lambda c, o: _post("/dailybot/webhooks/no-such-channel", c.secret)),
    Hostile("upper-case channel", 401, lambda c, o: _post(f"/dailybot/webhooks/{c.name.upper()}", c.secret)),
    Hostile("channel name too long", 401, lambda c, o: _post("/dailybot/webhooks/" + "a" * 65, c.secret)),
    Hostile("non-ASCII channel", 401, lambda c, o: _post("/dailybot/webhooks/%C3%A9t%C3%A9", c.secret)),
    Hostile("encoded slash in channel", 404, lambda c, o: _post(f"/dailybot/webhooks/..%2F{c.name}", c.secret)),
    Hostile("NUL in channel", 401, lambda c, o: _post(f"/dailybot/webhooks/{c.name}%00", c.secret)),
    Hostile("1 MiB X-BEARER", 401, lambda c, o: _post(c.path, "a" * MIB)),
    Hostile("2000 extra headers", 401, lambda c, o: _post(c.path, "wrong", **MANY_HEADERS)),
    Hostile("oversized body, wrong bearer", 401, lambda c, o: _post(c.path, "wrong", b"x" * (MIB + 1))),
    # size: 413, without reading further than the limit
    Hostile("body over the limit", 413, lambda c, o: _post(c.path, c.secret, b" " * (MIB + 1))),
    Hostile("chunked body over the limit", 413, lambda c, o: _post(c.path, c.secret, _oversized_chunks())),
    # not a DailyBot delivery: 400
    Hostile("empty body", 400, lambda c, o: _post(c.path, c.secret, b"")),
    Hostile("truncated JSON", 400, lambda c, o: _post(c.path, c.secret, json.dumps(envelope()).encode()[:-3])),
    Hostile("invalid UTF-8", 400, lambda c, o: _post(c.path, c.secret, b'{"event": "\xff\xfe"}')),
    Hostile("JSON array", 400, lambda c, o: _post(c.path, c.secret, b"[1, 2]")),
    Hostile("JSON string", 400, lambda c, o: _post(c.path, c.secret, b'"kudos.posted"')),
    Hostile("NaN", 400, lambda c, o: _post(c.path, c.secret, b'{"event": "kudos.posted", "body": {"n": NaN}}')),
    Hostile("event not a name", 400, lambda c, o: _post(c.path, c.secret, b'{"event": "a b/c", "body": {}}')),
    Hostile("event name too long", 400, lambda c, o: _post(c.path, c.secret, _raw(event="e" * 129))),
    Hostile("body not an object", 400, lambda c, o: _post(c.path, c.secret, b'{"event": "kudos.posted", "body": []}')),
    Hostile("hook id not a string", 400, lambda c, o: _post(c.path, c.secret, _raw(hook={"id": 1}))),
    Hostile("hook id of 257 characters", 400, lambda c, o: _post(c.path, c.secret, _raw(hook={"id": "h" * 257}))),
    Hostile("NUL in a body string", 400, lambda c, o: _post(c.path, c.secret, _raw(body={"s": "a\x00"}))),
    Hostile("NUL in a body key", 400, lambda c, o: _post(c.path, c.secret, _raw(body={"k\x00": 1}))),
    Hostile("nested 100 000 deep", 400, lambda c, o: _post(c.path, c.secret, b"[" * 100_000 + b"]" * 100_000)),
    Hostile("body nested 5 000 deep", 400, lambda c, o: _post(c.path, c.secret, nested(5000))),
    Hostile("form-encoded", 400, lambda c, o: _post(c.path, c.secret, b"event=kudos.posted&body=x",
                                                  **{"Content-Type": "application/x-www-form-urlencoded"})),
    Hostile("multipart", 400, lambda c, o: _post(c.path, c.secret, b"--b\r\nContent-Disposition: form-data; "
                                               b'name="event"\r\n\r\nkudos.posted\r\n--b--\r\n',
                                               **{"Content-Type": "multipart/form-data; boundary=b"})),
    # wrong method or path: nothing to authenticate
    Hostile("GET on a channel", 405, lambda c, o: ("GET", c.path, {"X-BEARER": c.secret}, None)),
    Hostile("PUT on a channel", 405, lambda c, o: ("PUT", c.path, {"X-BEARER": c.secret}, b"{}")),
    Hostile("DELETE on a channel", 405, lambda c, o: ("DELETE", c.path, {"X-BEARER": c.secret}, None)),
    Hostile("path below a channel", 404, lambda c, o: _post(c.path + "/deliveries", c.secret)),
    Hostile("trailing slash on a channel", 404, lambda c, o: _post(c.path + "/", c.secret)),
    Hostile("trailing slash on health", 404, lambda c, o: ("GET", "/dailybot/health/", {}, None)),
]  # fmt: skip


@pytest.mark.parametrize("case", HOSTILE, ids=[h.name for h in HOSTILE])
def test_hostile_request_is_refused_and_records_nothing(
    lenient_client: Any, declare_channel: Any, recorded_nothing: None, case: Hostile
) -> None:
    channel, other = declare_channel(), declare_channel()
    method, path, headers, content = case.build(channel, other)
    response = lenient_client.request(method, path, headers=headers, content=content)
    assert response.status_code == case.status, response.text[:300]
    if case.status == 401:
        assert response.json() == _UNAUTHORIZED  # the same answer whatever the reason: nothing to probe
    assert channel.secret not in response.text


@pytest.mark.parametrize(
    "content_type", [None, "text/plain", "application/octet-stream", "application/json; charset=latin-1", "x/y"]
)
def test_content_type_is_not_trusted_but_a_valid_envelope_is_recorded_once(
    lenient_client: Any, declare_channel: Any, content_type: str | None
) -> None:
    channel = declare_channel()
    headers = {"X-BEARER": channel.secret, **({"Content-Type": content_type} if content_type else {})}
    raw = json.dumps(envelope()).encode()
    assert lenient_client.post(channel.path, headers={**headers, "X-BEARER": "wrong"}, content=raw).status_code == 401
    first = lenient_client.post(channel.path, headers=headers, content=raw)
    replay = lenient_client.post(channel.path, headers=headers, content=raw)
    assert (first.status_code, replay.status_code) == (202, 202)
    assert replay.json() == {"delivery_id": first.json()["delivery_id"], "duplicate": True, "outcome": "duplicate"}
    assert len(channel_events(channel.name)) == 1


# -- accepted deliveries must not break the channel's readers -------------------------------------
def read_channel_in_a_task(channel: str) -> str:
    """Run a task that reads the channel's events through ``inlet_events``, as the sensor and consumers do."""
    from airflow.sdk import DAG, task

    from airflow_provider_dailybot.webhooks.assets import dailybot_webhook_asset

    asset = dailybot_webhook_asset(channel)
    with DAG(dag_id=f"reader_{channel}".replace("-", "_"), schedule=None) as dag:

        @task(inlets=[asset])
        def read_events(inlet_events: Any = None) -> int:
            return len(list(inlet_events[asset]))

        read_events()
    sync_dags(dag)
    return task_states(dag.test())["read_events"]


POISON = {
    "body nested 200 deep": nested(200),
    "body nested 300 deep": nested(300),
    "number out of float range": b'{"event": "kudos.posted", "body": {"n": 1e999}}',
    "lone UTF-16 surrogate": b'{"event": "kudos.posted", "body": {"s": "\\ud800"}}',
}


@pytest.mark.parametrize("raw", list(POISON.values()), ids=list(POISON))
def test_an_accepted_delivery_never_breaks_the_channels_readers(
    lenient_client: Any, api_client: Any, declare_channel: Any, raw: bytes
) -> None:
    """Whatever the receiver accepts, tasks and the api-server can read back; what they could not is refused (400)."""
    channel = declare_channel()
    response = lenient_client.post(channel.path, headers={"X-BEARER": channel.secret}, content=raw)
    assert response.status_code in (202, 400), response.text
    if response.status_code == 400:
        assert channel_events(channel.name) == []
        return
    listing = lenient_client.get(
        "/api/v2/assets/events",
        params={"limit": 5, "order_by": "-timestamp"},
        headers={"Authorization": api_client.headers["Authorization"]},
    )
    assert listing.status_code == 200, f"the api-server cannot list the accepted event: {listing.text[:200]}"
    assert read_channel_in_a_task(channel.name) == "success", "a task cannot read the accepted event"


# -- property-based fuzz -----------------------------------------------------------------------------
_HEADER_VALUE = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=300)
_HEADER_NAME = st.text("abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=30).filter(
    lambda n: n not in {"content-length", "transfer-encoding", "host", "connection", "expect", "upgrade", "x-bearer"}
)
_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=25,
)
_ENVELOPE = st.fixed_dictionaries(
    {
        "event": st.sampled_from(KNOWN_EVENTS),
        "body": st.dictionaries(st.text(max_size=12), _JSON, max_size=6),
        "hook": st.fixed_dictionaries({"id": st.text(max_size=40), "name": st.text(max_size=40)}),
    },
    optional={"event_timestamp": st.one_of(st.floats(0, 2e9), st.integers(0, 2**31), st.text(max_size=64))},
)
_BODY = st.one_of(
    st.tuples(st.just("envelope"), _ENVELOPE),
    st.tuples(st.just("json"), _JSON),
    st.tuples(st.just("bytes"), st.binary(max_size=2048)),
)
# Weighted so that about a third of the cases are authenticated and reach the parser and the database.
_BEARER = st.one_of(
    st.just("own"),
    st.just("own-prefixed"),
    st.just("own-padded"),
    st.sampled_from(["none", "other", "hash", "own-upper"]),
    st.tuples(st.just("text"), _HEADER_VALUE),
)
_CHANNEL = st.one_of(st.just("mine"), st.just("mine"), st.just("mine"), st.just("other"), st.text(max_size=70))
_CONTENT_TYPE = st.one_of(
    st.none(), st.sampled_from(["application/json", "text/plain", "multipart/form-data", "a/b"]), _HEADER_VALUE
)


@dataclass
class FuzzTally:
    cases: int = 0
    recorded: int = 0
    duplicates: int = 0
    nul_refused: int = 0
    statuses: dict[int, int] | None = None

    def count(self, status: int) -> None:
        self.cases += 1
        self.statuses = self.statuses or {}
        self.statuses[status] = self.statuses.get(status, 0) + 1


def holds_nul(value: Any) -> bool:
    """Whether a JSON value holds NUL in any string, keys included."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(holds_nul(k) or holds_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(holds_nul(v) for v in value)
    return False


def _resolve_bearer(choice: Any, mine: DeclaredChannel, other: DeclaredChannel) -> str | None:
    if isinstance(choice, tuple):
        return choice[1]
    return {
        "none": None,
        "own": mine.secret,
        "own-prefixed": f"Bearer {mine.secret}",
        "own-padded": f"  {mine.secret} ",
        "other": other.secret,
        "hash": hash_secret(mine.secret),
        "own-upper": mine.secret.upper(),
    }[choice]


def test_fuzz_the_receiver(lenient_client: Any, declare_channel: Any, report_figure: Callable[[str], None]) -> None:
    mine, other = declare_channel(), declare_channel()
    tally = FuzzTally()
    seen_deliveries: dict[str, str] = {}  # canonical envelope -> delivery id

    @settings(
        max_examples=FUZZ_EXAMPLES,
        deadline=None,
        database=None,
        print_blob=True,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(
        channel_choice=_CHANNEL,
        bearer_choice=_BEARER,
        body=_BODY,
        content_type=_CONTENT_TYPE,
        extra_headers=st.dictionaries(_HEADER_NAME, _HEADER_VALUE, max_size=8),
    )
    def one_case(channel_choice: str, bearer_choice: Any, body: tuple[str, Any], content_type: Any,
                 extra_headers: dict[str, str]) -> None:  # fmt: skip
        channel = {"mine": mine.name, "other": other.name}.get(channel_choice, channel_choice)
        bearer = _resolve_bearer(bearer_choice, mine, other)
        kind, value = body
        raw = value if kind == "bytes" else json.dumps(value).encode()
        headers = dict(extra_headers)
        if content_type is not None:
            headers["Content-Type"] = content_type
        if bearer is not None:
            headers["X-BEARER"] = bearer
        secret = {mine.name: mine.secret, other.name: other.secret}.get(channel)
        authentic = secret is not None and (bearer or "").strip() in {secret, f"Bearer {secret}"}
        path = f"/dailybot/webhooks/{quote(channel, safe='')}"
        before = total_events()
        response = lenient_client.post(path, headers=headers, content=raw)
        tally.count(response.status_code)
        added = total_events() - before

        assert response.status_code < 500, response.text[:300]
        if not authentic:
            assert response.status_code in (401, 404, 405), response.text[:200]
            assert added == 0
            return
        assert response.status_code in (202, 400), response.text[:200]
        if kind != "envelope":
            assert added == (1 if response.status_code == 202 and not response.json()["duplicate"] else 0)
            return
        if holds_nul(value):  # refused: PostgreSQL's JSON operators cannot read such a row
            assert response.status_code == 400, response.text[:200]
            assert "NUL character" in response.json()["detail"]
            assert added == 0
            tally.nul_refused += 1
            return
        # A well-formed envelope is always recorded, once; a replay of the same event is a duplicate.
        assert response.status_code == 202, response.text[:200]
        answer = response.json()
        key = channel + json.dumps({k: value.get(k) for k in ("event", "event_timestamp", "body")}, sort_keys=True)
        if key in seen_deliveries:
            assert answer == {"delivery_id": seen_deliveries[key], "duplicate": True, "outcome": "duplicate"}
            assert added == 0
            tally.duplicates += 1
        else:
            assert answer["duplicate"] is False
            assert added == 1
            seen_deliveries[key] = answer["delivery_id"]
            tally.recorded += 1
            replay = lenient_client.post(path, headers=headers, content=raw)
            assert replay.json() == {"delivery_id": answer["delivery_id"], "duplicate": True, "outcome": "duplicate"}

    one_case()
    assert tally.recorded > 0, "the fuzz never produced an accepted delivery"
    recorded_ids = {e.extra["delivery_id"] for name in (mine.name, other.name) for e in channel_events(name)}
    assert set(seen_deliveries.values()) <= recorded_ids
    statuses = ", ".join(f"{n} x {code}" for code, n in sorted((tally.statuses or {}).items()))
    report_figure(
        f"receiver fuzz (hypothesis): {tally.cases} cases, 0 x 5xx ({statuses}); {tally.recorded} envelopes "
        f"recorded once, {tally.duplicates} replays deduplicated, {tally.nul_refused} envelopes holding NUL "
        "refused, nothing recorded without a valid bearer"
    )


# -- secrets: constant-time comparison, only hashes stored ----------------------------------------
def test_secret_comparison_is_constant_time_over_every_stored_hash(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[Any, Any]] = []
    real = hmac.compare_digest

    def spy(a: Any, b: Any) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(channels.hmac, "compare_digest", spy)
    secrets = [generate_secret() for _ in range(3)]
    state = ChannelState(channel="timing")
    for secret in secrets:
        state.add_secret(secret)
    for presented, expected in [(secrets[0], True), (secrets[2], True), ("wrong", False), ("", False)]:
        calls.clear()
        assert state.accepts(presented) is expected
        # Every stored hash is compared (no early exit on a match), and only digests are compared.
        assert sorted(b for _, b in calls) == sorted(state.secret_sha256)
        assert all(a == hashlib.sha256(presented.encode()).hexdigest() for a, _ in calls)
    calls.clear()
    assert ChannelState(channel="empty").accepts(secrets[0]) is False
    assert len(calls) == 1, "a channel without secrets still costs one comparison"


def test_receiver_compares_digests_for_unknown_channels_too(
    lenient_client: Any, declare_channel: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    channel = declare_channel()
    calls: list[tuple[Any, Any]] = []
    real = hmac.compare_digest
    monkeypatch.setattr(channels.hmac, "compare_digest", lambda a, b: calls.append((a, b)) or real(a, b))
    for path in (channel.path, "/dailybot/webhooks/no-such-channel", "/dailybot/webhooks/NOT_VALID"):
        calls.clear()
        assert lenient_client.post(path, headers={"X-BEARER": "wrong"}, content=b"{}").status_code == 401
        assert calls, f"{path}: no constant-time comparison was made"
        assert all(len(a) == len(b) == 64 for a, b in calls), "plaintext was compared"


def test_only_hashes_of_secrets_are_stored(
    lenient_client: Any, declare_channel: Any, caplog: pytest.LogCaptureFixture
) -> None:
    from airflow.models.variable import Variable
    from airflow.utils.session import create_session
    from sqlalchemy import select

    caplog.set_level(logging.DEBUG)
    channel = declare_channel()
    for bearer in (channel.secret, f"Bearer {channel.secret}", channel.secret + "x"):
        lenient_client.post(channel.path, headers={"X-BEARER": bearer}, json=envelope(hook_id=bearer[-8:]))
    with create_session() as session:
        stored = "\n".join(f"{v.key}={v.val}" for v in session.scalars(select(Variable)))
    events = json.dumps([e.extra for e in channel_events(channel.name)])
    assert hash_secret(channel.secret) in stored
    for where, text in {"variables": stored, "asset events": events, "logs": caplog.text}.items():
        assert channel.secret not in text, f"the secret is stored in the {where}"
        assert channel.secret[:12] not in text, f"part of the secret is stored in the {where}"
