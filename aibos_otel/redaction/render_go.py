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
from typing import Any

from aibos_otel.redaction.catalogue import detectors_for, key_rules_for
from aibos_otel.redaction.detector import PROFILES, Detector
from aibos_otel.redaction.keyvalue import key_keywords
from aibos_otel.redaction.render import _skip_group
from aibos_otel.redaction.shapes import gates

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
