"""``airflow dailybot``: channels, subscriptions and stored deliveries from the command line.

* Airflow 3.2+: the provider info's ``"cli"`` key names :func:`get_cli_commands`; Airflow's
  ``ProvidersManager`` calls it while building the ``airflow`` parser, so ``airflow dailybot ...``
  works as soon as the provider is installed.
* Airflow 3.1 ignores that key: run ``python -m airflow_provider_dailybot.cli ...`` (same commands,
  same options; :mod:`.__main__`).

Commands (see ``--help`` of each): ``channels list|show``, ``subscriptions list``,
``deliveries list|show|replay|purge``. They read and write the metadata database, so run them where
``airflow db`` commands work (not in a task: Airflow 3 tasks have no database access). Secrets are
shown only as hash prefixes and references (:mod:`airflow_provider_dailybot.webhooks.channel_listing`).

This module and :mod:`.definitions` import nothing heavy: every ``airflow`` invocation calls
:func:`get_cli_commands`; the command functions (:mod:`.commands`) are imported only when one runs.
"""

from __future__ import annotations

from typing import Any

from airflow_provider_dailybot.cli.definitions import DAILYBOT, Action, Group


def _to_airflow(node: Action | Group) -> Any:
    from airflow.cli.cli_config import ActionCommand, Arg, GroupCommand, lazy_load_command

    if isinstance(node, Group):
        return GroupCommand(name=node.name, help=node.help, subcommands=tuple(_to_airflow(c) for c in node.commands))
    return ActionCommand(
        name=node.name,
        help=node.help,
        func=lazy_load_command(node.func_path),
        args=tuple(Arg(option.flags, **dict(option.kwargs)) for option in node.options),
    )


def get_cli_commands() -> list[Any]:
    """Return the ``dailybot`` command group for Airflow's CLI (provider info ``"cli"``, Airflow 3.2+)."""
    return [_to_airflow(DAILYBOT)]
