"""Upgrading from 0.1: a delivery the 0.1 receiver recorded stays a duplicate after the store's upgrade.

The scenario (``backfill_scenario.py``) runs in a process of its own on a fresh Airflow database,
SQLite and PostgreSQL, so it can migrate Airflow's tables and record asset events the 0.1 way.
"""

from __future__ import annotations

import json

import pytest

from tests.integration.store.conftest import AIRFLOW_3_2_PLUS, airflow_env, run_python

pytestmark = [pytest.mark.db, pytest.mark.e2e]


def _scenario(tmp_path, url: str) -> dict:
    env = airflow_env(tmp_path, url, external_managers=not AIRFLOW_3_2_PLUS)
    env["AIRFLOW__DAILYBOT__RECEIVER_DEDUPE_WINDOW_SECONDS"] = "600"
    output = run_python(env, "-m", "tests.integration.store.backfill_scenario")
    line = next(line for line in output.splitlines() if line.startswith("SCENARIO "))
    return json.loads(line.removeprefix("SCENARIO "))


def test_a_0_1_delivery_within_the_window_is_still_a_duplicate(tmp_path, database_url):
    result = _scenario(tmp_path, database_url)
    events, answers = result["events"], result["answers"]

    # The same envelope as the 0.1 event: a conflict, answered with the original delivery and event.
    assert answers["recent"] == {"inserted": False, "delivery_id": "d-recent", "asset_event_id": events["recent"]}
    # Older than the window: 0.1 would have recorded it again, and so does the store.
    assert answers["old"]["inserted"] is True
    # An event of another asset is not a channel's delivery, whatever its extra says.
    assert answers["other-asset"]["inserted"] is True

    # One row per key (the oldest event wins, as 0.1's lookup did); hand-written events skipped.
    assert result["backfilled"] == [
        {
            "delivery_id": "d-recent",
            "asset_event_id": events["recent"],
            "hook_ids": ["hook-1"],
            "event_timestamp": "1700000001.25",
            "outcome": "recorded",
            "payload": None,  # the body stays in the asset event: one copy
            "received_is_aware": True,
        }
    ]
