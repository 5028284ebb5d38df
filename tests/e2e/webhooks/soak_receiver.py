"""Soak: 10,000 webhook deliveries at concurrency 32 to a real api-server, 2 workers, on PostgreSQL.

Run it with ``make soak`` or
``python -m tests.e2e.webhooks.soak_receiver [--deliveries N] [--concurrency C] [--prefill N]``.
It is a script, not a pytest module.

It creates a fresh PostgreSQL database on 127.0.0.1 and runs ``airflow db migrate``. Then it starts
``airflow api-server --workers 2`` and a dag-processor, which declares the channel's asset, through
the demo's process helpers: 127.0.0.1 only, every process stopped at the end. Before the load it
stores ``--prefill`` recorded deliveries of the channel (100,000 by default) directly in PostgreSQL,
as asset events and ``dailybot_delivery`` rows, with the benchmark's server-side statements
(:meth:`benchmarks.receiver_stack.Database.prefill_ours`). Then it sends:

* ``--deliveries`` distinct authenticated deliveries;
* replays of some of them (10 %). Each replay goes on a new connection, which the kernel may hand
  to either worker;
* unauthenticated deliveries (5 %).

The sends are mixed and spread over ``--concurrency`` keep-alive connections. The health endpoints
are polled all the while.

The run fails (exit status 1) unless:

* every distinct delivery is recorded exactly once, as one asset event and one delivery row;
* the prefilled rows are all still there, and a replay of a prefilled delivery is answered as a
  duplicate of it;
* every replay is answered as a duplicate of its original;
* nothing is recorded without a valid bearer;
* no request fails;
* every health poll answered 200 within its timeout;
* both api-server workers served requests.

The figures go to ``--figures`` (JSON) and are printed as a table.

The receiver keeps no state in process memory. Duplicates are found in the database, under a
PostgreSQL advisory lock, so a replay handled by the other worker is still recognised.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

REPO_ROOT = Path(__file__).resolve().parents[3]
if str(REPO_ROOT) not in sys.path:  # run as a file: python tests/e2e/webhooks/soak_receiver.py
    sys.path.insert(0, str(REPO_ROOT))

from airflow_provider_dailybot.testing import make_envelope, sample_body  # noqa: E402
from airflow_provider_dailybot.testing.processes import wait_for  # noqa: E402
from airflow_provider_dailybot.webhooks.asset_events import delivery_dedupe_key  # noqa: E402
from airflow_provider_dailybot.webhooks.channels import ChannelState, generate_secret, variable_key  # noqa: E402
from benchmarks.bench_receiver import postgres_database  # noqa: E402
from benchmarks.common import percentile  # noqa: E402
from benchmarks.receiver_stack import OUR_TABLE, prefill_envelope  # noqa: E402
from demo.processes import AirflowStack  # noqa: E402

CHANNEL = "soak"
EVENT = "followups.response.completed"
DEADLINE_SECONDS = 900  # the whole load, at most
REQUEST_TIMEOUT = 60
HEALTH_INTERVAL = 0.5
HEALTH_TIMEOUT = 5
CONSUMER_DAG = f'''
"""Soak consumer: a task reads the soak channel's asset (inlets), so deliveries are recorded; paused, no runs."""
from airflow.sdk import DAG
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow_provider_dailybot.webhooks.assets import dailybot_webhook_asset

with DAG(dag_id="dailybot_soak_consumer", schedule=None, catchup=False):
    EmptyOperator(task_id="read", inlets=[dailybot_webhook_asset("{CHANNEL}")])
