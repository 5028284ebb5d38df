"""Profile: where the api-server's CPU goes per delivery — ours, the peer's and Airflow's own asset-event route.

The stack of :mod:`benchmarks.bench_receiver` (a throw-away Airflow on PostgreSQL, one api-server worker,
the same 2.5 KB DailyBot envelope) receives one load per target at concurrency 8 while ``py-spy``
samples the api-server (and its worker processes) from outside: no code of the server changes. Only the
thread holding the GIL is sampled, so a thread waiting for PostgreSQL or idle is not, and the samples
are the Python CPU of the requests. Each sample's stack is sorted into the part that holds it:

``register_asset_change``
    Airflow's ``AssetManager.register_asset_change`` (asset lookup, the event row, consumers, the DAG-run
    queue, listeners): what every asset event costs, whichever route makes it.
``delivery table``
    ours: the ``dailybot_delivery`` insert with duplicate detection and its updates (``store.deliveries``).
``commit``
    SQLAlchemy's ``Session.commit`` outside the two above.
``other SQL``
    any other SQLAlchemy or driver work (the peer's delivery table, Airflow's own queries).
``route code``
    the route's own Python: ours (authentication, the envelope, recording), the peer's, Airflow's.
``HTTP and ASGI``
    uvicorn, Starlette, FastAPI, anyio and asyncio around the route.
``rest``
    everything else (logging, JSON, the interpreter's own frames).

The question it answers (issue 13): about 70 % of a delivery's CPU was Airflow's
``register_asset_change``; is there a leaner path through Airflow's public API? Airflow's public
ways to make an asset event are a task's outlets (not open to the api-server), ``POST
/api/v2/assets/events`` and ``AssetManager.register_asset_change``, which the REST route calls too:
the table shows that route's split beside ours.

Needs ``py-spy`` (the ``bench`` extra) and the right to trace the api-server (same user; a container
may need ``SYS_PTRACE``); without them, or without PostgreSQL, it says why and writes no figures.

Run: ``python -m benchmarks.profile_receiver [--quick | --smoke]``.
"""

from __future__ import annotations

import collections
import contextlib
import itertools
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from benchmarks.common import Report, run_main
from benchmarks.load import CpuMeter, drive
from benchmarks.receiver_stack import ApiServerStack, peer_path, postgres_available, postgres_database

#: (deliveries per target, warm-up deliveries), by mode.
COUNTS = {"full": (1200, 50), "quick": (300, 20), "smoke": (40, 5)}
CONCURRENCY = 8
SAMPLE_RATE = 250  # samples per second
#: Part name -> substrings of a frame that put a sample there (the first part that matches wins, in this order).
PARTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("register_asset_change", ("register_asset_change (",)),
    ("delivery table", ("airflow_provider_dailybot/store/",)),
    ("commit", ("commit (",)),
    ("other SQL", ("sqlalchemy/", "psycopg2/")),
    ("route code", ("airflow_provider_dailybot/", "airflow_inbound_webhooks/", "api_fastapi/")),
    ("HTTP and ASGI", ("uvicorn/", "starlette/", "fastapi/", "h11/", "anyio/", "asyncio/")),
)
TARGET_LABELS = {
    "receiver": "ours: POST /dailybot/webhooks/bench",
    "peer": "peer: POST /webhooks/dailybot",
    "airflow": "Airflow: POST /api/v2/assets/events",
}


def py_spy() -> str | None:
    """Return the ``py-spy`` executable beside this interpreter or on the PATH, or None."""
    beside = Path(sys.executable).with_name("py-spy")
    return str(beside) if beside.is_file() else shutil.which("py-spy")


@contextlib.contextmanager
def sampling(executable: str, pid: int, out: Path) -> Iterator[None]:
    """Sample process ``pid`` and its children with py-spy into ``out`` (collapsed stacks) during the block."""
    # --gil: only the thread holding the GIL, i.e. Python running; a thread waiting for PostgreSQL inside
    # the driver, or idle in the thread pool or the event loop, is not sampled (py-spy counts those as active).
    args = [executable, "record", "--pid", str(pid), "--subprocesses", "--nonblocking", "--gil",
            "--rate", str(SAMPLE_RATE), "--format", "raw", "--output", str(out)]  # fmt: skip
    log = out.with_suffix(".log").open("wb")
    spy = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
    try:
        time.sleep(1.0)  # py-spy attaches before the load starts
        if spy.poll() is not None:
            raise RuntimeError(f"py-spy exited at once (code {spy.returncode}); see {out.with_suffix('.log')}")
        yield
    finally:
        spy.send_signal(signal.SIGINT)  # py-spy writes the profile on SIGINT
        try:
            spy.wait(timeout=60)
        except subprocess.TimeoutExpired:
            spy.kill()
            spy.wait()
        log.close()


