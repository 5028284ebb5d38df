"""CLI output: tables for people, JSON for scripts, and never a terminal control code from a payload."""

from __future__ import annotations

import io
import json

from airflow_provider_dailybot.cli.output import MAX_CELL, emit, safe_text, table, to_json

ESCAPES = "\x1b[2J\x1b]0;owned\x07\x9b31m\r\x00"


def test_control_characters_become_question_marks():
    cleaned = safe_text(f"a{ESCAPES}b")
    assert "\x1b" not in cleaned
    assert "\x9b" not in cleaned
    assert "\x07" not in cleaned
    assert "\r" not in cleaned
    assert cleaned.startswith("a?")
    assert cleaned.endswith("b")
    assert safe_text("line 1\nline 2", keep_newlines=True) == "line 1\nline 2"
    assert safe_text("line 1\nline 2") == "line 1?line 2"
    assert safe_text(None) == ""


def test_json_is_ascii_only_and_still_the_same_data():
    data = {"answer": f"Olá {ESCAPES}", "n": 1}
    text = to_json(data)
    assert text.isascii()
    assert "\x1b" not in text
    assert json.loads(text) == data


def test_table_aligns_columns_and_cuts_long_cells():
    rows = [{"a": "x", "b": ["h1", "h2"]}, {"a": "y" * (MAX_CELL + 10), "b": None}]
    lines = table(rows, ("a", "b")).splitlines()
    assert lines[0].split() == ["a", "b"]
    assert lines[2].startswith("x ")
    assert "h1, h2" in lines[2]
    assert lines[3].startswith("y" * (MAX_CELL - 1) + "…")


def test_emit_prints_table_json_and_key_value_lines():
    out = io.StringIO()
    emit([], "table", columns=("a",), stream=out)
    emit({"channel": f"c{ESCAPES}"}, "table", stream=out)
    emit([{"a": 1}], "json", stream=out)
    text = out.getvalue()
    assert text.startswith("(none)\nchannel: c?")
    assert "\x1b" not in text
    assert json.loads(text[text.index("\n[") :]) == [{"a": 1}]
