"""DAG-parse cost: import time of a DAG file with our operators, against ``airflow.sdk`` only and ``HttpOperator``.

Three DAG files of the same shape (the rotation: four tasks in a task group, a sensor with the channel's
asset as inlet) live in ``benchmarks/dags/``: ``sdk_only.py`` (``airflow.sdk`` classes only, the
baseline), ``dailybot_operators.py`` (our ``dailybot_webhook_rotation`` task group) and
``http_operator.py`` (``HttpOperator`` + ``HttpSensor``). Each sample is a fresh interpreter that first
imports, untimed, what the dag-processor's parsing process has loaded before it reads a file (it is
forked from the dag-processor, which has ``airflow.dag_processing.processor`` loaded, and with it
``airflow.sdk``, the timetables and the serializer, and which calls ``gc.freeze()`` before it forks:
without that, whichever file first allocates enough pays a full collection of the ~200,000 objects
Airflow loaded, 150 to 500 ms that measure the collector, not the file), then times:

``pre``
    importing the ``airflow.*`` modules the file names, which the dag-processor does in its long-lived
    parent before forking the parser when ``[dag_processor] parsing_pre_import_modules`` is on (the
    default). It finds only modules whose name starts with ``airflow.``: the HTTP provider's, not ours.
``exec``
    executing the DAG file.

Bytecode caches are warm (one untimed import of each file first), as after a wheel install and the
dag-processor's first parse; ``PYTHONDONTWRITEBYTECODE`` would otherwise make an editable install
compile our modules from source in every interpreter.

*Cold* import time is ``pre + exec`` (a plain import of the file in a fresh interpreter, as the issue
defines it); *dag-processor* time is ``exec`` alone. The incremental cost of a DAG file is its median
minus the baseline's median. The variants are interleaved.

Run: ``python -m benchmarks.bench_parse [--quick | --smoke]``.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from benchmarks.common import (
    BENCH_DIR,
    Report,
    Target,
    clean_env,
    ratio,
    rotated,
    run_main,
    summarize,
)

DAGS = BENCH_DIR / "dags"
VARIANTS = {
    "sdk_only": ("airflow.sdk only (baseline)", DAGS / "sdk_only.py"),
    "dailybot": ("our operators (rotation task group)", DAGS / "dailybot_operators.py"),
    "http": ("HttpOperator + HttpSensor", DAGS / "http_operator.py"),
}
SAMPLES = {"full": 9, "quick": 3, "smoke": 1}
INCREMENTAL_LIMIT_MS = 30.0
MEANINGFUL_MS = 0.5  # below this an incremental cost is noise: no ratio is computed against it
CHILD_TIMEOUT_S = 60

# Runs in a fresh interpreter: argv[1] is the DAG file. Prints one JSON line.
CHILD = """
import gc, importlib, importlib.util, json, sys, time
import airflow.dag_processing.processor, airflow.sdk
gc.freeze()  # as the dag-processor does before it forks its parsers (DagFileProcessorManager.before_run)
from airflow.utils.file import iter_airflow_imports
path = sys.argv[1]
modules = list(iter_airflow_imports(path))
t0 = time.perf_counter()
for name in modules:
    importlib.import_module(name)
t1 = time.perf_counter()
spec = importlib.util.spec_from_file_location("bench_parse_dag", path)
module = importlib.util.module_from_spec(spec)
sys.modules[spec.name] = module
spec.loader.exec_module(module)
t2 = time.perf_counter()
dags = [v for v in vars(module).values() if isinstance(v, airflow.sdk.DAG)]
print(json.dumps({"pre_ms": (t1 - t0) * 1e3, "exec_ms": (t2 - t1) * 1e3, "pre_imported": modules,
                  "dags": len(dags), "tasks": sum(len(d.tasks) for d in dags)}))
