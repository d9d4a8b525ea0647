"""The clean gate: the first pass for short ASCII texts, with the GIL held.

Why: the ``hyperscan`` wheel releases the GIL around every scan. On the logging thread that
is one release per record, and a thread waiting for the GIL (the batch exporter's worker) is
woken by each one, loses the race to take it, and sleeps again: 10-14 us of CPU per log call
in ``benchmarks/sdk_overhead.py``, more than all the rest of redaction. Most records are clean
and hold none of the catalogue's keywords; for them, this gate answers with the GIL held.

Log lines with timestamps, ids and decimals fit some detector's coarse shape, so the gate
also answers *which* detectors may match, as the Hyperscan pass does, without releasing the
GIL: a detector is a candidate when it may run (the scanner's keyword rule: no keyword needed,
or one of its keywords occurs), fits its shape gates (:func:`aibos_otel.redaction.shapes.gates`)
and its superset regex (:mod:`aibos_otel.redaction.superset`) matches. Each step is a
necessary condition, so results never change; an empty list proves the text clean.

The detectors that run on nearly every line -- those without keywords, or with a one-character
keyword, and a run gate shorter than 16 (17 of the default profiles) -- have their supersets in
one lazy DFA: one pass over the text for all of them, walked with a budget of new states so
that a hostile text (a new state at every byte) is declined instead of costing 1 us a byte.
The superset rewrite consumes a pattern's edge look-arounds (``(?<![A-Za-z0-9])`` becomes one
such character, or the text's start), which is what keeps that DFA small: a match can start
only at a token's edge. The other detectors are checked one lazy DFA each, on the same budget;
a text that fits the shapes of more than :data:`MAX_CHECKS` of them goes to the Hyperscan pass
(one combined scan is cheaper there than that many walks), and the scanner then narrows
Hyperscan's hits with the same shapes and DFAs (:meth:`CleanGate.refine`): its prefilter
loosens repeats and names, say, the high-entropy detector for every hex trace id.

It runs in the optional Rust extension (``native/src/gate.rs``: an Aho-Corasick automaton, one
pass over the bytes, then ``regex-automata`` lazy DFAs); without it there is no gate and the
Hyperscan (or pure ``re``) first pass runs for every text.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from aibos_otel.redaction.detector import Detector
from aibos_otel.redaction.shapes import gates
from aibos_otel.redaction.superset import UnsupportedPatternError, rust_superset, superset_pattern


class CleanGate(Protocol):
    """The native gate (``aibos_otel_native.CleanGate``)."""

    def first_pass(self, text: str) -> list[int] | None:
        """The sorted indexes of the detectors (and the trigger) that may match ``text``,
        ``[]`` when none can, ``None`` when the gate does not judge it."""

    def refine(self, text: str, candidates: list[int]) -> list[int]:
        """``candidates`` (another first pass's, for an ASCII ``text``) without those that do not
        fit their shape gates or whose superset regex does not match ``text``."""


MAX_GATED_CHARS = 4096
"""Longer texts go straight to the Hyperscan pass: a scan that long is worth its GIL release."""

MAX_CHECKS = 6
"""At most this many superset regexes (of detectors outside the common set) per text; a text
fitting more shapes goes to Hyperscan, whose candidates :meth:`CleanGate.refine` then narrows
with the same regexes."""

MAX_CHECKS_WITHOUT_HYPERSCAN = 32
"""Without Hyperscan a declined text takes the pure-``re`` first pass, far dearer than 32
superset regexes (``redaction_bench.py``'s pure-re typical lines: 10 us a line with 32, 87 with 6)."""


def build_clean_gate(
    detectors: Sequence[Detector],
    keywords: Sequence[Sequence[str]],
    trigger_expression: str = "",
    max_checks: int = MAX_CHECKS,
) -> CleanGate | None:
    """The gate for ``detectors`` whose keyword lists (one per detector, then the key-aware
    layer's trigger) are ``keywords``; ``trigger_expression`` is the trigger's regex (Python
    syntax). ``None`` when the native extension is not installed."""
    try:
        from aibos_otel_native import CleanGate as NativeGate
    except ImportError:
        return None
    owners: dict[str, list[int]] = {}
    for index, group in enumerate(keywords):
        for word in group:
            # A non-ASCII keyword cannot occur in the ASCII texts the gate judges.
            if word and word.isascii():
                owners.setdefault(word.lower(), []).append(index)
    # The last keyword list (the key-aware layer's, or any without a detector) has no shape:
    # one of its words always sends the text to the first pass.
    shapes = [_shape(detectors[i]) if i < len(detectors) else _PASSES for i in range(len(keywords))]
    always = [index for index, group in enumerate(keywords) if not group]
    words = sorted(owners)
    supersets = [_superset(detectors[i]) if i < len(detectors) else None for i in range(len(keywords))]
    if trigger_expression and len(keywords) > len(detectors):
        supersets[len(detectors)] = _trigger_superset(trigger_expression)
    gate = NativeGate(words, [owners[w] for w in words], shapes, always, supersets, max_checks)
    return gate


def _superset(detector: Detector) -> str | None:
    try:
        return superset_pattern(detector)
    except (UnsupportedPatternError, KeyError):  # unchecked: its shape gates alone decide
        return None


def _trigger_superset(expression: str) -> str | None:
    try:
        return rust_superset(expression, ignore_case=True)
    except (UnsupportedPatternError, KeyError):
        return None


Shape = tuple[int, int, bool, str, str, int]
_PASSES: Shape = (0, 0, False, "", "", 0)  # gates every text passes


def _shape(detector: Detector) -> Shape:
    """``(min_width, min_digits, needs_upper, required_chars, run_class, run_min)``; a pattern
    the analysis cannot read gets gates that every text passes (never proven clean)."""
    try:
        found = gates(detector)
    except Exception:  # a custom pattern sre_parse cannot read (RE2-only syntax)
        return (0, detector.min_digits, False, "", "", 0)  # only the declared digit minimum
    # Detectors compile with re.ASCII, as the gates are worked out: ``\s`` is the same class
    # in both. Non-ASCII members cannot occur in the texts the gate judges.
    run_class = "".join(c for c in found["run_class"] if c.isascii())
    required = "".join(c for c in found["required_chars"] if c.isascii())
    return (
        found["min_width"],
        detector.min_digits,
        found["needs_upper"],
        required,
        run_class,
        found["run_min"],
    )
