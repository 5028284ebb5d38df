"""Channel registry: where the state of a channel (accepted ``X-BEARER`` secrets, subscriptions) is stored.

A channel's state (:class:`~.channel_state.ChannelState`: secret hashes, subscriptions,
``deleted_hook_ids``) is kept in Airflow Variables, so that tasks can write it through the Task SDK
(they have no database access) and the receiver in the api-server can read it:

``dailybot_webhook_channel__<channel>`` (the **base document**)
    The 0.1 format: one JSON document of the whole state (version 1, see :mod:`.channel_state`).
    Written by :meth:`ChannelStore.save` (scripts, tests, ``airflow variables set``) and by 0.1,
    read by every version. The operators of this version never rewrite it.
``dailybot_webhook_channel__<channel>.change.<n>`` (the **change records**)
    One record per operator run that changed the channel (:mod:`.channel_changes`): the secrets it
    accepts or retires, the subscriptions it records, the hook ids it deleted. ``n`` is a slot of an
    append-only log (:mod:`.channel_log`) that each writer claims for itself, so a writer only
    ever writes keys nobody else writes.
``dailybot_webhook_channel__<channel>.claim.<n>.x`` and ``….claim.<n>.door``
    Short-lived: the registers with which a writer claims slot ``n``; deleted once the record is written.

The state is the base document merged with the change records (:func:`~.channel_changes.merge_state`).
No writer reads a shared value, changes it and writes it back, so concurrent creates, deletes and
promotes on a channel never lose each other's secrets or subscriptions. (0.1 kept the whole state in
the base document and every operator rewrote it: two creates at once could drop one secret hash, and
that subscription's deliveries were refused with 401.) A channel written by 0.1 keeps working as it
is: its base document is the state until the first change record is added.

Two stores read and write it, with the same interface (:class:`ChannelStore`):

* :class:`TaskChannelStore`, in a task: ``airflow.sdk.Variable``. Where the Task SDK has
  ``Variable.keys(prefix=...)`` (Airflow 3.3) it lists the change records; otherwise (Airflow 3.1)
  it walks the slots from 0 (one read per record and three at the end).
* :class:`MetadataChannelStore`, with database access (the receiver in the api-server, scripts,
  tests): core ``airflow.models.variable.Variable``; the change records in one prefix query
  (``key LIKE 'dailybot/_webhook/_channel/_/_<channel>.change.%' ESCAPE '/'``: ``_`` would match any
  character), the query Airflow's own ``Variable.keys`` runs. PostgreSQL serves a LIKE prefix from the
  key's unique index only under the ``C``/``POSIX`` collation (not ``C.UTF-8`` nor ``en_US.UTF-8``),
  so it usually scans the ``variable`` table, which is small (a few hundred rows: well under a
  millisecond).

Reads of the base document go through the secrets backends (so a channel can also be
``AIRFLOW_VAR_DAILYBOT_WEBHOOK_CHANNEL__<CHANNEL>``); change records live in the metadata database.
At most ``[dailybot] channel_state_max_records`` records (default 1000) are read; a channel that
has more is refused as unreadable until it is compacted, which ``store.save(store.load(channel))``
does (it folds the records into the base document and deletes them; run it while no task of the
channel runs, like every :meth:`ChannelStore.save`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Protocol

from airflow_provider_dailybot.webhooks.assets import validate_channel_name
from airflow_provider_dailybot.webhooks.channel_changes import ChannelChange, merge_state
from airflow_provider_dailybot.webhooks.channel_log import LogFull, Registers, SlotLog, record_slot
from airflow_provider_dailybot.webhooks.channel_state import (
    MAX_DELETED_HOOK_IDS,
    MAX_HOOK_ID_LENGTH,
    STATE_VERSION,
    ChannelState,
    ChannelSubscription,
    generate_secret,
    hash_secret,
)

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

# The state model moved to .channel_state; it stays importable from here.
__all__ = [
    "MAX_DELETED_HOOK_IDS",
    "MAX_HOOK_ID_LENGTH",
    "STATE_VERSION",
    "VARIABLE_KEY_PREFIX",
    "ChannelChange",
    "ChannelState",
    "ChannelStore",
    "ChannelSubscription",
    "LogFull",
    "MetadataChannelStore",
    "TaskChannelStore",
    "generate_secret",
    "hash_secret",
    "record_key_prefix",
    "state_from_variables",
    "variable_key",
]

#: Prefix of the Variable keys that hold a channel's state.
VARIABLE_KEY_PREFIX = "dailybot_webhook_channel__"


def variable_key(channel: str) -> str:
    """Return the key of a channel's base document, ``dailybot_webhook_channel__<channel>``.

    :param channel: A valid channel name.
    """
    return VARIABLE_KEY_PREFIX + validate_channel_name(channel)


def record_key_prefix(channel: str) -> str:
    """Return the prefix of the keys of a channel's change records and claims, ``<variable_key>.``.

    Channel names cannot hold ``.``, so no other channel's key starts with it.

    :param channel: A valid channel name.
    """
    return variable_key(channel) + "."


def state_from_variables(channel: str, variables: Mapping[str, str]) -> ChannelState | None:
    """Return the state of ``channel`` from its Variables read some other way (the REST API, a database dump).

    :param channel: The channel name.
    :param variables: Decrypted values by key; keys other than the channel's base document and change
        records (claims, other channels) are ignored.
    :raises ValueError: When a value is not valid.
    """
    prefix = record_key_prefix(channel)
    slots = {key: record_slot(prefix, key) for key in variables}
    records = sorted((slot, variables[key]) for key, slot in slots.items() if slot is not None)
    base = variables.get(variable_key(channel))
    return merge_state(
        channel,
        None if base is None else ChannelState.from_json(channel, base),
        [ChannelChange.from_json(channel, value) for _, value in records],
    )


def _base_description(channel: str) -> str:
    return (
        f"DailyBot webhook channel {channel!r}: SHA-256 hashes of the accepted X-BEARER secrets and the "
        "subscriptions that deliver to it (managed by airflow-provider-dailybot)."
    )


def _record_description(channel: str) -> str:
    return (
        f"DailyBot webhook channel {channel!r}: one change to its accepted X-BEARER secret hashes and "
        "subscriptions (managed by airflow-provider-dailybot; do not edit)."
    )


class ChannelStore(Protocol):
    """Where channel states are kept: the two implementations below both use Airflow Variables."""

    def load(self, channel: str) -> ChannelState | None:
        """Return the state of ``channel``, or None when the channel is not configured."""
        ...

    def append(self, change: ChannelChange) -> int:
        """Add ``change`` as a new change record of its channel and return its slot."""
        ...

    def rewrite(self, change: ChannelChange, slot: int) -> None:
        """Replace this writer's own change record in ``slot``."""
        ...

    def save(self, state: ChannelState) -> None:
        """Replace the whole state of the channel with ``state`` (not safe while tasks change it)."""
        ...

    def delete(self, channel: str) -> None:
        """Remove the whole state of ``channel`` (not safe while tasks change it)."""
        ...


