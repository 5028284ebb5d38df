"""Configuration of the webhook receiver, and the one place that defines its public address.

Options (section ``[dailybot]`` of ``airflow.cfg``, or ``AIRFLOW__DAILYBOT__<OPTION>`` variables):

``receiver_base_url``
    Public base URL of the receiver, e.g. ``https://airflow.example.com/dailybot``. When unset it is
    ``[api] base_url`` followed by :data:`RECEIVER_URL_PREFIX`. Set it when DailyBot reaches the
    api-server through another address (a reverse proxy or a tunnel).
``receiver_max_body_bytes``
    Largest delivery body accepted, in bytes (default 1 MiB). Larger requests get 413.
``receiver_body_timeout_seconds``
    How long (default 30 s, at least 1) an authenticated delivery's body may take to arrive, from the
    moment its headers were read. A client that trickles or stalls gets 408 and its connection is
    closed, so it holds nothing (no thread, no transaction: the body is read before either) past this.
``receiver_dedupe_window_seconds``
    Only used when the delivery store is created or upgraded from 0.1 (``airflow db migrate``): how
    far back (in seconds, default 600) the asset events a 0.1 receiver recorded are copied into the
    delivery table, so that a delivery recorded by 0.1 and repeated after the upgrade is still a
    duplicate. ``0`` copies none. From 0.2 on, duplicates are detected by the table's unique key for
    as long as rows are kept (``receiver_retention_days``), whatever this option says.
``receiver_retention_days``
    How many days (default 30, at least 1) a stored delivery is kept: ``airflow dailybot deliveries
    purge`` deletes older ones. A purged delivery is no longer recognised as a duplicate.
``channel_state_max_records``
    Most change records of one channel's state that are read (default 1000, see
    :mod:`.channels`). A channel with more is refused as unreadable (its deliveries get 401, its
    operators fail) until it is compacted. Every operator run that changes a channel adds one record.
``receiver_state_cache_seconds``
    How long (default 5 s, ``0`` turns caching off) an api-server process reuses what it read about
    a channel: its accepted secrets, the secrets it refused, and whether a DAG consumes its asset.
    A new secret works at once (a secret that matches nothing cached is looked up again), a retired
    secret is refused within this time.
``receiver_state_cache_max_channels``
    How many channels (default 1024) each api-server process keeps in that cache; the least recently
    used are dropped first. Names of unknown channels are kept apart, in a cache of the same size, so
    requests to made-up channels never push out the real ones.
``receiver_retry_after_seconds``
    The ``Retry-After`` (default 30 s) of the 503 answered while the metadata database is unreachable.

Every function reads the configuration when called, so nothing here is evaluated at import time; an
integer option is reused for at most a second unless its environment variable changes (see ``_get_int``).
"""

from __future__ import annotations

import os
import time

from airflow_provider_dailybot import validation
from airflow_provider_dailybot.webhooks.assets import validate_channel_name

#: Path under which the plugin mounts the receiver on the api-server.
RECEIVER_URL_PREFIX = "/dailybot"
#: Path of a channel's endpoint inside the receiver; ``{channel}`` is the channel name.
CHANNEL_PATH_TEMPLATE = "/webhooks/{channel}"

CONFIG_SECTION = "dailybot"
DEFAULT_MAX_BODY_BYTES = 1024 * 1024
DEFAULT_BODY_TIMEOUT_SECONDS = 30
DEFAULT_DEDUPE_WINDOW_SECONDS = 600
DEFAULT_RETENTION_DAYS = 30
DEFAULT_CHANNEL_STATE_MAX_RECORDS = 1000
DEFAULT_STATE_CACHE_SECONDS = 5
DEFAULT_STATE_CACHE_MAX_CHANNELS = 1024
DEFAULT_RETRY_AFTER_SECONDS = 30


def _get(section: str, key: str) -> str | None:
    from airflow.configuration import conf

    value = conf.get(section, key, fallback=None)
    if value is None:
        return None
    value = str(value).strip()
    return value or None


#: Seconds an integer option read from Airflow's configuration is reused (its environment variable is
#: checked on every call, so a change there applies at once; Airflow reads ``airflow.cfg`` only at start-up).
_INT_OPTION_REUSE_SECONDS = 1.0
_int_options: dict[str, tuple[str | None, float, int]] = {}


