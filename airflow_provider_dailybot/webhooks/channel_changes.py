"""Change records of a channel's state, and how they merge with its base document into a :class:`ChannelState`.

Every task that changes a channel writes one **change record** of its own (see :mod:`.channels`
for where) and never rewrites anything another task wrote. A record says what its writer adds and
what it removes::

    {
      "version": 1,
      "channel": "checkins",
      "written_at": "2026-01-31T12:00:00+00:00",
      "accept_sha256": ["<hash of a secret this record accepts>"],
      "subscriptions": [{"hook_id": "...", "hook_url": "...", "events": ["..."],
                         "created_at": "...", "secret_sha256": "..."}],
      "retire_sha256": ["<hash of a secret no longer accepted>"],
      "deleted_hook_ids": ["<hook id deleted at DailyBot, or found gone>"]
    }

Every list is optional. The state of a channel is the merge (:func:`merge_state`) of its base
document (:class:`~.channel_state.ChannelState` JSON, the 0.1 format, possibly absent) and its records
in slot order:

* accepted secrets: those of the base, then those each record accepts, minus **every** retired one;
* subscriptions: those of the base, then those the records add (a later record with the same hook id
  replaces the earlier one), minus every subscription whose hook id a record deleted;
* ``deleted_hook_ids``: those of the base, then those of the records, newest last, the newest
  :data:`~.channel_state.MAX_DELETED_HOOK_IDS` kept.

Removals win whatever the order (a retired secret or a deleted hook id stays so: each secret is
generated once and DailyBot's hook ids are never reused), so the merge does not depend on the order
in which concurrent writers got their slots, and no change of one writer can undo another's.

Pure functions, no Airflow import.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from airflow_provider_dailybot.webhooks.assets import validate_channel_name
from airflow_provider_dailybot.webhooks.channel_state import (
    MAX_DELETED_HOOK_IDS,
    ChannelState,
    ChannelSubscription,
    check_hook_ids,
    checked_sha256,
    is_hook_id,
    utcnow_iso,
    versioned_document,
)

#: Version of the change-record JSON written by this module.
CHANGE_VERSION = 1
#: Most items in each list of one record (a promote that deletes more writes several records).
MAX_RECORD_ITEMS = MAX_DELETED_HOOK_IDS

_LISTS = ("accept_sha256", "subscriptions", "retire_sha256", "deleted_hook_ids")


@dataclass
class ChannelChange:
    """One writer's change to a channel's state.

    :param channel: The channel name.
    :param accept_sha256: Hashes of secrets the channel accepts from now on.
    :param subscriptions: Subscriptions recorded for the channel (their secrets should be accepted too).
    :param retire_sha256: Hashes of secrets no longer accepted.
    :param deleted_hook_ids: Hook ids deleted at DailyBot (or found gone); their subscriptions are forgotten.
    :param written_at: ISO 8601 time of the change (UTC now by default); for people, not for the merge.
    """

    channel: str
    accept_sha256: list[str] = field(default_factory=list)
    subscriptions: list[ChannelSubscription] = field(default_factory=list)
    retire_sha256: list[str] = field(default_factory=list)
    deleted_hook_ids: list[str] = field(default_factory=list)
    written_at: str = field(default_factory=utcnow_iso)

    def __post_init__(self) -> None:
        validate_channel_name(self.channel)
        for name in _LISTS:
            if len(getattr(self, name)) > MAX_RECORD_ITEMS:
                raise ValueError(f"a change record holds at most {MAX_RECORD_ITEMS} {name}")
        for value in (*self.accept_sha256, *self.retire_sha256):
            checked_sha256(value, "a change record's secret hashes")
        if not all(isinstance(s, ChannelSubscription) for s in self.subscriptions):
            raise ValueError("subscriptions must be ChannelSubscription objects")
        check_hook_ids(self.deleted_hook_ids, "deleted_hook_ids")
        if not isinstance(self.written_at, str):
            raise ValueError("written_at must be an ISO 8601 string")

    def is_empty(self) -> bool:
        """Return True when the change adds and removes nothing."""
        return not any(getattr(self, name) for name in _LISTS)

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON-ready dict documented in the module docstring."""
        return {
            "version": CHANGE_VERSION,
            "channel": self.channel,
            "written_at": self.written_at,
            "accept_sha256": list(self.accept_sha256),
            "subscriptions": [s.to_dict() for s in self.subscriptions],
            "retire_sha256": list(self.retire_sha256),
            "deleted_hook_ids": list(self.deleted_hook_ids),
        }

    def to_json(self) -> str:
        """Return the record as the JSON text stored in its Variable."""
        return json.dumps(self.to_dict(), indent=2)

    @classmethod
    def from_json(cls, channel: str, value: str | bytes) -> ChannelChange:
        """Parse a stored change record.

        :param channel: The channel the record belongs to; a ``channel`` field that differs is refused.
        :param value: The Variable's JSON text.
        :raises ValueError: When the text is not a valid change record of ``channel``.
        """
        data = versioned_document(value, f"a change record of DailyBot channel {channel!r}", CHANGE_VERSION)
        if data.get("channel") != channel:
            raise ValueError(f"a change record stored for channel {channel!r} names channel {data.get('channel')!r}")
        lists = {name: data.get(name, []) for name in _LISTS}
        if not all(isinstance(v, list) for v in lists.values()):
            raise ValueError(f"{', '.join(_LISTS)} of a change record must be JSON arrays")
        return cls(
            channel=channel,
            accept_sha256=list(lists["accept_sha256"]),
            subscriptions=[ChannelSubscription.from_dict(s) for s in lists["subscriptions"]],
            retire_sha256=list(lists["retire_sha256"]),
            deleted_hook_ids=list(lists["deleted_hook_ids"]),
            written_at=data.get("written_at", ""),
        )


