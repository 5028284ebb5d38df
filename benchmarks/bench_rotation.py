"""Rotation: wall time of one full rotation of a channel's subscription, next to the delivery latency alone.

A DAG with ``dailybot_webhook_rotation`` (create a new subscription with a fresh secret and an immediate
sample → wait for the sample at the receiver → delete the old subscription and retire its secret) runs
under ``dag.test()`` against the fake DailyBot server, whose deliveries reach the real api-server app in
this process (a FastAPI ``TestClient``, as in ``tests/integration``), on a throw-away SQLite metadata DB.

The first run only creates the channel's first subscription (there is nothing to rotate yet) and pays
the cold start; every later run is a full rotation, timed: wall time of ``dag.test()``, time of each
task (start to end), and how often the sensor rescheduled. The delivery latency alone is the fake's POST
to the receiver until its 202, for the rotation's samples and for a series of ordinary deliveries.

Run: ``python -m benchmarks.bench_rotation [--quick | --smoke]``.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from airflow_provider_dailybot.store import DB_MANAGER
from benchmarks.common import CA_BUNDLE_VARIABLES, Report, run_main, summarize

API_KEY = "bench-rotation-api-key-7d2e"
PUBLIC_BASE = "http://127.0.0.1:8080"
CHANNEL = "bench"
DAG_ID = "bench_rotation"
EVENT = "followups.response.completed"
#: (dag.test() runs — the first creates, the others rotate; ordinary deliveries timed), by mode.
COUNTS = {"full": (6, 100), "quick": (3, 30), "smoke": (2, 5)}
TASKS = (
    "create_new_subscription",
    "verify_new_subscription",
    "promote_new_subscription",
    "rollback_unverified_subscription",
)
ROTATION_DAG = f'''
"""The rotation measured by benchmarks/bench_rotation.py (default poke interval: 5 s)."""
import pendulum
from airflow.sdk import DAG

from airflow_provider_dailybot.task_groups.webhook_rotation import dailybot_webhook_rotation

with DAG(dag_id="{DAG_ID}", schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC"), catchup=False,
         max_active_runs=1):
    dailybot_webhook_rotation(channel="{CHANNEL}", events=["{EVENT}"], verify_timeout=120)
'''


def configure_environment(home: Path) -> None:
    """Point Airflow at a throw-away home with a SQLite DB and the rotation DAG (before Airflow is imported)."""
    dags = home / "dags"
    dags.mkdir(parents=True, exist_ok=True)
    (dags / "bench_rotation.py").write_text(ROTATION_DAG)
    for name in list(os.environ):
        if name.startswith(("AIRFLOW__", "AIRFLOW_CONN_", "AIRFLOW_VAR_")) or name in CA_BUNDLE_VARIABLES:
            del os.environ[name]
    os.environ.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/airflow.db",
            "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
            "AIRFLOW__API_AUTH__JWT_SECRET": os.urandom(32).hex(),
            "AIRFLOW__API__BASE_URL": PUBLIC_BASE,
            # Airflow 3.1 creates the provider's delivery table only when this names its manager.
            "AIRFLOW__DATABASE__EXTERNAL_DB_MANAGERS": DB_MANAGER,
        }
    )


@contextlib.contextmanager
def output_to(log_path: Path) -> Iterator[None]:
    """Send this process's stdout and stderr (file descriptors included) to ``log_path``: task logs are noisy."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with log_path.open("ab") as log:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        try:
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])


def task_timings(run_id: str) -> tuple[dict[str, float], dict[str, str], int]:
    """Return each task's seconds (start to end), its state, and the sensor's reschedule count for a run."""
    from airflow.models.taskinstance import TaskInstance
    from airflow.models.taskreschedule import TaskReschedule
    from airflow.utils.session import create_session
    from sqlalchemy import func, select

    with create_session() as session:
        tis = session.scalars(
            select(TaskInstance).where(TaskInstance.dag_id == DAG_ID, TaskInstance.run_id == run_id)
        ).all()
        seconds = {
            ti.task_id.split(".")[-1]: (ti.end_date - ti.start_date).total_seconds()
            for ti in tis
            if ti.start_date and ti.end_date
        }
        states = {ti.task_id.split(".")[-1]: str(ti.state) for ti in tis}
        reschedules = session.scalar(
            select(func.count()).select_from(TaskReschedule).where(TaskReschedule.ti_id.in_([ti.id for ti in tis]))
        )
    return seconds, states, int(reschedules or 0)


