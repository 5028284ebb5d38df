"""Receiver: ours next to the peer and Airflow's own asset-event route, on one api-server and one database.

For each database (SQLite, then PostgreSQL) the benchmark builds a throw-away Airflow
(:mod:`benchmarks.receiver_stack`: its own ``AIRFLOW_HOME``, ``airflow db migrate``, consumer DAGs of the
three assets written to the database the way the dag-processor does, our channel's state holding the
hash of a known secret, the peer's connection) and starts ``airflow api-server`` (uvicorn, one worker
unless told otherwise) on 127.0.0.1. Targets, all with the same realistic 2.5 KB DailyBot envelope:

``receiver``
    ours: ``POST /dailybot/webhooks/bench`` with ``X-BEARER``; each delivery has its own ``event_timestamp``.
``peer``
    ``airflow-provider-inbound-webhooks`` (installed by ``make bench``) configured for DailyBot:
    ``POST /webhooks/dailybot``, ``token_header`` on ``X-BEARER``, the same secret and bodies.
``airflow``
    Airflow's ``POST /api/v2/assets/events`` with a JWT and the envelope as ``extra``: the reference.
``health``
    ``GET /dailybot/health``: the same app and middleware, no database work (the floor).

Scenarios, in blocks interleaved A/B (the order rotates from block to block), over several rounds:
``new`` deliveries at concurrency 1, 8 and 32; ``replay`` (each body sent again: a duplicate) and
``wrong`` secret (a 401) for ours and the peer; then, on PostgreSQL, ``busy``: new deliveries after
100,000 deliveries of each were stored with SQL (asset events, and the delivery rows of the provider's
``dailybot_delivery`` table when it exists, and of the peer's). Every load reports throughput, p50, p99
and the api-server's and PostgreSQL backends' CPU per request; afterwards the ``asset_event`` rows of each
asset are counted (every acknowledged new delivery exactly once, no replay recorded) and the targets of
issue 13 are printed with their verdicts.

PostgreSQL: ``DAILYBOT_BENCH_PG_DSN`` (a SQLAlchemy URL of an existing, dedicated database) when set;
otherwise a database created for the run on ``127.0.0.1:5432`` (user ``postgres``) and dropped after,
when that server answers; otherwise the PostgreSQL part is skipped and says so.

Run: ``python -m benchmarks.bench_receiver [--quick | --smoke] [--workers N] [--db sqlite,postgresql]``;
``--quick`` (a check of the harness in under 2 minutes, not a measurement) runs on PostgreSQL only when
it answers.
"""

from __future__ import annotations

import itertools
import json
import math
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from benchmarks.common import Report, Target, bench_parser, mode_of, percentile, ratio, rotated
from benchmarks.load import UNAUTHORIZED, CpuMeter, Load, LoadResult, drive
from benchmarks.receiver_stack import (
    CHANNEL,
    EVENT,
    HOOK_ID,
    PEER_ASSET,
    PEER_WEBHOOK,
    REST_CHANNEL,
    ApiServerStack,
    Database,
    has_our_store,
    peer_path,
    peer_version,
    postgres_available,
    postgres_database,
)

__all__ = ["main", "postgres_database", "run"]

