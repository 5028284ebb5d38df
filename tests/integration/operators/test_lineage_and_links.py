"""OpenLineage of the export operators and the extra links of the operators, against the fake DailyBot.

Lineage: with ``apache-airflow-providers-openlineage`` installed (the test extra), through the provider's
own extractor, as its listener calls it; and, in a fresh interpreter where that provider cannot be
imported, the export still runs and reports no lineage, without importing any of it.

Links: the operators run under ``dag.test()``; the worker stores each link as an XCom when the task
ends, and the api-server's REST API (what the UI calls) renders it for the task instance.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pendulum
import pytest

from airflow_provider_dailybot.operators.export import (
    DailyBotExportCheckinResponsesOperator,
    DailyBotExportFormResponsesOperator,
)
from airflow_provider_dailybot.operators.kudos import DailyBotGiveKudosOperator
from airflow_provider_dailybot.testing import FakeDailyBotServer, seed
from tests.conftest import API_KEY, REPO_ROOT, conn_json
from tests.integration.dag_runs import run_dag, task_states

START = pendulum.datetime(2025, 1, 1, tz="UTC")


def _namespace(fake: FakeDailyBotServer) -> str:
    return "dailybot://" + fake.base_url.split("://", 1)[1].split("/", 1)[0]


def _extractor(task: Any) -> Any:
    """The extractor the OpenLineage provider's listener would use for ``task``."""
    from airflow.providers.openlineage.extractors import ExtractorManager

    extractor_class = ExtractorManager().get_extractor_class(task)
    assert extractor_class is not None, "the OpenLineage provider found no extractor for the export operator"
    return extractor_class(task)


def test_checkin_export_reports_the_checkin_read_and_the_file_written(fake: FakeDailyBotServer, tmp_path: Path) -> None:
    from airflow.providers.openlineage.extractors import OperatorLineage

    target = tmp_path / "standups" / "2025-01-06_2025-01-10.jsonl"
    export = DailyBotExportCheckinResponsesOperator(
        task_id="export",
        checkin_id=seed.CHECKIN_ID,
        date_start="2025-01-06",
        date_end="2025-01-10",
        destination=f"file://{target}",
    )
    extractor = _extractor(export)

    on_start = extractor.extract()  # as the listener does when the task starts
    assert isinstance(on_start, OperatorLineage)
    assert [(d.namespace, d.name) for d in on_start.inputs] == [(_namespace(fake), f"checkins/{seed.CHECKIN_ID}")]
    assert [(d.namespace, d.name) for d in on_start.outputs] == [("file", str(target))]
    assert on_start.outputs[0].outputFacets == {}  # nothing written yet

    summary = export.execute({})  # type: ignore[arg-type]
    on_complete = extractor.extract_on_complete(None)
    assert summary["rows"] == 19
    assert [(d.namespace, d.name) for d in on_complete.inputs] == [(_namespace(fake), f"checkins/{seed.CHECKIN_ID}")]
    (output,) = on_complete.outputs
    assert (output.namespace, output.name) == ("file", str(target))
    statistics = output.outputFacets["outputStatistics"]
    assert (statistics.rowCount, statistics.size) == (19, target.stat().st_size)


def test_form_export_lineage_names_the_form(fake: FakeDailyBotServer, tmp_path: Path) -> None:
    from airflow.sdk import ObjectStoragePath

    export = DailyBotExportFormResponsesOperator(
        task_id="export_form",
        form_id=seed.FORM_ID,
        date_start="2025-01-01",
        date_end="2025-01-31",
        destination=ObjectStoragePath(f"file://{tmp_path}/forms/incidents.jsonl"),
    )
    export.execute({})  # type: ignore[arg-type]
    lineage = _extractor(export).extract_on_complete(None)
    assert [(d.namespace, d.name) for d in lineage.inputs] == [(_namespace(fake), f"forms/{seed.FORM_ID}")]
    assert [(d.namespace, d.name) for d in lineage.outputs] == [("file", f"{tmp_path}/forms/incidents.jsonl")]
    assert lineage.outputs[0].outputFacets["outputStatistics"].rowCount == 3


