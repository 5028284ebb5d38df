"""A literal mistake in a DAG file is a DAG import error, found by Airflow's own ``DagBag``, naming the valid values.

Each case writes a small DAG file and parses it as the dag-processor does. A templated value (Jinja,
``task.output``) is not known at parse time: such a DAG parses, and the task checks it when it runs
(``tests/integration/operators/test_operator_bad_input.py`` covers that side).
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_dailybot.events import KNOWN_EVENTS
from airflow_provider_dailybot.webhooks.assets import CHANNEL_NAME_PATTERN

HEADER = """
import datetime as dt
import pendulum
from airflow.sdk import DAG
from airflow_provider_dailybot.operators.export import DailyBotExportCheckinResponsesOperator
from airflow_provider_dailybot.operators.webhook_subscription import (
    DailyBotCreateWebhookSubscriptionOperator,
    DailyBotDeleteWebhookSubscriptionOperator,
    DailyBotPromoteWebhookSubscriptionOperator,
)
from airflow_provider_dailybot.sensors.webhook_delivery import DailyBotWebhookDeliverySensor
from airflow_provider_dailybot.task_groups.webhook_rotation import dailybot_webhook_rotation

with DAG("parse_check", schedule=None, start_date=pendulum.datetime(2026, 1, 1)):
"""
UUID = "0b9a1c2d-3e4f-4a5b-8c6d-7e8f9a0b1c2d"

#: Case -> (the task line of the DAG file, fragments the import error must contain).
MISTAKES: dict[str, tuple[str, list[str]]] = {
    "event typo": (
        'DailyBotCreateWebhookSubscriptionOperator(task_id="create", channel="checkins", '
        'events=["followup.response.complete"])',
        ["followup.response.complete", "did you mean 'followups.response.completed'", *KNOWN_EVENTS, "'create'"],
    ),
    "rotation event typo": (
        'dailybot_webhook_rotation(channel="checkins", events=["kudos.psted"])',
        ["kudos.psted", *KNOWN_EVENTS],
    ),
    "channel": (
        'DailyBotCreateWebhookSubscriptionOperator(task_id="create", channel="Bad Channel!", events=["kudos.posted"])',
        ["Bad Channel!", CHANNEL_NAME_PATTERN],
    ),
    "sensor channel": (
        'DailyBotWebhookDeliverySensor(task_id="verify", channel="Bad Channel!", hook_id="h")',
        ["Bad Channel!", CHANNEL_NAME_PATTERN],
    ),
    "hook url": (
        'DailyBotCreateWebhookSubscriptionOperator(task_id="create", hook_url="ftp://example.com/in", '
        'events=["kudos.posted"])',
        ["hook_url", "http(s)"],
    ),
    "uuid": (
        'DailyBotCreateWebhookSubscriptionOperator(task_id="create", channel="checkins", events=["kudos.posted"], '
        'subscribed_objects=["not-a-uuid"])',
        ["subscribed_objects", "not a UUID"],
    ),
    "number": (
        'DailyBotPromoteWebhookSubscriptionOperator(task_id="promote", channel="checkins", subscription={}, '
        "max_events=0)",
        ["max_events", "greater than 0"],
    ),
    "sensor since": (
        'DailyBotWebhookDeliverySensor(task_id="verify", channel="checkins", hook_id="h", since="last tuesday")',
        ["since", "ISO 8601"],
    ),
    "export destination": (
        'DailyBotExportCheckinResponsesOperator(task_id="export", checkin_id="c", destination="exports/out.jsonl")',
        ["destination", "absolute path"],
    ),
    "delete flag": (
        'DailyBotDeleteWebhookSubscriptionOperator(task_id="delete", hook_id="h", missing_ok="no")',
        ["missing_ok", "True or False"],
    ),
}

#: A DAG whose values are templated or XCom references: it must parse (they are checked at run time).
TEMPLATED = """
    create = DailyBotCreateWebhookSubscriptionOperator(
        task_id="create",
        channel="{{ var.value.dailybot_channel }}",
        events=["{{ var.value.dailybot_event }}", "kudos.posted"],
        subscribed_objects="{{ var.json.dailybot_objects }}",
        hook_url="{{ var.value.hook_url }}",
        name="{{ dag.dag_id }}",
        dailybot_conn_id="{{ var.value.conn }}",
    )
    DailyBotDeleteWebhookSubscriptionOperator(task_id="delete", subscription=create.output, channel="{{ 'x' }}")
    DailyBotWebhookDeliverySensor(task_id="verify", channel="checkins", subscription=create.output, since="{{ ts }}")
    DailyBotExportCheckinResponsesOperator(
        task_id="export", checkin_id="{{ var.value.checkin }}", destination="{{ var.value.base }}/{{ ds }}.jsonl",
        date_start="{{ ds }}", date_end="{{ ds }}",
    )
"""


def _parse(folder: Path, body: str) -> Any:
    try:
        from airflow.dag_processing.dagbag import DagBag  # Airflow 3.2+
    except ImportError:
        from airflow.models.dagbag import DagBag  # type: ignore[no-redef]  # Airflow 3.1
    path = folder / "parse_check.py"
    path.write_text(HEADER + textwrap.indent(textwrap.dedent(body).strip(), "    ") + "\n", encoding="utf-8")
    return path, DagBag(dag_folder=str(path))


@pytest.mark.parametrize("case", list(MISTAKES))
def test_literal_mistake_is_a_dag_import_error_naming_the_valid_values(tmp_path: Path, case: str) -> None:
    line, fragments = MISTAKES[case]
    path, bag = _parse(tmp_path, line)
    assert bag.dags == {} or "parse_check" not in bag.dags
    assert list(bag.import_errors) == [str(path)], bag.import_errors
    error = bag.import_errors[str(path)]
    missing = [fragment for fragment in fragments if fragment not in error]
    assert missing == [], error


def test_templated_values_still_parse(tmp_path: Path) -> None:
    _, bag = _parse(tmp_path, TEMPLATED)
    assert bag.import_errors == {}
    assert sorted(bag.dags["parse_check"].task_ids) == ["create", "delete", "export", "verify"]
