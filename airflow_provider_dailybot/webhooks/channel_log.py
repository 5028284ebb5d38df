"""An append-only log of records kept in plain key-value registers (Airflow Variables), with no lost append.

Tasks may write Airflow Variables only through the Task SDK, which offers get, set (an upsert) and
delete of one key, and from Airflow 3.3 a listing of keys by prefix; there is no compare-and-set.
Writers that read a shared value, change it and write it back lose each other's changes. This log
never does that: each record is written by the one writer that **claimed its slot**, and a slot is
claimed with a *splitter* (Lamport's fast-path mutual exclusion, as used by Moir and Anderson for
renaming), which needs nothing but reads and writes of single keys.

Keys, under a ``prefix`` (``<prefix>`` below), for slot ``n`` written as six or more digits:

``<prefix>change.<n>``
    The record of slot ``n``, written only by the writer that claimed the slot (which may rewrite it).
``<prefix>claim.<n>.x``, ``<prefix>claim.<n>.door``
    The slot's splitter: ``x`` is the last contender's id, ``door`` exists once the slot is taken.
    The winner deletes both after writing its record (the record itself then keeps the slot taken).

Claiming (:meth:`SlotLog.append`), from the first slot not known to be taken::

    if record(n) or door(n) exists:      go to n + 1      (taken)
    x(n) := my id
    if record(n) or door(n) exists:      go to n + 1
    door(n) := my id
    if x(n) != my id:                    go to n + 1      (someone else contended: nobody may win)
    record(n) := the record                               (won)

At most one writer wins a slot: of two winners, the one that wrote ``x`` first must have read it back
before the other wrote it, so the other found the door already there. A writer alone at a slot wins
it, so an append succeeds unless other appends keep contending on every slot it tries (then it
gives up after ``max_slots``). A slot may end with its door and no record (every contender went on);
readers skip it.

Reading (:meth:`SlotLog.records`): where the registers can list keys by prefix (the metadata database;
the Task SDK of Airflow 3.3+), every record is read at once. Otherwise the slots are walked from 0
until one has neither a record nor a door (read record, door, record again, since the door goes
once the record is there): no writer passes a slot before it is taken, so every append that
finished before the walk started is found. Records are never deleted by a writer, only
by :meth:`SlotLog.clear`, which is not safe while others write.

The registers must read what was last written (no stale cache): ``[secrets] use_cache`` must stay
off (its default) on the workers, which is also what any writer of Variables needs.

No Airflow import: the registers are passed in.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Protocol

_RECORD = "change."
_CLAIM = "claim."
_SLOT_DIGITS = 6


def record_slot(prefix: str, key: str) -> int | None:
    """Return the slot whose record a log under ``prefix`` stores under ``key``; None when it is no record key.

    :param prefix: The log's key prefix.
    :param key: A key.
    """
    if not key.startswith(prefix + _RECORD):
        return None
    digits = key[len(prefix) + len(_RECORD) :]
    return int(digits) if len(digits) >= _SLOT_DIGITS and digits.isascii() and digits.isdigit() else None


class LogFull(ValueError):
    """A log has more slots than it may read or claim (``max_slots``)."""


class Registers(Protocol):
    """Single-key reads and writes that a :class:`SlotLog` is kept in."""

    def get(self, key: str) -> str | None:
        """Return the value of ``key``, or None when it does not exist."""
        ...

    def set(self, key: str, value: str, description: str) -> None:
        """Write ``value`` to ``key`` (creating or replacing it)."""
        ...

    def delete(self, key: str) -> None:
        """Delete ``key`` (nothing happens when it does not exist)."""
        ...

    def items(self, prefix: str, limit: int) -> Sequence[tuple[str, str]] | None:
        """Return up to ``limit`` ``(key, value)`` pairs whose key starts with ``prefix``; None if not supported."""
        ...


class SlotLog:
    """The log of records under one key prefix (see the module docstring).

    :param registers: Where the keys live.
    :param prefix: The prefix of every key of this log.
    :param max_slots: Most slots read or claimed; a log that has more raises :class:`LogFull`.
    :param description: The description given to every key written.
    """

    def __init__(self, registers: Registers, prefix: str, *, max_slots: int, description: str) -> None:
        if max_slots < 1:
            raise ValueError("max_slots must be at least 1")
        self.registers = registers
        self.prefix = prefix
        self.max_slots = max_slots
        self.description = description
        #: The first slot not known to be taken, after the last read or append (where the next append starts).
        self.end = 0

    # -- keys ---------------------------------------------------------------------------------
    def record_key(self, slot: int) -> str:
        """Return the key of the record in ``slot``.

        :param slot: A slot number (0 or more).
        """
        return f"{self.prefix}{_RECORD}{slot:0{_SLOT_DIGITS}d}"

    def _claim_key(self, slot: int, part: str) -> str:
        return f"{self.prefix}{_CLAIM}{slot:0{_SLOT_DIGITS}d}.{part}"

    def slot_of(self, key: str) -> int | None:
        """Return the slot whose record is stored under ``key``, or None when ``key`` is not a record key.

        :param key: A key.
        """
        return record_slot(self.prefix, key)

    # -- reading ------------------------------------------------------------------------------
    def records(self) -> list[tuple[int, str]]:
        """Return every record as ``(slot, value)``, in slot order.

        :raises LogFull: When there are more than ``max_slots`` records (or slots to walk).
        """
        listed = self.registers.items(self.prefix + _RECORD, self.max_slots + 1)
        if listed is None:
            return self._walk()
        if len(listed) > self.max_slots:
            raise LogFull(f"{self.prefix}: more than {self.max_slots} records")
        found = sorted((slot, value) for key, value in listed if (slot := self.slot_of(key)) is not None)
        self.end = found[-1][0] + 1 if found else 0
        return found

    def _taken(self, slot: int) -> bool:
        return self.registers.get(self.record_key(slot)) is not None or self._has_door(slot)

    def _has_door(self, slot: int) -> bool:
        return self.registers.get(self._claim_key(slot, "door")) is not None

    def _walk(self) -> list[tuple[int, str]]:
        found: list[tuple[int, str]] = []
        get = self.registers.get
        for slot in range(self.max_slots + 1):
            value = get(self.record_key(slot))
            if value is None and not self._has_door(slot):
                # The winner deletes the door only after writing its record: read the record again, or a
                # slot won between the two reads would look free and end the walk before later records.
                value = get(self.record_key(slot))
                if value is None:
                    self.end = slot
                    return found
            if value is not None:
                found.append((slot, value))
        raise LogFull(f"{self.prefix}: more than {self.max_slots} slots")

    # -- writing ------------------------------------------------------------------------------
    def append(self, value: str) -> int:
        """Write ``value`` as a new record in a slot claimed for it alone, and return the slot.

        Starts at :attr:`end` (what the last read or append of this object found). Every write is to
        a key of the slot being claimed; nothing another writer wrote is read, changed and written back.

        :param value: The record.
        :raises LogFull: When no slot below ``max_slots`` could be claimed.
        """
        me = uuid.uuid4().hex
        registers = self.registers
        for slot in range(self.end, self.max_slots):
            if self._taken(slot):
                continue
            registers.set(self._claim_key(slot, "x"), me, self.description)
            if self._taken(slot):
                continue
            registers.set(self._claim_key(slot, "door"), me, self.description)
            if registers.get(self._claim_key(slot, "x")) != me:
                continue  # another writer contended for this slot: it may be abandoned, never shared
            registers.set(self.record_key(slot), value, self.description)
            registers.delete(self._claim_key(slot, "x"))
            registers.delete(self._claim_key(slot, "door"))  # the record keeps the slot taken from now on
            self.end = slot + 1
            return slot
        raise LogFull(f"{self.prefix}: no free slot below {self.max_slots}")

    def rewrite(self, slot: int, value: str) -> None:
        """Replace the record in ``slot``; only the writer that appended it may call this.

        :param slot: A slot returned by :meth:`append` of this writer.
        :param value: The new record.
        """
        self.registers.set(self.record_key(slot), value, self.description)

    def clear(self) -> None:
        """Delete every record and claim of the log. Not safe while other writers append."""
        keys = [self.record_key(slot) for slot, _ in self.records()]
        for slot in range(self.end + 1):
            keys += [self._claim_key(slot, "x"), self._claim_key(slot, "door")]
        listed = self.registers.items(self.prefix + _CLAIM, self.max_slots * 2 + 2) or []
        for key in dict.fromkeys([*keys, *(k for k, _ in listed)]):
            self.registers.delete(key)