TARGETS = ("health", "receiver", "peer", "airflow")
LABELS = {
    "health": "floor: GET /dailybot/health",
    "receiver": "ours: POST /dailybot/webhooks/bench",
    "peer": f"peer: POST /webhooks/{PEER_WEBHOOK}",
    "airflow": "Airflow: POST /api/v2/assets/events",
}
#: The asset each recording target records on.
ASSETS = {"receiver": f"dailybot_{CHANNEL}", "peer": PEER_ASSET, "airflow": f"dailybot_{REST_CHANNEL}"}
SCENARIOS = ("new", "replay", "wrong", "busy")
#: Requests per block by scenario and concurrency, rounds, warm-up requests per target and the busy tables
#: (deliveries stored beforehand, concurrency, requests per block), by mode.
COUNTS: dict[str, dict[str, Any]] = {
    "full": {"new": {1: 100, 8: 200, 32: 320}, "side": {8: 200}, "rounds": 3, "warmup": 20,
             "busy": (100_000, 8, 200)},
    "quick": {"new": {1: 20, 8: 48, 32: 96}, "side": {8: 48}, "rounds": 1, "warmup": 5, "busy": (10_000, 8, 48)},
    "smoke": {"new": {1: 10}, "side": {1: 5}, "rounds": 1, "warmup": 1, "busy": None},
}  # fmt: skip
SQLITE_BASELINE_PER_S = 100.0  # the first measurement quoted by issue 10 (sqlite, concurrency 8)
SQLITE_BASELINE_P50_MS = 5.0  # and its p50 for one delivery at a time
#: The targets of issue 13 ("Performance").
PEER_THROUGHPUT_RATIO = 1.2
BUSY_RATIO = 0.9
REPLAY_SPEEDUP = 2.0
WRONG_SECRET_RATIO = 1.2


def make_loads(stack: ApiServerStack, token: str, rest_asset_id: int, base_ts: float) -> dict[tuple[str, str], Load]:
    """Return the loads by ``(scenario, target)``; the same request number gives the same body bytes.

    :param base_ts: The ``event_timestamp`` of request 0 (each request adds a microsecond), fixed for the
        stack so that a replay after an api-server restart is still a duplicate.
    """
    from airflow_provider_dailybot.testing.samples import make_envelope

    def envelope(number: int) -> dict[str, Any]:
        return make_envelope(EVENT, hook_id=HOOK_ID, hook_name="bench", timestamp=base_ts + number / 1e6)

    def delivery(number: int) -> bytes:
        return json.dumps(envelope(number)).encode()

    def rest_event(number: int) -> bytes:
        return json.dumps({"asset_id": rest_asset_id, "extra": envelope(number)}).encode()

    json_type = {"Content-Type": "application/json"}
    ours = f"{stack.base_url}/dailybot/webhooks/{CHANNEL}"
    peer = f"{stack.base_url}/webhooks/{PEER_WEBHOOK}"
    wrong = {**json_type, "X-BEARER": f"wrong-{stack.secret}"}
    loads = {
        ("new", "health"): Load("GET", f"{stack.base_url}/dailybot/health", {}),
        ("new", "receiver"): Load("POST", ours, {**json_type, "X-BEARER": stack.secret}, delivery),
        ("new", "peer"): Load("POST", peer, {**json_type, "X-BEARER": stack.secret}, delivery),
        ("new", "airflow"): Load("POST", f"{stack.base_url}/api/v2/assets/events",
                                 {**json_type, "Authorization": f"Bearer {token}"}, rest_event),
        ("wrong", "receiver"): Load("POST", ours, wrong, delivery, UNAUTHORIZED),
        ("wrong", "peer"): Load("POST", peer, wrong, delivery, UNAUTHORIZED),
    }  # fmt: skip
    for target in ("receiver", "peer"):
        loads["replay", target] = loads["busy", target] = loads["new", target]
    return loads


def plan(mode: str, kind: str, targets: tuple[str, ...]) -> list[tuple[str, str, int, int]]:
    """Return the ``(scenario, target, concurrency, requests)`` blocks of one round, interleaved.

    On SQLite Airflow's route and the peer's new deliveries are driven one request at a time only: with
    concurrent writers they answer 500 or 503 ("database is locked": they read, then write, so SQLite
    cannot queue them behind the busy timeout), and stuck requests then slow every later load.
    """
    counts = COUNTS[mode]
    blocks = []
    index = 0
    for concurrency, requests_ in counts["new"].items():
        for target in rotated(targets, index):
            if kind == "sqlite" and target in ("airflow", "peer") and concurrency > 1:
                continue
            blocks.append(("new", target, concurrency, requests_))
        index += 1
    for concurrency, requests_ in counts["side"].items():
        for scenario in ("replay", "wrong"):
            for target in rotated([t for t in ("receiver", "peer") if t in targets], index):
                blocks.append((scenario, target, concurrency, requests_))  # neither writes: fine on SQLite too
            index += 1
    return blocks


