"""Unit tests (no database) of the secret → hook id bindings and the channel state's deleted hook ids."""

from __future__ import annotations

import hashlib
import json

import pytest

from airflow_provider_dailybot.webhooks.bindings import (
    BOUND,
    LEGACY,
    MAX_DELIVERIES_PER_EVENT,
    MISMATCH,
    UNBOUND,
    ChannelBindings,
    Delivery,
    event_deliveries,
    merge_delivery,
    secret_ref,
    unrecorded_subscriptions,
)
from airflow_provider_dailybot.webhooks.channels import (
    MAX_DELETED_HOOK_IDS,
    ChannelState,
    ChannelSubscription,
    hash_secret,
)
from airflow_provider_dailybot.webhooks.receiver import build_event_extra

HASH_A, HASH_B, HASH_X = (hash_secret(s) for s in ("secret-a", "secret-b", "secret-x"))
REF_A, REF_B, REF_X = (secret_ref(h) for h in (HASH_A, HASH_B, HASH_X))
ENVELOPE = {"event": "kudos.posted", "event_timestamp": 1.0, "hook": {"id": "hook-a", "name": "n"}, "body": {}}


def state_with(*subs: tuple[str, str]) -> ChannelState:
    state = ChannelState(channel="c")
    for hook_id, digest in subs:
        state.add_secret_hash(digest)
        state.add_subscription(
            ChannelSubscription(hook_id=hook_id, hook_url="https://x/y", events=[], secret_sha256=digest)
        )
    return state


def test_secret_ref_is_short_and_reveals_neither_the_secret_nor_its_hash() -> None:
    assert hashlib.sha256(b"ref:" + HASH_A.encode()).hexdigest()[:16] == REF_A
    assert len({REF_A, REF_B, REF_X}) == 3
    assert REF_A not in HASH_A
    assert REF_A not in hashlib.sha256(b"secret-a").hexdigest()


def test_classify_against_the_recorded_bindings() -> None:
    bindings = ChannelBindings(state_with(("hook-a", HASH_A)))
    assert bindings.classify(Delivery("hook-a", REF_A)) == BOUND
    assert bindings.classify(Delivery("hook-c", REF_A)) == MISMATCH
    assert bindings.classify(Delivery("hook-x", REF_X)) == UNBOUND
    assert bindings.classify(Delivery("hook-a", None)) == LEGACY
    assert bindings.verifies(Delivery("hook-a", REF_A), "hook-a")
    assert not bindings.verifies(Delivery("hook-a", REF_B), "hook-a"), "another secret naming hook-a"
    assert not bindings.verifies(Delivery("hook-a", None), "hook-a"), "a 0.1 event proves nothing"
    assert not bindings.verifies(Delivery("hook-x", REF_X), "hook-x"), "an unrecorded subscription"
    assert ChannelBindings(None).ref_of("hook-a") is None


def test_event_deliveries_of_new_and_legacy_events() -> None:
    extra = build_event_extra("c", ENVELOPE, "d-1", ref=REF_A)
    assert event_deliveries(extra) == [Delivery("hook-a", REF_A)]
    legacy = build_event_extra("c", ENVELOPE, "d-1")  # the 0.1 shape: no secret reference
    assert "deliveries" not in legacy
    legacy["delivered_by"] = ["hook-b"]
    assert event_deliveries(legacy) == [Delivery("hook-a", None), Delivery("hook-b", None)]
    assert event_deliveries({"deliveries": [{"hook_id": 3}, "x", {"hook_id": "h", "secret_ref": 5}]}) == [
        Delivery("h", None)
    ]


def test_merge_keeps_every_pair_but_only_agreeing_hook_ids_in_delivered_by() -> None:
    extra = build_event_extra("c", ENVELOPE, "d-1", ref=REF_A)
    merged = merge_delivery(extra, Delivery("hook-b", REF_B))
    merged = merge_delivery(merged, Delivery("hook-c", REF_B, hook_id_mismatch=True))
    merged = merge_delivery(merged, Delivery("hook-b", REF_B))  # a retry: nothing new
    assert merged["delivered_by"] == ["hook-a", "hook-b"]
    assert [(d.hook_id, d.secret_ref, d.hook_id_mismatch) for d in event_deliveries(merged)] == [
        ("hook-a", REF_A, False),
        ("hook-b", REF_B, False),
        ("hook-c", REF_B, True),
    ]
    assert extra["delivered_by"] == ["hook-a"], "the input is not changed"
    legacy = merge_delivery(build_event_extra("c", ENVELOPE, "d-1"), Delivery("hook-b", REF_B))
    assert event_deliveries(legacy) == [Delivery("hook-a", None), Delivery("hook-b", REF_B)]


