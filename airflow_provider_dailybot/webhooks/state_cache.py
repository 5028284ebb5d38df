"""The receiver's per-process cache of channel states: a delivery is authenticated without a database read.

A channel's state (accepted secret hashes, subscriptions) is read from its Variable(s) once and reused
for ``[dailybot] receiver_state_cache_seconds`` (default 5). Rules:

* **Accepted from the cache**: a presented secret that matches a fresh cached state needs no read.
* **A new secret works at once**: a secret that matches nothing cached is looked up again before it
  is refused (the state is re-read), unless ...
* **... it was refused a moment ago**: every secret refused after a fresh read is remembered (its
  SHA-256 only) for the same time, per channel, so a repeated wrong secret costs no database read.
  A secret that was presented *before* it was added to the channel is therefore accepted at most
  that many seconds late; a newly generated secret never is.
* **A retired secret stops working** once the cached state that still lists it expires: within the TTL.
* **One read at a time per channel**: concurrent misses wait for the read in progress, and a read
  that *started* after a request arrived answers that request too (it is at least as new as the
  request), so a burst of wrong secrets costs one read, not one each.

Memory is bounded: at most ``[dailybot] receiver_state_cache_max_channels`` known channels, as many
unknown channel names (kept apart, so made-up names never push out the real channels), and
:data:`MAX_REFUSED_PER_CHANNEL` refused hashes per channel, least recently used dropped first.

:meth:`ChannelStateCache.cached` runs on the event loop and never does I/O;
:meth:`ChannelStateCache.refresh` runs in a worker thread and may call the loader.
"""

from __future__ import annotations

import threading
import time
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final

from airflow_provider_dailybot.webhooks.caching import BoundedTTLCache
from airflow_provider_dailybot.webhooks.channels import ChannelState, hash_secret
from airflow_provider_dailybot.webhooks.config import receiver_state_cache_max_channels, receiver_state_cache_seconds

#: Most refused secret hashes remembered per channel (the oldest are forgotten first).
MAX_REFUSED_PER_CHANNEL = 64
# Reads of different channels run in parallel; a channel always maps to the same lock.
_LOCK_STRIPES = 64


@dataclass(frozen=True)
class Authenticated:
    """The state a request was authenticated against and the hash of the secret it presented.

    :param state: The channel's state.
    :param secret_sha256: The accepted hash the presented secret matched.
    """

    state: ChannelState
    secret_sha256: str


class _Miss:
    """Returned by :meth:`ChannelStateCache.cached` when only a read can decide."""


#: The request must be decided by :meth:`ChannelStateCache.refresh`.
MISS: Final = _Miss()


@dataclass(frozen=True)
class _Entry:
    """A channel's state as read when ``read_at`` (clock seconds, when the read started), and the refusals since."""

    state: ChannelState | None
    read_at: float
    refused: tuple[tuple[str, float], ...] = ()

    def refused_recently(self, hashes: Sequence[str], now: float, ttl: float) -> bool:
        recent = {h for h, at in self.refused if now - at < ttl}
        return bool(hashes) and all(h in recent for h in hashes)

    def with_refused(self, hashes: Sequence[str], now: float, ttl: float) -> _Entry:
        kept = [(h, at) for h, at in self.refused if now - at < ttl and h not in hashes]
        kept.extend((h, now) for h in dict.fromkeys(hashes))
        return _Entry(self.state, self.read_at, tuple(kept[-MAX_REFUSED_PER_CHANNEL:]))


def _match(state: ChannelState | None, bearers: Sequence[str]) -> str | None:
    """Return the accepted hash one of ``bearers`` matches; every bearer is compared with every hash."""
    compared = state if state is not None else ChannelState(channel="unknown")  # same cost when unknown
    matched: str | None = None
    for bearer in bearers:
        matched = compared.matching_secret(bearer) or matched
    return matched if state is not None else None


def compare_unknown(bearers: Sequence[str]) -> None:
    """Compare ``bearers`` (or an empty one) as for an unknown channel, so a refusal without a lookup costs the same.

    :param bearers: The presented secrets, possibly none.
    """
    _match(None, bearers or [""])