def bench_database(database: Database, mode: str, workers: int, home: Path, peer: Path | None) -> dict[str, Any]:
    """Build a stack on ``database``, drive the blocks and count the recorded events.

    A load whose requests failed, timed out or got an unexpected status can leave the server busy with
    hanging requests (Airflow's route exhausting the SQLAlchemy pool, for one); the api-server is then
    restarted so that the next load starts on an idle server. Restarts are counted in the results.
    """
    counts = COUNTS[mode]
    targets = tuple(t for t in TARGETS if t != "peer" or peer is not None)
    stack = ApiServerStack(home, database, workers, peer)
    started = time.monotonic()
    stack.prepare()
    setup_s = time.monotonic() - started
    steps: list[tuple[str, str, int, int]] = [("new", t, 0, counts["warmup"]) for t in targets]  # 0: warm-up
    for _ in range(counts["rounds"]):
        steps += plan(mode, database.kind, targets)
    busy = counts["busy"] if database.kind == "postgresql" else None
    if busy:
        steps.append(("prefill", "", 0, busy[0]))
        for round_ in range(counts["rounds"]):
            steps += [("busy", t, busy[1], busy[2]) for t in rotated([t for t in ("receiver", "peer") if t in targets],
                                                                      round_)]  # fmt: skip
    results: dict[tuple[str, str, int], LoadResult] = {}
    prefilled: dict[str, Any] = {}
    restarts: list[str] = []
    numbers = itertools.count()
    base_ts = time.time()
    before: dict[str, int] = {}
    while steps:
        with stack.serving() as server:
            meter = CpuMeter(server.pid, database.name)
            token = stack.token()
            loads = make_loads(stack, token, stack.asset_id(token, ASSETS["airflow"]), base_ts)
            before = before or database.events_per_asset()
            while steps:
                scenario, target, concurrency, total = steps.pop(0)
                if scenario == "prefill":
                    prefilled = prefill(database, total, targets)
                    continue
                source: Iterator[int] = numbers
                if scenario == "replay":  # the bodies of the new deliveries answered 2xx, again
                    source = itertools.cycle(_recorded_numbers(results, target) or [0])
                outcome = drive(loads[scenario, target], total, max(1, concurrency), source, meter)
                results.setdefault((scenario, target, concurrency), LoadResult()).add(outcome)
                if outcome.errors or outcome.ok < outcome.sent:
                    restarts.append(f"{scenario} {target} at concurrency {concurrency}")
                    break
    after = database.events_per_asset()
    recorded = {target: after.get(asset, 0) - before.get(asset, 0) for target, asset in ASSETS.items()}
    for target, count in prefilled.get("asset_events", {}).items():
        recorded[target] -= count
    return {"database": database.label, "kind": database.kind, "workers": workers, "setup_s": round(setup_s, 1),
            "targets": targets, "loads": results, "prefilled": prefilled, "recorded_during_loads": recorded,
            "restarted_after": restarts}  # fmt: skip


def _recorded_numbers(results: dict[tuple[str, str, int], LoadResult], target: str) -> list[int]:
    """Return the numbers of the new deliveries of ``target`` answered 2xx so far (what a replay sends again)."""
    news = [r for (scenario, name, _), r in results.items() if scenario == "new" and name == target]
    return [number for result in news for number in result.numbers_ok]


