"""Short, linear-time summaries of what a server sent: error pages and unexpected JSON values.

Everything here is linear in a bounded input: only the first :data:`SUMMARY_PREFIX_CHARS` characters
of a page are looked at, tags are skipped with ``str.find`` (no regular expression, so a page of a
million ``<`` characters costs one pass), and every text is scrubbed of secrets before it is cut.
"""

from __future__ import annotations

from typing import Any

from airflow_provider_dailybot import scrubbing

#: Characters of an error page looked at; the rest is never scanned.
SUMMARY_PREFIX_CHARS = 64 * 1024
#: Longest summary returned.
SUMMARY_CHARS = 200
#: Keys of an unexpected object named in a message.
DESCRIBED_KEYS = 8

_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def summarise_page(text: str) -> str | None:
    """Return the gist of a non-JSON page (its ``<title>`` or first ``<h1>``, else its text), or ``None``.

    :param text: The page as received (any length; only its prefix is read).
    """
    if not text:
        return None
    prefix, _ = scrubbing.scrub_prefix(text, SUMMARY_PREFIX_CHARS)
    heading = _first_heading(prefix)
    visible = _strip_tags(heading if heading is not None else prefix)
    summary = " ".join(visible.split())
    if not summary and heading is not None:
        summary = " ".join(_strip_tags(prefix).split())
    return scrubbing.cut(summary, SUMMARY_CHARS) or None


def _first_heading(text: str) -> str | None:
    """The content of the first ``<title>`` or ``<h1>`` element, found with a constant number of scans."""
    lowered = text.translate(_ASCII_LOWER)  # same length as text, unlike str.lower()
    best: str | None = None
    best_start = len(text)
    for tag in ("title", "h1"):
        start = _find_open_tag(lowered, tag, best_start)
        if start < 0:
            continue
        open_end = lowered.find(">", start)
        if open_end < 0:
            continue
        close = lowered.find(f"</{tag}", open_end)
        if close < 0:
            continue
        best, best_start = text[open_end + 1 : close], start
    return best


def _find_open_tag(lowered: str, tag: str, before: int) -> int:
    """Index of the first ``<tag`` followed by ``>``, white space or ``/``, before ``before`` (or -1)."""
    needle = "<" + tag
    position = lowered.find(needle, 0, before)
    while position >= 0:
        after = position + len(needle)
        if after < len(lowered) and (lowered[after] in "> \t\r\n/"):
            return position
        position = lowered.find(needle, after, before)
    return -1


def _strip_tags(text: str) -> str:
    """Replace every ``<…>`` tag by a space in one pass; an unclosed ``<`` ends the text."""
    parts: list[str] = []
    position = 0
    while True:
        start = text.find("<", position)
        if start < 0:
            parts.append(text[position:])
            break
        parts.append(text[position:start])
        end = text.find(">", start + 1)
        if end < 0:
            break
        parts.append(" ")
        position = end + 1
    return "".join(parts)


def describe_value(value: Any) -> str:
    """Say briefly what a decoded JSON value is, for a message (``"a list of 3 items"``, ``"null"`` …).

    :param value: Any decoded JSON value.
    """
    if value is None:
        return "no JSON value (an empty body or null)"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return f"a string of {len(value)} characters"
    if isinstance(value, list):
        return f"a list of {len(value)} item{'s' if len(value) != 1 else ''}"
    if isinstance(value, dict):
        if not value:
            return "an empty object"
        keys = [scrubbing.cut(str(key), 40) for key in list(value)[:DESCRIBED_KEYS]]
        more = f" and {len(value) - DESCRIBED_KEYS} more" if len(value) > DESCRIBED_KEYS else ""
        return f"an object with keys {keys}{more}"
    return f"a {type(value).__name__}"
