"""Reading a silence from an API body: every field checked and bounded before it is stored.

A silence comes from anyone who may call the API, is kept in SQLite and is matched against
every alert, so each part has a limit: a few matchers, short names and values, regexes that
RE2 accepts, times that fit SQLite's 64-bit integers, and a bounded length of time.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aibos_otel.policy.logql import parse_duration
from aibos_otel.saferegex import compile_anchored

MAX_MATCHERS = 32
MAX_LABEL_CHARS = 256
MAX_VALUE_CHARS = 1024
MAX_TEXT_CHARS = 4096  # comment, createdBy
MAX_SILENCE_NS = 366 * 86_400 * 10**9  # a year: longer is a rule to disable, not a silence
MAX_TIME_NS = 2**63 - 1  # SQLite INTEGER; about the year 2262


@dataclass(frozen=True, slots=True)
class SilenceSpec:
    """A checked silence, ready to store."""

    matchers: tuple[tuple[str, str, bool], ...]
    starts_at_ns: int
    ends_at_ns: int
    created_by: str
    comment: str


def _time(spec: Mapping[str, Any], key: str, default: int) -> int:
    value = spec.get(key)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError(f"{key}: nanoseconds since the epoch, as an integer")
    try:
        ns = int(value)
    except ValueError:
        raise ValueError(f"{key}: nanoseconds since the epoch, as an integer") from None
    if not 0 <= ns <= MAX_TIME_NS:
        raise ValueError(f"{key}: {ns} is outside 0..{MAX_TIME_NS}")
    return ns


def _text(spec: Mapping[str, Any], *keys: str) -> str:
    for key in keys:
        value = spec.get(key)
        if value is None:
            continue
        if not isinstance(value, str):
            raise ValueError(f"{key}: a string")
        if len(value) > MAX_TEXT_CHARS:
            raise ValueError(f"{key}: {len(value)} characters; the limit is {MAX_TEXT_CHARS}")
        return value
    return ""


def _matchers(raw: Any) -> tuple[tuple[str, str, bool], ...]:
    if isinstance(raw, dict):
        raw = [{"name": k, "value": v, "isRegex": False} for k, v in raw.items()]
    if not isinstance(raw, list) or not raw:
        raise ValueError("matchers: a non-empty list of {name, value, isRegex} (or a label->value map)")
    if len(raw) > MAX_MATCHERS:
        raise ValueError(f"matchers: {len(raw)} of them; the limit is {MAX_MATCHERS}")
    out = []
    for m in raw:
        if (
            not isinstance(m, dict)
            or not isinstance(m.get("name"), str)
            or not isinstance(m.get("value"), str)
        ):
            raise ValueError("each matcher needs a string name and value")
        name, value, is_regex = m["name"], m["value"], m.get("isRegex", False)
        if not isinstance(is_regex, bool):
            raise ValueError(f"matcher {name[:MAX_LABEL_CHARS]!r}: isRegex must be true or false")
        if not name or len(name) > MAX_LABEL_CHARS:
            raise ValueError(f"matcher names are 1..{MAX_LABEL_CHARS} characters")
        if len(value) > MAX_VALUE_CHARS:
            raise ValueError(
                f"matcher {name!r}: value of {len(value)} characters; the limit is {MAX_VALUE_CHARS}"
            )
        if is_regex:
            compile_anchored(value, what=f"silence matcher {name!r}")  # UnsafePatternError, a ValueError
        out.append((name, value, is_regex))
    return tuple(out)


def parse_silence(spec: Mapping[str, Any], now_ns: int) -> SilenceSpec:
    """Check an API body; ``ValueError`` naming the field when any part is wrong or too large."""
    matchers = _matchers(spec.get("matchers"))
    starts = _time(spec, "starts_at_ns", now_ns)
    if "ends_at_ns" in spec:
        ends = _time(spec, "ends_at_ns", now_ns)
    else:
        duration = spec.get("duration", "1h")
        if not isinstance(duration, str) or len(duration) > 32:
            raise ValueError("duration: a duration like 30m, 2h or 1d")
        ends = starts + parse_duration(duration)
    if ends <= starts:
        raise ValueError("a silence must end after it starts")
    if ends - starts > MAX_SILENCE_NS:
        raise ValueError("a silence lasts at most 366 days; disable the rule in the policy instead")
    if ends > MAX_TIME_NS:
        raise ValueError(f"ends_at_ns: past {MAX_TIME_NS}")
    return SilenceSpec(
        matchers, starts, ends, _text(spec, "createdBy", "created_by") or "api", _text(spec, "comment")
    )