class _VariableChannelStore:
    """A channel store over Variables; subclasses supply the registers and the base-document read."""

    def __init__(self) -> None:
        self._logs: dict[str, SlotLog] = {}

    def _registers(self) -> Registers:
        raise NotImplementedError

    def _get_base(self, key: str) -> str | None:
        raise NotImplementedError

    def _log(self, channel: str) -> SlotLog:
        """The channel's log; kept per channel so that an append starts where the last read ended."""
        from airflow_provider_dailybot.webhooks.config import channel_state_max_records

        log = self._logs.get(channel)
        if log is None:
            log = SlotLog(
                self._registers(),
                record_key_prefix(channel),
                max_slots=channel_state_max_records(),
                description=_record_description(channel),
            )
            self._logs[channel] = log
        return log

    def load(self, channel: str) -> ChannelState | None:
        """Return the state of ``channel`` (its base document merged with its change records), or None.

        :param channel: The channel name.
        :raises ValueError: When a stored value is not valid, or the channel has too many records
            (:class:`~.channel_log.LogFull`).
        """
        raw = self._get_base(variable_key(channel))
        base = None if raw is None else ChannelState.from_json(channel, raw)
        try:
            records = self._log(channel).records()
        except LogFull as err:
            raise LogFull(
                f"DailyBot channel {channel!r} has more change records than [dailybot] channel_state_max_records "
                f"allows ({err}); compact it with store.save(store.load(channel)) while none of its tasks runs"
            ) from None
        return merge_state(channel, base, [ChannelChange.from_json(channel, value) for _, value in records])

    def append(self, change: ChannelChange) -> int:
        """Write ``change`` as a new change record of its channel (in a slot of its own); return the slot.

        :param change: The change.
        """
        return self._log(change.channel).append(change.to_json())

    def rewrite(self, change: ChannelChange, slot: int) -> None:
        """Replace the change record in ``slot``, which this writer appended.

        :param change: The new content of the record.
        :param slot: The slot :meth:`append` returned.
        """
        self._log(change.channel).rewrite(slot, change.to_json())

    def save(self, state: ChannelState) -> None:
        """Make ``state`` the whole state of its channel: write the base document, delete every change record.

        For scripts, tests and compaction (``store.save(store.load(channel))``); not safe while a task
        changes the channel (operators append change records instead).

        :param state: The state to store.
        """
        channel = state.channel
        self._registers().set(variable_key(channel), state.to_json(), _base_description(channel))
        self._log(channel).clear()

    def delete(self, channel: str) -> None:
        """Delete the channel's base document and every change record (not safe while a task changes it).

        :param channel: The channel name.
        """
        self._log(channel).clear()
        self._registers().delete(variable_key(channel))


