"""Change records and their merge with a channel's base document (``channel_changes``)."""

from __future__ import annotations

import json

import pytest

from airflow_provider_dailybot.webhooks.channel_changes import (
    MAX_RECORD_ITEMS,
    ChannelChange,
    chunked_changes,
    merge_state,
)
from airflow_provider_dailybot.webhooks.channel_state import MAX_DELETED_HOOK_IDS, ChannelState, ChannelSubscription
from airflow_provider_dailybot.webhooks.channels import hash_secret

CHANNEL = "checkins"
A, B, C = (hash_secret(f"secret-{n}") for n in "abc")


URL = "https://x.example/dailybot/webhooks/checkins"


def sub(hook_id: str, secret_sha256: str, url: str = URL) -> ChannelSubscription:
    return ChannelSubscription(hook_id=hook_id, hook_url=url, events=["kudos.posted"], secret_sha256=secret_sha256)


def test_nothing_stored_is_no_channel() -> None:
    assert merge_state(CHANNEL, None, []) is None
    assert merge_state(CHANNEL, None, [ChannelChange(CHANNEL)]) == ChannelState(channel=CHANNEL)


def test_a_base_document_alone_is_the_state_as_0_1_wrote_it() -> None:
    base = ChannelState(channel=CHANNEL, secret_sha256=[A], subscriptions=[sub("h-a", A)], deleted_hook_ids=["old"])
    assert merge_state(CHANNEL, base, []) == base


def test_records_add_to_the_base_in_slot_order() -> None:
    base = ChannelState(channel=CHANNEL, secret_sha256=[A], subscriptions=[sub("h-a", A)])
    state = merge_state(
        CHANNEL,
        base,
        [
            ChannelChange(CHANNEL, accept_sha256=[B], subscriptions=[sub("h-b", B)]),
            ChannelChange(CHANNEL, accept_sha256=[C, A]),
        ],
    )
    assert state is not None
    assert state.secret_sha256 == [A, B, C]
    assert [s.hook_id for s in state.subscriptions] == ["h-a", "h-b"]


def test_a_removal_wins_whatever_the_order_of_the_records() -> None:
    add = ChannelChange(CHANNEL, accept_sha256=[B], subscriptions=[sub("h-b", B)])
    remove = ChannelChange(CHANNEL, retire_sha256=[B], deleted_hook_ids=["h-b"])
    for changes in ([add, remove], [remove, add]):
        state = merge_state(CHANNEL, None, changes)
        assert state is not None
        assert state.secret_sha256 == []
        assert state.subscriptions == []
        assert state.deleted_hook_ids == ["h-b"]
        assert not state.accepts("secret-b")


def test_a_record_retires_a_secret_and_deletes_a_subscription_of_the_base() -> None:
    base = ChannelState(channel=CHANNEL, secret_sha256=[A, B], subscriptions=[sub("h-a", A), sub("h-b", B)])
    state = merge_state(CHANNEL, base, [ChannelChange(CHANNEL, retire_sha256=[A], deleted_hook_ids=["h-a"])])
    assert state is not None
    assert state.secret_sha256 == [B]
    assert [s.hook_id for s in state.subscriptions] == ["h-b"]
    assert state.deleted_hook_ids == ["h-a"]


def test_retiring_a_secret_leaves_its_subscription_recorded_as_remove_secret_does() -> None:
    state = merge_state(CHANNEL, None, [ChannelChange(CHANNEL, accept_sha256=[A], subscriptions=[sub("h", A)]),
                                        ChannelChange(CHANNEL, retire_sha256=[A])])  # fmt: skip
    assert state is not None
    assert state.secret_sha256 == []
    assert [s.hook_id for s in state.subscriptions] == ["h"]


def test_a_later_record_of_the_same_hook_id_replaces_the_earlier_one() -> None:
    state = merge_state(CHANNEL, None, [
        ChannelChange(CHANNEL, accept_sha256=[A], subscriptions=[sub("h", A, "https://x.example/1"), sub("g", A)]),
        ChannelChange(CHANNEL, subscriptions=[sub("h", A, "https://x.example/2")]),
    ])  # fmt: skip
    assert state is not None
    assert [(s.hook_id, s.hook_url) for s in state.subscriptions] == [
        ("g", sub("g", A).hook_url),
        ("h", "https://x.example/2"),
    ]


def test_deleted_hook_ids_keep_the_newest_last_and_the_newest_500() -> None:
    base = ChannelState(channel=CHANNEL, deleted_hook_ids=["x", "y"])
    state = merge_state(CHANNEL, base, [ChannelChange(CHANNEL, deleted_hook_ids=["x", "z"]),
                                        ChannelChange(CHANNEL, deleted_hook_ids=["z"])])  # fmt: skip
    assert state is not None
    assert state.deleted_hook_ids == ["y", "x", "z"]
    many = [ChannelChange(CHANNEL, deleted_hook_ids=[f"h{i}-{j}" for j in range(100)]) for i in range(6)]
    state = merge_state(CHANNEL, None, many)
    assert state is not None
    assert len(state.deleted_hook_ids) == MAX_DELETED_HOOK_IDS
    assert state.deleted_hook_ids[-1] == "h5-99"


def test_a_record_round_trips_through_json() -> None:
    change = ChannelChange(CHANNEL, accept_sha256=[A], subscriptions=[sub("h", A)], retire_sha256=[B],
                           deleted_hook_ids=["old"])  # fmt: skip
    assert ChannelChange.from_json(CHANNEL, change.to_json()) == change
    assert json.loads(change.to_json())["version"] == 1


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "not valid JSON"),
        ("[]", "must be a JSON object"),
        (json.dumps({"version": 2, "channel": CHANNEL}), "version 2"),
        (json.dumps({"channel": CHANNEL}), "version None"),
        (json.dumps({"version": 1, "channel": "other"}), "names channel 'other'"),
        (json.dumps({"version": 1, "channel": CHANNEL, "accept_sha256": "x"}), "must be JSON arrays"),
        (json.dumps({"version": 1, "channel": CHANNEL, "accept_sha256": ["nope"]}), "SHA-256"),
        (json.dumps({"version": 1, "channel": CHANNEL, "deleted_hook_ids": ["x" * 257]}), "1 to 256"),
        (json.dumps({"version": 1, "channel": CHANNEL, "subscriptions": [{"hook_id": "h"}]}), "lacks the field"),
        (json.dumps({"version": 1, "channel": CHANNEL, "retire_sha256": [A] * (MAX_RECORD_ITEMS + 1)}), "at most"),
    ],
)
def test_an_invalid_record_is_refused(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ChannelChange.from_json(CHANNEL, text)


def test_chunked_changes_split_long_lists_and_drop_hook_ids_nobody_would_delete() -> None:
    assert chunked_changes(CHANNEL, retire_sha256=[], deleted_hook_ids=[]) == []
    hooks = [f"h{i}" for i in range(MAX_RECORD_ITEMS + 1)] + ["", "x" * 257, "h0"]
    changes = chunked_changes(CHANNEL, retire_sha256=[A, A, B], deleted_hook_ids=hooks)
    assert [len(c.deleted_hook_ids) for c in changes] == [MAX_RECORD_ITEMS, 1]
    assert [c.retire_sha256 for c in changes] == [[A, B], []]
    state = merge_state(CHANNEL, None, changes)
    assert state is not None
    assert state.deleted_hook_ids == [f"h{i}" for i in range(1, MAX_RECORD_ITEMS + 1)]