def merge_state(channel: str, base: ChannelState | None, changes: list[ChannelChange]) -> ChannelState | None:
    """Return the state of ``channel``: its base document with its change records applied (see the module).

    :param channel: The channel name.
    :param base: The base document, or None when the channel has none.
    :param changes: The channel's change records in slot order.
    :returns: The merged state; None when there is neither a base document nor a record.
    """
    if base is None and not changes:
        return None
    base = base if base is not None else ChannelState(channel=channel)
    retired = {h for change in changes for h in change.retire_sha256}
    deleted = [h for change in changes for h in change.deleted_hook_ids]
    gone = set(deleted)
    accepted = list(base.secret_sha256)
    subscriptions = {s.hook_id: s for s in base.subscriptions}
    for change in changes:
        accepted += [h for h in change.accept_sha256 if h not in accepted]
        for sub in change.subscriptions:
            subscriptions.pop(sub.hook_id, None)  # a later record of the same hook id goes last, as add_subscription
            subscriptions[sub.hook_id] = sub
    history = [h for h in base.deleted_hook_ids if h not in gone] + list(dict.fromkeys(reversed(deleted)))[::-1]
    return ChannelState(
        channel=channel,
        secret_sha256=[h for h in accepted if h not in retired],
        subscriptions=[s for s in subscriptions.values() if s.hook_id not in gone],
        deleted_hook_ids=history,
    )


def chunked_changes(channel: str, *, retire_sha256: list[str], deleted_hook_ids: list[str]) -> list[ChannelChange]:
    """Return the change records that retire ``retire_sha256`` and delete ``deleted_hook_ids`` (none if both are empty).

    One record unless a list is longer than :data:`MAX_RECORD_ITEMS`. Hook ids no longer than
    :data:`~.channel_state.MAX_HOOK_ID_LENGTH` are kept, as ``ChannelState.mark_deleted`` does.

    :param channel: The channel name.
    :param retire_sha256: Hashes of the secrets to retire.
    :param deleted_hook_ids: The deleted hook ids.
    """
    hooks = [h for h in dict.fromkeys(deleted_hook_ids) if is_hook_id(h)]
    hashes = list(dict.fromkeys(retire_sha256))
    step = MAX_RECORD_ITEMS
    return [
        ChannelChange(channel, retire_sha256=hashes[i : i + step], deleted_hook_ids=hooks[i : i + step])
        for i in range(0, max(len(hooks), len(hashes)), step)
    ]
