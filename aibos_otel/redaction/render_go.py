"""The catalogue as data for the collector's own ``aibosredaction`` processor (Go).

One catalogue, two engines: the SDK runs :mod:`aibos_otel.redaction` on Python ``re``; the
collector's processor (``collector-components/aibosredactionprocessor``) loads this rendering,
embedded in its binary, and runs it on Go's RE2 with the same validators written in Go.

RE2 has no look-around. Python's patterns use it mostly as token boundaries, so each one is
rendered in a form RE2 runs with a Go-side equivalent:

* a leading negative look-behind of one character class, ``(?<![A-Za-z0-9])``, becomes
  ``before_class``: the Go engine checks the byte before a match and, when it is in the class,
  resumes the search after the whole run of class bytes (exact, and linear);
* a trailing negative look-ahead of one character class becomes ``after_class``: RE2 consumes
  one byte not in the class, or the end of the text (exact: RE2 picks the same match);
* any other leading look-behind / trailing look-ahead becomes a check in ``before`` / ``after``
  (a small anchored regex on the bytes around the match; exact for look-behind, for look-ahead
  the match is rejected instead of shortened);
* a look-around in the middle of a pattern is removed: the pattern then matches a little more.
  Each removal is listed in the detector's ``approximations`` and counted by the tests.

Python-only syntax is rewritten (``\\Z`` to ``\\z``, ``{,n}`` to ``{0,n}``); a pattern RE2 still
cannot compile fails the Go tests (no silent drops).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from re import _compiler as sre_compile  # type: ignore[attr-defined]
from re import _constants as sre_constants  # type: ignore[attr-defined]
from re import _parser as sre_parse  # type: ignore[attr-defined]
from typing import Any

from aibos_otel.redaction.catalogue import detectors_for, key_rules_for
from aibos_otel.redaction.detector import PROFILES, Detector
from aibos_otel.redaction.keyvalue import key_keywords
from aibos_otel.redaction.render import _skip_group

FORMAT_VERSION = 1
_OPENERS = ("(?<!", "(?<=", "(?!", "(?=")
_SINGLE_CLASS = re.compile(r"\[(?:[^\]\\]|\\.)+\]|\\[dws]")


def validator_name(detector: Detector) -> str:
    """The name the Go engine knows the detector's validator by ('' for none)."""
    validator = detector.validator
    if validator is None:
        return ""
    name = getattr(validator, "__name__", "")
    if name in ("check", "<lambda>"):
        return f"{detector.id}:{name.strip('<>')}"  # closures: one Go function per detector
    return name.lstrip("_")


def _top_level_lookarounds(pattern: str) -> list[tuple[int, int]]:
    """Spans of look-around groups not nested in another look-around."""
    spans: list[tuple[int, int]] = []
    index = 0
    in_class = False
    while index < len(pattern):
        char = pattern[index]
        if char == "\\":
            index += 2
            continue
        if in_class:
            if char == "]":
                in_class = False
        elif char == "[":
            in_class = True
            if pattern.startswith("[]", index) or pattern.startswith("[^]", index):
                index += 2 if pattern[index + 1] == "]" else 3
                continue
        elif pattern.startswith(_OPENERS, index):
            end = _skip_group(pattern, index)
            spans.append((index, end))
            index = end
            continue
        index += 1
    return spans


def _alternatives_of_lookarounds(group: str) -> list[str] | None:
    """``(?:(?<=a)|(?<!b))`` -> ``['(?<=a)', '(?<!b)']``; None when the group holds more."""
    if not group.startswith("(?:") or not group.endswith(")"):
        return None
    body = group[3:-1]
    spans = _top_level_lookarounds(body)
    if not spans:
        return None
    parts: list[str] = []
    position = 0
    for start, end in spans:
        if body[position:start] not in ("", "|") or (parts and body[position:start] != "|"):
            return None
        parts.append(body[start:end])
        position = end
    return parts if position == len(body) else None


def _condition(lookaround: str) -> dict[str, Any]:
    negative = lookaround[2:4] in ("<!",) or lookaround[2] == "!"
    body_start = 4 if lookaround.startswith("(?<") else 3
    return {"neg": negative, "re": _re2_syntax(lookaround[body_start:-1])}


def _re2_syntax(pattern: str) -> str:
    """Python-only syntax in RE2 form."""
    out: list[str] = []
    index = 0
    while index < len(pattern):
        if pattern[index] == "\\" and index + 1 < len(pattern):
            pair = pattern[index : index + 2]
            out.append("\\z" if pair == "\\Z" else pair)
            index += 2
            continue
        if pattern.startswith("{,", index):
            out.append("{0,")
            index += 2
            continue
        out.append(pattern[index])
        index += 1
    return "".join(out)


