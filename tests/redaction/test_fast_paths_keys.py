"""The key layer's plain ``key=value`` fast path gives what its general path gives, and the
native walk (``aibos_otel_native.KeyHits``, for ASCII texts) what the Python walk gives (issue
12, line c: 1 MB of ``password=x token=y``)."""

from __future__ import annotations

import functools
import os
import random
import re
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aibos_otel.redaction import Redactor, keyvalue
from aibos_otel.redaction.catalogue import KEY_RULES, all_detectors
from aibos_otel.redaction.keyvalue import KeyValueFinder

from .test_log_styles import STYLES

# The general path only: the key's tail, and a "bare" group that never matches.
_GENERAL_ONLY = re.compile(keyvalue._KEY_TAIL.pattern + "(?P<bare>(?!))?")


@pytest.fixture(scope="module")
def finder() -> KeyValueFinder:
    return Redactor(profiles="all", use_hyperscan=False)._keys


def _general(finder: KeyValueFinder, text: str) -> list[tuple[int, int, str]]:
    """The Python walk without its key=value fast path."""
    fast_path = keyvalue._TAIL_BARE
    keyvalue._TAIL_BARE = _GENERAL_ONLY
    try:
        return _python(finder, text)
    finally:
        keyvalue._TAIL_BARE = fast_path


def _python(finder: KeyValueFinder, text: str) -> list[tuple[int, int, str]]:
    """The Python walk, fast path included (what runs without the native extension)."""
    native, finder._native = finder._native, None
    try:
        return _fast(finder, text)
    finally:
        finder._native = native


def _fast(finder: KeyValueFinder, text: str) -> list[tuple[int, int, str]]:
    """What runs: the native walk for an ASCII text when the extension is there."""
    return [(start, end, rule.id) for start, end, rule in finder.find_spans(text)]


def _agree(finder: KeyValueFinder, text: str) -> list[tuple[int, int, str]]:
    want = _general(finder, text)
    assert _python(finder, text) == want, text
    assert _fast(finder, text) == want, text
    return want


def _texts() -> Iterator[str]:
    keys = sorted({*(e for rule in KEY_RULES for e in rule.examples), "password", "api_key", "token"})
    values = ["hunter2hunter", "x", "Summer2611!Qx", "a(b)", "v.", "[1]", "${X}", "q&r#s", "2"]
    for key in keys:
        for value in values:
            for style in STYLES.values():
                text = style(key, value)
                if text is not None:
                    yield text
    for rule in KEY_RULES:
        yield from (*rule.examples, *rule.negatives)
    for detector in all_detectors():
        yield from (*detector.examples, *detector.negatives)


def test_the_fast_path_agrees_on_every_key_in_every_log_style(finder: KeyValueFinder) -> None:
    texts = list(_texts())
    assert len(texts) > 2000
    with_findings = 0
    for text in texts:
        with_findings += bool(_agree(finder, text))
    assert with_findings > len(texts) // 4


def test_the_fast_path_agrees_on_a_keyword_dense_line(finder: KeyValueFinder) -> None:
    rng = random.Random(3)
    units = [
        "password=x ",
        "token=y ",
        "pass.=z ",
        "?token=a&b ",
        '"password"=q ',
        "secret==w ",
        "api-key=(v) ",
    ]
    line = "".join(rng.choice(units) for _ in range(20000))
    assert len(_agree(finder, line)) > 5000


def test_find_and_find_spans_agree(finder: KeyValueFinder) -> None:
    text = "password=hunter2hunter token='abc def' api_key: k1 mysql -u root -pSecr3tPass"
    assert [(k.start, k.end, k.rule) for k in finder.find(text)] == finder.find_spans(text)
    assert len(finder.find(text)) == 4


_PIECES = st.sampled_from(
    [
        "password", "token", "api_key", "secret", "passwd", "Authorization", "x", "y", "abc", "1",
        "=", "==", "=>", ":=", ":", " ", "\t", "\n", '"', "'", "`", "\\", "(", ")", "{", "[", "]", "}",
        "<", ">", "?", "&", "#", ";", ",", ".", "-", "_", "${", "--", "to", "\u00e9",
    ]
)  # fmt: skip


@settings(max_examples=500, deadline=None)
@given(st.lists(_PIECES, min_size=1, max_size=40).map("".join))
def test_random_texts_agree(text: str) -> None:
    _agree(_shared_finder(), text)


@functools.cache
def _shared_finder() -> KeyValueFinder:
    return Redactor(profiles="all", use_hyperscan=False)._keys


def test_the_native_walk_runs_where_it_can(finder: KeyValueFinder) -> None:
    if finder._native is None:
        assert os.environ.get("CI") is None, "CI builds the native extension"
        pytest.skip("the native extension is not installed")
    hits = finder._native.scan('password=x "token": y')
    assert hits == [(0, 8, 9, 10), (12, 17, -1, -1)]
    with pytest.raises(ValueError):
        finder._native.scan("password=caf\u00e9")  # ASCII only: the caller checks
    from aibos_otel_native import KeyHits

    with pytest.raises(ValueError):
        KeyHits(["Password"])  # the walk matches lower-cased words only
