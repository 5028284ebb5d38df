"""``make bench-docs``: ``benchmarks/run_all.py --docs`` rewrites the results block of ``docs/performance.rst``."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from benchmarks.run_all import RST_BEGIN, RST_END, rst_text, summary_rst, update_docs

REPO = Path(__file__).resolve().parents[3]
PAGE = REPO / "docs" / "performance.rst"

RESULTS = {
    "client": {
        "started_at": "2026-12-01T10:00:00+00:00",
        "machine": {"cpu": "Test CPU", "cores": 2},
        "versions": {"airflow-provider-dailybot": "0.2.0", "apache-airflow-core": "3.3.2", "missing": None},
        "title": "Client overhead (fake DailyBot on loopback)",
        "notes": ["the `get_me` call, *floor* first | then the hook"],
        "checks": {"each answer parsed": True, "no request lost": False},
        "tables": [{"caption": "Per-call time (ms)", "markdown": "| a | b |\n|---|--:|\n| x | 1 |"}],
    }
}


def test_bench_docs_points_at_the_performance_page() -> None:
    assert "BENCH_DOCS ?= docs/performance.rst" in (REPO / "mk" / "bench.mk").read_text()
    text = PAGE.read_text(encoding="utf-8")
    assert text.count(f"\n{RST_BEGIN}\n") == 1
    assert text.count(f"\n{RST_END}\n") == 1


def test_summary_rst_keeps_tables_in_a_text_block_and_escapes_prose(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("benchmarks.run_all.machine_line", lambda machine: f"{machine['cpu']}, 2 cores")
    rst = summary_rst(RESULTS, "full", 12.3, "make bench")
    lines = rst.splitlines()
    assert lines[0] == "Run of 2026-12-01T10:00:00+00:00 (full mode, 12 s in all): ``make bench``"
    assert "Versions: airflow-provider-dailybot 0.2.0, apache-airflow-core 3.3.2." in lines
    assert ".. rubric:: Client overhead (fake DailyBot on loopback)" in lines
    assert r"* the ``get_me`` call, \*floor\* first \| then the hook" in lines
    assert "* correctness checks: FAILED: no request lost" in lines
    block = lines.index(".. code-block:: text")
    assert lines[block + 1] == ""
    assert lines[block + 2 : block + 5] == ["   | a | b |", "   |---|--:|", "   | x | 1 |"]
    assert not [line for line in lines if line.startswith("|")], "a table row outside the text block"


def test_rst_text_keeps_literals_apart_from_words() -> None:
    assert rst_text("a`b`c") == r"a\ ``b``\ c"
    assert rst_text("name_ then no_consumer") == r"name\_ then no_consumer"


def test_update_docs_replaces_only_the_block(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    page = tmp_path / "performance.rst"
    shutil.copy(PAGE, page)
    before = page.read_text(encoding="utf-8")
    update_docs(page, "markdown, unused", "NEW SUMMARY\n")
    after = page.read_text(encoding="utf-8")
    head, rest = before.split(RST_BEGIN, 1)
    tail = rest.split(RST_END, 1)[1]
    assert after == f"{head}{RST_BEGIN}\n\nNEW SUMMARY\n\n{RST_END}{tail}"
    update_docs(page, "markdown, unused", "NEWER\n")  # the markers survive: a second run works too
    assert "NEWER" in page.read_text(encoding="utf-8")
    assert "NEW SUMMARY" not in page.read_text(encoding="utf-8")


def test_update_docs_refuses_a_page_without_markers(tmp_path: Path) -> None:
    page = tmp_path / "other.rst"
    page.write_text("Title\n=====\n")
    with pytest.raises(SystemExit, match="bench:begin"):
        update_docs(page, "md", "rst\n")


def test_update_docs_keeps_writing_markdown_files(tmp_path: Path) -> None:
    page = tmp_path / "notes.md"
    page.write_text("a\n<!-- bench:begin -->\nold\n<!-- bench:end -->\nb\n")
    update_docs(page, "new\n")
    assert page.read_text() == "a\n<!-- bench:begin -->\nnew\n<!-- bench:end -->\nb\n"
