"""The catalogue checks itself, as gitleaks does: every detector's own examples must be redacted
by it and its negatives left alone, through both first-pass engines."""

from __future__ import annotations

import re
from collections import Counter

import pytest

from aibos_otel.redaction import Detector, Redactor
from aibos_otel.redaction.catalogue import KEY_RULES, all_detectors
from aibos_otel.redaction.detector import PROFILES
from aibos_otel.redaction.engine import normalise_key

DETECTORS = all_detectors()


def test_catalogue_has_at_least_100_detectors_with_unique_ids() -> None:
    ids = [d.id for d in DETECTORS]
    assert len(ids) >= 100
    assert [i for i, n in Counter(ids).items() if n > 1] == []


def test_every_detector_is_documented_and_has_both_kinds_of_example() -> None:
    for detector in DETECTORS:
        assert detector.category in PROFILES, detector.id
        assert detector.description, detector.id
        assert detector.examples, f"{detector.id} has no true-positive example"
        assert detector.negatives, f"{detector.id} has no false-positive example"


def test_categories_cover_the_issue_scope() -> None:
    by_category = Counter(d.category for d in DETECTORS)
    assert by_category["secrets"] >= 60
    assert by_category["pci"] >= 3
    assert by_category["gdpr"] >= 15
    assert by_category["hipaa"] >= 4


def _solo(detector: Detector, use_hyperscan: bool) -> Redactor:
    return Redactor(profiles="none", extra_detectors=[detector], use_hyperscan=use_hyperscan)


@pytest.mark.parametrize("detector", DETECTORS, ids=lambda d: d.id)
def test_detector_examples(detector: Detector, use_hyperscan: bool) -> None:
    redactor = _solo(detector, use_hyperscan)
    for example in detector.examples:
        result = redactor.redact(example)
        assert result.counts.get(detector.id), f"{detector.id} missed its example {example!r}"
        assert f"[REDACTED:{detector.id}]" in result.text
    for negative in detector.negatives:
        result = redactor.redact(negative)
        assert not result.counts, f"{detector.id} matched its negative {negative!r}: {result.text!r}"
        assert result.text == negative


@pytest.mark.parametrize("detector", DETECTORS, ids=lambda d: d.id)
def test_secret_group_is_what_gets_masked(detector: Detector) -> None:
    """The marker replaces only the secret part: the text around the match survives."""
    redactor = _solo(detector, use_hyperscan=False)
    example = detector.examples[0]
    match = next(m for m in detector.regex.finditer(example))
    out = redactor.redact_text(example)
    assert out.startswith(example[: match.start()])


def test_detector_patterns_use_no_unicode_classes() -> None:
    """Patterns are ASCII (compiled with re.ASCII) so both engines agree on character classes."""
    for detector in DETECTORS:
        assert detector.pattern.isascii(), detector.id
        assert detector.regex.flags & re.ASCII


@pytest.mark.parametrize("rule", KEY_RULES, ids=lambda r: r.id)
def test_key_rule_examples(rule: object) -> None:
    from aibos_otel.redaction.detector import KeyRule

    assert isinstance(rule, KeyRule)
    pattern = re.compile(rule.pattern)
    assert rule.examples and rule.negatives
    for key in rule.examples:
        assert pattern.search(normalise_key(key)), f"{rule.id} missed key {key!r}"
    for key in rule.negatives:
        assert not pattern.search(normalise_key(key)), f"{rule.id} matched key {key!r}"


def test_invalid_detector_definitions_are_rejected() -> None:
    with pytest.raises(ValueError):
        Detector(id="Bad Id", category="secrets", pattern="x", description="d")
    with pytest.raises(ValueError):
        Detector(id="ok", category="secrets", pattern="x", description="d", keywords=("UPPER",))


@pytest.mark.parametrize("detector", [d for d in DETECTORS if d.min_digits], ids=lambda d: d.id)
def test_min_digits_is_a_true_lower_bound(detector: Detector) -> None:
    """The digit gate may only skip texts where the detector cannot match."""
    for example in detector.examples:
        for match in detector.regex.finditer(example):
            assert sum(c in "0123456789" for c in match.group(0)) >= detector.min_digits, (
                detector.id,
                example,
            )
