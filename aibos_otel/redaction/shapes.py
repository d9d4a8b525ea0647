"""Cheap necessary conditions for a detector's pattern, worked out from the Python pattern.

Every match of a detector's regex is at least ``min_width`` characters long, holds certain
characters, an upper-case letter (some case-sensitive patterns), and a run of one character
class of some length. Checked before the regex, these skip it on texts it could not match:
the Go processor renders them into its catalogue (:mod:`aibos_otel.redaction.render_go`), and
the SDK's clean gate (:mod:`aibos_otel.redaction.gate`) uses them to prove a short line clean
without a first pass. They are computed with ASCII semantics, as the detectors compile
(``re.ASCII``) and as the Go engine matches.
"""

from __future__ import annotations

import functools
import re
from re import _compiler as sre_compile  # type: ignore[attr-defined]
from re import _constants as sre_constants  # type: ignore[attr-defined]
from re import _parser as sre_parse  # type: ignore[attr-defined]
from typing import Any

from aibos_otel.redaction.detector import Detector

_MAX_GATED_WIDTH = 4096


def _required_chars(items: Any) -> set[str]:
    """Characters every match of a parsed (sub)pattern contains (a necessary condition only)."""
    required: set[str] = set()
    for op, arg in items:
        if op is sre_constants.LITERAL:
            required.add(chr(arg))
        elif op is sre_constants.SUBPATTERN:
            required |= _required_chars(arg[-1])
        elif op in (sre_constants.MAX_REPEAT, sre_constants.MIN_REPEAT, sre_constants.POSSESSIVE_REPEAT):
            low, _high, sub = arg
            if low >= 1:
                required |= _required_chars(sub)
        elif op is sre_constants.BRANCH:
            branches = [_required_chars(branch) for branch in arg[1]]
            required |= set.intersection(*branches) if branches else set()
        elif op is sre_constants.IN and len(arg) == 1 and arg[0][0] is sre_constants.LITERAL:
            required.add(chr(arg[0][1]))
    return required


def _upper_only(arg: Any) -> bool:
    """An ``IN`` class of upper-case ASCII letters only (``[A-Z]``, ``[XYZ]``, ``[A-CEGHJ-PR-TW-Z]``)."""
    for op, value in arg:
        if op is sre_constants.LITERAL and 65 <= value <= 90:
            continue
        if op is sre_constants.RANGE and 65 <= value[0] <= value[1] <= 90:
            continue
        return False
    return bool(arg)


def _needs_upper(items: Any) -> bool:
    """Every match of a case-sensitive (sub)pattern holds an upper-case ASCII letter."""
    for op, arg in items:
        if op is sre_constants.LITERAL and 65 <= arg <= 90:
            return True
        if op is sre_constants.IN and _upper_only(arg):
            return True
        # (?i:...) inside a case-sensitive pattern: its letters may come in either case
        scoped_caseless = op is sre_constants.SUBPATTERN and arg[1] & sre_constants.SRE_FLAG_IGNORECASE
        if op is sre_constants.SUBPATTERN and not scoped_caseless and _needs_upper(arg[-1]):
            return True
        repeat = op in (sre_constants.MAX_REPEAT, sre_constants.MIN_REPEAT)
        if repeat and arg[0] >= 1 and _needs_upper(arg[2]):
            return True
        if op is sre_constants.BRANCH and all(_needs_upper(branch) for branch in arg[1]):
            return True
    return False


_MIN_RUN = 8


def _scoped(group: Any, flags: int) -> int:
    """The flags inside a ``SUBPATTERN`` (``(?i:...)``, ``(?-i:...)`` change them there)."""
    _number, add, remove, _items = group
    return int((flags | add) & ~remove)


def _longest_run(items: Any, state: Any, flags: int) -> tuple[str, int]:
    """The mandatory single-class repeat with the highest minimum (``[A-Za-z0-9]{44,512}``):
    every match holds a run of that many bytes of the class. Returns (the class's ASCII
    characters, the minimum); ("", 0) when there is none."""
    best = ("", 0)
    for op, arg in items:
        if op is sre_constants.SUBPATTERN:
            found = _longest_run(arg[-1], state, _scoped(arg, flags))
        elif op in (sre_constants.MAX_REPEAT, sre_constants.MIN_REPEAT) and arg[0] >= _MIN_RUN:
            sub = list(arg[2])
            if len(sub) != 1 or sub[0][0] not in (sre_constants.IN, sre_constants.LITERAL, sre_constants.ANY):
                continue
            one = sre_compile.compile(sre_parse.SubPattern(state, sub), flags)
            members = "".join(chr(c) for c in range(128) if one.fullmatch(chr(c)))
            if any(one.fullmatch(c) for c in ("\u00e9", "\u4e00", "\u00a0", "\U0001f600")):
                members += "\u0080"  # non-ASCII characters too: every byte >= 0x80 counts
            found = (members, int(arg[0]))
        else:
            continue
        if found[1] > best[1]:
            best = found
    return best


