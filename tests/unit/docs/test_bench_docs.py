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
