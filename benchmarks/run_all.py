"""Run every benchmark in a fresh process, print their tables and write a summary (``make bench``).

``python -m benchmarks.run_all [--quick | --smoke] [--only client,parse,receiver,profile,rotation] [--docs FILE]``

Each benchmark writes ``<out>/<name>.json``; this script adds ``<out>/summary.md`` (machine, versions,
every table and the targets) and ``<out>/summary.json``. With ``--docs`` the results block of that file
(between its bench markers) is replaced by the summary: Markdown in a ``.md`` file, reStructuredText in an
``.rst`` file (``docs/performance.rst``, ``make bench-docs``); see :mod:`benchmarks.docs_block`.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.common import bench_parser, machine_line, mode_of
from benchmarks.docs_block import update_docs

#: Benchmark name -> (module, time limit in seconds for one run).
BENCHMARKS = {
    "client": ("benchmarks.bench_client", 300),
    "parse": ("benchmarks.bench_parse", 420),
    "receiver": ("benchmarks.bench_receiver", 2400),
    "profile": ("benchmarks.profile_receiver", 900),
    "rotation": ("benchmarks.bench_rotation", 420),
}


def run_one(name: str, mode: str, out: Path) -> tuple[bool, float]:
    """Run one benchmark module in a fresh interpreter; its stdout passes through, stderr goes to a log."""
    module, limit = BENCHMARKS[name]
    args = [sys.executable, "-m", module, "--out", str(out)]
    if mode != "full":
        args.append(f"--{mode}")
    log = out / "logs" / f"{name}.stderr.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    began = time.monotonic()
    with log.open("wb") as err:
        try:
            done = subprocess.run(args, stderr=err, timeout=limit, check=False)
            ok = done.returncode == 0
        except subprocess.TimeoutExpired:
            ok = False
            print(f"{name}: stopped after its limit of {limit} s", flush=True)
    if not ok:
        print(f"{name}: FAILED, see {log}", flush=True)
    return ok, time.monotonic() - began


def summary_markdown(results: dict[str, dict[str, Any]], mode: str, elapsed: float, command: str) -> str:
    """Return the Markdown summary of the benchmark results."""
    first = next(iter(results.values()))
    versions = first["versions"]
    lines = [
        f"Run of {first['started_at']} ({mode} mode, {elapsed:.0f} s in all): `{command}`",
        "",
        f"Machine: {machine_line(first['machine'])}.",
        "",
        "Versions: " + ", ".join(f"{k} {v}" for k, v in versions.items() if v) + ".",
    ]
    for data in results.values():
        lines += ["", f"### {data['title']}", ""]
        lines += [f"- {note}" for note in data.get("notes", [])]
        failed = [name for name, ok in data.get("checks", {}).items() if not ok]
        lines.append(f"- correctness checks: {'all passed' if not failed else 'FAILED: ' + '; '.join(failed)}")
        for table in data["tables"]:
            lines += ["", f"**{table['caption']}**", "", table["markdown"]]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Run the benchmarks; exit 1 when one failed or a correctness check did not pass (missed targets do not)."""
    parser = bench_parser(__doc__.splitlines()[0])
    parser.add_argument("--only", default=",".join(BENCHMARKS), help="benchmarks to run (%(default)s)")
    parser.add_argument("--docs", type=Path, help="page (.md or .rst) whose bench block receives the summary")
    parser.add_argument("--no-run", action="store_true",
                        help="run nothing: summarise the results already in --out (each benchmark's JSON, as its "
                             "own run wrote it) — e.g. to join runs made one benchmark at a time")  # fmt: skip
    args = parser.parse_args(argv)
    names = [n.strip() for n in args.only.split(",") if n.strip()]
    unknown = set(names) - set(BENCHMARKS)
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(sorted(unknown))}")
    mode, out = mode_of(args), args.out
    out.mkdir(parents=True, exist_ok=True)
    began = time.monotonic()
    if args.no_run:
        missing = [name for name in names if not (out / f"{name}.json").is_file()]
        if missing:
            parser.error(f"--no-run: no result in {out} for {', '.join(missing)}")
        outcome = {name: (True, float(json.loads((out / f"{name}.json").read_text())["duration_s"])) for name in names}
    else:
        outcome = {name: run_one(name, mode, out) for name in names}
    elapsed = time.monotonic() - began if not args.no_run else sum(seconds for _, seconds in outcome.values())
    results = {name: json.loads((out / f"{name}.json").read_text()) for name, (ok, _) in outcome.items() if ok}
    checks_ok = all(all(r.get("checks", {}).values()) for r in results.values())
    if results:
        command = "make bench" if mode == "full" else f"make bench-{mode}"
        markdown = summary_markdown(results, mode, elapsed, command)
        (out / "summary.md").write_text(markdown)
        targets = [dict(t, benchmark=name) for name, r in results.items() for t in r.get("targets", [])]
        (out / "summary.json").write_text(json.dumps({
            "mode": mode, "elapsed_s": round(elapsed, 1),
            "benchmarks": {name: {"ok": ok, "seconds": round(sec, 1)} for name, (ok, sec) in outcome.items()},
            "targets": targets, "checks_ok": checks_ok,
        }, indent=2) + "\n")  # fmt: skip
        if args.docs:
            update_docs(args.docs, markdown)
    print("\nBenchmarks: " + ", ".join(f"{n} {'ok' if ok else 'FAILED'} ({s:.0f} s)" for n, (ok, s) in outcome.items())
          + f"; {elapsed:.0f} s in all. Summary: {out / 'summary.md'}", flush=True)  # fmt: skip
    return 0 if all(ok for ok, _ in outcome.values()) and checks_ok else 1


if __name__ == "__main__":
    sys.exit(main())
