"""The Hyperscan first pass over a non-ASCII text's ASCII stand-in gives what the pure-``re``
first pass gives (issue 12, line c: 1 MB of unicode-separated digits)."""

from __future__ import annotations

import importlib.util
import random
import re
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aibos_otel.redaction import Detector, Redactor
from aibos_otel.redaction.catalogue import all_detectors
from aibos_otel.redaction.surrogate import LOWER_CASE_SURPRISES, lower_case_safe, nul_blind, stand_in

needs_hyperscan = pytest.mark.skipif(importlib.util.find_spec("hyperscan") is None, reason="no hyperscan")

# Characters a non-ASCII text holds in logs: separators, dashes, invisible ones, letters,
# digits of other scripts, full-width forms, symbols, and the lower-case surprises.
UNICODE = "\u00a0\u2009\u202f\u3000\u2013\u2014\u2212\u200b\u200d\u00ad\ufeff\u00e9\u00fc\u00df\u0131\u017f\u0660\u0969\uff11\uff21\uff20\u20ac\u2022\U0001f600\u0130\u212a"


@pytest.fixture(scope="module")
def engines() -> tuple[Redactor, Redactor]:
    # No time budget: the pure-re engine on the large text below would hit it, and the two
    # would be compared on where the clock cut them.
    fast = Redactor(profiles="all", use_hyperscan=True, clean_gate=False, time_budget=None)
    slow = Redactor(profiles="all", use_hyperscan=False, clean_gate=False, time_budget=None)
    return fast, slow


def _unicode_forms(example: str, rng: random.Random) -> Iterator[str]:
    """``example`` with non-ASCII around it, inside it (separators for spaces), and split."""
    yield f"\u00e9t\u00e9 {example} \u2014 fin"
    yield example.replace(" ", "\u00a0")
    yield example.replace("-", "\u2013").replace(" ", "\u2009")
    if len(example) > 4:
        cut = rng.randrange(1, len(example))
        yield example[:cut] + rng.choice(UNICODE) + example[cut:]
    yield "".join(rng.choice(UNICODE) if rng.random() < 0.08 else char for char in example)


def _catalogue_texts() -> list[str]:
    rng = random.Random(12)
    texts = []
    for detector in all_detectors():
        for example in (*detector.examples, *detector.negatives):
            texts.extend(_unicode_forms(example, rng))
    return texts


@needs_hyperscan
def test_every_catalogue_example_in_unicode_forms_redacts_the_same(
    engines: tuple[Redactor, Redactor],
) -> None:
    fast, slow = engines
    assert fast.scanner.engine == "hyperscan"
    texts = _catalogue_texts()
    assert len(texts) > 1000
    redacted = 0
    for text in texts:
        got, want = fast.redact(text), slow.redact(text)
        assert (got.text, got.counts) == (want.text, want.counts), text
        redacted += got.text != text
    assert redacted > len(texts) // 3, "the forms still hold findings"


@needs_hyperscan
def test_catalogue_examples_in_one_large_unicode_text(engines: tuple[Redactor, Redactor]) -> None:
    fast, slow = engines
    rng = random.Random(5)
    texts = _catalogue_texts()
    rng.shuffle(texts)
    big = " \u2009| ".join(texts[:1500])
    got, want = fast.redact(big), slow.redact(big)
    assert got.text == want.text
    assert got.counts == want.counts
    assert sum(got.counts.values()) > 300


@needs_hyperscan
def test_the_stand_in_pass_is_a_superset_per_detector(engines: tuple[Redactor, Redactor]) -> None:
    """Running every detector the keyword rule allows finds what running the stand-in pass's
    candidates finds, on every non-ASCII form of the catalogue's examples."""
    fast, _ = engines
    scanner = fast.scanner
    checked = 0
    for text in _catalogue_texts():
        if text.isascii() or not lower_case_safe(text):
            continue
        candidates = scanner.candidates(text)
        assert candidates[-1] == scanner.trigger
        lowered = text.lower()
        allowed = [i for i in range(len(scanner.detectors)) if scanner._keywords_present(i, lowered)]
        everything = scanner.find(text, candidates=allowed)
        assert scanner.find(text, candidates=candidates) == everything, text
        checked += bool(everything)
    assert checked > 300