def _get_int(key: str, default: int, *, minimum: int) -> int:
    """Return an integer option; reused for a second unless its ``AIRFLOW__DAILYBOT__<KEY>`` variable changed.

    The receiver reads several options per request and ``conf.get`` costs about as much as the rest of
    a refused request, hence the short reuse.
    """
    env_value = os.environ.get(f"AIRFLOW__{CONFIG_SECTION.upper()}__{key.upper()}")
    now = time.monotonic()
    cached = _int_options.get(key)
    if cached is not None and cached[0] == env_value and now - cached[1] < _INT_OPTION_REUSE_SECONDS:
        return cached[2]
    raw = _get(CONFIG_SECTION, key)
    value = default if raw is None else validation.parse_int(raw, f"[{CONFIG_SECTION}] {key}", minimum=minimum)
    _int_options[key] = (env_value, now, value)
    return value


def receiver_max_body_bytes() -> int:
    """Return ``[dailybot] receiver_max_body_bytes`` (default 1 MiB), the largest accepted body."""
    return _get_int("receiver_max_body_bytes", DEFAULT_MAX_BODY_BYTES, minimum=1)


def receiver_body_timeout_seconds() -> int:
    """Return ``[dailybot] receiver_body_timeout_seconds`` (default 30, at least 1): the time a body may take."""
    return _get_int("receiver_body_timeout_seconds", DEFAULT_BODY_TIMEOUT_SECONDS, minimum=1)


def receiver_dedupe_window_seconds() -> int:
    """Return ``[dailybot] receiver_dedupe_window_seconds`` (default 600).

    Only the 0.1 backfill of the delivery store reads it: how far back asset events of a 0.1 receiver
    are copied into the table (0: none). Duplicate detection itself no longer has a window.
    """
    return _get_int("receiver_dedupe_window_seconds", DEFAULT_DEDUPE_WINDOW_SECONDS, minimum=0)


def receiver_retention_days() -> int:
    """Return ``[dailybot] receiver_retention_days`` (default 30, at least 1): how long deliveries are kept."""
    return _get_int("receiver_retention_days", DEFAULT_RETENTION_DAYS, minimum=1)


def channel_state_max_records() -> int:
    """Return ``[dailybot] channel_state_max_records`` (default 1000), the most change records read per channel."""
    return _get_int("channel_state_max_records", DEFAULT_CHANNEL_STATE_MAX_RECORDS, minimum=1)


def receiver_state_cache_seconds() -> int:
    """Return ``[dailybot] receiver_state_cache_seconds`` (default 5; 0: no cache): how long channel state is reused."""
    return _get_int("receiver_state_cache_seconds", DEFAULT_STATE_CACHE_SECONDS, minimum=0)


def receiver_state_cache_max_channels() -> int:
    """Return ``[dailybot] receiver_state_cache_max_channels`` (default 1024, at least 1): channels cached."""
    return _get_int("receiver_state_cache_max_channels", DEFAULT_STATE_CACHE_MAX_CHANNELS, minimum=1)


def receiver_retry_after_seconds() -> int:
    """Return ``[dailybot] receiver_retry_after_seconds`` (default 30, at least 1): ``Retry-After`` of a 503."""
    return _get_int("receiver_retry_after_seconds", DEFAULT_RETRY_AFTER_SECONDS, minimum=1)


def _checked_base(url: str, option: str) -> str:
    validation.http_url(url, option, query=False, credentials=True)
    return url.rstrip("/")


def receiver_base_url() -> str:
    """Return the public base URL of the receiver, without a trailing slash.

    ``[dailybot] receiver_base_url`` when set, otherwise ``[api] base_url`` + ``/dailybot``.

    :raises ValueError: When neither option is set, or the value is not an absolute http(s) URL.
    """
    override = _get(CONFIG_SECTION, "receiver_base_url")
    if override is not None:
        return _checked_base(override, f"[{CONFIG_SECTION}] receiver_base_url")
    api_base = _get("api", "base_url")
    if api_base is None:
        raise ValueError(
            "The public address of the DailyBot webhook receiver is unknown: set [api] base_url "
            "(AIRFLOW__API__BASE_URL) to the address DailyBot can reach the api-server at, or set "
            "[dailybot] receiver_base_url (AIRFLOW__DAILYBOT__RECEIVER_BASE_URL) to the receiver's full base URL."
        )
    return _checked_base(api_base, "[api] base_url") + RECEIVER_URL_PREFIX


def channel_hook_url(channel: str) -> str:
    """Return the URL DailyBot must POST a channel's deliveries to (the subscription's ``hook_url``).

    :param channel: The channel name, e.g. ``"checkins"``.
    :raises ValueError: When the channel name is invalid or the public address is not configured.
    """
    return receiver_base_url() + CHANNEL_PATH_TEMPLATE.format(channel=validate_channel_name(channel))
