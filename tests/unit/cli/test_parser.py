"""``airflow dailybot`` and ``python -m airflow_provider_dailybot.cli``: one set of commands, two parsers."""

from __future__ import annotations

import argparse
import importlib
import subprocess
import sys
from importlib.metadata import version

import pytest

from airflow_provider_dailybot.cli import get_cli_commands
from airflow_provider_dailybot.cli.__main__ import build_parser
from airflow_provider_dailybot.cli.definitions import DAILYBOT, MAX_LIMIT, Action, Group, positive_int

AIRFLOW_3_2_PLUS = tuple(int(p) for p in version("apache-airflow").split(".")[:2]) >= (3, 2)
COMMANDS = {
    ("channels", "list"),
    ("channels", "show"),
    ("subscriptions", "list"),
    ("deliveries", "list"),
    ("deliveries", "show"),
    ("deliveries", "replay"),
    ("deliveries", "purge"),
}


def _actions(node: Group, prefix: tuple[str, ...] = ()) -> dict[tuple[str, ...], Action]:
    found: dict[tuple[str, ...], Action] = {}
    for child in node.commands:
        if isinstance(child, Group):
            found.update(_actions(child, (*prefix, child.name)))
        else:
            found[(*prefix, child.name)] = child
    return found


def test_the_commands_are_the_issue_s_and_each_names_a_function_that_exists():
    actions = _actions(DAILYBOT)
    assert set(actions) == COMMANDS
    for action in actions.values():
        module, _, name = action.func_path.rpartition(".")
        assert callable(getattr(importlib.import_module(module), name))


def test_the_module_parser_takes_every_command():
    parser = build_parser()
    args = parser.parse_args(["deliveries", "list", "--channel", "checkins", "--limit", "20", "--before-id", "9"])
    assert (args.channel, args.limit, args.before_id, args.output) == ("checkins", 20, 9, "table")
    assert args.func == "airflow_provider_dailybot.cli.commands.deliveries_list"
    args = parser.parse_args(["deliveries", "replay", "a", "b", "--dry-run", "-o", "json"])
    assert (args.delivery_ids, args.dry_run, args.yes, args.output) == (["a", "b"], True, False, "json")
    args = parser.parse_args(["deliveries", "purge", "--older-than-days", "7", "--batch-size", "500", "-y"])
    assert (args.older_than_days, args.batch_size, args.yes) == (7, 500, True)
    assert parser.parse_args(["channels", "show", "checkins"]).channel == "checkins"
    assert parser.parse_args(["subscriptions", "list"]).channel is None


@pytest.mark.parametrize(
    "argv",
    [
        ["deliveries", "list", "--limit", "0"],
        ["deliveries", "list", "--limit", str(MAX_LIMIT + 1)],
        ["deliveries", "list", "--outcome", "duplicate"],
        ["deliveries", "purge", "--batch-size", "10001"],
        ["deliveries", "purge", "--older-than-days", "-1"],
        ["channels"],
        ["nothing"],
    ],
)
def test_the_module_parser_refuses_out_of_range_values(argv: list[str], capsys: pytest.CaptureFixture[str]):
    with pytest.raises(SystemExit) as raised:
        build_parser().parse_args(argv)
    assert raised.value.code == 2


def test_positive_int_bounds():
    parse = positive_int(10)
    assert parse("1") == 1
    assert parse("10") == 10
    for bad in ("0", "11", "-1", "x", "1.5", ""):
        with pytest.raises(argparse.ArgumentTypeError):
            parse(bad)


def test_airflow_s_command_tree_mirrors_the_definitions():
    from airflow.cli.cli_config import ActionCommand, GroupCommand

    (group,) = get_cli_commands()
    assert isinstance(group, GroupCommand)
    assert group.name == "dailybot"
    found = set()
    for sub in group.subcommands:
        assert isinstance(sub, GroupCommand)
        for action in sub.subcommands:
            assert isinstance(action, ActionCommand)
            found.add((sub.name, action.name))
            flags = {flag for arg in action.args for flag in arg.flags}
            assert flags == {f for o in _actions(DAILYBOT)[(sub.name, action.name)].options for f in o.flags}
    assert found == COMMANDS


def test_importing_the_cli_package_loads_no_command_code():
    probe = (
        "import sys; import airflow_provider_dailybot.cli as c; c.get_cli_commands(); "
        "print(sorted(m for m in sys.modules if m.startswith('airflow_provider_dailybot')))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True)
    loaded = done.stdout.strip().splitlines()[-1]
    assert "commands" not in loaded
    assert "store" not in loaded
    assert "delivery_log" not in loaded


@pytest.mark.skipif(not AIRFLOW_3_2_PLUS, reason="Airflow 3.1 ignores the provider info's 'cli' key")
def test_airflow_s_own_parser_has_airflow_dailybot():
    from airflow.cli import cli_parser

    parser = cli_parser.get_parser()
    args = parser.parse_args(["dailybot", "deliveries", "list", "--channel", "checkins", "-o", "json"])
    assert (args.channel, args.output, args.limit) == ("checkins", "json", 50)
    assert args.func.__name__ == "deliveries_list"


def test_the_provider_info_names_the_cli_function():
    from airflow_provider_dailybot.get_provider_info import get_provider_info

    (path,) = get_provider_info()["cli"]
    module, _, name = path.rpartition(".")
    assert getattr(importlib.import_module(module), name) is get_cli_commands