#: Runs in a fresh interpreter as if the OpenLineage provider were not installed: its distribution is hidden
#: (Airflow's providers manager finds no entry point of it) and neither it nor the client can be imported.
_WITHOUT_OPENLINEAGE = """
import importlib.metadata, json, sys
import importlib_metadata

def hiding(distributions):
    def without_openlineage(**kwargs):
        for dist in distributions(**kwargs):
            if (dist.metadata["Name"] or "").lower().replace("_", "-") != "apache-airflow-providers-openlineage":
                yield dist
    return without_openlineage

importlib.metadata.distributions = hiding(importlib.metadata.distributions)
importlib_metadata.distributions = hiding(importlib_metadata.distributions)
for name in ("openlineage", "airflow.providers.openlineage", "airflow.providers.common.compat.openlineage"):
    sys.modules[name] = None  # `import name` (and of anything under it) now raises ImportError
from airflow_provider_dailybot.operators.export import DailyBotExportCheckinResponsesOperator
export = DailyBotExportCheckinResponsesOperator(
    task_id="export", checkin_id=sys.argv[1], date_start="2025-01-06", date_end="2025-01-10", destination=sys.argv[2]
)
on_start = export.get_openlineage_facets_on_start()
summary = export.execute({})
on_complete = export.get_openlineage_facets_on_complete(None)
loaded = sorted(name for name, module in sys.modules.items() if "openlineage" in name and module is not None)
print("RESULT " + json.dumps({"rows": summary["rows"], "start": repr(on_start), "complete": repr(on_complete),
                              "loaded": loaded}))
"""


