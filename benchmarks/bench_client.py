"""Client overhead: ``DailyBotHook`` against a raw ``requests.Session`` (the floor) and ``HttpHook.run()`` (the peer).

The fake DailyBot server runs in its own process (so its threads do not share this process's GIL),
over HTTP and over HTTPS with a certificate made at run time by ``trustme``. For each transport and
operation the three clients are timed in blocks of ``N`` sequential calls, interleaved (the order
rotates every round) and repeated; the tables give the median, min and max of the per-call time over
the rounds, the client CPU per call, and the ratios hook/floor and peer/hook.

Operations: ``GET /v1/me/`` (``get_me()``), and a create + delete pair of a webhook subscription
(``create_webhook_subscription`` + ``delete_webhook_subscription``; the floor and the peer send the
same two requests: ``POST /v1/webhook-subscription/`` and ``DELETE /v1/webhook-subscription/`` with
``hook_id`` and ``hook_url`` as query parameters and JSON body).

``REQUESTS_CA_BUNDLE`` and ``CURL_CA_BUNDLE`` are removed from this process's environment: requests
lets them override a Session's ``verify`` (psf/requests#3829), which would make every client ignore the
run-time CA (the hook's ``ca_bundle`` extra included).

Run: ``python -m benchmarks.bench_client [--quick | --smoke]``.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from airflow_provider_dailybot.testing.processes import ManagedProcess, free_port
from benchmarks.common import (
    CA_BUNDLE_VARIABLES,
    REPO_ROOT,
    Report,
    Target,
    clean_env,
    ratio,
    rotated,
    run_main,
    summarize,
)

API_KEY = "bench-api-key-4f1c2d9e7a"
BEARER = "bench-bearer-secret-6b0e3a91c5d2"
HOOK_URL = "https://airflow.example.com/dailybot/webhooks/bench"
EVENTS = ["followups.response.completed"]
CLIENTS = ("floor", "hook", "peer")
CLIENT_LABELS = {
    "floor": "requests.Session (floor)",
    "hook": "DailyBotHook",
    "peer": "HttpHook.run() (peer)",
}
OPERATIONS = {"get_me": "GET /v1/me/", "create_delete": "create + delete subscription"}
#: (calls per block, rounds, warm-up calls) for each operation and mode.
COUNTS = {
    "full": {"get_me": (200, 15, 30), "create_delete": (50, 15, 10)},
    "quick": {"get_me": (50, 3, 10), "create_delete": (20, 3, 5)},
    "smoke": {"get_me": (5, 1, 1), "create_delete": (5, 1, 1)},
}
#: Upper bound of one operation's measurement (all rounds); later rounds are skipped past it.
TIME_BUDGET_S = 60.0
HOOK_FLOOR_LIMIT = 1.15
PEER_HOOK_LIMIT = 1.2


def make_certificates(folder: Path) -> tuple[Path, Path]:
    """Create a CA and a server certificate for 127.0.0.1 with ``trustme``; return (server PEM, CA PEM)."""
    import trustme

    ca = trustme.CA()
    server = ca.issue_cert("127.0.0.1", "localhost")
    server_pem, ca_pem = folder / "server.pem", folder / "ca.pem"
    server.private_key_and_cert_chain_pem.write_to_path(str(server_pem))
    ca.cert_pem.write_to_path(str(ca_pem))
    return server_pem, ca_pem


@contextmanager
def fake_dailybot(scheme: str, folder: Path) -> Iterator[tuple[str, Path | None]]:
    """Run the fake DailyBot CLI in a subprocess; yield (base URL ending in ``/v1/``, CA file or None)."""
    port = free_port()
    # WARNING: no per-request log line (the CLI's default is INFO), as the benchmark has always measured it.
    args = [sys.executable, "-m", "airflow_provider_dailybot.testing", "--host", "127.0.0.1", "--port", str(port),
            "--no-samples", "--log-level", "WARNING"]  # fmt: skip
    ca_pem = None
    if scheme == "https":
        server_pem, ca_pem = make_certificates(folder)
        args += ["--tls-cert", str(server_pem), "--tls-key", str(server_pem)]
    env = clean_env(DAILYBOT_FAKE_API_KEY=API_KEY)
    log = folder / f"fake-{scheme}.log"
    with ManagedProcess(args, log_path=log, env=env, name="fake DailyBot", cwd=REPO_ROOT, ready_port=port) as fake:
        fake.wait_ready(timeout=30)
        yield f"{scheme}://127.0.0.1:{port}/v1/", ca_pem


def configure_connections(base_url: str, ca_pem: Path | None) -> None:
    """Define the ``dailybot_bench`` and ``http_bench`` connections (environment variables)."""
    dailybot_extra: dict[str, Any] = {"ca_bundle": str(ca_pem)} if ca_pem else {}
    http_extra: dict[str, Any] = {"X-API-KEY": API_KEY, "Accept": "application/json"}
    if ca_pem:
        http_extra["verify"] = str(ca_pem)
    origin = base_url.rsplit("/v1/", 1)[0]
    os.environ["AIRFLOW_CONN_DAILYBOT_BENCH"] = json.dumps(
        {"conn_type": "dailybot", "host": base_url, "password": API_KEY, "extra": dailybot_extra}
    )
    os.environ["AIRFLOW_CONN_HTTP_BENCH"] = json.dumps({"conn_type": "http", "host": origin, "extra": http_extra})


class Clients:
    """The three clients of one transport, each with one method per operation.

    Every client object is built once and reused for all calls, as a task would use it.

    :param base_url: The fake's base URL (``.../v1/``).
    :param ca_pem: The CA file for HTTPS, None for HTTP.
    """

    def __init__(self, base_url: str, ca_pem: Path | None) -> None:
        import requests
        from airflow.providers.http.hooks.http import HttpHook

        from airflow_provider_dailybot.hooks.dailybot import DailyBotHook

        self.base_url = base_url
        self.session = requests.Session()
        self.session.headers.update(
            {"X-API-KEY": API_KEY, "Accept": "application/json", "Content-Type": "application/json"}
        )
        self.session.verify = str(ca_pem) if ca_pem else True
        self.hook = DailyBotHook("dailybot_bench")
        self.peer_get = HttpHook(method="GET", http_conn_id="http_bench")
        self.peer_post = HttpHook(method="POST", http_conn_id="http_bench")
        self.peer_delete = HttpHook(method="DELETE", http_conn_id="http_bench")
        self.create_payload = {"hook_url": HOOK_URL, "subscriptions": EVENTS, "immediate_sample_event": False,
                               "bearer": BEARER}  # fmt: skip

    def operation(self, client: str, operation: str) -> Callable[[], Any]:
        """Return the bound method doing ``operation`` with ``client``."""
        return getattr(self, f"{client}_{operation}")

    # -- GET /v1/me/
    # The floor sends what the hook sends (same headers, timeout, no redirects) with none of its code.
    def floor_get_me(self) -> Any:
        response = self.session.get(self.base_url + "me/", timeout=30, allow_redirects=False)
        response.raise_for_status()
        return response.json()

    def hook_get_me(self) -> Any:
        return self.hook.get_me()

    def peer_get_me(self) -> Any:
        return self.peer_get.run("v1/me/").json()

    # -- create + delete
    def floor_create_delete(self) -> None:
        url = self.base_url + "webhook-subscription/"
        created = self.session.post(url, json=self.create_payload, timeout=30, allow_redirects=False)
        created.raise_for_status()
        params = {"hook_id": created.json()["id"], "hook_url": HOOK_URL}
        self.session.delete(url, params=params, json=params, timeout=30, allow_redirects=False).raise_for_status()

    def hook_create_delete(self) -> None:
        sub = self.hook.create_webhook_subscription(hook_url=HOOK_URL, events=EVENTS, bearer=BEARER)
        if not self.hook.delete_webhook_subscription(sub.id, hook_url=sub.hook_url):
            raise RuntimeError("the subscription just created was not found for deletion")

    def peer_create_delete(self) -> None:
        from urllib.parse import urlencode

        hook_id = self.peer_post.run("v1/webhook-subscription/", json=self.create_payload).json()["id"]
        params = {"hook_id": hook_id, "hook_url": HOOK_URL}
        self.peer_delete.run(f"v1/webhook-subscription/?{urlencode(params)}", json=params)

    def same_answers(self) -> bool:
        """Return True when the three clients read the same ``/v1/me/`` document."""
        return self.floor_get_me() == self.hook_get_me() == self.peer_get_me()

    def leftover_subscriptions(self) -> int:
        """Return how many subscriptions the fake still holds (every create was followed by a delete)."""
        origin = self.base_url.rsplit("/v1/", 1)[0]
        state = self.session.get(f"{origin}/_fake/state", timeout=30)
        state.raise_for_status()
        return len(state.json()["subscriptions"])

    def close(self) -> None:
        """Close the pooled connections of the floor and the hook."""
        self.session.close()
        self.hook.close()


def measure(clients: Clients, operation: str, calls: int, rounds: int, warmup: int) -> dict[str, Any]:
    """Time ``rounds`` interleaved blocks of ``calls`` calls per client; return per-call samples (ms, µs CPU)."""
    samples: dict[str, dict[str, list[float]]] = {c: {"wall_ms": [], "cpu_us": []} for c in CLIENTS}
    for client in CLIENTS:
        op = clients.operation(client, operation)
        for _ in range(warmup):
            op()
    started = time.monotonic()
    done_rounds = 0
    for round_no in range(rounds):
        if time.monotonic() - started > TIME_BUDGET_S:
            break
        for client in rotated(CLIENTS, round_no):
            op = clients.operation(client, operation)
            cpu0, wall0 = time.process_time(), time.perf_counter()
            for _ in range(calls):
                op()
            wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
            samples[client]["wall_ms"].append(wall / calls * 1000)
            samples[client]["cpu_us"].append(cpu / calls * 1e6)
        done_rounds += 1
    per_round = {
        "hook/floor": [
            ratio(h, f) for h, f in zip(samples["hook"]["wall_ms"], samples["floor"]["wall_ms"], strict=True)
        ],
        "peer/hook": [ratio(p, h) for p, h in zip(samples["peer"]["wall_ms"], samples["hook"]["wall_ms"], strict=True)],
    }
    return {"calls_per_block": calls, "rounds": done_rounds, "samples": samples, "per_round_ratios": per_round}


def log_like_a_task(path: Path) -> Any:
    """Send Airflow's logs as JSON lines to ``path``, as a task process sends them to its supervisor.

    The hook logs each create and delete at INFO; in a task those lines are JSON written to the
    supervisor's socket, not coloured console text, so that is what is timed here. Returns the file.
    """
    from airflow.sdk.log import configure_logging

    sink = path.open("wb")
    configure_logging(json_output=True, output=sink, sending_to_supervisor=True)
    return sink


def run(mode: str, out: Path) -> Report:
    """Run the client benchmark in ``mode`` (``full``, ``quick`` or ``smoke``) and write its JSON to ``out``."""
    counts = COUNTS[mode]
    report = Report("client", "Client overhead (fake DailyBot on loopback)", {"mode": mode, "counts": counts})
    report.header()
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="dailybot-bench-client-") as tmp:
        folder = Path(tmp)
        sink = log_like_a_task(folder / "task-log.jsonl")
        for scheme in ("http", "https"):
            with fake_dailybot(scheme, folder) as (base_url, ca_pem):
                configure_connections(base_url, ca_pem)
                clients = Clients(base_url, ca_pem)
                try:
                    report.check(f"{scheme}: floor, hook and peer read the same /v1/me/", clients.same_answers())
                    results[scheme] = {op: measure(clients, op, *counts[op]) for op in OPERATIONS}
                    report.check(f"{scheme}: every subscription created was deleted",
                                 clients.leftover_subscriptions() == 0)  # fmt: skip
                finally:
                    clients.close()
        sink.close()
    report.results = results
    _tables(report, results)
    _targets(report, results)
    report.finish(out)
    return report


def _median(result: dict[str, Any], client: str, key: str = "wall_ms") -> float:
    return float(summarize(result["samples"][client][key])["median"])


def _tables(report: Report, results: dict[str, Any]) -> None:
    rows = []
    for scheme, by_op in results.items():
        for op, result in by_op.items():
            floor = _median(result, "floor")
            for client in CLIENTS:
                wall = summarize(result["samples"][client]["wall_ms"])
                rows.append([
                    scheme, OPERATIONS[op], CLIENT_LABELS[client], wall["median"], wall["min"], wall["max"],
                    _median(result, client, "cpu_us"), f"{ratio(float(wall['median']), floor):.2f}x",
                ])  # fmt: skip
    report.table(
        "Per-call time (ms): median, min and max over the rounds; client CPU µs per call",
        ["transport", "operation", "client", "median ms", "min ms", "max ms", "client CPU µs", "vs floor"],
        rows,
    )
    ratio_rows = []
    for scheme, by_op in results.items():
        for op, result in by_op.items():
            floor, hook, peer = (_median(result, c) for c in CLIENTS)
            ratio_rows.append([
                scheme, OPERATIONS[op], f"{ratio(hook, floor):.3f}x", f"{ratio(peer, hook):.3f}x",
                f"{ratio(peer, floor):.3f}x", result["rounds"], result["calls_per_block"],
            ])  # fmt: skip
    report.table(
        "Ratios of the medians",
        ["transport", "operation", "hook / floor", "peer / hook", "peer / floor", "rounds", "calls per block"],
        ratio_rows,
    )


def _targets(report: Report, results: dict[str, Any]) -> None:
    for scheme, by_op in results.items():
        result = by_op["get_me"]
        floor, hook, peer = (_median(result, c) for c in CLIENTS)
        report.target(Target(f"get_me hook / floor ({scheme})", ratio(hook, floor), HOOK_FLOOR_LIMIT, "<=", "x"))
        report.target(Target(f"get_me peer / hook ({scheme})", ratio(peer, hook), PEER_HOOK_LIMIT, ">=", "x"))


def main(argv: list[str] | None = None) -> int:
    """Command line: ``python -m benchmarks.bench_client [--quick | --smoke] [--out DIR]``."""
    for name in CA_BUNDLE_VARIABLES:
        os.environ.pop(name, None)
    for name in [n for n in os.environ if n.startswith(("AIRFLOW__", "AIRFLOW_CONN_", "AIRFLOW_VAR_"))]:
        del os.environ[name]
    os.environ["AIRFLOW_HOME"] = tempfile.mkdtemp(prefix="dailybot-bench-home-")
    os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
    return run_main(__doc__, run, argv)


if __name__ == "__main__":
    sys.exit(main())
