"""The receiver's per-process channel-state cache (webhooks/state_cache.py) with a counting loader and a fake clock."""

from __future__ import annotations

import threading
import time

import pytest

from airflow_provider_dailybot.webhooks.caching import BoundedTTLCache
from airflow_provider_dailybot.webhooks.channels import ChannelState, generate_secret, hash_secret
from airflow_provider_dailybot.webhooks.state_cache import (
    MAX_REFUSED_PER_CHANNEL,
    MISS,
    Authenticated,
    ChannelStateCache,
)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Channels:
    """The 'database': channel states by name, and how often each was read."""

    def __init__(self) -> None:
        self.states: dict[str, ChannelState] = {}
        self.reads: list[str] = []

    def add(self, name: str, *secrets: str) -> None:
        state = ChannelState(channel=name)
        for secret in secrets:
            state.add_secret(secret)
        self.states[name] = state

    def load(self, name: str) -> ChannelState | None:
        self.reads.append(name)
        found = self.states.get(name)
        return None if found is None else ChannelState.from_json(name, found.to_json())  # a copy, as a read is


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def channels() -> Channels:
    return Channels()


def authenticate(cache: ChannelStateCache, channel: str, secret: str, clock: Clock) -> Authenticated | None:
    """What the receiver does: the cache first, a read (refresh) only on a miss. Each request arrives 1 ms later."""
    clock.now += 0.001
    decided = cache.cached(channel, [secret])
    if decided is MISS:
        return cache.refresh(channel, [secret], clock())
    assert decided is None or isinstance(decided, Authenticated)
    return decided


def make(channels: Channels, clock: Clock, *, ttl: float = 5, max_channels: int = 16) -> ChannelStateCache:
    return ChannelStateCache(channels.load, ttl=ttl, max_channels=max_channels, clock=clock)


def test_an_accepted_secret_is_read_once_per_ttl(channels: Channels, clock: Clock) -> None:
    secret = generate_secret()
    channels.add("checkins", secret)
    cache = make(channels, clock)

    first = authenticate(cache, "checkins", secret, clock)
    assert first is not None
    assert first.secret_sha256 == hash_secret(secret)
    for _ in range(10):
        clock.now += 0.4
        assert authenticate(cache, "checkins", secret, clock) is not None
    assert channels.reads == ["checkins"]
    clock.now += 1.1  # 5.1 s after the read: expired
    assert authenticate(cache, "checkins", secret, clock) is not None
    assert channels.reads == ["checkins", "checkins"]


def test_a_new_secret_works_at_once(channels: Channels, clock: Clock) -> None:
    old, new = generate_secret(), generate_secret()
    channels.add("checkins", old)
    cache = make(channels, clock)
    assert authenticate(cache, "checkins", old, clock) is not None

    channels.add("checkins", old, new)  # the create task adds a secret; the sample delivery follows at once
    clock.now += 0.1
    assert authenticate(cache, "checkins", new, clock) is not None
    assert len(channels.reads) == 2  # the miss re-read the state


def test_a_repeated_wrong_secret_costs_one_read_per_ttl(channels: Channels, clock: Clock) -> None:
    channels.add("checkins", generate_secret())
    cache = make(channels, clock)
    wrong = generate_secret()

    for _ in range(20):
        assert authenticate(cache, "checkins", wrong, clock) is None
        clock.now += 0.2
    assert len(channels.reads) == 1
    clock.now += 1.1  # the refusal (and the read) expired
    assert authenticate(cache, "checkins", wrong, clock) is None
    assert len(channels.reads) == 2


def test_two_alternating_wrong_secrets_are_both_remembered(channels: Channels, clock: Clock) -> None:
    channels.add("checkins", generate_secret())
    cache = make(channels, clock)
    one, two = generate_secret(), generate_secret()
    for _ in range(5):
        assert authenticate(cache, "checkins", one, clock) is None
        assert authenticate(cache, "checkins", two, clock) is None
    assert len(channels.reads) == 2


