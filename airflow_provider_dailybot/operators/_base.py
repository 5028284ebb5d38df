"""What every DailyBot operator shares: the base class, UI colours and small argument helpers.

The helpers read the create operator's XCom, build a receiver channel's inlet, and check the static
arguments at DAG parse time.

The module imports ``airflow.sdk`` and Airflow-free parts of the provider only; the hook and the
channel store are imported on first use inside a task.
"""

from __future__ import annotations

from datetime import datetime, timezone
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

from airflow_provider_dailybot.connection import DEFAULT_CONN_ID
from airflow_provider_dailybot.webhooks.assets import dailybot_webhook_asset, validate_channel_name

if TYPE_CHECKING:
    from airflow.sdk import Asset

    from airflow_provider_dailybot.hooks.dailybot import DailyBotHook
    from airflow_provider_dailybot.webhooks.channels import ChannelState

__all__ = [
    "DEFAULT_CONN_ID",
    "UI_COLOR",
    "UI_FG_COLOR",
    "DailyBotBaseOperator",
    "_DailyBotOperator",
    "channel_inlets",
    "optional_channel",
    "subscription_field",
    "utc_now_iso",
]

UI_COLOR = "#ffc85e"  # DailyBot's yellow
UI_FG_COLOR = "#1a1a1a"


def utc_now_iso() -> str:
    """Return the current UTC time as an ISO 8601 string (the ``created_at`` of a subscription)."""
    return datetime.now(tz=timezone.utc).isoformat()


def optional_channel(channel: object) -> str | None:
    """Return a valid channel name, or None for ``None``/``""``; raise ``ValueError`` naming the rule.

    :param channel: The channel argument as rendered.
    """
    if channel is None or channel == "":
        return None
    try:
        return validate_channel_name(channel)
    except ValueError as err:
        raise ValueError(f"channel: {err}") from None


def subscription_field(value: object, key: str) -> Any:
    """Read ``key`` from a subscription given as the create operator's XCom dict, or return ``value`` itself.

    :param value: A dict (the create operator's return value) or a plain value.
    :param key: The key to read from a dict, e.g. ``"hook_id"``.
    """
    if isinstance(value, dict):
        return value.get(key)
    # A bare value (e.g. a hook id string) stands only for the hook id, never for its URL or channel.
    return value if key == "hook_id" else None


def channel_inlets(channel: str, inlets: object) -> tuple[str, Asset, list[Any]]:
    """Validate ``channel`` and return it, its asset, and ``inlets`` with that asset added (once).

    A task that reads a channel's deliveries through ``inlet_events`` must declare the channel's asset
    in its ``inlets``; this builds that list from what the DAG author passed.

    :param channel: The receiver channel (a literal: it decides the task's inlets at parse time).
    :param inlets: The ``inlets`` argument as given (None, one item or a list).
    :raises ValueError: When the channel name is invalid.
    """
    name = validate_channel_name(channel)
    asset = dailybot_webhook_asset(name)
    if inlets is None:
        listed: list[Any] = []
    elif isinstance(inlets, (list, tuple)):
        listed = list(inlets)
    else:
        listed = [inlets]
    if asset not in listed:
        listed.append(asset)
    return name, asset, listed


class DailyBotBaseOperator(BaseOperator):
    """Base of the DailyBot operators: the connection id, the cached hook and the channel store.

    :param dailybot_conn_id: The DailyBot connection. (templated in the subclasses)
    """

    ui_color = UI_COLOR
    ui_fgcolor = UI_FG_COLOR

    def __init__(self, *, dailybot_conn_id: str = DEFAULT_CONN_ID, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.dailybot_conn_id = dailybot_conn_id

    @cached_property
    def hook(self) -> DailyBotHook:
        """The DailyBot hook for ``dailybot_conn_id`` (built on first use, after templates are rendered)."""
        from airflow_provider_dailybot.hooks.dailybot import DailyBotHook

        if not isinstance(self.dailybot_conn_id, str) or not self.dailybot_conn_id.strip():
            raise ValueError(f"dailybot_conn_id must be a non-empty string, got {self.dailybot_conn_id!r}")
        return DailyBotHook(dailybot_conn_id=self.dailybot_conn_id.strip())

    @staticmethod
    def _load_state(channel: str) -> ChannelState:
        from airflow_provider_dailybot.webhooks.channels import ChannelState, TaskChannelStore

        return TaskChannelStore().load(channel) or ChannelState(channel=channel)

    @staticmethod
    def _save_state(state: ChannelState) -> None:
        from airflow_provider_dailybot.webhooks.channels import TaskChannelStore

        TaskChannelStore().save(state)


#: The 0.1 name of :class:`DailyBotBaseOperator`, kept for subclasses written against it.
_DailyBotOperator = DailyBotBaseOperator
