r"""How the CLI prints: a plain aligned table for people, JSON for scripts; never a terminal control code.

Channel names are checked, but hook ids, event timestamps and payloads are text from outside: a
payload holding an escape sequence must not drive the terminal. JSON output is ASCII-only (every
other character ``\\uXXXX``-escaped); table and text output replace unprintable characters with ``?``.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import Any, TextIO

#: Widest table cell; longer values are cut with ``…``.
MAX_CELL = 80


def safe_text(value: object, *, keep_newlines: bool = False) -> str:
    r"""Return ``value`` as text with every unprintable character replaced by ``?``.

    :param value: Anything (``None`` is empty).
    :param keep_newlines: Keep ``\\n`` (multi-line text such as an indented payload).
    """
    text = "" if value is None else str(value)
    return "".join(ch if ch.isprintable() or (keep_newlines and ch == "\n") else "?" for ch in text)


def to_json(data: Any) -> str:
    """Return ``data`` as indented, ASCII-only JSON (times as ISO text).

    :param data: A JSON-ready value.
    """
    return json.dumps(data, indent=2, ensure_ascii=True, default=str)


def _cell(value: object) -> str:
    if isinstance(value, (list, tuple)):
        value = ", ".join(str(v) for v in value)
    text = safe_text(value)
    return text if len(text) <= MAX_CELL else text[: MAX_CELL - 1] + "…"


def table(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> str:
    """Return ``rows`` as a left-aligned text table with a header line.

    :param rows: The rows.
    :param columns: The keys shown, in order.
    """
    cells = [[_cell(row.get(c)) for c in columns] for row in rows]
    widths = [max([len(c), *(len(r[i]) for r in cells)]) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines.extend("  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip() for r in cells)
    return "\n".join(lines)


def emit(data: Any, output: str, *, columns: Sequence[str] = (), stream: TextIO | None = None) -> None:
    """Print ``data``: as JSON, or as a table of ``columns`` (a list of rows) / ``key: value`` lines (a dict).

    :param data: A list of row dicts, or one dict.
    :param output: ``"json"`` or ``"table"``.
    :param columns: The table's columns (lists of rows only).
    :param stream: Where to print; stdout by default.
    """
    out = stream or sys.stdout
    if output == "json":
        print(to_json(data), file=out)
    elif isinstance(data, list):
        print(table(data, columns) if data else "(none)", file=out)
    else:
        for key, value in data.items():
            print(f"{safe_text(key)}: {_cell(value)}", file=out)