def prefill(database: Database, count: int, targets: tuple[str, ...]) -> dict[str, Any]:
    """Store ``count`` deliveries for ours (and the peer) with SQL; return what was stored and how long it took."""
    began = time.monotonic()
    stored = {"receiver": database.prefill_ours(count)}
    if "peer" in targets:
        stored["peer"] = database.prefill_peer(count)
    return {"count": count, "rows": stored, "asset_events": {t: rows["asset_event"] for t, rows in stored.items()},
            "seconds": round(time.monotonic() - began, 1)}  # fmt: skip


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
    peer = peer_path()
    params = {"mode": mode, "workers": workers, "databases": databases, "peer": peer_version(peer) if peer else None,
              "store_table": has_our_store(), **COUNTS[mode]}  # fmt: skip
    report = Report("receiver", "Receiver: ours, the peer and Airflow's route (real api-server, loopback)", params)
    report.header()
    if peer is None:
        report.note("the peer (airflow-provider-inbound-webhooks) is not installed: its columns and the targets "
                    "against it are left out (`make bench` installs it; or set DAILYBOT_BENCH_PEER_PATH)")  # fmt: skip
    else:
        report.note(f"peer: airflow-provider-inbound-webhooks {params['peer']}, connection webhook_{PEER_WEBHOOK} "
                    "(token_header on X-BEARER, event_field event, delivery_id_field hook.id)")  # fmt: skip
    per_db: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="dailybot-bench-receiver-") as tmp:
        for kind in databases:
            home = Path(tmp) / kind
            home.mkdir(parents=True)
            try:
                if kind == "sqlite":
                    db = Database("sqlite", f"sqlite:///{home}/airflow.db", "SQLite")
                    report.note("SQLite: new deliveries to Airflow's route and the peer at concurrency 1 only: with "
                                "concurrent writers they answer 500/503 (database locked); no busy tables")  # fmt: skip
                    per_db[kind] = bench_database(db, mode, workers, home, peer)
                    continue
                available, why = postgres_available()
                if not available:
                    report.note(f"PostgreSQL part {why}")
                    per_db[kind] = {"skipped": why}
                    continue
                with postgres_database() as db:
                    per_db[kind] = bench_database(db, mode, workers, home, peer)
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
        loads: dict[tuple[str, str, int], LoadResult] = data["loads"]
        stats: dict[str, dict[str, dict[int, dict[str, Any]]]] = {s: {} for s in SCENARIOS}
        for (scenario, target, concurrency), result in sorted(loads.items(), key=_order):
            if concurrency:  # 0: warm-up
                stats[scenario].setdefault(target, {})[concurrency] = _row_stats(result)
        sent = _check(report, kind, data)
        for step in data["restarted_after"]:
            report.note(f"{kind}: the api-server was restarted after the load of {step}, which left requests failing")
        if data["prefilled"]:
            p = data["prefilled"]
            report.note(f"{kind}: busy tables: {p['count']:,} deliveries stored with SQL for ours and the peer in "
                        f"{p['seconds']} s ({json.dumps(p['rows'])})")  # fmt: skip
        keys = ("database", "workers", "setup_s", "recorded_during_loads", "restarted_after", "prefilled")
        summary[kind] = {key: data[key] for key in keys}
        summary[kind].update(stats=stats, sent=sent)
        for scenario in SCENARIOS:
            for target in TARGETS:
                for concurrency, s in stats[scenario].get(target, {}).items():
                    rows.append([data["database"], scenario, concurrency, LABELS[target], s["sent"], s["ok"],
                                 s["per_s"], s["p50_ms"], s["p99_ms"], s["max_ms"], s["server_cpu_ms"],
                                 s["db_cpu_ms"]])  # fmt: skip
    report.table(
        "Requests per second, client-side latency and CPU per request (ms) by database, scenario, concurrency, target"
        " (new: distinct deliveries; replay: the same bodies again; wrong: a wrong secret, 401; busy: new deliveries"
        " with the busy tables)",
        ["database", "scenario", "concurrency", "target", "sent", "as expected", "per s", "p50 ms", "p99 ms", "max ms",
         "api-server CPU ms", "DB CPU ms"],
        rows,
    )  # fmt: skip
    _targets(report, summary)
    return summary


def _order(item: tuple[tuple[str, str, int], LoadResult]) -> tuple[int, int, int]:
    (scenario, target, concurrency), _ = item
    return SCENARIOS.index(scenario), concurrency, TARGETS.index(target)


