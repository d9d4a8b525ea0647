"""The collector's second line: the RE2-compatible subset of the catalogue, as settings of the
OpenTelemetry Collector ``redaction`` processor.

Go's RE2 has no lookaround and no backreferences, and the collector cannot run our Python
validators or context checks. So only detectors whose precision comes from the pattern itself
(prefixed vendor tokens, PEM blocks, webhook URLs ...) are rendered: their lookaround token
boundaries are dropped (the collector then masks slightly more, never less), and
``blocked_values`` masks the whole match. Key rules become ``blocked_key_patterns`` on raw keys
(``user.password``, ``X-Api-Key``; camelCase keys stay the SDK's job).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from aibos_otel.redaction import validators
from aibos_otel.redaction.catalogue import detectors_for, key_rules_for
from aibos_otel.redaction.detector import Detector, KeyRule
from aibos_otel.redaction.engine import resolve_profiles

# Validators that only reject placeholders: the pattern alone is precise enough for the collector.
_PATTERN_ONLY_VALIDATORS = (None, validators.no_placeholder)
_LOOKAROUND_OPENERS = ("(?<!", "(?<=", "(?!", "(?=")


def strip_lookarounds(pattern: str) -> str:
    """Remove every lookbehind/lookahead group (balanced parentheses, escapes and classes
    respected) and turn Python's ``\\Z`` into RE2's ``\\z``."""
    out: list[str] = []
    index = 0
    length = len(pattern)
    while index < length:
        if pattern.startswith(_LOOKAROUND_OPENERS, index):
            index = _skip_group(pattern, index)
            continue
        char = pattern[index]
        if char == "\\" and index + 1 < length:
            pair = pattern[index : index + 2]
            out.append("\\z" if pair == "\\Z" else pair)
            index += 2
            continue
        out.append(char)
        index += 1
    return "".join(out)


def _skip_group(pattern: str, start: int) -> int:
    """Index just past the group that opens at ``start``."""
    depth = 0
    index = start
    in_class = False
    while index < len(pattern):
        char = pattern[index]
        if char == "\\":
            index += 2
            continue
        if in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
            if pattern.startswith("[]", index) or pattern.startswith("[^]", index):
                index += 2 if pattern[index + 1] == "]" else 3
                continue
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                return index + 1
        index += 1
    raise ValueError(f"unbalanced group in pattern {pattern!r}")


def collector_detectors(profiles: Iterable[str] | None = None) -> tuple[Detector, ...]:
    """The detectors whose pattern is precise on its own (rendered for the collector)."""
    return tuple(
        d
        for d in detectors_for(resolve_profiles(profiles))
        if d.collector and d.validator in _PATTERN_ONLY_VALIDATORS and not d.context
    )


def re2_value_pattern(detector: Detector) -> str:
    """The detector's pattern in RE2 syntax (case-insensitive detectors get ``(?i)``)."""
    pattern = strip_lookarounds(detector.pattern)
    return f"(?i){pattern}" if detector.ignore_case else pattern


def re2_key_pattern(rule: KeyRule) -> str:
    """A key rule on raw attribute keys: ``_`` in the normalised form matches ``.``, ``_``,
    ``-`` or a space; matching ignores case."""
    body = rule.pattern.replace("(?:^|_)", "\x00").replace("_?", "\x01").replace("_", "\x02")
    body = body.replace("\x00", "(?:^|[^a-z0-9])").replace("\x01", "[._ -]?").replace("\x02", "[._ -]")
    return f"(?i){body}"


def render_collector_redaction(profiles: Iterable[str] | None = None) -> dict[str, Any]:
    """Settings for the collector ``redaction`` processor (the mapping under
    ``processors: redaction:``): every attribute key allowed, sensitive keys and secret values
    masked, a summary of counts on each record."""
    chosen = resolve_profiles(profiles)
    return {
        "allow_all_keys": True,
        "blocked_key_patterns": [re2_key_pattern(rule) for rule in key_rules_for(chosen)],
        "blocked_values": [re2_value_pattern(d) for d in collector_detectors(chosen)],
        "summary": "info",
    }
