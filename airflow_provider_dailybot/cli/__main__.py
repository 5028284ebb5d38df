"""``python -m airflow_provider_dailybot.cli``: the ``airflow dailybot`` commands without Airflow's CLI.

For Airflow 3.1, whose CLI ignores the provider info's ``"cli"`` key; works on 3.2+ too. The parser is
built from :mod:`.definitions`, so both spellings take the same commands and options.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from airflow_provider_dailybot.cli.definitions import DAILYBOT, Action, Group

PROG = "python -m airflow_provider_dailybot.cli"


def _add(subparsers: argparse._SubParsersAction, node: Action | Group) -> None:
    parser = subparsers.add_parser(node.name, help=node.help, description=node.help)
    if isinstance(node, Group):
        children = parser.add_subparsers(dest=f"{node.name}_command", metavar="COMMAND", required=True)
        for child in node.commands:
            _add(children, child)
        return
    for option in node.options:
        parser.add_argument(*option.flags, **dict(option.kwargs))
    parser.set_defaults(func=node.func_path)


def build_parser() -> argparse.ArgumentParser:
    """Return the parser of ``python -m airflow_provider_dailybot.cli`` (the groups of ``airflow dailybot``)."""
    parser = argparse.ArgumentParser(prog=PROG, description=DAILYBOT.help)
    groups = parser.add_subparsers(dest="group", metavar="GROUP", required=True)
    for node in DAILYBOT.commands:
        _add(groups, node)
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    """Parse ``argv`` and run the command.

    :param argv: The arguments (``sys.argv[1:]`` by default).
    """
    args = build_parser().parse_args(argv)
    module, _, name = args.func.rpartition(".")
    getattr(importlib.import_module(module), name)(args)


if __name__ == "__main__":
    main(sys.argv[1:])
