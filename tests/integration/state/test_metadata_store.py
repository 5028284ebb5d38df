"""The channel store on the real metadata database, and the receiver reading change records (issue 13, item 5)."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from airflow_provider_dailybot.testing.samples import make_envelope
from airflow_provider_dailybot.webhooks.channels import (
    ChannelChange,
    ChannelState,
    MetadataChannelStore,
    _MetadataRegisters,
    generate_secret,
    hash_secret,
    record_key_prefix,
    variable_key,
)
from tests.integration.state.interleaving import GatedRegisters, RegistersStore, Scheduler, seeded

pytestmark = pytest.mark.db


def new_channel(prefix: str = "st") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def variable_keys(prefix: str) -> list[str]:
    from airflow.models.variable import Variable
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        return sorted(session.scalars(select(Variable.key).where(Variable.key.startswith(prefix))).all())


@pytest.fixture
def receiver(api_app: Any) -> Iterator[Any]:
    from fastapi.testclient import TestClient

    with TestClient(api_app) as client:
        yield client


def declare(channel: str) -> str:
    from tests.integration.conftest import consumer_dag, sync_dags

    sync_dags(consumer_dag(channel, f"consumer_{channel}".replace("-", "_")))
    return f"/dailybot/webhooks/{channel}"


def post(receiver: Any, path: str, secret: str) -> int:
    envelope = make_envelope("kudos.posted", hook_id="h", hook_name="n", timestamp=float(uuid.uuid4().int % 10**6))
    return int(receiver.post(path, json=envelope, headers={"X-BEARER": secret}).status_code)


def test_interleaved_creates_through_the_metadata_database(airflow_db: str) -> None:
    """The interleavings of the in-memory test, on the ``variable`` table through core ``Variable``."""
    for seed in range(12):
        channel = new_channel()
        scheduler = Scheduler(seeded(seed))
        gated = GatedRegisters(_MetadataRegisters(None), scheduler)

        def create(name: str, gated: GatedRegisters = gated, channel: str = channel) -> int:
            store = RegistersStore(gated)
            return store.append(ChannelChange(channel, accept_sha256=[hash_secret(name)]))

        outcomes = scheduler.run({name: (lambda name=name: create(name)) for name in ("a", "b")})
        assert all(o.error is None for o in outcomes.values()), outcomes
        state = MetadataChannelStore().load(channel)
        assert state is not None
        assert sorted(state.secret_sha256) == sorted(hash_secret(n) for n in "ab"), (seed, scheduler.trace)


def test_the_prefix_query_escapes_like_wildcards(airflow_db: str) -> None:
    """``_`` in a LIKE pattern matches any character: channel ``s_<x>`` must not read the records of ``sx<x>``."""
    suffix = uuid.uuid4().hex[:8]
    underscore, letter = f"s_{suffix}", f"sx{suffix}"
    MetadataChannelStore().append(ChannelChange(letter, accept_sha256=[hash_secret("x")]))
    assert _MetadataRegisters(None).items(record_key_prefix(underscore), 10) == []
    assert [k for k, _ in _MetadataRegisters(None).items(record_key_prefix(letter), 10)] == [
        f"{record_key_prefix(letter)}change.000000"
    ]
    assert MetadataChannelStore().load(underscore) is None
    state = MetadataChannelStore().load(letter)
    assert state is not None
    assert state.accepts("x")


def test_the_receiver_reads_the_base_document_and_the_change_records(airflow_db: str, receiver: Any) -> None:
    channel = new_channel()
    path = declare(channel)
    old, new = generate_secret(), generate_secret()
    base = ChannelState(channel=channel)
    base.add_secret(old)
    MetadataChannelStore().save(base)  # a channel as 0.1 stored it
    assert post(receiver, path, old) == 202
    assert post(receiver, path, new) == 401

    store = MetadataChannelStore()
    store.append(ChannelChange(channel, accept_sha256=[hash_secret(new)]))
    assert post(receiver, path, new) == 202
    assert post(receiver, path, old) == 202
    store.append(ChannelChange(channel, retire_sha256=[hash_secret(old)]))
    assert post(receiver, path, old) == 401
    assert post(receiver, path, new) == 202
    assert MetadataChannelStore().load(channel) == ChannelState(channel=channel, secret_sha256=[hash_secret(new)])


def test_a_channel_with_more_records_than_the_bound_is_refused_until_compacted(
    airflow_db: str, receiver: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    channel = new_channel()
    path = declare(channel)
    secrets = [generate_secret() for _ in range(3)]
    store = MetadataChannelStore()
    for secret in secrets:
        store.append(ChannelChange(channel, accept_sha256=[hash_secret(secret)]))

    monkeypatch.setenv("AIRFLOW__DAILYBOT__CHANNEL_STATE_MAX_RECORDS", "2")
    with caplog.at_level(logging.ERROR, logger="airflow_provider_dailybot.webhooks.receiver"):
        assert post(receiver, path, secrets[0]) == 401
    assert "channel_state_max_records" in caplog.text
    assert not any(secret in caplog.text for secret in secrets)
    with pytest.raises(ValueError, match="compact it"):
        MetadataChannelStore().load(channel)

    monkeypatch.delenv("AIRFLOW__DAILYBOT__CHANNEL_STATE_MAX_RECORDS")
    compacting = MetadataChannelStore()
    state = compacting.load(channel)
    assert state is not None
    compacting.save(state)  # folds the records into the base document and deletes them
    assert variable_keys(record_key_prefix(channel)) == []
    assert variable_keys(variable_key(channel)) == [variable_key(channel)]

    monkeypatch.setenv("AIRFLOW__DAILYBOT__CHANNEL_STATE_MAX_RECORDS", "2")
    assert MetadataChannelStore().load(channel) == state
    assert [post(receiver, path, s) for s in secrets] == [202, 202, 202]


def test_an_invalid_change_record_makes_the_channel_unreadable_never_partly_read(
    airflow_db: str, receiver: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """Skipping a record that cannot be read could bring back a secret it retired: the channel is refused."""
    from airflow.models.variable import Variable

    channel = new_channel()
    path = declare(channel)
    secret = generate_secret()
    store = MetadataChannelStore()
    store.append(ChannelChange(channel, accept_sha256=[hash_secret(secret)]))
    slot = store.append(ChannelChange(channel, retire_sha256=[hash_secret(secret)]))
    assert post(receiver, path, secret) == 401
    Variable.set(f"{record_key_prefix(channel)}change.{slot:06d}", "{broken")
    with caplog.at_level(logging.ERROR, logger="airflow_provider_dailybot.webhooks.receiver"):
        assert post(receiver, path, secret) == 401
    assert "not valid JSON" in caplog.text


def test_delete_removes_the_base_document_the_records_and_the_claims(airflow_db: str) -> None:
    from airflow.models.variable import Variable

    channel = new_channel()
    store = MetadataChannelStore()
    store.save(ChannelState(channel=channel, secret_sha256=[hash_secret("a")]))
    store.append(ChannelChange(channel, accept_sha256=[hash_secret("b")]))
    Variable.set(f"{record_key_prefix(channel)}claim.000007.door", "abandoned")
    store.delete(channel)
    assert variable_keys(variable_key(channel)) == []
    assert MetadataChannelStore().load(channel) is None