def test_merge_is_bounded() -> None:
    extra = build_event_extra("c", ENVELOPE, "d-1", ref=REF_A)
    for i in range(MAX_DELIVERIES_PER_EVENT + 50):
        extra = merge_delivery(extra, Delivery(f"hook-{i}", REF_X, hook_id_mismatch=i % 2 == 0))
    assert len(extra["deliveries"]) == MAX_DELIVERIES_PER_EVENT
    assert len(extra["delivered_by"]) == 1 + (MAX_DELIVERIES_PER_EVENT - 1) // 2  # only pairs that fit
    assert len(json.dumps(extra)) < 20_000


def test_flagged_delivery_is_left_out_of_delivered_by() -> None:
    extra = build_event_extra("c", ENVELOPE, "d-1", ref=REF_A, hook_id_mismatch=True)
    assert extra["delivered_by"] == []
    assert extra["hook"]["id"] == "hook-a"
    assert extra["hook_id_mismatch"] is True
    assert extra["deliveries"] == [{"hook_id": "hook-a", "secret_ref": REF_A, "hook_id_mismatch": True}]


def test_unrecorded_subscriptions_only_for_an_unbound_secret_seen_with_one_hook_id() -> None:
    bindings = ChannelBindings(state_with(("hook-b", HASH_B)))
    deliveries = [
        Delivery("hook-b", REF_B),  # the kept one
        Delivery("hook-c", REF_B),  # forged with the kept one's secret
        Delivery("hook-x", REF_X),  # a lost create answer, identified by its sample
        Delivery("hook-x", REF_X),
        Delivery("hook-legacy", None),  # 0.1 event: never a target
    ]
    assert unrecorded_subscriptions(deliveries, bindings, exclude={"hook-b"}) == (["hook-x"], [])
    assert unrecorded_subscriptions(deliveries, bindings, exclude={"hook-b", "hook-x"}) == ([], [])
    # Someone holding the leftover's secret names another subscription: neither is deleted.
    forged = [*deliveries, Delivery("hook-c", REF_X)]
    assert unrecorded_subscriptions(forged, bindings, exclude={"hook-b"}) == ([], ["hook-c", "hook-x"])


def test_deleted_hook_ids_are_bounded_and_round_trip() -> None:
    state = ChannelState(channel="c")
    for i in range(MAX_DELETED_HOOK_IDS + 10):
        state.mark_deleted(f"hook-{i}")
    state.mark_deleted("hook-20")  # deleted again: moves to the end, no duplicate
    state.mark_deleted("x" * 1000)  # not a hook id: ignored
    assert len(state.deleted_hook_ids) == MAX_DELETED_HOOK_IDS
    assert state.deleted_hook_ids[0] == "hook-10"
    assert state.deleted_hook_ids[-1] == "hook-20"
    assert state.deleted_hook_ids.count("hook-20") == 1
    assert ChannelState.from_json("c", state.to_json()) == state
    with pytest.raises(ValueError, match="deleted_hook_ids"):
        ChannelState.from_json("c", json.dumps({"deleted_hook_ids": [1]}))
    with pytest.raises(ValueError, match="JSON arrays"):
        ChannelState.from_json("c", json.dumps({"deleted_hook_ids": "hook-1"}))
    too_many = json.dumps({"deleted_hook_ids": [f"h{i}" for i in range(MAX_DELETED_HOOK_IDS * 2)]})
    assert len(ChannelState.from_json("c", too_many).deleted_hook_ids) == MAX_DELETED_HOOK_IDS


def test_matching_secret_names_the_hash_and_compares_with_every_hash() -> None:
    state = ChannelState(channel="c")
    state.add_secret("secret-a")
    state.add_secret("secret-b")
    assert state.matching_secret("secret-b") == HASH_B
    assert state.matching_secret("secret-a") == HASH_A
    assert state.matching_secret("nope") is None
    assert state.matching_secret("") is None
    assert state.matching_secret(None) is None
