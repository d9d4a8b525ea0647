"""Trying a detector's regex only where one of its leading words starts
(``aibos_otel/redaction/anchors.py``) yields exactly what ``finditer`` yields: same spans, same
order. Checked for every detector it applies to, on every catalogue example and negative, cut
and recased, in every log style, and on random texts built from the words themselves."""

from __future__ import annotations

import os
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aibos_otel.redaction.anchors import matches_at_starts, word_starts
from aibos_otel.redaction.catalogue import all_detectors
from aibos_otel.redaction.detector import Detector
from tests.redaction.test_clean_gate import CATALOGUE, _variants
from tests.redaction.test_log_styles import SENSITIVE_KEYS, STYLES

if not os.environ.get("CI"):  # CI builds the extension: there, its absence fails the tests
    pytest.importorskip("aibos_otel_native")

ANCHORED = [d for d in all_detectors() if word_starts(d) is not None]


def _texts() -> list[str]:
    texts = [variant for text in CATALOGUE for variant in _variants(text)]
    for render in STYLES.values():
        for index, text in enumerate(CATALOGUE):
            rendered = render(SENSITIVE_KEYS[index % len(SENSITIVE_KEYS)], text)
            if rendered is not None:
                texts.append(rendered)
    return [t for t in dict.fromkeys(texts) if t.isascii()]


TEXTS = _texts()


def _spans(matches: object) -> list[tuple[int, int]]:
    return [m.span() for m in matches]  # type: ignore[attr-defined]


def _assert_same(detector: Detector, texts: list[str]) -> int:
    finder = word_starts(detector)
    assert finder is not None
    found = 0
    for text in texts:
        expected = _spans(detector.regex.finditer(text))
        assert _spans(matches_at_starts(detector.regex, text, finder.find(text))) == expected, (
            detector.id,
            text,
        )
        found += bool(expected)
    return found


def test_the_keyword_detectors_that_re_cannot_skip_ahead_for_are_anchored() -> None:
    ids = {d.id for d in ANCHORED}
    assert {"secret-keyword-value", "password-assignment", "bearer-token", "date-of-birth"} <= ids
    # A case-sensitive literal start is left to re, which skips ahead to it itself.
    assert "slack-webhook-url" not in ids


def test_anchored_matches_equal_finditer_on_the_catalogue_in_every_style() -> None:
    matched = sum(_assert_same(detector, TEXTS) for detector in ANCHORED)
    assert matched > len(ANCHORED)  # the texts exercise the detectors, not only their absence


_WORDS = sorted({w for d in ANCHORED for w in d.keywords or ()})


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.sampled_from([*_WORDS, "=", ": ", " ", "'", '"', "_", "-", "x", "KEY", "Token"])
        | st.text(alphabet="abcdefXYZ0123456789+/=", min_size=1, max_size=24),
        max_size=12,
    )
)
def test_anchored_matches_equal_finditer_on_word_soup(parts: list[str]) -> None:
    text = "".join(parts)
    for detector in ANCHORED:
        _assert_same(detector, [text, text.upper()])


def test_the_words_are_found_overlapping_and_case_insensitively() -> None:
    from aibos_otel_native import WordStarts

    finder = WordStarts(["pass", "passwd", "asswd"])
    assert finder.find("x PASSWD passpass") == [2, 3, 9, 13]
    with pytest.raises(ValueError):
        WordStarts([""])
    assert re.compile("x").match("ax", 1) is not None  # match(pos) is what the scanner relies on
