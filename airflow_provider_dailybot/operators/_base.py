"""What every DailyBot operator shares: the base class, UI colours and small argument helpers.

The helpers read the create operator's XCom, build a receiver channel's inlet, and check the static
arguments at DAG parse time.

The module imports ``airflow.sdk`` and Airflow-free parts of the provider only; the hook and the
channel store are imported on first use inside a task.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta, timezone
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

from airflow_provider_dailybot.connection import DEFAULT_CONN_ID
from airflow_provider_dailybot.webhooks.assets import dailybot_webhook_asset, validate_channel_name

if TYPE_CHECKING:
    from airflow.sdk import Asset

    from airflow_provider_dailybot.hooks.dailybot import DailyBotHook
    from airflow_provider_dailybot.webhooks.channels import ChannelChange, ChannelState, TaskChannelStore

__all__ = [
    "DEFAULT_CONN_ID",
    "UI_COLOR",
    "UI_FG_COLOR",
    "DailyBotBaseOperator",
    "_DailyBotOperator",
    "channel_inlets",
    "optional_channel",
    "subscription_field",
    "target_hook_id",
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


def target_hook_id(hook_id: object, subscription: object, *, purpose: str) -> str:
    """Return the hook id a task acts on: ``hook_id``, else the one in ``subscription`` (the create XCom).

    :param hook_id: The task's ``hook_id`` argument (rendered).
    :param subscription: The task's ``subscription`` argument (rendered).
    :param purpose: What the task does with it (``"delete"``, ``"verify"``), for the message.
    :raises ValueError: When neither gives a non-empty hook id (e.g. an XCom that was never pushed).
    """
    value = hook_id or subscription_field(subscription, "hook_id")
    if not isinstance(value, str) or not value.strip() or value.strip() == "None":
        raise ValueError(f"No hook id to {purpose} (got {value!r}): pass hook_id, or subscription=<create task>.output")
    return value.strip()


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
        self.check_static({"dailybot_conn_id": (dailybot_conn_id, require_text("dailybot_conn_id"))})

    def check_static(self, checks: dict[str, tuple[object, Any]]) -> None:
        """Check the arguments known at parse time (see :func:`check_static`); errors name this task.

        :param checks: Argument name -> (value, check).
        """
        check_static(f"{type(self).__name__} {self.task_id!r}", checks, templated=self.template_fields)

    @cached_property
    def hook(self) -> DailyBotHook:
        """The DailyBot hook for ``dailybot_conn_id`` (built on first use, after templates are rendered)."""
        from airflow_provider_dailybot.hooks.dailybot import DailyBotHook

        if not isinstance(self.dailybot_conn_id, str) or not self.dailybot_conn_id.strip():
            raise ValueError(f"dailybot_conn_id must be a non-empty string, got {self.dailybot_conn_id!r}")
        return DailyBotHook(dailybot_conn_id=self.dailybot_conn_id.strip())

    @cached_property
    def _channel_store(self) -> TaskChannelStore:
        """The channel store of this task (one per run, so an append starts where the last read ended)."""
        from airflow_provider_dailybot.webhooks.channels import TaskChannelStore

        return TaskChannelStore()

    def _load_state(self, channel: str) -> ChannelState:
        """Return the channel's state (empty when the channel has none yet)."""
        from airflow_provider_dailybot.webhooks.channels import ChannelState

        return self._channel_store.load(channel) or ChannelState(channel=channel)

    def _record_change(self, change: ChannelChange, *, slot: int | None = None) -> int:
        """Write ``change`` as a new change record of its channel, or rewrite this task's record in ``slot``.

        Never rewrites what another task wrote (see :mod:`~airflow_provider_dailybot.webhooks.channels`).
        """
        if slot is None:
            return self._channel_store.append(change)
        self._channel_store.rewrite(change, slot)
        return slot


#: The 0.1 name of :class:`DailyBotBaseOperator`, kept for subclasses written against it.
_DailyBotOperator = DailyBotBaseOperator


# -- parse-time checks of static arguments ------------------------------------------------------------
# A DAG file is parsed long before its tasks run: a typo in a literal argument must be a DAG import
# error, not a failure half a minute into a run. Values known only when the task runs (Jinja strings,
# XCom references) are checked then, by the task itself, exactly as before.


def is_deferred(value: object) -> bool:
    """Return True when ``value`` is known only when the task runs.

    That is a string holding Jinja (``{{`` or ``{%``), or an object Airflow resolves at run time
    (``XComArg`` such as ``task.output``, a mapped argument, ``literal(...)``).

    :param value: An argument as given in the DAG file.
    """
    if isinstance(value, str):
        return "{{" in value or "{%" in value
    return hasattr(value, "resolve") and hasattr(value, "iter_references")


