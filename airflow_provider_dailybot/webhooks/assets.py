"""Channel names and the Airflow asset that each webhook channel feeds.

A *channel* is a named receiver endpoint, ``POST <receiver base>/webhooks/<channel>``. Every
delivery accepted on a channel becomes an asset event on that channel's asset, so DAGs consume a
channel with ``schedule=[dailybot_webhook_asset("checkins")]`` or ``inlets=[...]``.

The module only imports ``airflow.sdk.Asset`` when :func:`dailybot_webhook_asset` is called, so the
receiver and the plugin can use the naming rules without loading the Task SDK definitions.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from airflow.sdk import Asset

#: Allowed channel names: 1 to 64 characters of lower-case letters, digits, ``_`` and ``-``.
CHANNEL_NAME_PATTERN = r"[a-z0-9_-]{1,64}"

_CHANNEL_NAME = re.compile(CHANNEL_NAME_PATTERN)

#: Prefix of the asset name (``dailybot_<channel>``) and of the asset URI (``dailybot://webhooks/<channel>``).
ASSET_NAME_PREFIX = "dailybot_"
ASSET_URI_PREFIX = "dailybot://webhooks/"


def is_valid_channel_name(name: object) -> bool:
    """Return True when ``name`` is a string that follows :data:`CHANNEL_NAME_PATTERN`.

    :param name: The candidate channel name.
    """
    return isinstance(name, str) and _CHANNEL_NAME.fullmatch(name) is not None


def validate_channel_name(name: object) -> str:
    """Return ``name`` unchanged when it is a valid channel name, otherwise raise ``ValueError``.

    :param name: The channel name, e.g. ``"checkins"``.
    :raises ValueError: When ``name`` does not match ``[a-z0-9_-]{1,64}``; the message states the rule.
    """
    if not is_valid_channel_name(name):
        raise ValueError(
            f"Invalid DailyBot webhook channel name {name!r}: use 1 to 64 characters of lower-case "
            f"letters, digits, '_' and '-' (pattern {CHANNEL_NAME_PATTERN})."
        )
    return str(name)


def webhook_asset_name(channel: str) -> str:
    """Return the asset name of a channel, ``dailybot_<channel>``.

    :param channel: A valid channel name.
    """
    return ASSET_NAME_PREFIX + validate_channel_name(channel)


def webhook_asset_uri(channel: str) -> str:
    """Return the asset URI of a channel, ``dailybot://webhooks/<channel>``.

    :param channel: A valid channel name.
    """
    return ASSET_URI_PREFIX + validate_channel_name(channel)


def dailybot_webhook_asset(channel: str) -> Asset:
    """Return the Airflow asset that receives the deliveries of ``channel``.

    Use it in ``schedule=[...]`` to start a DAG on every delivery, or in ``inlets=[...]`` to read the
    deliveries from a task through ``inlet_events``. The receiver records a delivery as an event of this
    asset when a DAG consumes it (an unpaused DAG scheduled on it, or a task with it in ``inlets``);
    until then it stores the delivery for a later ``airflow dailybot deliveries replay``.

    :param channel: The channel name (``[a-z0-9_-]{1,64}``), e.g. ``"checkins"``.
    :raises ValueError: When the channel name is invalid.
    """
    from airflow.sdk import Asset

    return Asset(name=webhook_asset_name(channel), uri=webhook_asset_uri(channel))
