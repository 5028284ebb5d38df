"""The results block that ``make bench-docs`` writes into a page of the docs, in Markdown or reStructuredText.

The block sits between two markers and is replaced whole on every run:

* in a Markdown file, ``<!-- bench:begin -->`` … ``<!-- bench:end -->`` and the summary as written;
* in a reStructuredText file (``docs/performance.rst``), two comment lines, ``.. bench:begin`` …
  ``.. bench:end`` (invisible in the HTML), and the summary converted to reStructuredText by
  :func:`markdown_to_rst`: each ``### heading`` becomes a ``.. rubric::`` (it does not change the page's
  section structure, whatever heading levels the page uses), each Markdown table a ``.. list-table::``,
  each ```code``` span an inline literal. The Markdown markers are accepted in an ``.rst`` file too,
  and replaced by the comment markers.

The converter handles what :func:`benchmarks.run_all.summary_markdown` writes (paragraphs, ``- `` items,
``**captions**``, ``### `` headings and pipe tables), not Markdown in general.
"""

from __future__ import annotations

import re
from pathlib import Path

MD_BEGIN, MD_END = "<!-- bench:begin -->", "<!-- bench:end -->"
RST_BEGIN, RST_END = ".. bench:begin", ".. bench:end"

_CODE = re.compile(r"(?<!`)`([^`\n]+)`(?!`)")
_RULE = re.compile(r"^\|(\s*:?-+:?\s*\|)+$")
#: A cell text that reStructuredText would read as the start of a list or an enumeration.
_LIST_START = re.compile(r"^([-*+•]|\d+[.)]|#\.)(\s|$)")


def _inline(text: str) -> str:
    """Markdown inline code → reStructuredText inline literals, escaped where a word touches them."""

    def literal(match: re.Match[str]) -> str:
        before = match.string[match.start() - 1] if match.start() else " "
        after = match.string[match.end()] if match.end() < len(match.string) else " "
        lead = "\\ " if before.isalnum() else ""
        trail = "\\ " if after.isalnum() else ""
        return f"{lead}``{match.group(1)}``{trail}"

    return _CODE.sub(literal, text)


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def _cell(text: str) -> str:
    text = _inline(text)
    return "\\" + text if _LIST_START.match(text) else text


def _list_table(rows: list[str]) -> list[str]:
    header, body = _cells(rows[0]), [_cells(row) for row in rows[1:] if not _RULE.match(row.strip())]
    out = [".. list-table::", "   :header-rows: 1", ""]
    for cells in [header, *body]:
        cells = [*cells, *[""] * (len(header) - len(cells))][: len(header)]
        out.append(f"   * - {_cell(cells[0])}".rstrip())
        out += [f"     - {_cell(cell)}".rstrip() for cell in cells[1:]]
    return out


def markdown_to_rst(markdown: str) -> str:
    """Convert the benchmark summary (Markdown) to reStructuredText; see the module docstring."""
    lines = markdown.splitlines()
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("|"):
            table = []
            while i < len(lines) and lines[i].startswith("|"):
                table.append(lines[i])
                i += 1
            out += _list_table(table)
            continue
        if line.startswith("#"):
            out += [f".. rubric:: {_inline(line.lstrip('#').strip())}"]
        else:
            out.append(_inline(line))
        i += 1
    return "\n".join(out).rstrip("\n") + "\n"


def update_docs(path: Path, markdown: str) -> None:
    """Replace the block between the bench markers of ``path`` with the summary, in the file's format."""
    text = path.read_text()
    if path.suffix == ".rst":
        begin, end, block = RST_BEGIN, RST_END, "\n" + markdown_to_rst(markdown) + "\n"
        pairs = [(RST_BEGIN, RST_END), (MD_BEGIN, MD_END)]
    else:
        begin, end, block = MD_BEGIN, MD_END, markdown
        pairs = [(MD_BEGIN, MD_END)]
    for found_begin, found_end in pairs:
        if found_begin in text and found_end in text:
            head, rest = text.split(found_begin, 1)
            _, tail = rest.split(found_end, 1)
            path.write_text(f"{head}{begin}\n{block}{end}{tail}")
            return
    raise SystemExit(f"{path} has no {begin} … {end} block")
