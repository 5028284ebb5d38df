"""Export each day's DailyBot standups as JSON Lines, one object per day, and tell the team.

What it shows
    * ``export_standups`` (:class:`DailyBotExportCheckinResponsesOperator`) reads every page of a
      check-in's responses for *yesterday* (relative to the run's logical date) and writes them as
      JSON Lines to an Airflow ``ObjectStoragePath``: a local folder by default, a bucket when
      ``DAILYBOT_EXPORT_BASE`` is an ``s3://``, ``gs://`` … URL.
    * One object per day (``.../standups/<day>.jsonl``), rewritten whole by every run of that day:
      re-running a day or backfilling a range (``airflow backfill create --dag-id
      dailybot_standup_export --from-date ... --to-date ...``) never appends or duplicates.
    * Only the path and the row count go to XCom; ``tell_team``
      (:class:`DailyBotSendMessageOperator`) uses them in a message to a team.

What it needs
    * A ``dailybot`` connection ``dailybot_default`` (the API key in the password field).
    * ``DAILYBOT_CHECKIN_ID``: the check-in's id (``DailyBotHook().list_checkins()`` lists them; the
      fake server's *Daily Standup* is ``c8f1d4a2-3b6e-4f1a-9d2c-7e5b8a0f1c33``); without it, the
      Airflow Variable ``dailybot_checkin_id``, read when the task runs.
    * Optional ``DAILYBOT_EXPORT_BASE`` (default: ``dailybot-exports`` in the system's temporary directory) and
      ``DAILYBOT_EXPORT_CONN_ID``, the object storage's Airflow connection (e.g. ``aws_default``).
    * Optional ``DAILYBOT_SUMMARY_TEAM``: a team UUID; without it there is no ``tell_team`` task.

Nothing runs at parse time apart from reading these environment variables.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pendulum
from airflow.sdk import DAG

from airflow_provider_dailybot.operators.export import DailyBotExportCheckinResponsesOperator
from airflow_provider_dailybot.operators.message import DailyBotSendMessageOperator

# Without the variable, the Airflow Variable ``dailybot_checkin_id`` is read when the task runs (a literal
# empty id would be a DAG import error: the operator checks literal arguments at parse time).
CHECKIN_ID = os.environ.get("DAILYBOT_CHECKIN_ID") or "{{ var.value.dailybot_checkin_id }}"
EXPORT_BASE = (
    os.environ.get("DAILYBOT_EXPORT_BASE") or Path(tempfile.gettempdir(), "dailybot-exports").as_uri()
).rstrip("/")
EXPORT_CONN_ID = os.environ.get("DAILYBOT_EXPORT_CONN_ID") or None
SUMMARY_TEAM = os.environ.get("DAILYBOT_SUMMARY_TEAM", "")
DAY = "{{ macros.ds_add(ds, -1) }}"

with DAG(
    dag_id="dailybot_standup_export",
    schedule="@daily",
    start_date=pendulum.datetime(2025, 1, 1, tz="UTC"),
    catchup=False,
    tags=["example", "dailybot"],
    doc_md=__doc__,
):
    # [START howto_operator_dailybot_export_checkin_responses]
    export = DailyBotExportCheckinResponsesOperator(
        task_id="export_standups",
        checkin_id=CHECKIN_ID,
        date_start=DAY,
        date_end=DAY,
        destination=f"{EXPORT_BASE}/standups/{DAY}.jsonl",
        destination_conn_id=EXPORT_CONN_ID,
    )
    # [END howto_operator_dailybot_export_checkin_responses]

    if SUMMARY_TEAM:
        # [START howto_operator_dailybot_send_message]
        tell_team = DailyBotSendMessageOperator(
            task_id="tell_team",
            target_teams=[SUMMARY_TEAM],
            message=(
                "{% set export = ti.xcom_pull(task_ids='export_standups') %}"
                "{{ export['rows'] }} standup response(s) of {{ export['date_start'] }} "
                "exported to {{ export['path'] }}"
            ),
        )
        # [END howto_operator_dailybot_send_message]
        export >> tell_team