_LEAVES = (
    sre_constants.LITERAL,
    sre_constants.NOT_LITERAL,
    sre_constants.IN,
    sre_constants.ANY,
    sre_constants.CATEGORY,
)
_NON_ASCII_SAMPLES = ("\u00e9", "\u4e00", "\u00a0", "\U0001f600")


def _match_class(items: Any, state: Any, flags: int, found: set[str]) -> bool:
    """Add to ``found`` every character some match may hold (``\u0080`` standing for any
    non-ASCII one); False when the pattern holds something this cannot follow (a back-reference).
    Assertions consume nothing, so they add nothing."""
    for op, arg in items:
        if op in _LEAVES:
            one = sre_compile.compile(sre_parse.SubPattern(state, [(op, arg)]), flags)
            found.update(chr(c) for c in range(128) if one.fullmatch(chr(c)))
            if any(one.fullmatch(c) for c in _NON_ASCII_SAMPLES):
                found.add("\u0080")
        elif op is sre_constants.SUBPATTERN:
            if not _match_class(arg[-1], state, _scoped(arg, flags), found):
                return False
        elif op in (sre_constants.MAX_REPEAT, sre_constants.MIN_REPEAT, sre_constants.POSSESSIVE_REPEAT):
            if not _match_class(arg[2], state, flags, found):
                return False
        elif op is sre_constants.BRANCH:
            if not all(_match_class(branch, state, flags, found) for branch in arg[1]):
                return False
        elif op in (sre_constants.AT, sre_constants.ASSERT, sre_constants.ASSERT_NOT):
            continue
        else:
            return False
    return True


def _whole_match_run(parsed: Any, flags: int, low: int) -> tuple[str, int]:
    """Every match is ``low``+ bytes drawn from the characters any match may hold: a run of
    that class (MAC addresses, SSNs, phone numbers: digits and separators only). ("", 0) when
    the class is most of ASCII (no text would fail the gate) or cannot be worked out."""
    members: set[str] = set()
    if low < _MIN_RUN or not _match_class(parsed, parsed.state, flags, members) or len(members) > 64:
        return "", 0
    return "".join(sorted(members)), int(low)


def gates(detector: Detector) -> dict[str, Any]:
    """Cheap necessary conditions the Go engine checks before running a detector's regex: the
    shortest and longest match (``sre_parse`` widths of the Python pattern), characters every
    match contains (lower-cased: checked against the lower-cased text), and, with
    ``min_digits``, that some window of ``max_width`` bytes holds that many digits. The dict
    is shared between calls (a read-only answer): copy it to change it."""
    return _gates_of(detector.pattern, detector.ignore_case)


# Every Redactor (a policy file's, each test's) works these out for the whole catalogue: about
# 90 ms of sre_parse at start-up, once per process with the cache.
@functools.lru_cache(maxsize=2048)
def _gates_of(pattern: str, ignore_case_flag: bool) -> dict[str, Any]:
    flags = re.ASCII | (re.IGNORECASE if ignore_case_flag else 0)
    parsed = sre_parse.parse(pattern, flags)
    low, high = parsed.getwidth()
    # lower-cased whatever the pattern's case: a necessary condition stays one
    required = sorted({c.lower() for c in _required_chars(parsed) if c.isascii()})
    ignore_case = ignore_case_flag or "(?i)" in pattern
    return {
        "min_width": int(low),
        "max_width": int(high) if high <= _MAX_GATED_WIDTH else 0,
        "required_chars": "".join(required),
        # an upper-case letter in every match (case-sensitive patterns): most log text has none
        "needs_upper": not ignore_case and _needs_upper(parsed),
        # a run of run_min bytes from run_class in every match: the longest single-class repeat,
        # or (run_whole) the whole match when every character of it comes from one small class
        **dict(zip(("run_class", "run_min", "run_whole"), _run_gate(parsed, flags, int(low)), strict=True)),
    }


def _run_gate(parsed: Any, flags: int, low: int) -> tuple[str, int, bool]:
    """(class, minimum, whether every byte of every match is of the class). With run_whole the Go
    engine also knows each match is one stretch of the run whose ends the boundary classes allow."""
    repeat = _longest_run(parsed, parsed.state, flags)
    whole = _whole_match_run(parsed, flags, low)
    return (*whole, True) if whole[1] > repeat[1] else (*repeat, False)