def _check(report: Report, kind: str, data: dict[str, Any]) -> dict[str, int]:
    """Correctness: every acknowledged new delivery recorded once, replays and wrong secrets record nothing.

    Return the new deliveries sent to each recording target (warm-up included).
    """
    loads: dict[tuple[str, str, int], LoadResult] = data["loads"]
    sent_by_target: dict[str, int] = {}
    for target in ASSETS:
        if target not in data["targets"]:
            continue
        new = [r for (s, t, _), r in loads.items() if t == target and s in ("new", "busy")]
        sent, ok = sum(r.sent for r in new), sum(r.accepted for r in new)
        sent_by_target[target] = sent
        recorded = data["recorded_during_loads"][target]
        report.check(f"{kind}: {target}: every acknowledged new delivery recorded, none twice, no replay recorded "
                     f"({ok} 2xx <= {recorded} recorded <= {sent} sent)", ok <= recorded <= sent)  # fmt: skip
        for scenario in ("replay", "wrong"):
            side = [r for (s, t, _), r in loads.items() if t == target and s == scenario]
            if side:
                expected, total = sum(r.ok for r in side), sum(r.sent for r in side)
                what = "answered 2xx" if scenario == "replay" else "refused with 401"
                report.check(f"{kind}: {target}: every {scenario} {what} ({expected} of {total})", expected == total)
    return sent_by_target


def _cell(stats: dict[str, Any], scenario: str, target: str, concurrency: int, key: str) -> float:
    return float(stats.get(scenario, {}).get(target, {}).get(concurrency, {}).get(key, math.nan))