'''


@dataclass
class Send:
    """One request of the load: what is sent and what must come back."""

    kind: str  # "delivery", "replay" or "unauthenticated"
    seq: int  # the distinct delivery it carries
    fresh_connection: bool = False


@dataclass
class Outcome:
    kind: str
    seq: int
    status: int | None
    seconds: float
    answer: dict[str, Any] | None = None
    error: str | None = None


@dataclass
class Health:
    polls: int = 0
    failures: list[str] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)


def query(url: str, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    """Run ``sql`` on the PostgreSQL database of the SQLAlchemy ``url``."""
    import psycopg2

    with psycopg2.connect(url.replace("postgresql+psycopg2://", "postgresql://")) as conn, conn.cursor() as cur:
        cur.execute(sql, params)
        return list(cur.fetchall())


def descendants(pid: int) -> list[int]:
    """Pids of every process below ``pid`` (from /proc)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process (0 once it is gone)."""
    import os

    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def plan(deliveries: int, seed: int) -> list[Send]:
    """The mixed sequence of sends: each distinct delivery once, 10 % replays later, 5 % unauthenticated."""
    rng = random.Random(seed)
    sends = [Send("delivery", seq) for seq in range(deliveries)]
    for _ in range(deliveries // 10):
        original = rng.randrange(deliveries)
        position = next(i for i, s in enumerate(sends) if s.kind == "delivery" and s.seq == original)
        # A replay goes after its original, on a new connection (so possibly to the other worker).
        sends.insert(rng.randrange(position + 1, len(sends) + 1), Send("replay", original, fresh_connection=True))
    for _ in range(deliveries // 20):
        sends.insert(rng.randrange(len(sends) + 1), Send("unauthenticated", rng.randrange(deliveries)))
    return sends


def envelope(seq: int) -> dict[str, Any]:
    body = {**sample_body(EVENT), "soak_seq": seq}
    return make_envelope(EVENT, hook_id=f"soak-hook-{seq % 4}", hook_name="soak", body=body, timestamp=1.7e9 + seq)


class Load:
    """Sends the plan over ``concurrency`` keep-alive connections and records every outcome."""

    def __init__(self, url: str, secret: str, concurrency: int) -> None:
        self.url = url
        self.secret = secret
        self.concurrency = concurrency
        self.local = threading.local()
        self.originals: dict[int, str] = {}  # seq -> delivery id of its first recording
        self.originals_ready: dict[int, threading.Event] = {}
        self.lock = threading.Lock()

    def session(self) -> requests.Session:
        if not hasattr(self.local, "session"):
            self.local.session = requests.Session()
        return self.local.session

    def send(self, item: Send) -> Outcome:
        if item.kind == "replay":  # the original must have been answered first
            self.originals_ready[item.seq].wait(REQUEST_TIMEOUT)
        bearer = self.secret if item.kind != "unauthenticated" else generate_secret()
        headers = {"X-BEARER": bearer, "Content-Type": "application/json"}
        data = json.dumps(envelope(item.seq)).encode()
        started = time.monotonic()
        try:
            if item.fresh_connection:
                headers["Connection"] = "close"
                response = requests.post(self.url, data=data, headers=headers, timeout=REQUEST_TIMEOUT)
            else:
                response = self.session().post(self.url, data=data, headers=headers, timeout=REQUEST_TIMEOUT)
        except requests.RequestException as exc:
            return Outcome(item.kind, item.seq, None, time.monotonic() - started, error=f"{type(exc).__name__}: {exc}")
        seconds = time.monotonic() - started
        answer = response.json() if response.headers.get("content-type", "").startswith("application/json") else None
        if item.kind == "delivery" and response.status_code == 202 and answer:
            with self.lock:
                self.originals[item.seq] = answer["delivery_id"]
            self.originals_ready[item.seq].set()
        return Outcome(item.kind, item.seq, response.status_code, seconds, answer)

    def run(self, sends: list[Send]) -> tuple[list[Outcome], float]:
        self.originals_ready = {s.seq: threading.Event() for s in sends if s.kind == "delivery"}
        deadline = time.monotonic() + DEADLINE_SECONDS
        outcomes: list[Outcome] = []
        started = time.monotonic()
        with ThreadPoolExecutor(self.concurrency, thread_name_prefix="soak") as pool:
            futures = [pool.submit(self.send, item) for item in sends]
            for future in as_completed(futures, timeout=DEADLINE_SECONDS):
                outcomes.append(future.result())
                if time.monotonic() > deadline:
                    raise TimeoutError(f"the load did not finish within {DEADLINE_SECONDS} s")
        return outcomes, time.monotonic() - started


def poll_health(base_url: str, stop: threading.Event, health: Health) -> None:
    while not stop.wait(HEALTH_INTERVAL):
        for path in ("/dailybot/health", "/api/v2/monitor/health"):
            started = time.monotonic()
            try:
                response = requests.get(base_url + path, timeout=HEALTH_TIMEOUT)
                ok = response.status_code == 200
                detail = f"HTTP {response.status_code}"
            except requests.RequestException as exc:
                ok, detail = False, type(exc).__name__
            health.polls += 1
            health.latencies.append(time.monotonic() - started)
            if not ok:
                health.failures.append(f"{path}: {detail}")


def verify(db_url: str, deliveries: int, prefilled: int, outcomes: list[Outcome], load: Load) -> list[str]:
    """Return every violation of the exactly-once contract (empty when it held)."""
    problems = []
    failed = [o for o in outcomes if o.error or (o.kind != "unauthenticated" and o.status != 202)]
    problems += [f"{o.kind} {o.seq}: {o.status} {o.error or o.answer}" for o in failed[:10]]
    refused = [o for o in outcomes if o.kind == "unauthenticated" and o.status != 401]
    problems += [f"unauthenticated {o.seq} answered {o.status}" for o in refused[:10]]
    for o in outcomes:
        if o.kind == "delivery" and o.answer and o.answer.get("duplicate") is not False:
            problems.append(f"delivery {o.seq} was answered as a duplicate")
        expected = {"delivery_id": load.originals.get(o.seq), "duplicate": True, "outcome": "duplicate"}
        if o.kind == "replay" and o.answer != expected:
            problems.append(f"replay of {o.seq} answered {o.answer}, original {load.originals.get(o.seq)}")
    problems += counted(db_url, deliveries, prefilled)
    return problems


#: Rows of the channel by the soak delivery they carry (None: no ``soak_seq``, i.e. prefilled).
COUNTS = {
    "asset events": "SELECT (e.extra::json->'body'->>'soak_seq')::int, count(*) FROM asset_event e "
    "JOIN asset a ON a.id = e.asset_id WHERE a.name = 'dailybot_' || %s GROUP BY 1",
    "delivery rows": "SELECT (e.extra::json->'body'->>'soak_seq')::int, count(*) FROM " + OUR_TABLE + " d "
    "LEFT JOIN asset_event e ON e.id = d.asset_event_id WHERE d.channel = %s GROUP BY 1",
}


def counted(db_url: str, deliveries: int, prefilled: int) -> list[str]:
    """Return what is wrong with the stored rows: each soak delivery once, the prefilled ones all intact."""
    problems = []
    for what, sql in COUNTS.items():
        counts = dict(query(db_url, sql, CHANNEL))
        others = counts.pop(None, 0)
        missing = [seq for seq in range(deliveries) if seq not in counts]
        twice = {seq: n for seq, n in counts.items() if n != 1}
        if missing:
            problems.append(f"{what}: {len(missing)} deliveries never recorded, e.g. {missing[:5]}")
        if twice:
            problems.append(f"{what}: {len(twice)} deliveries recorded more than once, e.g. {list(twice.items())[:5]}")
        if len(counts) != deliveries:
            problems.append(f"{what}: {len(counts)} distinct deliveries recorded, expected {deliveries}")
        if others != prefilled:
            problems.append(f"{what}: {others} prefilled (or unidentified) rows, expected {prefilled}")
    return problems


def replay_prefilled(url: str, secret: str, db_url: str, number: int) -> list[str]:
    """Replay prefilled delivery ``number``; return what is wrong unless it is answered as its duplicate."""
    key = delivery_dedupe_key(prefill_envelope(number))
    stored = query(db_url, f"SELECT delivery_id FROM {OUR_TABLE} WHERE channel = %s AND dedupe_key = %s", CHANNEL, key)
    if not stored:
        return [f"prefilled delivery {number}: no row has the dedupe key the receiver computes for it"]
    headers = {"X-BEARER": secret, "Content-Type": "application/json", "Connection": "close"}
    data = json.dumps(prefill_envelope(number)).encode()
    try:
        response = requests.post(url, data=data, headers=headers, timeout=REQUEST_TIMEOUT)
        answer = response.json()
    except (requests.RequestException, ValueError) as exc:
        return [f"replay of prefilled delivery {number}: {type(exc).__name__}"]
    expected = {"delivery_id": stored[0][0], "duplicate": True, "outcome": "duplicate"}
    if response.status_code != 202 or answer != expected:
        return [f"replay of prefilled delivery {number} answered {response.status_code} {answer}, expected {expected}"]
    return []


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.e2e.webhooks.soak_receiver", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--deliveries", type=int, default=10_000, help="distinct authenticated deliveries")
    parser.add_argument("--concurrency", type=int, default=32, help="connections sending at once")
    parser.add_argument("--workers", type=int, default=2, help="api-server worker processes")
    parser.add_argument("--figures", type=Path, default=REPO_ROOT / "test-output" / "soak" / "figures.json")
    parser.add_argument("--keep", action="store_true", help="keep AIRFLOW_HOME (the database is always dropped)")
    parser.add_argument("--seed", type=int, default=20260131)
    parser.add_argument(
        "--prefill",
        type=int,
        default=100_000,
        help="recorded deliveries of the channel stored in PostgreSQL before the load (asset events and "
        "delivery rows, inserted by the server)",
    )
    parser.add_argument(
        "--dedupe-window",
        type=int,
        default=None,
        help="[dailybot] receiver_dedupe_window_seconds of the api-server (since 0.2 it only bounds the 0.1 "
        "backfill of the delivery store; duplicate detection no longer depends on it)",
    )
    args = parser.parse_args(argv)
    if not 1 <= args.deliveries <= 100_000 or not 1 <= args.concurrency <= 256 or not 0 <= args.prefill <= 1_000_000:
        parser.error("--deliveries must be 1..100000, --concurrency 1..256 and --prefill 0..1000000")

    from airflow import __version__ as airflow_version

    home = Path(tempfile.mkdtemp(prefix="dailybot-soak-"))
    dag_file = home / "dailybot_soak_consumer.py"
    dag_file.write_text(CONSUMER_DAG)
    secret = generate_secret()
    state = ChannelState(channel=CHANNEL)
    state.add_secret(secret)
    problems: list[str] = []
    figures: dict[str, Any] = {}
    with postgres_database() as database:
        db_url = database.url
        env = (
            {}
            if args.dedupe_window is None
            else {"AIRFLOW__DAILYBOT__RECEIVER_DEDUPE_WINDOW_SECONDS": str(args.dedupe_window)}
        )
        stack = AirflowStack(
            home / "airflow", dag_files=[dag_file], env=env, sql_alchemy_conn=db_url, api_workers=args.workers
        )
        try:
            print(f"Airflow {airflow_version}: migrating a fresh PostgreSQL database ...", flush=True)
            stack.migrate(timeout=300)
            stack.processes.run(
                "variables-set",
                [stack.airflow, "variables", "set", variable_key(CHANNEL), state.to_json()],
                timeout=120,
            )
            stack.start("api-server", "dag-processor")
            stack.wait_ready(timeout=180)
            wait_for(
                "the dag-processor to declare the soak channel's asset",
                lambda: query(db_url, "SELECT 1 FROM asset_active WHERE name = %s", f"dailybot_{CHANNEL}"),
                timeout=180,
                process=stack.processes,
            )
            print(f"Storing {args.prefill} recorded deliveries of the channel ...", flush=True)
            started = time.monotonic()
            stored = database.prefill_ours(args.prefill, channel=CHANNEL) if args.prefill else {}
            prefill_seconds = time.monotonic() - started
            problems += [f"before the load: {p}" for p in counted(db_url, 0, args.prefill)]
            api_pid = stack.processes.processes["api-server"].pid
            workers = [pid for pid in descendants(api_pid) if cpu_seconds(pid) >= 0]
            cpu_before = {pid: cpu_seconds(pid) for pid in workers}

            url = f"{stack.base_url}/dailybot/webhooks/{CHANNEL}"
            sends = plan(args.deliveries, args.seed)
            load = Load(url, secret, args.concurrency)
            health, stop = Health(), threading.Event()
            poller = threading.Thread(target=poll_health, args=(stack.base_url, stop, health), daemon=True)
            poller.start()
            print(f"Sending {len(sends)} requests at concurrency {args.concurrency} ...", flush=True)
            try:
                outcomes, seconds = load.run(sends)
            finally:
                stop.set()
                poller.join(timeout=HEALTH_TIMEOUT * 3)
            stack.processes.check_running()
            busy = {pid: round(cpu_seconds(pid) - cpu_before[pid], 1) for pid in workers}
            serving = [pid for pid, cpu in busy.items() if cpu >= 1.0]

            if args.prefill:
                problems += replay_prefilled(url, secret, db_url, random.Random(args.seed).randint(1, args.prefill))
            problems += verify(db_url, args.deliveries, args.prefill, outcomes, load)
            problems += [f"health poll failed: {f}" for f in health.failures[:10]]
            if len(serving) < min(2, args.workers):
                problems.append(f"only {len(serving)} api-server process(es) did work: CPU seconds {busy}")
            latency = [o.seconds * 1000 for o in outcomes]
            statuses: dict[str, int] = {}
            for o in outcomes:
                statuses[str(o.status)] = statuses.get(str(o.status), 0) + 1
            first, last = outcomes[: len(outcomes) // 10], outcomes[-(len(outcomes) // 10) :]
            figures = {
                "airflow_version": airflow_version,
                "database": "PostgreSQL " + str(query(db_url, "SHOW server_version")[0][0]).split()[0],
                "api_server_workers": args.workers,
                "dedupe_window_seconds": 600 if args.dedupe_window is None else args.dedupe_window,
                "api_server_processes_cpu_seconds": busy,
                "concurrency": args.concurrency,
                "requests": len(sends),
                "distinct_deliveries": args.deliveries,
                "replays": sum(s.kind == "replay" for s in sends),
                "unauthenticated": sum(s.kind == "unauthenticated" for s in sends),
                "statuses": statuses,
                "prefilled": {"deliveries": args.prefill, "rows": stored, "seconds": round(prefill_seconds, 1)},
                "seconds": round(seconds, 1),
                "requests_per_second": round(len(sends) / seconds, 1),
                "latency_ms": {
                    "p50": round(percentile(latency, 50), 1),
                    "p95": round(percentile(latency, 95), 1),
                    "p99": round(percentile(latency, 99), 1),
                    "max": round(max(latency), 1),
                },
                "latency_p50_ms_first_vs_last_10pct": [
                    round(statistics.median(o.seconds * 1000 for o in first), 1),
                    round(statistics.median(o.seconds * 1000 for o in last), 1),
                ],
                "recorded_exactly_once": not problems,
                "health": {
                    "polls": health.polls,
                    "failures": len(health.failures),
                    "max_ms": round(max(health.latencies, default=0) * 1000, 1),
                    "p95_ms": round(percentile(health.latencies, 95) * 1000, 1),
                },
                "problems": problems,
            }
        finally:
            left = stack.stop()
            if left:
                problems.append(f"processes still running: {left}")
    if not args.keep:
        import shutil

        shutil.rmtree(home, ignore_errors=True)
    else:
        print(f"kept {home}")

    args.figures.parent.mkdir(parents=True, exist_ok=True)
    args.figures.write_text(json.dumps(figures, indent=2) + "\n")
    print_table(figures, problems)
    print(f"figures: {args.figures}")
    return 0 if figures and not problems else 1


def print_table(figures: dict[str, Any], problems: list[str]) -> None:
    if figures:
        rows = [
            ("Airflow / database", f"{figures['airflow_version']} / {figures['database']}"),
            ("api-server workers (CPU s by pid)",
             f"{figures['api_server_workers']} {figures['api_server_processes_cpu_seconds']}"),
            ("requests / concurrency", f"{figures['requests']} / {figures['concurrency']}"),
            ("distinct / replays / unauthenticated", f"{figures['distinct_deliveries']} / {figures['replays']} / "
                                                     f"{figures['unauthenticated']}"),
            ("statuses", ", ".join(f"{n} x {s}" for s, n in sorted(figures["statuses"].items()))),
            ("prefilled deliveries / time", f"{figures['prefilled']['deliveries']} / "
                                            f"{figures['prefilled']['seconds']} s"),
            ("duration / throughput", f"{figures['seconds']} s / {figures['requests_per_second']} requests/s"),
            ("latency p50 / p95 / p99 / max", " / ".join(f"{v} ms" for v in figures["latency_ms"].values())),
            ("p50 first vs last 10 %", " -> ".join(f"{v} ms" for v in figures["latency_p50_ms_first_vs_last_10pct"])),
            ("health polls / failures / max", f"{figures['health']['polls']} / {figures['health']['failures']} / "
                                              f"{figures['health']['max_ms']} ms"),
            ("recorded exactly once", "yes" if figures["recorded_exactly_once"] else "NO"),
        ]  # fmt: skip
        width = max(len(name) for name, _ in rows)
        print("-" * 78)
        for name, value in rows:
            print(f"{name:<{width}}  {value}")
        print("-" * 78)
    for problem in problems:
        print(f"PROBLEM: {problem}")
    print("Result:", "held" if figures and not problems else "FAILED")


if __name__ == "__main__":
    sys.exit(main())