def test_a_retired_secret_stops_working_within_the_ttl(channels: Channels, clock: Clock) -> None:
    old, new = generate_secret(), generate_secret()
    channels.add("checkins", old, new)
    cache = make(channels, clock)
    assert authenticate(cache, "checkins", old, clock) is not None

    channels.add("checkins", new)  # rotation retires the old secret
    clock.now += 4.9
    assert authenticate(cache, "checkins", old, clock) is not None  # still cached
    clock.now += 0.1
    assert authenticate(cache, "checkins", old, clock) is None
    assert authenticate(cache, "checkins", new, clock) is not None


def test_a_refused_secret_that_is_added_later_works_after_a_read(channels: Channels, clock: Clock) -> None:
    early = generate_secret()
    channels.add("checkins", generate_secret())
    cache = make(channels, clock)
    assert authenticate(cache, "checkins", early, clock) is None  # presented before it was added

    channels.add("checkins", early)
    clock.now += 5  # the refusal is forgotten with the read
    assert authenticate(cache, "checkins", early, clock) is not None


def test_a_new_channel_works_at_once(channels: Channels, clock: Clock) -> None:
    cache = make(channels, clock)
    secret = generate_secret()
    assert authenticate(cache, "later", generate_secret(), clock) is None  # not configured yet
    channels.add("later", secret)
    clock.now += 0.1
    assert authenticate(cache, "later", secret, clock) is not None


def test_ttl_zero_reads_every_time(channels: Channels, clock: Clock) -> None:
    secret = generate_secret()
    channels.add("checkins", secret)
    cache = make(channels, clock, ttl=0)
    for _ in range(3):
        clock.now += 0.01
        assert authenticate(cache, "checkins", secret, clock) is not None
        assert authenticate(cache, "checkins", "wrong", clock) is None
    assert len(channels.reads) == 6


def test_the_ttl_setting_is_read_per_request(channels: Channels, clock: Clock, monkeypatch: pytest.MonkeyPatch) -> None:
    secret = generate_secret()
    channels.add("checkins", secret)
    cache = ChannelStateCache(channels.load, max_channels=16, clock=clock)  # ttl from [dailybot]
    monkeypatch.setenv("AIRFLOW__DAILYBOT__RECEIVER_STATE_CACHE_SECONDS", "60")
    authenticate(cache, "checkins", secret, clock)
    clock.now += 30
    authenticate(cache, "checkins", secret, clock)
    assert len(channels.reads) == 1
    monkeypatch.setenv("AIRFLOW__DAILYBOT__RECEIVER_STATE_CACHE_SECONDS", "0")
    authenticate(cache, "checkins", secret, clock)
    assert len(channels.reads) == 2


def test_a_failed_read_is_not_cached(channels: Channels, clock: Clock) -> None:
    secret = generate_secret()
    channels.add("checkins", secret)
    failing = [True]

    def load(name: str) -> ChannelState | None:
        if failing[0]:
            raise RuntimeError("database down")
        return channels.load(name)

    cache = ChannelStateCache(load, ttl=5, max_channels=16, clock=clock)
    with pytest.raises(RuntimeError):
        authenticate(cache, "checkins", secret, clock)
    failing[0] = False
    assert authenticate(cache, "checkins", secret, clock) is not None


def test_known_channels_are_bounded_least_recently_used_first(channels: Channels, clock: Clock) -> None:
    secrets = {f"c{i}": generate_secret() for i in range(5)}
    for name, secret in secrets.items():
        channels.add(name, secret)
    cache = make(channels, clock, max_channels=3)
    for name in ("c0", "c1", "c2"):
        authenticate(cache, name, secrets[name], clock)
    authenticate(cache, "c0", secrets["c0"], clock)  # c0 used again: c1 is now the oldest
    authenticate(cache, "c3", secrets["c3"], clock)  # evicts c1
    channels.reads.clear()
    for name in ("c0", "c2", "c3"):
        authenticate(cache, name, secrets[name], clock)
    assert channels.reads == []
    authenticate(cache, "c1", secrets["c1"], clock)
    assert channels.reads == ["c1"]


def test_made_up_channel_names_never_push_out_real_channels(channels: Channels, clock: Clock) -> None:
    secret = generate_secret()
    channels.add("real", secret)
    cache = make(channels, clock, max_channels=4)
    authenticate(cache, "real", secret, clock)
    for i in range(100):
        assert authenticate(cache, f"made-up-{i}", secret, clock) is None
    assert len(cache._unknown) == 4  # bounded
    channels.reads.clear()
    assert authenticate(cache, "real", secret, clock) is not None
    assert channels.reads == []