class _MetadataRegisters:
    """Variables in the metadata database: single keys read from the ``variable`` table, prefixes in one query."""

    def __init__(self, session: Session | None) -> None:
        self.session = session

    def _query(self, statement: object) -> list[object]:
        from airflow.utils.session import create_session

        if self.session is not None:
            return list(self.session.execute(statement).scalars())  # type: ignore[call-overload]
        with create_session() as session:
            return list(session.execute(statement).scalars())  # type: ignore[call-overload]

    def get(self, key: str) -> str | None:
        from airflow.models.variable import Variable
        from sqlalchemy import select

        rows = self._query(select(Variable).where(Variable.key == key))
        return rows[0].val if rows else None  # type: ignore[attr-defined]

    def set(self, key: str, value: str, description: str) -> None:
        from airflow.models.variable import Variable

        Variable.set(key, value, description=description, session=self.session)

    def delete(self, key: str) -> None:
        from airflow.models.variable import Variable

        Variable.delete(key, session=self.session)

    def items(self, prefix: str, limit: int) -> Sequence[tuple[str, str]]:
        from airflow.models.variable import Variable
        from sqlalchemy import select

        # startswith(autoescape=True): LIKE '<prefix>%' ESCAPE '/', with '_', '%' and '/' of the prefix escaped.
        statement = (
            select(Variable).where(Variable.key.startswith(prefix, autoescape=True)).order_by(Variable.key).limit(limit)
        )
        found = []
        for row in self._query(statement):
            value = row.val  # type: ignore[attr-defined]
            if value is None:  # Variable.val logged why (a wrong or missing Fernet key): refuse, never skip
                raise ValueError(f"the Variable {row.key} cannot be decrypted")  # type: ignore[attr-defined]
            found.append((str(row.key), str(value)))  # type: ignore[attr-defined]
        return found


class MetadataChannelStore(_VariableChannelStore):
    """Channel states read and written with core ``airflow.models.variable.Variable``.

    For code that has metadata-database access: the receiver in the api-server, scripts and tests.
    The base document is read through the configured secrets backends (so a channel may also be
    provided as ``AIRFLOW_VAR_DAILYBOT_WEBHOOK_CHANNEL__<CHANNEL>``); the change records in one query
    of the ``variable`` table; writes go to the metadata database.

    :param session: SQLAlchemy session to read and write with (the caller commits); a new session
        per operation when None. Appends from several processes must each commit as they go, so
        leave it None for :meth:`append`.
    """

    def __init__(self, session: Session | None = None) -> None:
        super().__init__()
        self.session = session

    def _registers(self) -> Registers:
        return _MetadataRegisters(self.session)

    def _get_base(self, key: str) -> str | None:
        from airflow.models.variable import Variable

        # get_variable_from_secrets reads the server-side secrets backends (environment, metastore, custom)
        # directly. Variable.get would detour through the Task SDK whenever *any* thread of the process
        # runs a task in-process (dag.test()), which on Airflow 3.1 races with that task's own calls.
        return Variable.get_variable_from_secrets(key=key)


class _TaskRegisters:
    """Variables through the Task SDK (``airflow.sdk.Variable``); listing where it has ``Variable.keys`` (3.3+)."""

    def get(self, key: str) -> str | None:
        from airflow.sdk import Variable

        value = Variable.get(key, default=None)
        return None if value is None else str(value)

    def set(self, key: str, value: str, description: str) -> None:
        from airflow.sdk import Variable

        Variable.set(key, value, description=description)

    def delete(self, key: str) -> None:
        from airflow.sdk import Variable

        Variable.delete(key)

    def items(self, prefix: str, limit: int) -> Sequence[tuple[str, str]] | None:
        from airflow.sdk import Variable

        if not hasattr(Variable, "keys"):  # Airflow 3.1: the log is walked instead
            return None
        found = []
        for key in list(Variable.keys(prefix=prefix))[:limit]:
            value = self.get(key)
            if value is not None:  # deleted since it was listed
                found.append((key, value))
        return found


class TaskChannelStore(_VariableChannelStore):
    """Channel states read and written from a running task with ``airflow.sdk.Variable``."""

    def _registers(self) -> Registers:
        return _TaskRegisters()

    def _get_base(self, key: str) -> str | None:
        return _TaskRegisters().get(key)
