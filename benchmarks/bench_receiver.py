"""Receiver: deliveries per second and latency against the real api-server, next to Airflow's own asset-event route.

For each database (SQLite, then PostgreSQL) the benchmark builds a throw-away Airflow: its own
``AIRFLOW_HOME``, ``airflow db migrate``, a DAGs folder with two consumer DAGs (one scheduled on the
receiver channel's asset, one on the peer's asset, both unpaused) written to the database the way the
dag-processor does, and the channel's Variable holding the hash of a known secret. It then starts
``airflow api-server`` (uvicorn, ``--workers`` as given) on 127.0.0.1 and drives three targets with a
bounded pool of threads, each with its own keep-alive ``requests.Session``:

``receiver``
    ``POST /dailybot/webhooks/bench`` with ``X-BEARER``: one DailyBot delivery per request, each with its
    own ``event_timestamp`` so that none is a duplicate of another.
``peer``
    ``POST /api/v2/assets/events`` with the JWT from ``/auth/token`` and the same envelope as ``extra``:
    the official way to push an asset event.
``floor``
    ``GET /dailybot/health``: the same app and middleware, no database work.

Concurrency 1, 8 and 32, targets interleaved (the order rotates). Afterwards the ``asset_event`` rows
of each asset are counted: they must equal the requests answered 2xx, which must equal the requests
sent (nothing lost, nothing duplicated).

PostgreSQL: ``DAILYBOT_BENCH_PG_DSN`` (a SQLAlchemy URL of an existing, dedicated database) when set;
otherwise a database created for the run on ``127.0.0.1:5432`` (user ``postgres``) and dropped after,
when that server answers; otherwise the PostgreSQL part is skipped and says so.

Run: ``python -m benchmarks.bench_receiver [--quick | --smoke] [--workers N] [--db sqlite,postgresql]``.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import os
import secrets
import shutil
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from airflow_provider_dailybot.testing.airflow_components import AirflowComponent, airflow_environment
from airflow_provider_dailybot.testing.processes import (
    LOOPBACK,
    ManagedProcess,
    free_port,
    port_open,
    run_command,
    wait_for_http,
)
from benchmarks.common import (
    REPO_ROOT,
    Report,
    Target,
    bench_parser,
    clean_env,
    mode_of,
    percentile,
    ratio,
    rotated,
)

CHANNEL = "bench"
PEER_CHANNEL = "benchpeer"
EVENT = "followups.response.completed"
TARGETS = ("floor", "receiver", "peer")
TARGET_LABELS = {
    "floor": "floor: GET /dailybot/health",
    "receiver": "receiver: POST /dailybot/webhooks/bench",
    "peer": "peer: POST /api/v2/assets/events",
}
CONCURRENCY = (1, 8, 32)
#: Requests per (target, concurrency) and rounds, by mode.
COUNTS: dict[str, dict[str, Any]] = {
    "full": {"requests": {1: 150, 8: 400, 32: 600}, "rounds": 2, "warmup": 20, "busy": (10_000, 200)},
    "quick": {"requests": {1: 50, 8: 120, 32: 240}, "rounds": 1, "warmup": 5, "busy": (2_000, 60)},
    "smoke": {"requests": {1: 10}, "rounds": 1, "warmup": 1, "busy": None},
}
#: Concurrency of the busy-channel load (``busy`` = events already recorded in the dedupe window, requests).
BUSY_CONCURRENCY = 8
LOAD_TIMEOUT_S = 60.0  # upper bound of one (target, concurrency, round) load
REQUEST_TIMEOUT_S = 30.0
P99_LIMIT_MS = 250.0
SQLITE_BASELINE_PER_S = 100.0  # the first measurement quoted by the issue (sqlite, concurrency 8)
SQLITE_BASELINE_P50_MS = 5.0  # and its p50 for one delivery at a time
PG_DSN_VARIABLE = "DAILYBOT_BENCH_PG_DSN"
PG_HOST, PG_PORT = "127.0.0.1", 5432

CONSUMER_DAGS = f'''
"""Consumers of the benchmark's two assets (they declare the assets; no scheduler runs them)."""
import pendulum
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG

