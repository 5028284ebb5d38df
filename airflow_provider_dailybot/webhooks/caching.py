"""A small thread-safe LRU map whose entries expire: the receiver's per-process caches are built on it.

Used by :mod:`.recording` (which channels have a consumer) and :mod:`.state_cache` (channel secrets).
Pure Python, no Airflow import.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class BoundedTTLCache(Generic[K, V]):
    """At most ``max_size`` entries, least recently used dropped first; each remembers when it was stored.

    The time-to-live is given per lookup (:meth:`get`), so a setting changed at run time applies at once.

    :param max_size: Most entries, or a callable returning it (read on every insert).
    :param clock: Monotonic seconds (``time.monotonic``; a test passes its own).
    """

    def __init__(self, max_size: int | Callable[[], int], *, clock: Callable[[], float] = time.monotonic) -> None:
        self._max_size = max_size
        self.clock = clock
        self._entries: OrderedDict[K, tuple[float, V]] = OrderedDict()
        self._lock = threading.Lock()

    def _limit(self) -> int:
        return max(1, self._max_size() if callable(self._max_size) else self._max_size)

    def get(self, key: K, ttl: float) -> V | None:
        """Return the value stored under ``key`` less than ``ttl`` seconds ago, or None.

        :param key: The key.
        :param ttl: Seconds a value stays valid; 0 or less: always None.
        """
        with self._lock:
            found = self._entries.get(key)
            if found is None:
                return None
            stored_at, value = found
            if ttl <= 0 or self.clock() - stored_at >= ttl:
                del self._entries[key]
                return None
            self._entries.move_to_end(key)
            return value

    def stored_at(self, key: K) -> float | None:
        """Return when ``key``'s value was stored (clock seconds), or None when there is none.

        :param key: The key.
        """
        with self._lock:
            found = self._entries.get(key)
            return None if found is None else found[0]

    def put(self, key: K, value: V, *, stored_at: float | None = None) -> None:
        """Store ``value`` under ``key`` (the most recently used), dropping the least recently used over the limit.

        :param key: The key.
        :param value: The value.
        :param stored_at: When the value was read (clock seconds); now by default.
        """
        moment = self.clock() if stored_at is None else stored_at
        with self._lock:
            self._entries[key] = (moment, value)
            self._entries.move_to_end(key)
            limit = self._limit()
            while len(self._entries) > limit:
                self._entries.popitem(last=False)

    def pop(self, key: K) -> None:
        """Forget ``key``.

        :param key: The key.
        """
        with self._lock:
            self._entries.pop(key, None)

    def clear(self) -> None:
        """Forget every entry."""
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)