def _targets(report: Report, summary: dict[str, Any]) -> None:
    """Add the targets of issue 13 (PostgreSQL) and of issue 10 (SQLite); print a PASS/FAIL line for each."""
    pg = summary.get("postgresql", {})
    if "stats" in pg:
        st = pg["stats"]
        for c in sorted(st["new"].get("receiver", {})):
            ours, peer = (_cell(st, "new", t, c, "per_s") for t in ("receiver", "peer"))
            server, db = ([_cell(st, "new", t, c, key) for t in ("receiver", "peer", "airflow")]
                          for key in ("server_cpu_ms", "db_cpu_ms"))  # fmt: skip
            cpu = (f"; CPU per delivery ours / peer / Airflow: api-server {server[0]:.1f} / {server[1]:.1f} / "
                   f"{server[2]:.1f} ms, PostgreSQL {db[0]:.1f} / {db[1]:.1f} / {db[2]:.1f} ms")  # fmt: skip
            report.target(
                Target(
                    f"PostgreSQL c={c}: ours / peer throughput, new deliveries",
                    ratio(ours, peer),
                    PEER_THROUGHPUT_RATIO,
                    ">=",
                    "x",
                    f"ours {ours:.1f}/s, peer {peer:.1f}/s{cpu}",
                )
            )
            p99 = [_cell(st, "new", t, c, "p99_ms") for t in ("receiver", "peer")]
            report.target(
                Target(
                    f"PostgreSQL c={c}: ours / peer p99",
                    ratio(p99[0], p99[1]),
                    1.0,
                    "<=",
                    "x",
                    f"ours {p99[0]:.0f} ms, peer {p99[1]:.0f} ms",
                )
            )
        busy_c = next(iter(st.get("busy", {}).get("receiver", {})), None)
        if busy_c is not None:
            full, empty = _cell(st, "busy", "receiver", busy_c, "per_s"), _cell(st, "new", "receiver", busy_c, "per_s")
            peer_full, peer_empty = (_cell(st, s, "peer", busy_c, "per_s") for s in ("busy", "new"))
            count = pg["prefilled"].get("count", 0)
            report.target(Target(f"PostgreSQL c={busy_c}: ours with {count:,} stored / empty, throughput",
                                 ratio(full, empty), BUSY_RATIO, ">=", "x",
                                 f"ours {full:.1f} vs {empty:.1f}/s; peer {ratio(peer_full, peer_empty):.2f}x "
                                 f"({peer_full:.1f} vs {peer_empty:.1f}/s); DB CPU per delivery ours "
                                 f"{_cell(st, 'busy', 'receiver', busy_c, 'db_cpu_ms'):.1f} ms"))  # fmt: skip
        for c in st.get("replay", {}).get("receiver", {}):
            new, replay = (_cell(st, s, "receiver", c, "p50_ms") for s in ("new", "replay"))
            peer_new, peer_replay = (_cell(st, s, "peer", c, "p50_ms") for s in ("new", "replay"))
            report.target(Target(f"PostgreSQL c={c}: ours new / replay p50 (a replay answered faster)",
                                 ratio(new, replay), REPLAY_SPEEDUP, ">=", "x",
                                 f"ours {new:.0f} vs {replay:.0f} ms; peer {ratio(peer_new, peer_replay):.2f}x "
                                 f"({peer_new:.0f} vs {peer_replay:.0f} ms)"))  # fmt: skip
        for c in st.get("wrong", {}).get("receiver", {}):
            ours, peer = (_cell(st, "wrong", t, c, "per_s") for t in ("receiver", "peer"))
            report.target(Target(f"PostgreSQL c={c}: ours / peer rate of wrong secrets refused", ratio(ours, peer),
                                 WRONG_SECRET_RATIO, ">=", "x",
                                 f"ours {ours:.1f}/s, peer {peer:.1f}/s; DB CPU per request ours "
                                 f"{_cell(st, 'wrong', 'receiver', c, 'db_cpu_ms'):.2f} ms, peer "
                                 f"{_cell(st, 'wrong', 'peer', c, 'db_cpu_ms'):.2f} ms"))  # fmt: skip
    sqlite = summary.get("sqlite", {})
    if "stats" in sqlite:
        st = sqlite["stats"]
        if 8 in st["new"].get("receiver", {}):
            report.target(Target("SQLite c=8: ours deliveries/s (first measurement ≈ 100)",
                                 _cell(st, "new", "receiver", 8, "per_s"), SQLITE_BASELINE_PER_S, ">", "/s",
                                 f"p99 {_cell(st, 'new', 'receiver', 8, 'p99_ms'):.0f} ms"))  # fmt: skip
        if 1 in st["new"].get("receiver", {}):
            report.target(Target(
                "SQLite c=1: ours p50 (first measurement ≈ 5 ms)", _cell(st, "new", "receiver", 1, "p50_ms"),
                SQLITE_BASELINE_P50_MS, "<", " ms",
                f"api-server CPU {_cell(st, 'new', 'receiver', 1, 'server_cpu_ms'):.1f} ms per delivery; p50 of the "
                f"peer {_cell(st, 'new', 'peer', 1, 'p50_ms'):.1f} ms, of Airflow's route "
                f"{_cell(st, 'new', 'airflow', 1, 'p50_ms'):.1f} ms",
            ))  # fmt: skip
    for data in summary.values():
        if "recorded_during_loads" in data:
            report.note(f"{data['database']}: asset events recorded during the loads: "
                        f"{json.dumps(data['recorded_during_loads'])}")  # fmt: skip
    print("\nVerdicts:", flush=True)
    for target in report.targets:
        verdict = "PASS" if target.met else ("SKIP" if math.isnan(target.value) else "FAIL")
        print(f"{verdict}: {target.name}: {target.value:.2f}{target.unit} (target {target.comparison} "
              f"{target.limit:g}{target.unit}); {target.note}", flush=True)  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    """Command line: ``python -m benchmarks.bench_receiver [--quick | --smoke] [--workers N] [--db LIST]``."""
    parser = bench_parser(__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=1, help="api-server worker processes (%(default)s)")
    parser.add_argument("--db", help="databases, comma-separated (sqlite,postgresql; --quick: postgresql when it "
                        "answers, where the targets are, else sqlite)")  # fmt: skip
    args = parser.parse_args(argv)
    mode = mode_of(args)
    if args.db is None:
        args.db = "sqlite,postgresql" if mode != "quick" else "postgresql" if postgres_available()[0] else "sqlite"
    databases = [d.strip() for d in args.db.split(",") if d.strip()]
    unknown = set(databases) - {"sqlite", "postgresql"}
    if unknown:
        parser.error(f"unknown database(s): {', '.join(sorted(unknown))}")
    run(mode, args.out, args.workers, databases)
    return 0


if __name__ == "__main__":
    sys.exit(main())