def test_refused_hashes_per_channel_are_bounded(channels: Channels, clock: Clock) -> None:
    channels.add("checkins", generate_secret())
    cache = make(channels, clock)
    wrong = [generate_secret() for _ in range(MAX_REFUSED_PER_CHANNEL + 10)]
    for secret in wrong:
        authenticate(cache, "checkins", secret, clock)
    entry = cache._known.get("checkins", 5)
    assert entry is not None
    assert len(entry.refused) == MAX_REFUSED_PER_CHANNEL
    reads = len(channels.reads)
    authenticate(cache, "checkins", wrong[-1], clock)  # the newest are kept ...
    assert len(channels.reads) == reads
    authenticate(cache, "checkins", wrong[0], clock)  # ... the oldest forgotten: read again
    assert len(channels.reads) == reads + 1


def test_concurrent_misses_share_one_read(channels: Channels, clock: Clock) -> None:
    channels.add("checkins", generate_secret())
    started = threading.Event()
    release = threading.Event()

    def slow_load(name: str) -> ChannelState | None:
        started.set()
        release.wait(10)
        return channels.load(name)

    cache = ChannelStateCache(slow_load, ttl=5, max_channels=16, clock=clock)
    requested_at = clock()
    first = threading.Thread(target=cache.refresh, args=("checkins", ["wrong-0"], requested_at))
    first.start()
    assert started.wait(10)
    others = [
        threading.Thread(target=cache.refresh, args=("checkins", [f"wrong-{i}"], requested_at)) for i in range(1, 8)
    ]
    for thread in others:
        thread.start()
    time.sleep(0.2)  # the others now wait for the read in progress
    release.set()
    for thread in [first, *others]:
        thread.join(10)
    assert channels.reads == ["checkins"]


def test_a_read_older_than_the_request_is_not_reused(channels: Channels, clock: Clock) -> None:
    channels.add("checkins", generate_secret())
    cache = make(channels, clock)
    cache.refresh("checkins", ["wrong"], clock())
    clock.now += 1
    cache.refresh("checkins", ["other"], clock())  # arrived after that read: reads again
    assert len(channels.reads) == 2


def test_a_known_secret_that_arrived_during_a_read_is_accepted_from_it(channels: Channels, clock: Clock) -> None:
    """Requests queued behind a read do not read again for a secret it accepts (no convoy of reads)."""
    secret = generate_secret()
    channels.add("checkins", secret)
    cache = make(channels, clock)
    cache.refresh("checkins", [secret], clock())  # the read of the first request ...
    clock.now += 0.01  # ... during which these arrived
    answers = [cache.refresh("checkins", [secret], clock()) for _ in range(5)]
    assert all(isinstance(a, Authenticated) for a in answers)
    assert len(channels.reads) == 1
    # A secret that read does not know still needs a read that began after the request: it may be new.
    new = generate_secret()
    state = channels.states["checkins"]
    state.add_secret(new)
    assert isinstance(cache.refresh("checkins", [new], clock()), Authenticated)
    assert len(channels.reads) == 2


def test_a_known_secret_is_read_again_once_the_ttl_is_over(channels: Channels, clock: Clock) -> None:
    secret = generate_secret()
    channels.add("checkins", secret)
    cache = make(channels, clock, ttl=5)
    cache.refresh("checkins", [secret], clock())
    clock.now += 5  # expired: the secret may have been retired since
    channels.states["checkins"].remove_secret(secret)
    assert cache.refresh("checkins", [secret], clock()) is None  # read again: retired
    assert len(channels.reads) == 2


def test_bounded_ttl_cache_expires_and_evicts() -> None:
    clock = Clock()
    cache: BoundedTTLCache[str, int] = BoundedTTLCache(2, clock=clock)
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a", 5) == 1
    cache.put("c", 3)  # "b" is the least recently used
    assert cache.get("b", 5) is None
    assert cache.get("c", 5) == 3
    clock.now += 5
    assert cache.get("a", 5) is None
    assert cache.get("c", 0) is None
    assert len(cache) == 0