def split(collapsed: str) -> dict[str, int]:
    """Return the samples of a collapsed-stacks profile by part (:data:`PARTS`, then ``rest``)."""
    parts: collections.Counter[str] = collections.Counter()
    for line in collapsed.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        part = next((name for name, marks in PARTS if any(mark in stack for mark in marks)), "rest")
        parts[part] += int(count)
    return dict(parts)


def rac_ms(data: dict[str, Any]) -> float:
    """Return the CPU milliseconds per delivery spent in ``register_asset_change`` for one target's results."""
    counted = sum(data["samples"].values()) or 1
    return float(data["server_cpu_ms"]) * data["samples"].get("register_asset_change", 0) / counted


def measure(mode: str, out: Path, executable: str) -> dict[str, Any]:
    """Build the stack on PostgreSQL, load each target under py-spy; return samples and CPU per target."""
    from benchmarks.bench_receiver import ASSETS, make_loads

    total, warmup = COUNTS[mode]
    peer = peer_path()
    targets = [t for t in TARGET_LABELS if t != "peer" or peer is not None]
    results: dict[str, Any] = {}
    with postgres_database() as database, tempfile.TemporaryDirectory(prefix="dailybot-profile-") as tmp:
        stack = ApiServerStack(Path(tmp), database, 1, peer)
        stack.prepare()
        with stack.serving() as server:
            meter = CpuMeter(server.pid, database.name)
            token = stack.token()
            loads = make_loads(stack, token, stack.asset_id(token, ASSETS["airflow"]), time.time())
            numbers = itertools.count()
            for target in targets:
                drive(loads["new", target], warmup, CONCURRENCY, numbers)
                profile = out / "logs" / f"profile-{target}.txt"
                with sampling(executable, server.pid, profile):
                    outcome = drive(loads["new", target], total, CONCURRENCY, numbers, meter)
                if outcome.accepted < outcome.sent:
                    raise RuntimeError(f"{target}: {outcome.sent - outcome.accepted} requests were not accepted")
                parts = split(profile.read_text() if profile.is_file() else "")
                results[target] = {"sent": outcome.sent, "server_cpu_ms": outcome.cpu_s[0] * 1000 / outcome.sent,
                                   "samples": parts, "profile": str(profile)}  # fmt: skip
    return results


def run(mode: str, out: Path) -> Report:
    """Run the profile in ``mode`` and write its JSON to ``out``."""
    total, _ = COUNTS[mode]
    report = Report("profile", "Receiver profile: where the api-server's CPU goes per delivery (py-spy, PostgreSQL)",
                    {"mode": mode, "deliveries_per_target": total, "concurrency": CONCURRENCY,
                     "sample_rate_hz": SAMPLE_RATE})  # fmt: skip
    report.header()
    (out / "logs").mkdir(parents=True, exist_ok=True)
    executable = py_spy()
    available, why = postgres_available()
    if executable is None or not available:
        report.note("skipped: py-spy is not installed (the bench extra)" if executable is None else why)
        report.finish(out)
        return report
    report.results = measure(mode, out, executable)
    names = [name for name, _ in PARTS] + ["rest"]
    rows = []
    for target, data in report.results.items():
        samples = data["samples"]
        counted = sum(samples.values())
        shares = [f"{100 * samples.get(name, 0) / counted:.0f} %" if counted else "n/a" for name in names]
        rows.append([TARGET_LABELS[target], data["sent"], f"{data['server_cpu_ms']:.1f}", counted, *shares])
        report.check(f"{target}: py-spy took samples", counted > 0)
    report.table("api-server CPU per delivery and where it goes (share of py-spy's samples of the load)",
                 ["target", "deliveries", "api-server CPU ms", "samples", *names], rows)  # fmt: skip
    ours, rest_route = report.results.get("receiver"), report.results.get("airflow")
    if ours and rest_route:
        report.note(f"register_asset_change: {rac_ms(ours):.1f} ms of CPU per delivery in ours, "
                    f"{rac_ms(rest_route):.1f} ms in Airflow's public POST /api/v2/assets/events, which calls it "
                    "too: no public route makes an asset event for less.")  # fmt: skip
    report.finish(out)
    return report


def main(argv: list[str] | None = None) -> int:
    """Run the profile from the command line."""
    return run_main(__doc__ or "", run, argv)


if __name__ == "__main__":
    sys.exit(main())
