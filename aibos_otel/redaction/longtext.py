"""Long texts: redacted slice by slice, within a time budget, failing closed when it runs out.

A 1 MB log line is rare, but it arrives on the logging thread, and its cost grows with what it
holds: 100 000 ``password=<distinct value>`` pairs are 100 000 validations in Python (about
3 s). So a text longer than :data:`LONG_TEXT` is cut into slices of :data:`SLICE` characters,
each widened by :data:`MARGIN` on both sides, and each slice is redacted as a text of its own
(its own first pass, views and key layer). Every finding of every slice is kept and merged, so
a secret that crosses a cut is whole in the slice that holds it: anything up to
``2 * (MARGIN - 512)`` characters long (2 KB: a key, its syntax and a value of the key
layer's longest, 1 KB, fit) lies wholly inside one widened slice; longer findings are
continued across the edge (below).

A finding that reaches its slice's right edge (before the text's end) may be cut short by the
edge: a PEM block is masked "to its END line, or to the end when cut", and a slice's end is
such a cut. It is looked for again at the same start in the whole text, within
:data:`CONTINUE_CHARS` (:func:`continued`), and extended to that match's end (to the text's end
when the window cut the match too), or when none is found there, to the next whitespace: the
token it was in (failing closed, never shorter).

Between slices the clock is read: when the next slice (and the final merge of the findings so
far) would end past the budget, the rest of
the text -- from the first character no finished slice's core covered -- is masked as one
region, ``[REDACTED:redaction-budget]`` (counted under that id, like any detector). Nothing is
sent raw because time ran out; what was redacted stays readable. A text of this size that fits
the budget is redacted as if whole, except that a slice edge may cut a token, which can only
add a redaction (a detector may see the token's tail as a token of its own).

Why slices and not one pass with a deadline inside it: a regex's ``finditer`` over the whole
text cannot be stopped half-way, and without slices nothing tells which prefix is finished.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from typing import NamedTuple

from aibos_otel.redaction.detector import Detector

Span = tuple[int, int, Detector]
"""A finding as ``(start, end, detector)``: plain tuples, cheaper than the scanner's named
``Finding`` for the 100 000 a dense line makes (which is one too)."""

LONG_TEXT = 16 * 1024
"""Texts up to this length are redacted whole (one slice)."""

# Smaller slices are faster where a text holds many kinds of secrets, not only finer: a slice's
# first pass names only the detectors that can match in it, and each candidate's regex walks
# the slice. Larger ones are faster where one shape fills the text: fewer margins scanned twice
# and fewer findings found twice. On 200 KB (2026-12-08, seconds per MB, 8 / 16 / 64 KiB):
# mutated catalogue examples 4.0 / 5.1 / 9.4, keyword dense 0.66 / 0.55 / 0.51, e-mail-like
# 0.47 / 0.35 / 0.26, JSON in a string 0.38 / 0.34 / 0.37.
SLICE = 16 * 1024
MARGIN = 1536
_EDGE_SEARCH = 512  # how far a slice edge moves to sit at whitespace
CONTINUE_CHARS = 1 << 20
"""How far a finding cut by a slice edge is looked for again (see :func:`continued`)."""
_WHITESPACE = " \t\r\n"

_MERGE_SECONDS_PER_FINDING = 1e-6

BUDGET_ID = "redaction-budget"
DEFAULT_BUDGET_S = 0.3
"""Seconds of work a long text may take before its rest is masked (about 0.5 s with the final
merge on a slow machine: benchmarks/redaction_large_lines.py)."""


class Slice(NamedTuple):
    """One widened slice: ``text[start:end]``, whose core ends at ``core_end``."""

    start: int
    end: int
    core_end: int


def slices(length: int, text: str, size: int = SLICE, margin: int = MARGIN) -> Iterator[Slice]:
    """The widened slices of a text of ``length`` characters, in order; edges moved to
    whitespace when there is some near (fewer tokens cut)."""
    core_start = 0
    while core_start < length:
        core_end = min(length, core_start + size)
        start = _after_space(text, max(0, core_start - margin), core_start)
        end = _before_space(text, min(length, core_end + margin), core_end)
        yield Slice(start, end, core_end)
        core_start = core_end


def _after_space(text: str, position: int, latest: int) -> int:
    """The first position after whitespace in ``[position, latest]``, else ``position``."""
    if position == 0:
        return 0
    limit = min(latest, position + _EDGE_SEARCH)
    found = [index for index in (text.find(char, position - 1, limit) for char in _WHITESPACE) if index >= 0]
    return min(found) + 1 if found else position


def _before_space(text: str, position: int, earliest: int) -> int:
    """The last whitespace position in ``[earliest, position]``, else ``position``."""
    if position >= len(text):
        return len(text)
    limit = max(earliest, position - _EDGE_SEARCH)
    found = [text.rfind(char, limit, position + 1) for char in _WHITESPACE]
    best = max(found)
    return best if best >= 0 else position


class Spans(NamedTuple):
    """What :func:`bounded` found, in text offsets, and where the budget cut the text (``None``
    when every slice was done)."""

    found: list[Span]
    cut: int | None


def continued(text: str, finding: Span) -> Span:
    """``finding``, cut by a slice edge, extended as far as its detector matches from its start
    in the whole ``text``, and at least to the end of its token."""
    start, cut_end, detector = finding
    # Looked for within CONTINUE_CHARS, so one call stays bounded (a PEM block's lazy body
    # scans on to its END or the text's end); a match the window's end cut too runs to the
    # text's end, as "masked to the end when cut" says.
    limit = min(len(text), start + CONTINUE_CHARS)
    try:
        match = detector.regex.match(text, start, limit)
    except Exception:  # a pattern that cannot say: the token, as when it does not match
        match = None
    end = match.end() if match is not None else cut_end
    if match is not None and end >= limit:
        end = len(text)
    if end <= cut_end:
        end = max(end, _next_space(text, cut_end))
    return (start, end, detector)


def _next_space(text: str, position: int) -> int:
    ends = [found for found in (text.find(char, position) for char in _WHITESPACE) if found >= 0]
    return min(ends) if ends else len(text)


def bounded(
    text: str,
    find: Callable[[str], Sequence[Span]],
    budget: float | None,
    *,
    size: int = SLICE,
    margin: int = MARGIN,
    clock: Callable[[], float] = time.perf_counter,
) -> Spans:
    """``find`` applied to each widened slice of ``text``, its spans moved to text offsets;
    slices stop when the next would end past ``budget`` seconds (``None``: no limit). The
    first slice always runs."""
    started = clock()
    found: list[Span] = []
    done = 0  # where the finished slices' cores end
    slowest = 0.0
    for piece in slices(len(text), text, size, margin):
        now = clock()
        # The merge and the rewrite after the last slice cost about 1 us per finding (100 000
        # e-mail addresses in 1 MB: 0.1 s): kept inside the budget too.
        reserve = len(found) * _MERGE_SECONDS_PER_FINDING
        if budget is not None and done and now + slowest + reserve - started > budget:
            return Spans(found, done)
        offset = piece.start
        spans = find(text[piece.start : piece.end])
        if offset:
            found.extend([(start + offset, end + offset, detector) for start, end, detector in spans])
        else:
            found.extend(spans)
        if piece.end < len(text):
            edge = piece.end
            found.extend([continued(text, f) for f in found[len(found) - len(spans) :] if f[1] >= edge])
        slowest = max(slowest, clock() - now)
        done = piece.core_end
    return Spans(found, None)
