"""``make bench-docs`` writes its results block into docs/performance.rst: valid reStructuredText there."""

from __future__ import annotations

import io
from pathlib import Path

import docutils.core
import pytest

from benchmarks.common import Target, render_table, targets_table
from benchmarks.docs_block import MD_BEGIN, MD_END, RST_BEGIN, RST_END, markdown_to_rst, update_docs
from benchmarks.run_all import summary_markdown

MACHINE = {"cpu": "Test CPU", "usable_cores": 2, "memory_gib": 8, "os": "Debian", "python": "3.11.7",
           "load_average_at_start": [0.1, 0.2, 0.3]}  # fmt: skip


def results() -> dict[str, dict]:
    table = render_table(
        ["transport", "operation", "client", "median ms", "vs floor"],
        [
            ["http", "GET /v1/me/", "`DailyBotHook`", 0.69, "1.01x"],
            ["https", "- list", "requests.Session (floor)", None, ""],
        ],
    )
    targets = targets_table(
        [Target("get_me hook / floor (http)", 1.01, 1.15, "<="), Target("p99", 9.0, 5.0, "<=", "ms")]
    )
    return {
        "client": {
            "started_at": "2026-11-25T12:21:41+00:00",
            "versions": {"apache-airflow-core": "3.3.2", "requests": "2.34.2", "missing": None},
            "machine": MACHINE,
            "title": "Client overhead (`bench_client.py`)",
            "notes": ["blocks of N sequential calls; `HttpHook.run()`s peer", "*Cold* = the whole import"],
            "checks": {"every call answered": True},
            "tables": [
                {"caption": "Per-call time (ms)", "markdown": table},
                {"caption": "targets", "markdown": targets},
            ],
        }
    }


def system_messages(rst: str) -> list[str]:
    """Every docutils warning or error for ``rst`` (Sphinx-only directives are not used in the block)."""
    stream = io.StringIO()
    docutils.core.publish_doctree(
        rst, settings_overrides={"warning_stream": stream, "report_level": 2, "halt_level": 5}
    )
    return [line for line in stream.getvalue().splitlines() if line.strip()]


def test_the_summary_becomes_valid_rst_with_its_tables() -> None:
    rst = markdown_to_rst(summary_markdown(results(), "full", 266.0, "make bench"))
    assert system_messages(rst) == []
    doctree = docutils.core.publish_doctree(rst, settings_overrides={"report_level": 5})
    tables = [node for node in doctree.findall() if node.tagname == "table"]
    assert len(tables) == 2
    text = doctree.astext()
    assert "GET /v1/me/" in text
    assert "MISSED" in text
    assert "- list" in text  # a cell that looks like a list item stays text
    assert "``" not in text  # every inline literal was parsed as one


def test_a_word_touching_a_code_span_stays_valid() -> None:
    assert system_messages(markdown_to_rst("peer `HttpHook.run()`s and x`y`z\n")) == []


def test_update_docs_replaces_the_rst_block_and_keeps_the_page(tmp_path: Path) -> None:
    page = tmp_path / "performance.rst"
    page.write_text(f"Performance\n===========\n\nBefore.\n\n{RST_BEGIN}\n\nold results\n\n{RST_END}\n\nAfter.\n")
    update_docs(page, summary_markdown(results(), "full", 266.0, "make bench"))
    update_docs(page, summary_markdown(results(), "quick", 100.0, "make bench-quick"))  # twice: still one block
    text = page.read_text()
    assert text.count(RST_BEGIN) == 1
    assert text.count(RST_END) == 1
    assert "old results" not in text
    assert "quick mode" in text
    assert "full mode" not in text
    assert text.startswith("Performance\n===========\n\nBefore.\n\n")
    assert text.endswith("\n\nAfter.\n")
    assert system_messages(text) == []


def test_update_docs_accepts_the_markdown_markers_in_an_rst_page(tmp_path: Path) -> None:
    page = tmp_path / "performance.rst"
    page.write_text(f"Title\n=====\n\n{MD_BEGIN}\nold\n{MD_END}\n")
    update_docs(page, "Run of today\n")
    assert page.read_text() == f"Title\n=====\n\n{RST_BEGIN}\n\nRun of today\n\n{RST_END}\n"


def test_update_docs_keeps_markdown_in_a_markdown_page(tmp_path: Path) -> None:
    page = tmp_path / "bench.md"
    page.write_text(f"# Bench\n\n{MD_BEGIN}\nold\n{MD_END}\n")
    update_docs(page, "| a | b |\n|---|---|\n| 1 | 2 |\n")
    assert page.read_text() == f"# Bench\n\n{MD_BEGIN}\n| a | b |\n|---|---|\n| 1 | 2 |\n{MD_END}\n"


def test_update_docs_refuses_a_page_without_markers(tmp_path: Path) -> None:
    page = tmp_path / "performance.rst"
    page.write_text("Performance\n===========\n")
    with pytest.raises(SystemExit, match=r"no \.\. bench:begin"):
        update_docs(page, "x\n")
    assert page.read_text() == "Performance\n===========\n"
