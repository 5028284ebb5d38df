"""Helpers shared by the benchmarks: machine description, statistics, tables, JSON results, environment.

Nothing here imports Airflow, so a benchmark decides itself when (and with which environment) Airflow
is first imported. Processes are started and stopped with :mod:`airflow_provider_dailybot.testing.processes`.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import importlib.metadata
import json
import math
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from airflow_provider_dailybot.testing.airflow_components import clean_environment

REPO_ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = Path(__file__).resolve().parent
RESULTS_DIR = BENCH_DIR / "results"

#: Distributions whose versions every result records.
VERSIONED_PACKAGES = (
    "airflow-provider-dailybot",
    "apache-airflow-core",
    "apache-airflow-task-sdk",
    "apache-airflow-providers-http",
    "requests",
    "urllib3",
    "fastapi",
    "starlette",
    "uvicorn",
    "sqlalchemy",
    "psycopg2-binary",
    "asyncpg",
    "trustme",
)

# Dropped from a benchmark's child processes, with the developer's Airflow set-up (clean_env).
# requests lets these override a Session's ``verify`` (psf/requests#3829); see bench_client.
CA_BUNDLE_VARIABLES = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")

T = TypeVar("T")


# -- machine and versions ------------------------------------------------------------------------
def _first_line_with(path: str, prefix: str) -> str | None:
    with contextlib.suppress(OSError):
        for line in Path(path).read_text(errors="replace").splitlines():
            if line.startswith(prefix):
                return line.split(":", 1)[1].strip() if ":" in line else line.split("=", 1)[1].strip().strip('"')
    return None


def machine_description() -> dict[str, Any]:
    """Return what the numbers depend on: CPU, cores, memory, OS, Python, load at the start."""
    memory_kib = _first_line_with("/proc/meminfo", "MemTotal")
    try:
        cores_usable = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores_usable = os.cpu_count() or 0
    return {
        "cpu": _first_line_with("/proc/cpuinfo", "model name") or platform.processor() or "unknown",
        "logical_cores": os.cpu_count(),
        "usable_cores": cores_usable,
        "memory_gib": round(int(memory_kib.split()[0]) / 1024 / 1024, 1) if memory_kib else None,
        "os": _first_line_with("/etc/os-release", "PRETTY_NAME=") or platform.platform(),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else None,
    }


def machine_line(machine: dict[str, Any]) -> str:
    """Return a one-line description of :func:`machine_description`'s result."""
    return (
        f"{machine['cpu']}, {machine['usable_cores']} cores, {machine['memory_gib']} GiB, {machine['os']}, "
        f"Python {machine['python']}, load at start {machine['load_average_at_start']}"
    )


def package_versions(names: Iterable[str] = VERSIONED_PACKAGES) -> dict[str, str | None]:
    """Return the installed version of each distribution (None when it is not installed)."""
    versions: dict[str, str | None] = {}
    for name in names:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return versions


