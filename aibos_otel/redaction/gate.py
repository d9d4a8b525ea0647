"""The clean gate: proves, without a first pass, that no detector can match a short ASCII text.

Why: the ``hyperscan`` wheel releases the GIL around every scan. On the logging thread that
is one release per record, and a thread waiting for the GIL (the batch exporter's worker) is
woken by each one, loses the race to take it, and sleeps again: 10-14 us of CPU per log call
in ``benchmarks/sdk_overhead.py``, more than all the rest of redaction. Most records are clean
and hold none of the catalogue's keywords; for them, this gate answers with the GIL held.

The gate is a necessary condition, so results never change: a text is proven clean only when
it is ASCII, holds no word of the key-aware layer (the scanner's keyword
rule lets a detector run only when one of its keywords occurs, in both first passes) and no
detector that may run on it fits its shape gates (:func:`aibos_otel.redaction.shapes.gates`).
Anything else goes to the first pass as before.

It runs in the optional Rust extension (``native/src/gate.rs``: an Aho-Corasick automaton and
one pass over the bytes); without it there is no gate and the first pass runs for every text.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from aibos_otel.redaction.detector import Detector
from aibos_otel.redaction.shapes import gates

CleanGate = Callable[[str], bool]
"""``gate(text)`` is True when no detector can match ``text``."""

MAX_GATED_CHARS = 4096
"""Longer texts go straight to the first pass: a scan that long is worth its GIL release."""


def build_clean_gate(detectors: Sequence[Detector], keywords: Sequence[Sequence[str]]) -> CleanGate | None:
    """The gate for ``detectors`` whose keyword lists (one per detector, then the key-aware
    layer's) are ``keywords``; ``None`` when the native extension is not installed."""
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
    return NativeGate(words, [owners[w] for w in words], shapes, always).proves_clean


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