class ChannelStateCache:
    """Channel states of one api-server process (see the module docstring).

    :param loader: Reads a channel's state (None: no such channel); exceptions propagate, nothing is cached.
    :param ttl: Seconds a read is reused; ``[dailybot] receiver_state_cache_seconds`` (read per request) when None.
    :param max_channels: Channels kept, known and unknown each; the setting when None.
    :param clock: Monotonic seconds.
    """

    def __init__(
        self,
        loader: Callable[[str], ChannelState | None],
        *,
        ttl: float | None = None,
        max_channels: int | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._loader = loader
        self._ttl = ttl
        limit: int | Callable[[], int] = max_channels if max_channels is not None else receiver_state_cache_max_channels
        self._known: BoundedTTLCache[str, _Entry] = BoundedTTLCache(limit, clock=clock)
        self._unknown: BoundedTTLCache[str, _Entry] = BoundedTTLCache(limit, clock=clock)
        self._locks = [threading.Lock() for _ in range(_LOCK_STRIPES)]
        self.clock = clock
        #: Reads done through the loader (for tests and the benchmark's report).
        self.reads = 0

    def ttl(self) -> float:
        """Seconds a read is reused now."""
        return self._ttl if self._ttl is not None else receiver_state_cache_seconds()

    def _entry(self, channel: str, ttl: float) -> _Entry | None:
        return self._known.get(channel, ttl) or self._unknown.get(channel, ttl)

    def _store(self, channel: str, entry: _Entry) -> None:
        keep, drop = (self._known, self._unknown) if entry.state is not None else (self._unknown, self._known)
        drop.pop(channel)
        keep.put(channel, entry, stored_at=entry.read_at)

    def cached(self, channel: str, bearers: Sequence[str]) -> Authenticated | _Miss | None:
        """Decide from the cache alone: accepted, refused (None), or :data:`MISS`. No I/O.

        :param channel: A valid channel name.
        :param bearers: The presented secrets (:func:`~.envelope.presented_bearers`), not empty.
        """
        ttl = self.ttl()
        entry = self._entry(channel, ttl)
        if entry is None:
            return MISS
        matched = _match(entry.state, bearers)
        if matched is not None and entry.state is not None:
            return Authenticated(entry.state, matched)
        if entry.refused_recently([hash_secret(b) for b in bearers], self.clock(), ttl):
            return None
        return MISS

    def refresh(self, channel: str, bearers: Sequence[str], requested_at: float) -> Authenticated | None:
        """Decide with a state read at or after ``requested_at`` (reading it unless another request just did).

        :param channel: A valid channel name.
        :param bearers: The presented secrets, not empty.
        :param requested_at: When the request arrived (clock seconds).
        :raises Exception: Whatever the loader raises (nothing is cached then).
        """
        ttl = self.ttl()
        with self._locks[zlib.crc32(channel.encode()) % _LOCK_STRIPES]:
            entry = self._entry(channel, float("inf"))
            fresh = entry is not None and self.clock() - entry.read_at < ttl
            if entry is not None and fresh and entry.state is not None:
                # A read that another request just made: a secret it accepts is accepted, even when that
                # read began before this request arrived (a retired secret still stops within the TTL, as
                # from the cache). Only a secret it does not know needs a read that began after the
                # arrival: a new secret works at once. Without this, requests arriving during a read
                # queued behind the lock and read again, one after another.
                matched = _match(entry.state, bearers)
                if matched is not None:
                    return Authenticated(entry.state, matched)
            if entry is None or entry.read_at < requested_at or not fresh:
                read_at = self.clock()
                state = self._loader(channel)
                self.reads += 1
                accepted = set(state.secret_sha256) if state is not None else set()
                refused = tuple((h, at) for h, at in (entry.refused if entry else ()) if h not in accepted)
                entry = _Entry(state, read_at, refused)
                self._store(channel, entry)
            matched = _match(entry.state, bearers)
            if matched is not None and entry.state is not None:
                return Authenticated(entry.state, matched)
            if ttl > 0:
                self._store(channel, entry.with_refused([hash_secret(b) for b in bearers], self.clock(), ttl))
            return None

    def clear(self) -> None:
        """Forget every channel."""
        self._known.clear()
        self._unknown.clear()