"""


def sample(path: Path, env: dict[str, str]) -> dict[str, Any]:
    """Import ``path`` in a fresh interpreter and return its timings and what it defined."""
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(path)], env=env, capture_output=True, text=True,
        timeout=CHILD_TIMEOUT_S, check=False, cwd=tempfile.gettempdir(),
    )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"importing {path.name} failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    result["cold_ms"] = result["pre_ms"] + result["exec_ms"]
    return result


def _ratio_of_costs(incremental: dict[str, dict[str, float]], key: str) -> float:
    """Return ours / HttpOperator's incremental cost; NaN when HttpOperator's is within noise of zero."""
    http = incremental["http"][key]
    return ratio(incremental["dailybot"][key], http) if http > MEANINGFUL_MS else float("nan")


def _shown(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.3f}x"


def run(mode: str, out: Path) -> Report:
    """Run the parse benchmark in ``mode`` and write its JSON to ``out``."""
    samples_per_variant = SAMPLES[mode]
    report = Report("parse", "DAG-parse cost (fresh interpreters)", {"mode": mode, "samples": samples_per_variant})
    report.header()
    names = list(VARIANTS)
    raw: dict[str, list[dict[str, Any]]] = {name: [] for name in names}
    with tempfile.TemporaryDirectory(prefix="dailybot-bench-parse-") as home:
        env = clean_env(AIRFLOW_HOME=home, AIRFLOW__CORE__LOAD_EXAMPLES="False")
        # Bytecode caches are warm, as after a wheel install (pip compiles it) and the dag-processor's
        # first parse: one untimed import per variant writes the missing .pyc files.
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        for _, path in VARIANTS.values() if mode != "smoke" else ():
            sample(path, env)
        for index in range(samples_per_variant):
            for name in rotated(names, index):
                raw[name].append(sample(VARIANTS[name][1], env))

    stats = {
        name: {key: summarize([s[key] for s in runs]) for key in ("cold_ms", "exec_ms", "pre_ms")}
        for name, runs in raw.items()
    }
    base = stats["sdk_only"]
    incremental = {
        name: {key: float(stats[name][key]["median"]) - float(base[key]["median"]) for key in ("cold_ms", "exec_ms")}
        for name in names
    }
    report.results = {
        "samples": raw,
        "stats": stats,
        "incremental_ms": incremental,
        "ratio_dailybot_to_http": {key: _ratio_of_costs(incremental, key) for key in ("cold_ms", "exec_ms")},
    }
    report.check("every DAG file defines one DAG of 4 tasks",
                 all(s["dags"] == 1 and s["tasks"] == 4 for runs in raw.values() for s in runs))  # fmt: skip
    report.table(
        "Import time of the DAG file (ms): median, min, max of the fresh interpreters; incremental = median - baseline",
        ["DAG file", "cold median", "cold min", "cold max", "cold incremental", "dag-processor median",
         "dag-processor incremental", "pre-imported by the dag-processor"],
        [[VARIANTS[name][0], stats[name]["cold_ms"]["median"], stats[name]["cold_ms"]["min"],
          stats[name]["cold_ms"]["max"], incremental[name]["cold_ms"], stats[name]["exec_ms"]["median"],
          incremental[name]["exec_ms"], ", ".join(raw[name][0]["pre_imported"]) or "-"] for name in names],
    )  # fmt: skip
    ours, http = incremental["dailybot"]["cold_ms"], incremental["http"]["cold_ms"]
    report.table(
        "Incremental parse cost: ours against HttpOperator's",
        ["measure", "ours ms", "HttpOperator ms", "ours / HttpOperator"],
        [["cold import (the issue's measure)", ours, http, _shown(_ratio_of_costs(incremental, "cold_ms"))],
         ["dag-processor (airflow.* pre-imported)", incremental["dailybot"]["exec_ms"], incremental["http"]["exec_ms"],
          _shown(_ratio_of_costs(incremental, "exec_ms"))]],
    )  # fmt: skip
    report.target(Target("incremental parse cost, ours - HttpOperator's", ours - http, 0.0, "<=", " ms"))
    report.target(Target("incremental parse cost, ours", ours, INCREMENTAL_LIMIT_MS, "<=", " ms"))
    report.finish(out)
    return report


def main(argv: list[str] | None = None) -> int:
    """Command line: ``python -m benchmarks.bench_parse [--quick | --smoke] [--out DIR]``."""
    return run_main(__doc__, run, argv)


if __name__ == "__main__":
    sys.exit(main())
