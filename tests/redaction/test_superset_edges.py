"""The superset rewrite's edges (``aibos_otel/redaction/superset.py``): a one-character
look-behind at a pattern's start, and look-aheads at its end, become that character consumed
(or the text's edge), so whether a match exists is unchanged -- checked here against Python's
own ``re`` on texts where the look-arounds decide."""

from __future__ import annotations

import importlib
import os
import re

import pytest

from aibos_otel.redaction.superset import rust_superset

# CI builds the extension: there, its absence fails the tests instead of skipping them.
native = (
    importlib.import_module("aibos_otel_native")
    if os.environ.get("CI")
    else pytest.importorskip("aibos_otel_native")
)

CASES = {
    r"(?<![A-Za-z0-9])\d{8}-?[A-Z](?![A-Za-z0-9])": (
        ["12345678Z", "id 12345678-Z.", "(12345678Z)", "x=12345678Z"],
        ["a12345678Z", "12345678Zb", "912345678Z9", "123456789"],
    ),
    # A branch of look-behinds, one of them positive: "/bot" before the match, or no word char.
    r"(?:(?<=/bot)|(?<![\w:]))\d{3}:[a-z]{4}(?![A-Za-z0-9_\-])": (
        ["/bot123:abcd", "123:abcd", "t 123:abcd end", "x/bot123:abcd-"[:-1]],
        ["a123:abcd", ":123:abcd", "123:abcde", "123:abcd_"],
    ),
    # Several look-behinds: the one-character ones exclude together; the longer one is dropped.
    r"(?<![\w+])(?<!ab )0\d{2}(?![\w]|\.\d)": (["call 012 now", "012", "x 012."], ["+012", "a012", "0123"]),
    # A look-ahead alternation: only its one-character alternatives are kept (".5" is two).
    r"(?<!\d)\d{2}\.\d{1,3}(?![\d]|\.\d)": (["v 12.5 x", "12.55.x", "12.5."], ["112.5", "12.5555"]),
    # Case-insensitive: the excluded class folds in both engines.
    r"(?i)(?<![a-z])key(?![a-z])": (["KEY", "a key", "key=1"], ["monkey", "KEYS", "aKEY"]),
}


def _matches(pattern: str, text: str) -> bool:
    shape = (0, 0, False, "", "", 0)
    gate = native.CleanGate([], [], [shape], [0], [rust_superset(pattern)])
    assert gate.unchecked == [], rust_superset(pattern)
    return gate.first_pass(text) == [0]


@pytest.mark.parametrize("pattern", list(CASES))
def test_a_superset_with_consumed_edges_matches_where_re_does(pattern: str) -> None:
    compiled = re.compile(pattern, re.ASCII)
    found, absent = CASES[pattern]
    for text in found:
        assert compiled.search(text), (pattern, text)  # the cases themselves are right
        assert _matches(pattern, text), (pattern, text)
    for text in absent:
        # Not required of a superset, but these are what the edges are for: a start inside a
        # token is no start, so the gate proves such texts clean.
        assert not compiled.search(text), (pattern, text)
        assert not _matches(pattern, text), (pattern, text)
    # What the rewrite drops (a longer look-around) only ever widens the superset.
    assert _matches(r"(?<![\w+])(?<!ab )0\d{2}", "ab 012")
    assert _matches(r"\d{2}\.\d(?![\d]|\.\d)", "12.5.5")


def test_edges_render_as_consumed_characters() -> None:
    assert rust_superset(r"(?<![A-Z0-9])\d{3}(?![a-z])") == r"(?:\A|[^A-Z0-9])(?:[0-9]){3,3}(?:[^a-z]|\z)"
    assert rust_superset(r"(?<=/bot)\d") == r"\x2Fbot[0-9]"
    # Not at an edge: a look-around stays nothing (it only ever removes matches).
    assert rust_superset(r"a(?<![b])c") == "ac"
    # After something that may precede the pattern (a context word), the start is left alone.
    assert rust_superset(r"(?<![A-Z])\d", lead=False) == "[0-9]"