def measure(runs: int, deliveries: int) -> dict[str, Any]:
    """Run the rotation DAG ``runs`` times and time ``deliveries`` ordinary deliveries; return raw results."""
    from airflow.api_fastapi.app import create_app
    from airflow.utils import db
    from fastapi.testclient import TestClient

    from airflow_provider_dailybot.testing import FakeDailyBotServer
    from airflow_provider_dailybot.webhooks.channels import MetadataChannelStore

    try:
        from airflow.dag_processing.dagbag import DagBag  # Airflow 3.2+
    except ImportError:  # Airflow 3.1
        from airflow.models.dagbag import DagBag  # type: ignore[no-redef]

    db.initdb()
    client = TestClient(create_app())
    statuses: list[int] = []

    def deliver(url: str, headers: dict[str, str], body: bytes, timeout: float) -> int:
        answer = client.post(urlsplit(url).path, content=body, headers=headers)
        statuses.append(answer.status_code)
        return answer.status_code

    results: dict[str, Any] = {"runs": [], "deliveries_ms": []}
    with client, FakeDailyBotServer(api_key=API_KEY, transport=deliver) as fake:
        os.environ["AIRFLOW_CONN_DAILYBOT_DEFAULT"] = json.dumps(
            {"conn_type": "dailybot", "host": fake.base_url, "password": API_KEY}
        )
        bag = DagBag()
        if bag.import_errors:
            raise RuntimeError(f"the rotation DAG does not import: {bag.import_errors}")
        dag = bag.dags[DAG_ID]
        for number in range(runs):
            seen = len(fake.deliveries)
            before = {s.id for s in fake.subscriptions}
            began = time.perf_counter()
            dag_run = dag.test()
            wall = time.perf_counter() - began
            seconds, states, reschedules = task_timings(dag_run.run_id)
            samples = [a for a in fake.deliveries[seen:] if a.sample]
            after = fake.subscriptions
            state = MetadataChannelStore().load(CHANNEL)
            results["runs"].append({
                "run": number + 1, "kind": "first subscription" if number == 0 else "rotation", "wall_s": wall,
                "task_s": seconds, "states": states, "sensor_reschedules": reschedules,
                "sample_ms": [a.duration * 1000 for a in samples], "sample_status": [a.status for a in samples],
                "replaced": bool(before) and not before & {s.id for s in after},
                "subscriptions_after": len(after),
                "secrets_after": len(state.secret_sha256) if state else 0,
            })  # fmt: skip
        for _ in range(deliveries):
            (attempt,) = fake.emit(EVENT)
            results["deliveries_ms"].append(attempt.duration * 1000)
            if attempt.status != 202:
                raise RuntimeError(f"an ordinary delivery was answered {attempt.status}: {attempt.error}")
    results["receiver_statuses"] = sorted(set(statuses))
    return results


def run(mode: str, out: Path) -> Report:
    """Run the rotation benchmark in ``mode`` and write its JSON to ``out``."""
    runs, deliveries = COUNTS[mode]
    report = Report("rotation", "Rotation under dag.test() (fake DailyBot → in-process receiver)",
                    {"mode": mode, "dag_test_runs": runs, "deliveries": deliveries})  # fmt: skip
    home = Path(tempfile.mkdtemp(prefix="dailybot-bench-rotation-"))
    out.mkdir(parents=True, exist_ok=True)
    log_path = out / "logs" / "rotation-dag-test.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log_path.write_text("")
    configure_environment(home)
    with output_to(log_path):
        raw = measure(runs, deliveries)
    report.header()
    report.results = raw
    rotations = [r for r in raw["runs"] if r["kind"] == "rotation"]
    report.check("every run succeeded", all(set(r["states"].values()) == {"success"} for r in raw["runs"]))
    report.check("every rotation replaced the subscription and left one subscription and one secret",
                 all(r["replaced"] and r["subscriptions_after"] == 1 and r["secrets_after"] == 1
                     for r in rotations))  # fmt: skip
    report.check("every sample was accepted (202)", all(s == 202 for r in raw["runs"] for s in r["sample_status"]))
    report.table(
        "Each dag.test() run (s); per task: start to end",
        ["run", "kind", "wall s", *[t.replace("_subscription", "") for t in TASKS], "sensor reschedules",
         "sample delivery ms"],
        [[r["run"], r["kind"], r["wall_s"], *[r["task_s"].get(t, float("nan")) for t in TASKS],
          r["sensor_reschedules"], ", ".join(f"{ms:.1f}" for ms in r["sample_ms"])] for r in raw["runs"]],
    )  # fmt: skip
    wall = summarize([r["wall_s"] for r in rotations])
    tasks_sum = summarize([sum(r["task_s"].values()) for r in rotations])
    samples = summarize([ms for r in rotations for ms in r["sample_ms"]])
    ordinary = summarize(raw["deliveries_ms"])
    report.table(
        "One full rotation against the delivery latency alone",
        ["measure", "n", "median", "min", "max", "unit"],
        [["rotation: dag.test() wall time", wall["n"], wall["median"], wall["min"], wall["max"], "s"],
         ["rotation: sum of the four tasks' durations", tasks_sum["n"], tasks_sum["median"], tasks_sum["min"],
          tasks_sum["max"], "s"],
         ["delivery alone: the rotation's sample (fake → receiver → 202)", samples["n"], samples["median"],
          samples["min"], samples["max"], "ms"],
         ["delivery alone: ordinary deliveries", ordinary["n"], ordinary["median"], ordinary["min"], ordinary["max"],
          "ms"]],
    )  # fmt: skip
    report.results["summary"] = {"rotation_wall_s": wall, "rotation_tasks_s": tasks_sum,
                                 "sample_delivery_ms": samples, "delivery_ms": ordinary}  # fmt: skip
    report.finish(out)
    return report


def main(argv: list[str] | None = None) -> int:
    """Command line: ``python -m benchmarks.bench_rotation [--quick | --smoke] [--out DIR]``."""
    return run_main(__doc__, run, argv)


if __name__ == "__main__":
    sys.exit(main())