def static_items(value: object) -> list[object] | None:
    """Return the items of a list argument that are known at parse time, or None when the whole is deferred.

    A single static string stands for a one-item list.

    :param value: A list argument as given in the DAG file.
    """
    if value is None or is_deferred(value):
        return None
    if isinstance(value, (list, tuple)):
        return [item for item in value if not is_deferred(item)]
    return [value]


def check_static(owner: str, checks: dict[str, tuple[object, Any]], *, templated: Collection[str] = ()) -> None:
    """Run ``check(value)`` for every argument whose value is known at parse time.

    A value Airflow resolves at run time (:func:`is_deferred`) is skipped only for the arguments in
    ``templated``: anywhere else a Jinja string is never rendered, so it is checked as the literal it is.

    :param owner: Who is checked, for the message, e.g. ``"DailyBotCreateWebhookSubscriptionOperator 'create'"``.
    :param checks: Argument name -> (value, check); a check raises ``ValueError`` or ``TypeError``.
    :param templated: The template fields of the task.
    :raises ValueError: Or ``TypeError``: the check's error, prefixed with ``owner``.
    """
    for argument, (value, check) in checks.items():
        if value is None or (argument in templated and is_deferred(value)):
            continue
        try:
            check(value)
        except (TypeError, ValueError) as err:
            raise type(err)(f"{owner}: {err}") from None


def require_bool(argument: str) -> Any:
    """Return a check that ``value`` is a bool.

    :param argument: The argument name used in the message.
    """

    def check(value: object) -> None:
        if not isinstance(value, bool):
            raise TypeError(f"{argument} must be True or False, got {value!r}")

    return check


def require_number(argument: str, *, integer: bool = False, minimum: float = 0, inclusive: bool = False) -> Any:
    """Return a check that ``value`` is a number above ``minimum`` (or at least it, when ``inclusive``).

    :param argument: The argument name used in the message.
    :param integer: Require an ``int``.
    :param minimum: The bound.
    :param inclusive: Accept ``minimum`` itself.
    """
    kind = "an integer" if integer else "a number"
    bound = f"at least {minimum:g}" if inclusive else f"greater than {minimum:g}"

    def check(value: object) -> None:
        types: tuple[type, ...] = (int,) if integer else (int, float)
        if isinstance(value, bool) or not isinstance(value, types):
            raise TypeError(f"{argument} must be {kind} {bound}, got {value!r}")
        if not (value >= minimum if inclusive else value > minimum):  # type: ignore[operator]
            raise ValueError(f"{argument} must be {kind} {bound}, got {value!r}")

    return check


def require_text(argument: str) -> Any:
    """Return a check that ``value`` is a non-empty string.

    :param argument: The argument name used in the message.
    """

    def check(value: object) -> None:
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f"{argument} must be a non-empty string, got {value!r}")

    return check


def require_event_names(argument: str, *, allow_unknown: object = False) -> Any:
    """Return a check of a list of DailyBot event names (the static items of it); the message lists the valid ones.

    :param argument: The argument name used in the message.
    :param allow_unknown: Let through well-formed names the provider does not know yet.
    """
    from airflow_provider_dailybot.events import validate_event_names

    def check(value: object) -> None:
        items = static_items(value)
        if items or (isinstance(value, (list, tuple)) and not value):
            validate_event_names(items, allow_unknown=allow_unknown is True, argument=argument)

    return check


def require_uuids(argument: str) -> Any:
    """Return a check that the static items of a list are UUIDs.

    :param argument: The argument name used in the message.
    """
    from airflow_provider_dailybot.events import validate_uuids

    def check(value: object) -> None:
        items = static_items(value)
        if items:
            validate_uuids(items, argument=argument)

    return check


def require_timedelta(argument: str) -> Any:
    """Return a check that ``value`` is a positive ``timedelta``.

    :param argument: The argument name used in the message.
    """

    def check(value: object) -> None:
        if not isinstance(value, timedelta) or value <= timedelta(0):
            raise ValueError(f"{argument} must be a positive datetime.timedelta, got {value!r}")

    return check


def static_hook_url(*, allow_insecure: bool) -> Any:
    """Return a check that ``value`` is a delivery URL DailyBot can post to (absolute http(s), https unless allowed).

    :param allow_insecure: Accept plain ``http`` to any host.
    """

    def check(value: object) -> None:
        from airflow_provider_dailybot.hooks.dailybot import validate_hook_url

        validate_hook_url(value, allow_insecure=allow_insecure)

    return check
