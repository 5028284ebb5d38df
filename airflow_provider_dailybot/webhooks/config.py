"""Configuration of the webhook receiver, and the one place that defines its public address.

Options (section ``[dailybot]`` of ``airflow.cfg``, or ``AIRFLOW__DAILYBOT__<OPTION>`` variables):

``receiver_base_url``
    Public base URL of the receiver, e.g. ``https://airflow.example.com/dailybot``. When unset it is
    ``[api] base_url`` followed by :data:`RECEIVER_URL_PREFIX`. Set it when DailyBot reaches the
    api-server through another address (a reverse proxy or a tunnel).
``receiver_max_body_bytes``
    Largest delivery body accepted, in bytes (default 1 MiB). Larger requests get 413.
``receiver_dedupe_window_seconds``
    How far back (in seconds, default 600) a delivery is compared with recorded deliveries of the
    same channel to detect duplicates. ``0`` turns duplicate detection off.
``receiver_retention_days``
    How many days (default 30, at least 1) a stored delivery is kept: ``airflow dailybot deliveries
    purge`` deletes older ones. A purged delivery is no longer recognised as a duplicate.

Every function reads the configuration when called, so nothing here is evaluated at import time.
"""

from __future__ import annotations

from airflow_provider_dailybot import validation
from airflow_provider_dailybot.webhooks.assets import validate_channel_name

#: Path under which the plugin mounts the receiver on the api-server.
RECEIVER_URL_PREFIX = "/dailybot"
#: Path of a channel's endpoint inside the receiver; ``{channel}`` is the channel name.
CHANNEL_PATH_TEMPLATE = "/webhooks/{channel}"

CONFIG_SECTION = "dailybot"
DEFAULT_MAX_BODY_BYTES = 1024 * 1024
DEFAULT_DEDUPE_WINDOW_SECONDS = 600
DEFAULT_RETENTION_DAYS = 30


def _get(section: str, key: str) -> str | None:
    from airflow.configuration import conf

    value = conf.get(section, key, fallback=None)
    if value is None:
        return None
    value = str(value).strip()
    return value or None


def _get_int(key: str, default: int, *, minimum: int) -> int:
    raw = _get(CONFIG_SECTION, key)
    if raw is None:
        return default
    return validation.parse_int(raw, f"[{CONFIG_SECTION}] {key}", minimum=minimum)


def receiver_max_body_bytes() -> int:
    """Return ``[dailybot] receiver_max_body_bytes`` (default 1 MiB), the largest accepted body."""
    return _get_int("receiver_max_body_bytes", DEFAULT_MAX_BODY_BYTES, minimum=1)


def receiver_dedupe_window_seconds() -> int:
    """Return ``[dailybot] receiver_dedupe_window_seconds`` (default 600); 0 disables duplicate detection."""
    return _get_int("receiver_dedupe_window_seconds", DEFAULT_DEDUPE_WINDOW_SECONDS, minimum=0)


def receiver_retention_days() -> int:
    """Return ``[dailybot] receiver_retention_days`` (default 30, at least 1): how long deliveries are kept."""
    return _get_int("receiver_retention_days", DEFAULT_RETENTION_DAYS, minimum=1)


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