# -- statistics ----------------------------------------------------------------------------------
def percentile(values: Sequence[float], q: float) -> float:
    """Return the nearest-rank ``q`` percentile (0 < q <= 100) of ``values``."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def summarize(values: Sequence[float]) -> dict[str, float | int]:
    """Return n, median, min and max of ``values`` (NaN for an empty sequence)."""
    if not values:
        return {"n": 0, "median": math.nan, "min": math.nan, "max": math.nan}
    return {"n": len(values), "median": statistics.median(values), "min": min(values), "max": max(values)}


def ratio(numerator: float, denominator: float) -> float:
    """Return ``numerator / denominator``, NaN when the denominator is zero or NaN."""
    if not denominator or math.isnan(denominator):
        return math.nan
    return numerator / denominator


def rotated(items: Sequence[T], shift: int) -> list[T]:
    """Return ``items`` rotated left by ``shift``: interleaves variants so none is always first."""
    if not items:
        return []
    shift %= len(items)
    return [*items[shift:], *items[:shift]]


# -- tables and results --------------------------------------------------------------------------
def fmt(value: Any, digits: int = 2) -> str:
    """Format a table cell: floats with ``digits`` decimals, NaN and None as ``-``."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def render_table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """Return a Markdown table; numeric columns are right-aligned."""
    body = [[fmt(cell) if not isinstance(cell, str) else cell for cell in row] for row in rows]
    numeric = [all(_looks_numeric(row[i]) for row in body) if body else False for i in range(len(headers))]
    widths = [max([len(h), *(len(row[i]) for row in body)]) for i, h in enumerate(headers)]

    def line(cells: Sequence[str]) -> str:
        padded = [c.rjust(w) if num else c.ljust(w) for c, w, num in zip(cells, widths, numeric, strict=True)]
        return "| " + " | ".join(padded) + " |"

    rule = (
        "|"
        + "|".join(("-" * (w + 1) + ":") if num else ("-" * (w + 2)) for w, num in zip(widths, numeric, strict=True))
        + "|"
    )
    return "\n".join([line(headers), rule, *(line(row) for row in body)])


def _looks_numeric(text: str) -> bool:
    stripped = text.strip().removesuffix("x").removesuffix("%")
    if stripped == "-":
        return True
    try:
        float(stripped)
    except ValueError:
        return False
    return True


@dataclass
class Target:
    """A target of the issue, with the measured value and whether it is met.

    :param name: What is compared, e.g. ``"hook / floor (http)"``.
    :param value: The measured value.
    :param limit: The bound the value must respect.
    :param comparison: ``"<="`` or ``">="`` (``value <comparison> limit`` means met).
    :param unit: Unit of value and limit, e.g. ``"x"`` or ``"ms"``.
    :param note: Why it is met or missed, or what bounds it.
    """

    name: str
    value: float
    limit: float
    comparison: str
    unit: str = ""
    note: str = ""
    met: bool = field(init=False)

    def __post_init__(self) -> None:
        if self.comparison not in ("<=", ">=", "<", ">"):
            raise ValueError(f"unknown comparison {self.comparison!r}")
        if math.isnan(self.value):
            self.met = False
        else:
            self.met = {
                "<=": self.value <= self.limit,
                ">=": self.value >= self.limit,
                "<": self.value < self.limit,
                ">": self.value > self.limit,
            }[self.comparison]

    def row(self) -> list[str]:
        """Return the target as a row of :func:`targets_table`."""
        return [
            self.name,
            f"{fmt(self.value)}{self.unit}",
            f"{self.comparison} {fmt(self.limit)}{self.unit}",
            "met" if self.met else "MISSED",
            self.note,
        ]


def targets_table(targets: Sequence[Target]) -> str:
    """Return the Markdown table of targets."""
    return render_table(["target", "measured", "limit", "verdict", "note"], [t.row() for t in targets])


class Report:
    """What one benchmark prints and writes: parameters, tables, targets and raw results.

    :param name: The benchmark's name, also the JSON file name (``<name>.json``).
    :param title: Heading printed above the tables.
    :param parameters: The knobs of this run (counts, concurrency, mode).
    """

    def __init__(self, name: str, title: str, parameters: dict[str, Any]) -> None:
        self.name = name
        self.title = title
        self.parameters = parameters
        self.started_at = dt.datetime.now(dt.timezone.utc)
        self._started = time.monotonic()
        self.machine = machine_description()
        self.versions = package_versions()
        self.tables: list[dict[str, str]] = []
        self.targets: list[Target] = []
        self.notes: list[str] = []
        self.results: dict[str, Any] = {}
        self.checks: dict[str, bool] = {}

    def table(self, caption: str, headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
        """Add a table, print it at once and return its Markdown."""
        text = render_table(headers, rows)
        self.tables.append({"caption": caption, "markdown": text})
        print(f"\n**{caption}**\n\n{text}\n", flush=True)
        return text

    def note(self, text: str) -> None:
        """Add a note (printed at once, kept in the JSON)."""
        self.notes.append(text)
        print(f"- {text}", flush=True)

    def check(self, name: str, ok: bool) -> None:
        """Record a correctness check (e.g. ``events == deliveries``); printed, kept in the JSON."""
        self.checks[name] = bool(ok)
        print(f"- check {name}: {'ok' if ok else 'FAILED'}", flush=True)

    def target(self, target: Target) -> Target:
        """Add a target of the issue."""
        self.targets.append(target)
        return target

    def header(self) -> None:
        """Print the title and the machine line."""
        print(f"\n## {self.title}\n\nMachine: {machine_line(self.machine)}\n", flush=True)

    def finish(self, out_dir: Path) -> Path:
        """Print the targets table, write ``<out_dir>/<name>.json`` and return its path."""
        if self.targets:
            self.table(f"{self.title}: targets", ["target", "measured", "limit", "verdict", "note"],
                       [t.row() for t in self.targets])  # fmt: skip
        if hasattr(os, "getloadavg"):
            self.machine["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
        payload = {
            "benchmark": self.name,
            "title": self.title,
            "started_at": self.started_at.isoformat(timespec="seconds"),
            "duration_s": round(time.monotonic() - self._started, 1),
            "machine": self.machine,
            "versions": self.versions,
            "parameters": self.parameters,
            "results": self.results,
            "targets": [asdict(t) for t in self.targets],
            "checks": self.checks,
            "notes": self.notes,
            "tables": self.tables,
        }
        out_dir.mkdir(parents=True, exist_ok=True)
        path = out_dir / f"{self.name}.json"
        path.write_text(json.dumps(payload, indent=2, default=_json_default) + "\n")
        print(f"Wrote {path} ({payload['duration_s']} s)", flush=True)
        return path


def _json_default(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, (Path, dt.datetime)):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def bench_parser(description: str) -> argparse.ArgumentParser:
    """Return the argument parser every benchmark shares (``--smoke``, ``--quick``, ``--out``)."""
    parser = argparse.ArgumentParser(description=description)
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="fewer repetitions: a sanity run, not a measurement")
    mode.add_argument("--smoke", action="store_true", help="minimal counts, for the test suite (never timed)")
    parser.add_argument("--out", type=Path, default=RESULTS_DIR, help="folder for the JSON result (%(default)s)")
    return parser


def mode_of(args: argparse.Namespace) -> str:
    """Return ``"smoke"``, ``"quick"`` or ``"full"`` from the parsed arguments of :func:`bench_parser`."""
    return "smoke" if args.smoke else "quick" if args.quick else "full"


def run_main(doc: str, run: Callable[[str, Path], Any], argv: list[str] | None = None) -> int:
    """Parse the shared options (described by ``doc``'s first line) and call ``run(mode, out)``; return 0."""
    args = bench_parser(doc.splitlines()[0]).parse_args(argv)
    run(mode_of(args), args.out)
    return 0


# -- processes ----------------------------------------------------------------------------------
def clean_env(**overrides: str) -> dict[str, str]:
    """Return this process's environment for a child: no Airflow, pytest, DailyBot or CA-bundle settings.

    The repository is put first on ``PYTHONPATH`` and this virtualenv first on ``PATH``; then ``overrides``.
    """
    env = clean_environment(drop=CA_BUNDLE_VARIABLES)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH", "")]))
    env.update(overrides)
    return env