def test_without_the_openlineage_provider_the_export_runs_and_reports_no_lineage(
    fake: FakeDailyBotServer, tmp_path: Path
) -> None:
    target = tmp_path / "out.jsonl"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO_ROOT), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run(
        [sys.executable, "-c", _WITHOUT_OPENLINEAGE, seed.CHECKIN_ID, f"file://{target}"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    line = next(line for line in done.stdout.splitlines() if line.startswith("RESULT "))
    result = json.loads(line[len("RESULT ") :])
    assert result == {"rows": 19, "start": "None", "complete": "None", "loaded": []}
    assert len(target.read_text(encoding="utf-8").splitlines()) == 19


# --------------------------------------------------------------------------- extra links


def _links(api_client: Any, run: Any, task_id: str) -> dict[str, Any]:
    answer = api_client.get(f"/api/v2/dags/{run.dag_id}/dagRuns/{run.run_id}/taskInstances/{task_id}/links")
    assert answer.status_code == 200, answer.text
    return answer.json()["extra_links"]


@pytest.mark.db
def test_the_operators_link_to_dailybot_pages_rendered_by_the_api(
    fake: FakeDailyBotServer, sync_dag: Any, api_client: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from airflow.sdk import DAG

    with DAG(dag_id="op_links_default_app", schedule=None, start_date=START, catchup=False) as dag:
        DailyBotExportCheckinResponsesOperator(
            task_id="export_checkin",
            checkin_id="{{ params.checkin }}",  # the link uses the rendered id
            date_start="2025-01-06",
            date_end="2025-01-10",
            destination=f"file://{tmp_path}/c.jsonl",
            params={"checkin": seed.CHECKIN_ID},
        )
        DailyBotExportFormResponsesOperator(
            task_id="export_form",
            form_id=seed.FORM_ID,
            date_start="2025-01-01",
            date_end="2025-01-31",
            destination=f"file://{tmp_path}/f.jsonl",
        )
        DailyBotGiveKudosOperator(task_id="thanks", receivers=[seed.GRACE], content="Thanks!")
    run = run_dag(sync_dag(dag))
    assert task_states(run) == {"export_checkin": "success", "export_form": "success", "thanks": "success"}

    # The fake's host is no api.<domain>: the documented default web app.
    assert _links(api_client, run, "export_checkin") == {
        "DailyBot check-in": f"https://app.dailybot.com/checkins/{seed.CHECKIN_ID}/"
    }
    assert _links(api_client, run, "export_form") == {
        "DailyBot form": f"https://app.dailybot.com/forms/{seed.FORM_ID}/"
    }
    assert _links(api_client, run, "thanks") == {"DailyBot kudos": "https://app.dailybot.com/kudos/"}
    assert len(fake.kudos) == 1


@pytest.mark.db
def test_links_follow_the_connections_app_url_and_stay_empty_when_nothing_was_done(
    fake: FakeDailyBotServer, sync_dag: Any, api_client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from airflow.sdk import DAG

    monkeypatch.setenv("AIRFLOW_CONN_DAILYBOT_DEFAULT", conn_json(fake, app_url="https://dailybot.example.com/acme/"))
    with DAG(dag_id="op_links_app_url", schedule=None, start_date=START, catchup=False) as dag:
        DailyBotGiveKudosOperator(task_id="thanks", receivers=[seed.GRACE], content="Thanks!", retries=0)
    sync_dag(dag)

    fake.inject(status=400, path="/v1/kudos/")  # DailyBot refuses the kudos: nothing to link to
    refused = run_dag(dag, logical_date=pendulum.datetime(2025, 1, 7, tz="UTC"))
    assert task_states(refused) == {"thanks": "failed"}
    assert _links(api_client, refused, "thanks") == {"DailyBot kudos": None}  # a disabled button

    given = run_dag(dag, logical_date=pendulum.datetime(2025, 1, 8, tz="UTC"))
    assert task_states(given) == {"thanks": "success"}
    assert _links(api_client, given, "thanks") == {"DailyBot kudos": "https://dailybot.example.com/acme/kudos/"}


# --------------------------------------------------------------------------- the OpenLineage listener, end to end

#: Runs the example export DAG under ``dag.test()`` in a fresh interpreter with an OpenLineage transport
#: configured (so the provider's listener is on), on the suite's metadata DB (the environment is inherited).
_WITH_LISTENER = """
import sys
import pendulum
try:
    from airflow.dag_processing.dagbag import DagBag  # Airflow 3.2+
except ImportError:
    from airflow.models.dagbag import DagBag  # Airflow 3.1
dag = DagBag().dags["dailybot_standup_export"]
run = dag.test(logical_date=pendulum.datetime(2025, 1, 9, tz="UTC"))
print("STATE", run.state)
"""


@pytest.mark.db
def test_the_openlineage_listener_emits_the_exports_datasets(
    fake: FakeDailyBotServer, example_dag: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("DAILYBOT_CHECKIN_ID", seed.CHECKIN_ID)
    monkeypatch.setenv("DAILYBOT_EXPORT_BASE", f"file://{tmp_path}/exports/")
    monkeypatch.delenv("DAILYBOT_SUMMARY_TEAM", raising=False)
    example_dag("dailybot_standup_export")  # written to the DB as this environment shapes it
    events_file = tmp_path / "openlineage.jsonl"
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO_ROOT), os.environ.get("PYTHONPATH", "")]),
        "AIRFLOW__OPENLINEAGE__TRANSPORT": json.dumps(
            {"type": "file", "log_file_path": str(events_file), "append": True}
        ),
        "AIRFLOW__OPENLINEAGE__NAMESPACE": "dailybot-tests",
    }
    done = subprocess.run(
        [sys.executable, "-c", _WITH_LISTENER], env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr[-4000:]
    assert "STATE success" in done.stdout, (done.stdout[-2000:], done.stderr[-4000:])

    events = [json.loads(line) for line in events_file.read_text(encoding="utf-8").splitlines()]
    task_events = {e["eventType"]: e for e in events if e["job"]["name"] == "dailybot_standup_export.export_standups"}
    assert {"START", "COMPLETE"} <= set(task_events), [(e["eventType"], e["job"]["name"]) for e in events]
    target = tmp_path / "exports" / "standups" / "2025-01-08.jsonl"
    complete = task_events["COMPLETE"]
    assert [(d["namespace"], d["name"]) for d in complete["inputs"]] == [
        (_namespace(fake), f"checkins/{seed.CHECKIN_ID}")
    ]
    (output,) = complete["outputs"]
    assert (output["namespace"], output["name"]) == ("file", str(target))
    assert output["outputFacets"]["outputStatistics"]["rowCount"] == 4
    assert output["outputFacets"]["outputStatistics"]["size"] == target.stat().st_size
    start = task_events["START"]
    assert [(d["namespace"], d["name"]) for d in start["outputs"]] == [("file", str(target))]
    assert API_KEY not in events_file.read_text(encoding="utf-8")
