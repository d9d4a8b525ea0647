"""aibos_otel.terminal.escape: outside data shown as text, never acted on by the terminal."""

from __future__ import annotations

import os

import pytest

from aibos_otel.terminal import escape


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("plain name-1.jsonl.gz", "plain name-1.jsonl.gz"),
        ("Zoë 日本 ✓", "Zoë 日本 ✓"),  # printable non-ASCII is kept
        ("\x1b[2J", "\\x1b[2J"),
        ("\x1b]0;title\x07", "\\x1b]0;title\\x07"),
        ("a\nb\rc\td", "a\\nb\\rc\\td"),
        ("\x00\x7f\x85\x9b", "\\x00\\x7f\\x85\\x9b"),
        ("\u202etxt.exe\u2066\u200f", "\\u202etxt.exe\\u2066\\u200f"),
        ("one\u2028two", "one\\u2028two"),
    ],
)
def test_controls_become_visible_escapes(raw: str, shown: str) -> None:
    assert escape(raw) == shown


def test_undecodable_file_name_bytes_print_as_the_byte() -> None:
    name = os.fsdecode(b"info-\xff\x1b.jsonl.gz")
    shown = escape(name)
    assert shown == "info-\\xff\\x1b.jsonl.gz"
    shown.encode("utf-8")  # printable: no lone surrogate left to make print() raise


def test_non_strings_are_converted() -> None:
    assert escape(42) == "42"