from airflow_provider_dailybot.webhooks.assets import dailybot_webhook_asset

for channel in ("{CHANNEL}", "{PEER_CHANNEL}"):
    with DAG(dag_id=f"consume_{{channel}}", schedule=[dailybot_webhook_asset(channel)],
             start_date=pendulum.datetime(2026, 1, 1, tz="UTC"), catchup=False):
        EmptyOperator(task_id="noop")
'''

# Runs inside the stack's environment: parse the DAGs folder into the DB, unpause, store the channel.
DECLARE = """
import sys
from airflow.dag_processing.bundles.manager import DagBundlesManager
from airflow.dag_processing.collection import update_dag_parsing_results_in_db
from airflow.models.dag import DagModel
from airflow.serialization.serialized_objects import LazyDeserializedDAG
from airflow.utils.session import create_session
from sqlalchemy import update
try:
    from airflow.dag_processing.dagbag import DagBag
except ImportError:
    from airflow.models.dagbag import DagBag
from airflow_provider_dailybot.webhooks.channels import ChannelState, MetadataChannelStore

bag = DagBag()
assert not bag.import_errors, bag.import_errors
assert len(bag.dags) == 2, sorted(bag.dags)
with create_session() as session:
    DagBundlesManager().sync_bundles_to_db(session=session)
    session.commit()
    update_dag_parsing_results_in_db("dags-folder", None, [LazyDeserializedDAG.from_dag(d) for d in bag.dags.values()],
                                     {}, None, set(), session=session)
with create_session() as session:
    session.execute(update(DagModel).where(DagModel.dag_id.in_(list(bag.dags))).values(is_paused=False))
state = ChannelState(channel=sys.argv[1])
state.add_secret_hash(sys.argv[2])
MetadataChannelStore().save(state)
print("declared", sorted(bag.dags))
"""


# -- databases -------------------------------------------------------------------------------------
@dataclass
class Database:
    """A metadata database for one stack.

    :param kind: ``"sqlite"`` or ``"postgresql"``.
    :param url: SQLAlchemy URL given to Airflow.
    :param label: How the tables name it.
    """

    kind: str
    url: str
    label: str

    def connect(self) -> Any:
        """Return a DB-API connection (sqlite3 or psycopg2) to count rows."""
        if self.kind == "sqlite":
            import sqlite3

            return sqlite3.connect(self.url.removeprefix("sqlite:///"), timeout=30)
        import psycopg2

        return psycopg2.connect(self.url.replace("postgresql+psycopg2://", "postgresql://", 1))

    def events_per_asset(self) -> dict[str, int]:
        """Return the number of ``asset_event`` rows of each asset, by asset name."""
        conn = self.connect()
        try:
            cur = conn.cursor()
            cur.execute("SELECT a.name, count(e.id) FROM asset a LEFT JOIN asset_event e ON e.asset_id = a.id "
                        "GROUP BY a.name")  # fmt: skip
            return {str(name): int(count) for name, count in cur.fetchall()}
        finally:
            conn.close()

    def prefill(self, asset_name: str, count: int) -> int:
        """Insert ``count`` recorded deliveries (receiver-shaped ``extra``, timestamp now) into an asset; return it."""
        from airflow_provider_dailybot.testing.samples import make_envelope

        envelope = make_envelope(EVENT, hook_id="busy-hook", hook_name="busy", timestamp=0.0)
        rows = []
        for number in range(count):
            key = hashlib.sha256(f"busy-{number}".encode()).hexdigest()
            extra = {"delivery_id": str(uuid.uuid4()), "dedupe_key": key, "channel": CHANNEL, "event": EVENT,
                     "event_timestamp": number, "hook": {"id": "busy-hook", "name": "busy"},
                     "body": envelope["body"], "delivered_by": ["busy-hook"]}  # fmt: skip
            rows.append(json.dumps(extra))
        conn = self.connect()
        try:
            cur = conn.cursor()
            marker = "?" if self.kind == "sqlite" else "%s"
            cur.execute(f"SELECT id FROM asset WHERE name = {marker}", (asset_name,))
            (asset_id,) = cur.fetchone()
            if self.kind == "sqlite":
                now = time.strftime("%Y-%m-%d %H:%M:%S.000000", time.gmtime())
                cur.executemany("INSERT INTO asset_event (asset_id, extra, timestamp) VALUES (?, ?, ?)",
                                [(asset_id, extra, now) for extra in rows])  # fmt: skip
            else:
                from psycopg2.extras import execute_values

                execute_values(
                    cur,
                    "INSERT INTO asset_event (asset_id, extra, timestamp) VALUES %s",
                    [(asset_id, extra) for extra in rows],
                    template="(%s, %s, now())",
                    page_size=1000,
                )
            conn.commit()
            if self.kind == "postgresql":
                conn.autocommit = True
                cur.execute("ANALYZE asset_event")
        finally:
            conn.close()
        return count


def postgres_available() -> tuple[bool, str]:
    """Return whether the PostgreSQL part can run and, if not, why."""
    import importlib.util

    missing = [m for m in ("psycopg2", "asyncpg") if importlib.util.find_spec(m) is None]
    if missing:
        return False, f"skipped: {' and '.join(missing)} not installed (the api-server needs both on PostgreSQL)"
    if os.environ.get(PG_DSN_VARIABLE):
        return True, f"{PG_DSN_VARIABLE}"
    if port_open(PG_HOST, PG_PORT):
        return True, f"database created on {PG_HOST}:{PG_PORT}"
    return False, f"skipped: no PostgreSQL server answers on {PG_HOST}:{PG_PORT} and {PG_DSN_VARIABLE} is not set"


@contextlib.contextmanager
def postgres_database() -> Iterator[Database]:
    """Yield the PostgreSQL database of the run: the DSN setting, or a database created (and dropped) here."""
    dsn = os.environ.get(PG_DSN_VARIABLE)
    if dsn:
        yield Database("postgresql", dsn, f"PostgreSQL ({PG_DSN_VARIABLE})")
        return
    import psycopg2

    name = f"dailybot_bench_{uuid.uuid4().hex[:10]}"
    admin = psycopg2.connect(host=PG_HOST, port=PG_PORT, user="postgres", dbname="postgres")
    admin.autocommit = True
    try:
        admin.cursor().execute(f'CREATE DATABASE "{name}"')
        cur = admin.cursor()
        cur.execute("SHOW server_version")
        version = cur.fetchone()[0]
        try:
            yield Database("postgresql", f"postgresql+psycopg2://postgres@{PG_HOST}:{PG_PORT}/{name}",
                           f"PostgreSQL {version}")  # fmt: skip
        finally:
            admin.cursor().execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        admin.close()


# -- the Airflow stack -----------------------------------------------------------------------------
class ApiServerStack:
    """A throw-away Airflow (home, DB, DAGs, channel) and its api-server subprocess on 127.0.0.1.

    :param home: The ``AIRFLOW_HOME`` (also holds the logs).
    :param database: The metadata database.
    :param workers: api-server worker processes.
    """

    def __init__(self, home: Path, database: Database, workers: int) -> None:
        self.home = home
        self.database = database
        self.workers = workers
        self.port = free_port()
        self.base_url = f"http://{LOOPBACK}:{self.port}"
        self.secret = secrets.token_urlsafe(32)
        dags = home / "dags"
        dags.mkdir(parents=True, exist_ok=True)
        (dags / "bench_consumers.py").write_text(CONSUMER_DAGS)
        self.env = airflow_environment(
            home,
            self.port,
            sql_alchemy_conn=database.url,
            dags_folder=dags,
            base=clean_env(),
            extra={"AIRFLOW__CORE__FERNET_KEY": ""},  # the channel's Variable unencrypted, as measured so far
        )

    def log(self, name: str) -> Path:
        """Return the log file of a step or process."""
        return self.home / f"{name}.log"

    def prepare(self) -> None:
        """Migrate the DB, write the consumer DAGs into it and store the channel's Variable."""
        airflow = str(Path(sys.executable).with_name("airflow"))
        run_command([airflow, "db", "migrate"], env=self.env, log_path=self.log("db-migrate"), timeout=300,
                    cwd=REPO_ROOT, name="airflow db migrate")  # fmt: skip
        secret_hash = hashlib.sha256(self.secret.encode()).hexdigest()
        run_command([sys.executable, "-c", DECLARE, CHANNEL, secret_hash], env=self.env, log_path=self.log("declare"),
                    timeout=120, cwd=REPO_ROOT, name="declaring the DAGs and the channel")  # fmt: skip

    @contextlib.contextmanager
    def serving(self) -> Iterator[ManagedProcess]:
        """Run the api-server for the duration of the ``with`` block; yield its process."""
        with AirflowComponent("api-server", env=self.env, log_path=self.log("api-server"), port=self.port,
                              workers=self.workers, cwd=REPO_ROOT) as server:  # fmt: skip
            wait_for_http(f"{self.base_url}/dailybot/health", timeout=180, process=server, interval=0.5,
                          accept=lambda body: json.loads(body) == {"status": "ok"})  # fmt: skip
            yield server

    def token(self) -> str:
        """Return a JWT of the simple auth manager (all users are admins in this stack)."""
        answer = requests.get(f"{self.base_url}/auth/token", timeout=30)
        answer.raise_for_status()
        return str(answer.json()["access_token"])

    def asset_id(self, token: str, name: str) -> int:
        """Return the id of the asset called ``name`` through the public REST API."""
        answer = requests.get(f"{self.base_url}/api/v2/assets", params={"name_pattern": name},
                              headers={"Authorization": f"Bearer {token}"}, timeout=30)  # fmt: skip
        answer.raise_for_status()
        (asset,) = [a for a in answer.json()["assets"] if a["name"] == name]
        return int(asset["id"])


# -- CPU accounting --------------------------------------------------------------------------------
class CpuMeter:
    """Cumulative CPU seconds of the api-server (with its workers), the database backends and this process.

    :param server_pid: The api-server process.
    :param database: The metadata database; for PostgreSQL the backends serving its database are counted.
    """

    def __init__(self, server_pid: int, database: Database) -> None:
        self.server_pid = server_pid
        self.db_name = database.url.rsplit("/", 1)[-1].split("?", 1)[0] if database.kind == "postgresql" else None
        self._seen: dict[int, float] = {}

    @staticmethod
    def _cpu(proc: Any) -> float:
        times = proc.cpu_times()
        return float(times.user + times.system)

    def _server(self) -> float:
        import psutil

        try:
            root = psutil.Process(self.server_pid)
            procs = [root, *root.children(recursive=True)]
        except psutil.Error:
            return float("nan")
        total = 0.0
        for proc in procs:
            with contextlib.suppress(psutil.Error):
                total += self._cpu(proc)
        return total

    def _database(self) -> float:
        if self.db_name is None:
            return float("nan")
        import psutil

        for proc in psutil.process_iter(["name", "cmdline"]):
            with contextlib.suppress(psutil.Error):
                title = " ".join(proc.info["cmdline"] or [])
                if proc.info["name"] == "postgres" and f" {self.db_name} " in f" {title} ":
                    self._seen[proc.pid] = self._cpu(proc)  # backends that exited keep their last reading
        return sum(self._seen.values())

    def read(self) -> tuple[float, float, float]:
        """Return (api-server, database, this process) CPU seconds so far."""
        return self._server(), self._database(), time.process_time()


# -- load ------------------------------------------------------------------------------------------
@dataclass
class Load:
    """What one target receives: method, URL, headers and a body factory taking a request number."""

    method: str
    url: str
    headers: dict[str, str]
    body: Any = None  # callable(int) -> bytes, or None

    def send(self, session: requests.Session, number: int) -> int:
        """Send request ``number`` and return its status."""
        data = self.body(number) if self.body is not None else None
        response = session.request(self.method, self.url, data=data, headers=self.headers, timeout=REQUEST_TIMEOUT_S)
        response.content  # noqa: B018 - read the body so the connection is reused
        return response.status_code


@dataclass
class LoadResult:
    """Outcome of one load: statuses, latencies (ms), wall time (s) and CPU seconds (server, DB, client)."""

    sent: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    latencies_ms: list[float] = field(default_factory=list)
    wall_s: float = 0.0
    cpu_s: list[float] = field(default_factory=lambda: [0.0, 0.0, 0.0])

    def add(self, other: LoadResult) -> None:
        """Merge another load of the same target and concurrency into this one."""
        self.sent += other.sent
        self.statuses.update(other.statuses)
        self.errors.update(other.errors)
        self.latencies_ms.extend(other.latencies_ms)
        self.wall_s += other.wall_s
        self.cpu_s = [a + b for a, b in zip(self.cpu_s, other.cpu_s, strict=True)]

    @property
    def ok(self) -> int:
        """Requests answered 2xx."""
        return sum(n for status, n in self.statuses.items() if 200 <= status < 300)


def drive(
    load: Load, total: int, concurrency: int, numbers: Iterator[int], meter: CpuMeter | None = None
) -> LoadResult:
    """Send ``total`` requests from ``concurrency`` threads (one keep-alive session each); bounded in time."""
    result = LoadResult()
    lock = threading.Lock()
    remaining = itertools.count()
    start = threading.Barrier(concurrency + 1)
    deadline = time.monotonic() + LOAD_TIMEOUT_S

    def worker() -> None:
        session = requests.Session()
        latencies: list[float] = []
        statuses: Counter[int] = Counter()
        errors: Counter[str] = Counter()
        try:
            start.wait(timeout=60)
            while next(remaining) < total and time.monotonic() < deadline:
                with lock:
                    number = next(numbers)
                began = time.perf_counter()
                try:
                    statuses[load.send(session, number)] += 1
                except requests.RequestException as err:
                    errors[type(err).__name__] += 1
                latencies.append((time.perf_counter() - began) * 1000)
        finally:
            session.close()
            with lock:
                result.latencies_ms.extend(latencies)
                result.statuses.update(statuses)
                result.errors.update(errors)

    threads = [threading.Thread(target=worker, name=f"load-{i}", daemon=True) for i in range(concurrency)]
    for thread in threads:
        thread.start()
    cpu_before = meter.read() if meter else (0.0, 0.0, 0.0)
    start.wait(timeout=60)
    began = time.perf_counter()
    for thread in threads:
        thread.join(timeout=LOAD_TIMEOUT_S + REQUEST_TIMEOUT_S + 5)
    result.wall_s = time.perf_counter() - began
    cpu_after = meter.read() if meter else (0.0, 0.0, 0.0)
    result.cpu_s = [after - before for after, before in zip(cpu_after, cpu_before, strict=True)]
    result.sent = len(result.latencies_ms)
    return result


def make_loads(stack: ApiServerStack, token: str, peer_asset_id: int) -> dict[str, Load]:
    """Return the three targets; receiver and peer record the same DailyBot envelope."""
    from airflow_provider_dailybot.testing.samples import make_envelope

    base_ts = time.time()

    def envelope(number: int) -> dict[str, Any]:
        # A distinct event_timestamp per request: the receiver would merge exact repeats as duplicates.
        return make_envelope(EVENT, hook_id="bench-hook", hook_name="bench", timestamp=base_ts + number / 1e6)

    def delivery(number: int) -> bytes:
        return json.dumps(envelope(number)).encode()

    def peer_event(number: int) -> bytes:
        return json.dumps({"asset_id": peer_asset_id, "extra": envelope(number)}).encode()

    json_type = {"Content-Type": "application/json"}
    return {
        "floor": Load("GET", f"{stack.base_url}/dailybot/health", {}),
        "receiver": Load("POST", f"{stack.base_url}/dailybot/webhooks/{CHANNEL}",
                         {**json_type, "X-BEARER": stack.secret}, delivery),
        "peer": Load("POST", f"{stack.base_url}/api/v2/assets/events",
                     {**json_type, "Authorization": f"Bearer {token}"}, peer_event),
    }  # fmt: skip


def plan(mode: str, kind: str) -> list[tuple[int, str]]:
    """Return the (concurrency, target) loads of one round, targets interleaved.

    On SQLite Airflow's own route is driven one request at a time only: with concurrent writers it
    answers 500 ("database is locked": it reads, then writes, so SQLite cannot queue it behind the
    busy timeout) and its stuck requests then slow every later load of the same server.
    """
    steps = []
    for index, concurrency in enumerate(COUNTS[mode]["requests"]):
        for name in rotated(TARGETS, index):
            if kind == "sqlite" and name == "peer" and concurrency > 1:
                continue
            steps.append((concurrency, name))
    return steps


def bench_database(database: Database, mode: str, workers: int, home: Path) -> dict[str, Any]:
    """Build a stack on ``database``, drive the three targets and count the recorded events.

    A load whose requests failed or timed out can leave the server busy with hanging requests (Airflow's
    route exhausting the SQLAlchemy pool, for one); the api-server is then restarted so that the next
    load starts on an idle server. Restarts are counted in the results.
    """
    counts = COUNTS[mode]
    stack = ApiServerStack(home, database, workers)
    started = time.monotonic()
    stack.prepare()
    setup_s = time.monotonic() - started
    steps: list[tuple[str, int, int]] = [(name, 0, counts["warmup"]) for name in TARGETS]  # 0: warm-up
    for _ in range(counts["rounds"]):
        steps += [(name, c, counts["requests"][c]) for c, name in plan(mode, database.kind)]
    if counts["busy"]:  # a busy channel: many deliveries already recorded within the receiver's dedupe window
        steps.append(("busy", BUSY_CONCURRENCY, counts["busy"][1]))
    results: dict[str, dict[int, LoadResult]] = {t: {} for t in TARGETS}
    busy: dict[str, Any] = {}
    restarts: list[str] = []
    numbers = itertools.count()
    before: dict[str, int] = {}
    while steps:
        with stack.serving() as server:
            meter = CpuMeter(server.pid, database)
            token = stack.token()
            loads = make_loads(stack, token, stack.asset_id(token, f"dailybot_{PEER_CHANNEL}"))
            before = before or database.events_per_asset()
            while steps:
                name, concurrency, total = steps.pop(0)
                if name == "busy":
                    prefilled = database.prefill(f"dailybot_{CHANNEL}", counts["busy"][0])
                    outcome = drive(loads["receiver"], total, concurrency, numbers, meter)
                    busy = {"prefilled": prefilled, "concurrency": concurrency, "receiver": outcome}
                else:
                    outcome = drive(loads[name], total, max(1, concurrency), numbers, meter)
                    results[name].setdefault(concurrency, LoadResult()).add(outcome)
                if outcome.errors or outcome.ok < outcome.sent:
                    restarts.append(f"{name} at concurrency {concurrency}")
                    break
    after = database.events_per_asset()
    recorded = {
        target: after.get(f"dailybot_{channel}", 0) - before.get(f"dailybot_{channel}", 0)
        for target, channel in (("receiver", CHANNEL), ("peer", PEER_CHANNEL))
    }
    if busy:
        recorded["receiver"] -= busy["prefilled"]
    return {"database": database.label, "kind": database.kind, "workers": workers, "setup_s": round(setup_s, 1),
            "loads": results, "busy": busy, "recorded_during_loads": recorded,
            "restarted_after": restarts}  # fmt: skip


def _row_stats(result: LoadResult) -> dict[str, Any]:
    return {
        "sent": result.sent,
        "ok": result.ok,
        "statuses": {str(k): v for k, v in sorted(result.statuses.items())},
        "errors": dict(result.errors),
        "per_s": ratio(result.sent, result.wall_s),
        "p50_ms": percentile(result.latencies_ms, 50),
        "p99_ms": percentile(result.latencies_ms, 99),
        "max_ms": max(result.latencies_ms, default=float("nan")),
        "wall_s": result.wall_s,
        "server_cpu_ms": ratio(result.cpu_s[0] * 1000, result.sent),
        "db_cpu_ms": ratio(result.cpu_s[1] * 1000, result.sent),
        "client_cpu_ms": ratio(result.cpu_s[2] * 1000, result.sent),
    }


def run(mode: str, out: Path, workers: int, databases: list[str]) -> Report:
    """Run the receiver benchmark on the chosen databases and write its JSON to ``out``."""
    params = {"mode": mode, "workers": workers, "databases": databases, **COUNTS[mode]}
    report = Report("receiver", "Receiver throughput and latency (real api-server, loopback)", params)
    report.header()
    per_db: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="dailybot-bench-receiver-") as tmp:
        for kind in databases:
            home = Path(tmp) / kind
            home.mkdir(parents=True)
            try:
                if kind == "sqlite":
                    db = Database("sqlite", f"sqlite:///{home}/airflow.db", "SQLite")
                    report.note(
                        "SQLite: Airflow's own route runs at concurrency 1 only: with concurrent writers it "
                        "answers 500 (database is locked) and its stuck requests slow every later load"
                    )
                    per_db[kind] = bench_database(db, mode, workers, home)
                    continue
                available, why = postgres_available()
                if not available:
                    report.note(f"PostgreSQL part {why}")
                    per_db[kind] = {"skipped": why}
                    continue
                with postgres_database() as db:
                    per_db[kind] = bench_database(db, mode, workers, home)
            finally:
                keep_logs(home, out / "logs" / f"receiver-{kind}")
    report.results = _summarise(report, per_db)
    report.finish(out)
    return report


def keep_logs(home: Path, folder: Path) -> None:
    """Copy the stack's logs (api-server, migration, declaration) next to the results."""
    folder.mkdir(parents=True, exist_ok=True)
    for log in home.glob("*.log"):
        shutil.copy(log, folder / log.name)


def _summarise(report: Report, per_db: dict[str, Any]) -> dict[str, Any]:
    summary: dict[str, Any] = {}
    rows = []
    for kind, data in per_db.items():
        if "skipped" in data:
            summary[kind] = data
            continue
        stats = {t: {c: _row_stats(r) for c, r in data["loads"][t].items() if c} for t in TARGETS}
        busy = data["busy"].get("receiver")
        extra_loads = {"receiver": [busy] if busy else [], "peer": []}
        sent = {t: sum(r.sent for r in [*data["loads"][t].values(), *extra_loads[t]]) for t in ("receiver", "peer")}
        ok = {t: sum(r.ok for r in [*data["loads"][t].values(), *extra_loads[t]]) for t in ("receiver", "peer")}
        recorded = data["recorded_during_loads"]
        # Warm-up requests are in the loads (as concurrency 0) and in the counts (read before them).
        for target in ("receiver", "peer"):
            rec = recorded[target]
            report.check(f"{kind}: {target}: every acknowledged request recorded, none twice "
                         f"({ok[target]} 2xx <= {rec} recorded <= {sent[target]} sent)",
                         ok[target] <= rec <= sent[target])  # fmt: skip
            if ok[target] < sent[target]:
                report.note(f"{kind}: {target}: {sent[target] - ok[target]} of {sent[target]} requests were not "
                            "answered 2xx (failed or timed out; see the table)")  # fmt: skip
        for step in data["restarted_after"]:
            report.note(f"{kind}: the api-server was restarted after the load of {step}, which left requests failing")
        keys = ("database", "workers", "setup_s", "recorded_during_loads", "restarted_after")
        summary[kind] = {key: data[key] for key in keys}
        summary[kind].update(stats=stats, sent=sent, ok=ok)
        if busy:
            summary[kind]["busy"] = {"prefilled": data["busy"]["prefilled"], "stats": _row_stats(busy)}
        for concurrency in sorted(stats["receiver"]):
            for target in TARGETS:
                if concurrency not in stats[target]:
                    continue
                s = stats[target][concurrency]
                rows.append([data["database"], concurrency, TARGET_LABELS[target], s["sent"], s["ok"], s["per_s"],
                             s["p50_ms"], s["p99_ms"], s["max_ms"], s["server_cpu_ms"], s["db_cpu_ms"]])  # fmt: skip
        if busy:
            s = summary[kind]["busy"]["stats"]
            label = f"receiver, busy channel ({data['busy']['prefilled']:,} events in the dedupe window)"
            rows.append([data["database"], data["busy"]["concurrency"], label, s["sent"], s["ok"], s["per_s"],
                         s["p50_ms"], s["p99_ms"], s["max_ms"], s["server_cpu_ms"], s["db_cpu_ms"]])  # fmt: skip
    report.table(
        "Requests per second, client-side latency and CPU per request (ms) by database, concurrency and target",
        ["database", "concurrency", "target", "sent", "2xx", "per s", "p50 ms", "p99 ms", "max ms",
         "api-server CPU ms", "DB CPU ms"],
        rows,
    )  # fmt: skip
    _targets(report, summary)
    return summary


def _targets(report: Report, summary: dict[str, Any]) -> None:
    pg = summary.get("postgresql", {})
    if "stats" in pg and 8 in pg["stats"]["receiver"]:
        receiver, peer = pg["stats"]["receiver"][8], pg["stats"]["peer"][8]
        report.target(Target(
            "PostgreSQL c=8: receiver / peer throughput", ratio(receiver["per_s"], peer["per_s"]), 1.0, ">=", "x",
            f"receiver {receiver['per_s']:.0f}/s, peer {peer['per_s']:.0f}/s; api-server CPU per request "
            f"{receiver['server_cpu_ms']:.1f} vs {peer['server_cpu_ms']:.1f} ms",
        ))  # fmt: skip
        report.target(Target("PostgreSQL c=8: receiver p99", receiver["p99_ms"], P99_LIMIT_MS, "<", " ms",
                             f"peer p99 {peer['p99_ms']:.0f} ms"))  # fmt: skip
    for data in summary.values():
        if "sent" in data:
            sent, recorded = data["sent"]["receiver"], data["recorded_during_loads"]["receiver"]
            report.target(Target(f"{data['database'].split(' (')[0]}: deliveries not recorded exactly once",
                                 abs(sent - recorded), 0, "<=", "", f"{sent} sent, {recorded} recorded"))  # fmt: skip
    sqlite = summary.get("sqlite", {})
    if "stats" in sqlite and 8 in sqlite["stats"]["receiver"]:
        s8 = sqlite["stats"]["receiver"][8]
        report.target(Target("SQLite c=8: receiver deliveries/s (first measurement ≈ 100)", s8["per_s"],
                             SQLITE_BASELINE_PER_S, ">", "/s", f"p99 {s8['p99_ms']:.0f} ms"))  # fmt: skip
    if "stats" in sqlite and 1 in sqlite["stats"]["receiver"]:
        s1, peer1 = sqlite["stats"]["receiver"][1], sqlite["stats"]["peer"].get(1, {})
        report.target(Target(
            "SQLite c=1: receiver p50 (first measurement ≈ 5 ms)", s1["p50_ms"], SQLITE_BASELINE_P50_MS, "<", " ms",
            f"api-server CPU {s1['server_cpu_ms']:.1f} ms per delivery; Airflow's route p50 "
            f"{peer1.get('p50_ms', float('nan')):.1f} ms",
        ))  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    """Command line: ``python -m benchmarks.bench_receiver [--quick | --smoke] [--workers N] [--db LIST]``."""
    parser = bench_parser(__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=1, help="api-server worker processes (%(default)s)")
    parser.add_argument("--db", default="sqlite,postgresql", help="databases, comma-separated (%(default)s)")
    args = parser.parse_args(argv)
    databases = [d.strip() for d in args.db.split(",") if d.strip()]
    unknown = set(databases) - {"sqlite", "postgresql"}
    if unknown:
        parser.error(f"unknown database(s): {', '.join(sorted(unknown))}")
    run(mode_of(args), args.out, args.workers, databases)
    return 0


if __name__ == "__main__":
    sys.exit(main())
