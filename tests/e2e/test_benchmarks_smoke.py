"""Keep the benchmarks from rotting: run each one in its ``--smoke`` mode and check its correctness outputs.

Timings are never asserted (they depend on the machine); only that every benchmark runs, writes its
JSON, and that its correctness checks passed (events recorded == deliveries sent, every rotation
replaced the subscription, every DAG file defined its DAG ...). The four run in parallel subprocesses.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
from pathlib import Path

import pytest

from airflow_provider_dailybot.testing.processes import ManagedProcess, ProcessFailure
from tests.conftest import REPO_ROOT

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]

BENCHMARKS = {
    "client": ["benchmarks.bench_client"],
    "parse": ["benchmarks.bench_parse"],
    "receiver": ["benchmarks.bench_receiver", "--db", "sqlite"],
    "rotation": ["benchmarks.bench_rotation"],
}


def test_benchmark_modules_import() -> None:
    for module in ["benchmarks.run_all", "benchmarks.profile_receiver", *(args[0] for args in BENCHMARKS.values())]:
        assert callable(importlib.import_module(module).main), module


def test_table_rendering_aligns_numbers_right() -> None:
    from benchmarks.common import Target, render_table

    table = render_table(["name", "value"], [["a", 1.5], ["b", float("nan")]])
    assert table.splitlines()[1] == "|------|------:|"
    assert "|     - |" in table
    assert Target("t", 1.0, 1.15, "<=").met
    assert not Target("t", float("nan"), 1.0, ">=").met


def test_the_profile_sorts_each_sample_into_the_first_part_its_stack_matches() -> None:
    from benchmarks.profile_receiver import rac_ms, split

    collapsed = "\n".join([
        "process 1;MainThread;run (uvicorn/server.py:1);_receive (airflow_provider_dailybot/webhooks/receiver.py:3) 5",
        # Airflow's part wins over the SQLAlchemy frames inside it, and over our recording code around it.
        "process 1;worker;record_delivery (airflow_provider_dailybot/webhooks/recording.py:1);"
        "register_asset_change (airflow/assets/manager.py:3);execute (sqlalchemy/orm/session.py:9) 7",
        "process 1;worker;insert_delivery (airflow_provider_dailybot/store/deliveries.py:9) 2",
        "process 1;worker;commit (sqlalchemy/orm/session.py:2) 3",
        "process 1;MainThread;handle (uvicorn/protocols/http/h11_impl.py:4) 1",
        "process 1;MainThread;dumps (json/__init__.py:1) 2",
        "not a sample line",
    ])
    parts = split(collapsed)
    assert parts == {"route code": 5, "register_asset_change": 7, "delivery table": 2, "commit": 3,
                     "HTTP and ASGI": 1, "rest": 2}  # fmt: skip
    assert rac_ms({"server_cpu_ms": 10.0, "samples": parts}) == 10.0 * 7 / 20


def test_every_benchmark_runs_in_smoke_mode(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "PYTEST_"))}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    processes = {
        name: ManagedProcess([sys.executable, "-m", *args, "--smoke", "--out", str(tmp_path)], name=name,
                             log_path=tmp_path / f"{name}.log", env=env, cwd=REPO_ROOT).start()
        for name, args in BENCHMARKS.items()
    }  # fmt: skip
    failed = {}
    try:
        for name, process in processes.items():
            try:
                process.run(timeout=200)
            except ProcessFailure as failure:
                failed[name] = str(failure)
    finally:
        for process in processes.values():
            process.stop(timeout=5)
    assert not failed, failed

    results = {name: json.loads((tmp_path / f"{name}.json").read_text()) for name in BENCHMARKS}
    for name, result in results.items():
        assert result["benchmark"] == name
        assert result["machine"]["logical_cores"]
        assert result["tables"], name
        assert result["checks"], name
        assert all(result["checks"].values()), (name, result["checks"])

    receiver = results["receiver"]["results"]["sqlite"]
    assert receiver["recorded_during_loads"]["receiver"] == receiver["sent"]["receiver"] > 0
    assert receiver["recorded_during_loads"]["airflow"] == receiver["sent"]["airflow"] > 0
    if "peer" in receiver["sent"]:  # installed by `make bench` (benchmarks/receiver_stack.py)
        assert receiver["recorded_during_loads"]["peer"] == receiver["sent"]["peer"] > 0
    assert results["rotation"]["results"]["runs"][-1]["kind"] == "rotation"
    assert set(results["client"]["results"]) == {"http", "https"}
    assert {s["tasks"] for runs in results["parse"]["results"]["samples"].values() for s in runs} == {4}