def test_every_catalogue_detector_is_nul_blind() -> None:
    """The stand-in helps only when detectors do not name NUL (none in the catalogue does)."""
    assert [d.id for d in all_detectors() if not nul_blind(d)] == []


def test_a_pattern_naming_nul_is_not_nul_blind() -> None:
    for pattern in (r"a\x00b", r"[\x00-\x1f]+", r"[^\0]+x", r"(?:a|(?:b\x00))", r"x(?u:\w)"):
        detector = Detector(id="t", category="secrets", pattern=pattern, description="t")
        try:
            detector.regex  # noqa: B018 -- compiles it
        except re.error:
            continue  # re itself refuses it with re.ASCII (a local UNICODE flag)
        assert not nul_blind(detector), pattern
    plain = Detector(id="t", category="secrets", pattern=r"(?i)key[^\s]{4,}\b\d+", description="t")
    assert nul_blind(plain)


def test_custom_detectors_on_re2_are_candidates_on_every_non_ascii_text() -> None:
    pytest.importorskip("re2")
    custom = Detector(id="custom-x", category="secrets", pattern=r"zz[a-z]{3}", description="t")
    redactor = Redactor(extra_detectors=[custom], use_hyperscan=None, clean_gate=False)
    detector = next(d for d in redactor.detectors if d.id == "custom-x")
    assert not nul_blind(detector)


def test_lower_case_surprises_are_every_such_character() -> None:
    surprises = [
        chr(code)
        for code in range(128, 0x110000)
        if len(chr(code).lower()) != 1 or chr(code).lower().isascii()
    ]
    assert "".join(surprises) == LOWER_CASE_SURPRISES
    assert not lower_case_safe("x\u212a") and not lower_case_safe("\u0130x") and lower_case_safe("\u00e9")


@given(st.text(alphabet=st.sampled_from("ab?% 1\u00e9\u00a0\U0001f600\x00"), max_size=40))
def test_both_stand_in_builders_agree(text: str) -> None:
    got = stand_in(text)
    assert len(got) == len(text) and got.isascii()
    assert got == bytes(ord(c) if ord(c) < 128 else 0 for c in text)


_ALPHABET = st.sampled_from(
    list("abcdefkspqrtxyzAKSXZ0123456789 _-.:=/@+%?&\"'\n\t")
    + list(UNICODE)
    + ["password=", "token ", "4111", "sk_live_", "AKIA", "@example.com", "eyJ", "ghp_", "DE89", "+44 "]
)


@needs_hyperscan
@settings(max_examples=300, deadline=None)
@given(st.lists(_ALPHABET, min_size=1, max_size=60).map("".join))
def test_random_unicode_texts_redact_the_same(text: str) -> None:
    fast, slow = _engines()
    got, want = fast.redact(text), slow.redact(text)
    assert (got.text, got.counts) == (want.text, want.counts)


@settings(max_examples=200, deadline=None)
@given(st.lists(_ALPHABET, min_size=1, max_size=60).map("".join))
def test_nul_blind_detectors_match_the_stand_in_at_the_same_offsets(text: str) -> None:
    """The stand-in's premise, per detector: its regex finds the same spans in the text and in
    the stand-in."""
    surrogate = stand_in(text).decode("ascii")
    for detector in all_detectors():
        regex = detector.regex
        assert [m.span() for m in regex.finditer(text)] == [m.span() for m in regex.finditer(surrogate)]


_CACHE: list[tuple[Redactor, Redactor]] = []


def _engines() -> tuple[Redactor, Redactor]:
    if not _CACHE:
        _CACHE.append(
            (
                Redactor(profiles="all", use_hyperscan=True, clean_gate=False),
                Redactor(profiles="all", use_hyperscan=False, clean_gate=False),
            )
        )
    return _CACHE[0]
