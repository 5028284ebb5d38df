"""``make bench-docs`` writes into ``docs/performance.rst``: the page has exactly one results block.

How the block is written is tested in ``test_bench_block.py``.
"""

from __future__ import annotations

from pathlib import Path

from benchmarks.docs_block import RST_BEGIN, RST_END

REPO = Path(__file__).resolve().parents[3]
PAGE = REPO / "docs" / "performance.rst"


def test_bench_docs_points_at_the_performance_page() -> None:
    assert "BENCH_DOCS ?= docs/performance.rst" in (REPO / "mk" / "bench.mk").read_text()
    text = PAGE.read_text(encoding="utf-8")
    assert text.count(f"\n{RST_BEGIN}\n") == 1
    assert text.count(f"\n{RST_END}\n") == 1


def _result(name: str, table: str) -> dict[str, object]:
    from benchmarks.common import machine_description

    return {
        "benchmark": name, "title": f"{name} title", "started_at": "2026-12-02T01:00:00+00:00", "duration_s": 12.5,
        "machine": machine_description(), "versions": {"apache-airflow-core": "3.3.2"},
        "notes": [], "checks": {"ok": True}, "targets": [], "tables": [{"caption": f"{name} table", "markdown": table}],
    }  # fmt: skip


def test_no_run_joins_results_written_by_separate_runs_into_the_docs_block(tmp_path: Path) -> None:
    import json

    from benchmarks.run_all import main

    for name, cell in (("client", "1.07"), ("receiver", "56.1")):
        (tmp_path / f"{name}.json").write_text(json.dumps(_result(name, f"| x |\n|--:|\n| {cell} |")))
    page = tmp_path / "performance.rst"
    page.write_text(f"Title\n=====\n\n{RST_BEGIN}\n\nold figures\n\n{RST_END}\n\nAfter.\n")

    assert main(["--no-run", "--out", str(tmp_path), "--only", "client,receiver", "--docs", str(page)]) == 0

    text = page.read_text()
    assert "old figures" not in text
    assert "1.07" in text
    assert "56.1" in text
    assert text.endswith("After.\n")
    assert "25 s in all" in (tmp_path / "summary.md").read_text()  # the runs' own durations, added


def test_no_run_refuses_a_benchmark_without_a_result(tmp_path: Path) -> None:
    import pytest

    from benchmarks.run_all import main

    with pytest.raises(SystemExit):
        main(["--no-run", "--out", str(tmp_path), "--only", "client"])