def _alternatives(body: str) -> list[str]:
    """The top-level ``|`` alternatives of a group body."""
    parts: list[str] = []
    depth = 0
    start = 0
    index = 0
    in_class = False
    while index < len(body):
        char = body[index]
        if char == "\\":
            index += 2
            continue
        if in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "|" and depth == 0:
            parts.append(body[start:index])
            start = index + 1
        index += 1
    parts.append(body[start:index])
    return parts


def _group_at(pattern: str, start: int) -> tuple[str, int]:
    """The body of the ``(?:...)`` group opening at ``start`` and the index just past it."""
    end = _skip_group(pattern, start)
    return pattern[start + 3 : end - 1], end


_QUOTE_LOOKAHEAD = "(?=[\\\"'`])"


def _quote_only_separators(pattern: str, value_start: int) -> str:
    """RE2 form of a separator group whose alternatives may end in ``(?=["'`])`` (a quote must
    follow): those alternatives are paired with the quoted value alternatives only, the others
    with every value, in Python's order (so RE2's leftmost-first pick is Python's)."""
    sep_start = pattern.rindex("(?:\\s*(?:=>", 0, value_start)
    sep_body, sep_end = _group_at(pattern, sep_start)
    rest = pattern[sep_end:]
    branches: list[str] = []
    if rest.startswith('(?:\\"(?P<secret>'):
        value_body, value_end = _group_at(rest, 0)
        values = _alternatives(value_body)
        quoted = "|".join(v for v in values if not v.startswith("(?P<"))
        every = value_body
        tail = rest[value_end:]
    else:  # secret-key-assignment: an optional opening quote, then the secret
        assert rest.startswith("[\\\"'`(]?"), rest[:20]
        every = "[\\\"'`(]?"
        quoted = "[\\\"'`]"
        tail = rest[len(every) :]
    run: list[str] = []
    run_quoted = False
    for alternative in _alternatives(sep_body):
        needs_quote = alternative.endswith(_QUOTE_LOOKAHEAD)
        if run and needs_quote != run_quoted:
            branches.append(f"(?:{'|'.join(run)})(?:{quoted if run_quoted else every})")
            run = []
        run.append(alternative.removesuffix(_QUOTE_LOOKAHEAD))
        run_quoted = needs_quote
    branches.append(f"(?:{'|'.join(run)})(?:{quoted if run_quoted else every})")
    return pattern[:sep_start] + "(?:" + "|".join(branches) + ")" + tail


def _rewrite(detector_id: str, pattern: str) -> tuple[str, dict[str, Any]]:
    """Hand-made RE2 forms of the patterns with a look-around in the middle (exact, with the
    Go-side checks they return); other patterns unchanged."""
    checks: dict[str, Any] = {}
    if detector_id == "openai-api-key":
        old = "sk-(?!ant-)"
        assert old in pattern, detector_id
        pattern = pattern.replace(old, "sk-")
        checks["reject_secret"] = "sk-ant-"  # Anthropic keys are their own detector's
    if detector_id == "password-assignment":
        old = "(?:(?<![a-z])pass|"
        assert old in pattern, detector_id
        pattern = pattern.replace(old, "(?:(?:\\A|[^a-z])pass|")  # the byte is consumed, not masked
        segment = re.search(
            r"\(\?:\[_\.\\-\]\(\?!\(\?:([a-z|]+)\)\(\?!\[a-z0-9\]\)\)\[a-z0-9\]\+\)\{0,2\}", pattern
        )
        assert segment is not None, detector_id
        checks["not_words"] = segment.group(1).split("|")
        pattern = (
            pattern[: segment.start()]
            + "(?:[_.\\-](?P<aibosnotword>[a-z0-9]+)(?:[_.\\-](?P<aibosnotword>[a-z0-9]+))?)?"
            + pattern[segment.end() :]
        )
    if _QUOTE_LOOKAHEAD in pattern:
        pattern = _quote_only_separators(pattern, pattern.index(_QUOTE_LOOKAHEAD))
    return pattern, checks


