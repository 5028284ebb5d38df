"""The commands of ``airflow dailybot``, described once for both ways of running them.

Airflow 3.2+ builds ``airflow dailybot ...`` from these (:func:`~airflow_provider_dailybot.cli.get_cli_commands`,
named by ``"cli"`` in the provider info); Airflow 3.1 ignores that key, and
``python -m airflow_provider_dailybot.cli ...`` builds a plain ``argparse`` parser from the same
definitions (:mod:`.__main__`). Pure: no Airflow import, so the ``airflow`` command, which reads the
provider's commands on every start, loads nothing else.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

#: Module holding the command functions (each takes the parsed ``argparse.Namespace``).
COMMANDS_MODULE = "airflow_provider_dailybot.cli.commands"
#: Most rows a listing may ask for (``--limit``).
MAX_LIMIT = 200


@dataclass(frozen=True)
class Option:
    """One argument: ``argparse.add_argument(*flags, **kwargs)`` (also Airflow's ``Arg(flags, **kwargs)``)."""

    flags: tuple[str, ...]
    kwargs: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Action:
    """A command that runs ``<COMMANDS_MODULE>.<func>(args)``."""

    name: str
    help: str
    func: str
    options: tuple[Option, ...] = ()

    @property
    def func_path(self) -> str:
        """The dotted path of the command function."""
        return f"{COMMANDS_MODULE}.{self.func}"


@dataclass(frozen=True)
class Group:
    """A group of commands (``channels``, ``deliveries`` …)."""

    name: str
    help: str
    commands: tuple[Action | Group, ...]


def positive_int(maximum: int | None = None) -> Any:
    """Return an ``argparse`` type accepting whole numbers from 1 to ``maximum``.

    :param maximum: The largest value accepted; None for no bound.
    """

    def parse(text: str) -> int:
        if not text.strip().isdigit() or int(text) < 1 or (maximum is not None and int(text) > maximum):
            bound = f" from 1 to {maximum}" if maximum is not None else ""
            raise argparse.ArgumentTypeError(f"expected a whole number{bound}, got {text!r}")
        return int(text)

    parse.__name__ = "positive_int"
    return parse


OUTPUT = Option(
    ("-o", "--output"),
    {"choices": ("table", "json"), "default": "table", "help": "Output format (default: table)."},
)
CHANNEL_FILTER = Option(("--channel",), {"help": "Only this channel."})
SINCE = Option(("--since",), {"help": "Only deliveries received at or after this ISO 8601 time (UTC unless zoned)."})
UNTIL = Option(("--until",), {"help": "Only deliveries received before this ISO 8601 time (UTC unless zoned)."})
YES = Option(("-y", "--yes"), {"action": "store_true", "help": "Do not ask for confirmation."})
DRY_RUN = Option(("--dry-run",), {"action": "store_true", "help": "Show what would be done; change nothing."})

DAILYBOT = Group(
    "dailybot",
    "DailyBot webhook channels, subscriptions and the delivery table",
    (
        Group(
            "channels",
            "Webhook channels (their state is an Airflow Variable each)",
            (
                Action(
                    "list", "List the channels with their secret and subscription counts", "channels_list", (OUTPUT,)
                ),
                Action(
                    "show",
                    "Show one channel: accepted secrets (hash prefixes only) and subscriptions",
                    "channels_show",
                    (Option(("channel",), {"help": "The channel name."}), OUTPUT),
                ),
            ),
        ),
        Group(
            "subscriptions",
            "Webhook subscriptions as the channels record them (DailyBot has no list endpoint)",
            (Action("list", "List the recorded subscriptions", "subscriptions_list", (CHANNEL_FILTER, OUTPUT)),),
        ),
        Group(
            "deliveries",
            "The stored webhook deliveries",
            (
                Action(
                    "list",
                    "List stored deliveries, newest first",
                    "deliveries_list",
                    (
                        CHANNEL_FILTER,
                        Option(("--event",), {"help": "Only this DailyBot event name."}),
                        Option(("--outcome",), {"choices": ("recorded", "no_consumer"), "help": "Only this outcome."}),
                        SINCE,
                        UNTIL,
                        Option(
                            ("--limit",),
                            {"type": positive_int(MAX_LIMIT), "default": 50, "help": f"Rows (1-{MAX_LIMIT}, 50)."},
                        ),
                        Option(
                            ("--before-id",),
                            {"type": positive_int(), "help": "Only rows older than this row id (the next page)."},
                        ),
                        OUTPUT,
                    ),
                ),
                Action(
                    "show",
                    "Show one delivery with its payload",
                    "deliveries_show",
                    (Option(("delivery_id",), {"help": "The receiver-assigned delivery id."}), OUTPUT),
                ),
                Action(
                    "replay",
                    "Record stored 'no consumer' deliveries as asset events now that a DAG consumes them (never twice)",
                    "deliveries_replay",
                    (
                        Option(("delivery_ids",), {"nargs": "*", "help": "Delivery ids (or select with the options)."}),
                        CHANNEL_FILTER,
                        SINCE,
                        UNTIL,
                        Option(
                            ("--limit",),
                            {"type": positive_int(), "default": 1000, "help": "Most deliveries recorded (1000)."},
                        ),
                        DRY_RUN,
                        YES,
                        OUTPUT,
                    ),
                ),
                Action(
                    "purge",
                    "Delete stored deliveries older than the retention, in bounded batches",
                    "deliveries_purge",
                    (
                        Option(
                            ("--older-than-days",),
                            {
                                "type": positive_int(),
                                "help": "Delete rows received more than this many days ago "
                                "(default: [dailybot] receiver_retention_days).",
                            },
                        ),
                        Option(
                            ("--batch-size",),
                            {"type": positive_int(10_000), "default": 1000, "help": "Rows per transaction (1000)."},
                        ),
                        DRY_RUN,
                        YES,
                    ),
                ),
            ),
        ),
    ),
)