def split_pattern(pattern: str, detector_id: str = "") -> dict[str, Any]:
    """The pattern without its look-arounds, and how each one is kept (see module doc)."""
    ignore_case = False
    if pattern.startswith("(?i)"):
        ignore_case, pattern = True, pattern[4:]
    before: list[list[dict[str, Any]]] = []
    after: list[dict[str, Any]] = []
    approximations: list[str] = []
    before_class = after_class = ""
    # leading look-behinds (and groups that are an alternation of look-behinds)
    while True:
        spans = _top_level_lookarounds(pattern)
        if spans and spans[0][0] == 0 and pattern.startswith("(?<"):
            group = pattern[: spans[0][1]]
            pattern = pattern[spans[0][1] :]
            condition = _condition(group)
            if condition["neg"] and _SINGLE_CLASS.fullmatch(condition["re"]) and not before_class:
                before_class = condition["re"]
            else:
                before.append([condition])
            continue
        if pattern.startswith("(?:(?<"):
            end = _skip_group(pattern, 0)
            alternatives = _alternatives_of_lookarounds(pattern[:end])
            if alternatives is not None:
                before.append([_condition(a) for a in alternatives])
                pattern = pattern[end:]
                continue
        break
    # trailing look-aheads, outermost last
    trailing: list[str] = []
    while True:
        spans = _top_level_lookarounds(pattern)
        if spans and spans[-1][1] == len(pattern) and pattern[spans[-1][0] :].startswith("(?" + "!"):
            start = spans[-1][0]
            trailing.insert(0, pattern[start:])
            pattern = pattern[:start]
            continue
        if spans and spans[-1][1] == len(pattern) and pattern[spans[-1][0] :].startswith("(?="):
            start = spans[-1][0]
            trailing.insert(0, pattern[start:])
            pattern = pattern[:start]
            continue
        break
    for index, lookahead in enumerate(trailing):
        condition = _condition(lookahead)
        if index == 0 and condition["neg"] and _SINGLE_CLASS.fullmatch(condition["re"]):
            after_class = condition["re"]
        else:
            after.append(condition)
    pattern, checks = _rewrite(detector_id, pattern)
    # look-arounds left in the middle: removed, listed
    for start, end in reversed(_top_level_lookarounds(pattern)):
        approximations.append(pattern[start:end])
        pattern = pattern[:start] + pattern[end:]
    return {
        "re2": _re2_syntax(pattern),
        "ignore_case": ignore_case,
        "before_class": before_class,
        "after_class": after_class,
        "before": before,
        "after": after,
        "approximations": sorted(approximations),
        "reject_secret": checks.get("reject_secret", ""),
        "not_words": checks.get("not_words", []),
    }


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
        if op is sre_constants.SUBPATTERN and _needs_upper(arg[-1]):
            return True
        repeat = op in (sre_constants.MAX_REPEAT, sre_constants.MIN_REPEAT)
        if repeat and arg[0] >= 1 and _needs_upper(arg[2]):
            return True
        if op is sre_constants.BRANCH and all(_needs_upper(branch) for branch in arg[1]):
            return True
    return False


_MIN_RUN = 8


def _longest_run(items: Any, state: Any, flags: int) -> tuple[str, int]:
    """The mandatory single-class repeat with the highest minimum (``[A-Za-z0-9]{44,512}``):
    every match holds a run of that many bytes of the class. Returns (the class's ASCII
    characters, the minimum); ("", 0) when there is none."""
    best = ("", 0)
    for op, arg in items:
        if op is sre_constants.SUBPATTERN:
            found = _longest_run(arg[-1], state, flags)
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
            if not _match_class(arg[-1], state, flags, found):
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
    ``min_digits``, that some window of ``max_width`` bytes holds that many digits."""
    flags = re.ASCII | (re.IGNORECASE if detector.ignore_case else 0)
    parsed = sre_parse.parse(detector.pattern, flags)
    low, high = parsed.getwidth()
    # lower-cased whatever the pattern's case: a necessary condition stays one
    required = sorted({c.lower() for c in _required_chars(parsed) if c.isascii()})
    ignore_case = detector.ignore_case or "(?i)" in detector.pattern
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


def _detector_entry(detector: Detector) -> dict[str, Any]:
    split = split_pattern(detector.pattern, detector.id)
    split["ignore_case"] = split["ignore_case"] or detector.ignore_case
    return {
        "id": detector.id,
        "category": detector.category,
        "group": detector.group,
        "keywords": list(detector.keywords),
        "validator": validator_name(detector),
        "context": list(detector.context),
        "context_window": detector.context_window,
        "priority": detector.priority,
        "shrink": detector.shrink,
        "min_digits": detector.min_digits,
        **gates(detector),
        **split,
        "examples": list(detector.examples),
        "negatives": list(detector.negatives),
    }


def render_go_catalogue(profiles: Iterable[str] = PROFILES) -> dict[str, Any]:
    """Every detector and key rule of ``profiles`` (default: all; the processor's
    ``profiles`` setting chooses among them at start-up) as plain data."""
    chosen = tuple(profiles)
    rules = key_rules_for(chosen)
    return {
        "format": FORMAT_VERSION,
        "generated_by": "aibos-otel redaction render-collector --format=json",
        "profiles": list(chosen),
        "detectors": [_detector_entry(d) for d in detectors_for(chosen)],
        "key_rules": [
            {
                "id": rule.id,
                "category": rule.category,
                "pattern": _re2_syntax(rule.pattern),
                "keywords": list(rule.keywords),
                "examples": list(rule.examples),
                "negatives": list(rule.negatives),
            }
            for rule in rules
        ],
        "key_words": list(key_keywords(rules)),
    }


def render_go_catalogue_text(profiles: Iterable[str] = PROFILES) -> str:
    """The JSON text of :func:`render_go_catalogue` (stable: the generated file is diffed)."""
    return json.dumps(render_go_catalogue(profiles), indent=1, ensure_ascii=True) + "\n"
