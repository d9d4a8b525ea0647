"""The LogQL subset the monitor evaluates, parsed into a small AST.

The same rule text runs in Loki's ruler, so the grammar is a strict subset of LogQL::

    rule       := metric [cmp number]
    metric     := vector_agg | range_agg | absent
    absent     := "absent_over_time" "(" selector {line_filter} "[" duration "]" ")"
    vector_agg := AGG [grouping] "(" range_agg ")" [grouping]
    grouping   := ("by" | "without") "(" [label {"," label}] ")"
    range_agg  := RANGE_FN "(" selector {line_filter} "[" duration "]" ")"
    selector   := "{" matcher {"," matcher} "}"
    matcher    := label ("=" | "!=" | "=~" | "!~") string
    line_filter:= ("|=" | "!=" | "|~" | "!~") string
    AGG        := sum | avg | max | min | count
    RANGE_FN   := rate | count_over_time | bytes_over_time | bytes_rate
    cmp        := > | >= | < | <= | == | !=

``absent_over_time`` is the dead-man's switch: as in Loki, it gives one sample of value 1 when no
record matched in the range, labelled with the selector's ``=`` matchers, and nothing otherwise. It
stands alone (Loki allows it under an aggregation, where it means little).

Strings are "double-quoted" (Go escapes) or `raw`. Label regexes (``=~``) are anchored at both
ends as in Loki; line-filter regexes (``|~``) are not. A syntax error names its position.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from aibos_otel.saferegex import SafePattern, UnsafePatternError, compile_external

AGGREGATIONS = frozenset({"sum", "avg", "max", "min", "count"})
RANGE_FUNCTIONS = frozenset({"rate", "count_over_time", "bytes_over_time", "bytes_rate"})
ABSENT = "absent_over_time"
COMPARISONS = (">=", "<=", "==", "!=", ">", "<")
MATCH_OPS = ("=~", "!~", "!=", "=")
FILTER_OPS = ("|=", "|~", "!=", "!~")
_DURATION_UNITS = {
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60_000_000_000,
    "h": 3_600_000_000_000,
    "d": 86_400_000_000_000,
    "w": 7 * 86_400_000_000_000,
    "y": 365 * 86_400_000_000_000,
}
_DURATION = re.compile(r"(\d+)(ms|s|m|h|d|w|y)")
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_ESCAPES = {
    "n": "\n",
    "t": "\t",
    "r": "\r",
    '"': '"',
    "\\": "\\",
    "'": "'",
    "a": "\a",
    "b": "\b",
    "f": "\f",
    "v": "\v",
}


class LogQLError(ValueError):
    """A syntax error; ``position`` is the 0-based character offset in the expression."""

    def __init__(self, message: str, position: int, text: str = "") -> None:
        super().__init__(f"{message} at column {position + 1}")
        self.reason = message
        self.position = position
        self.text = text

    def caret(self) -> str:
        """The expression with a caret under the error position."""
        return f"{self.text}\n{' ' * self.position}^" if self.text else ""


def parse_duration(text: str) -> int:
    """A Prometheus/Loki duration (``5m``, ``1h30m``, ``500ms``) in nanoseconds."""
    pos, total = 0, 0
    while pos < len(text):
        m = _DURATION.match(text, pos)
        if m is None:
            raise ValueError(f"invalid duration {text!r} (use e.g. 30s, 5m, 1h30m)")
        total += int(m.group(1)) * _DURATION_UNITS[m.group(2)]
        pos = m.end()
    if not text:
        raise ValueError("empty duration")
    return total


def format_duration(ns: int) -> str:
    """Nanoseconds back to the shortest duration text (``300000000000`` -> ``5m``)."""
    if ns == 0:
        return "0s"
    out = []
    units = ("y", "d", "h", "m", "s", "ms") if ns % _DURATION_UNITS["y"] == 0 else ("d", "h", "m", "s", "ms")
    for unit in units:
        size = _DURATION_UNITS[unit]
        if ns >= size:
            out.append(f"{ns // size}{unit}")
            ns %= size
    return "".join(out)


@dataclass(frozen=True, slots=True)
class Matcher:
    """A label matcher: ``name op value``."""

    name: str
    op: str
    value: str
    regex: SafePattern | None = field(default=None, compare=False, repr=False)

    def matches(self, labels: dict[str, str]) -> bool:
        """Does the label set satisfy this matcher? (A missing label is the empty string.)"""
        actual = labels.get(self.name, "")
        if self.op == "=":
            return actual == self.value
        if self.op == "!=":
            return actual != self.value
        assert self.regex is not None
        hit = self.regex.fullmatch(actual) is not None
        return hit if self.op == "=~" else not hit


@dataclass(frozen=True, slots=True)
class LineFilter:
    """A line filter: ``|= "text"``, ``!= "text"``, ``|~ "re"``, ``!~ "re"``."""

    op: str
    value: str
    regex: SafePattern | None = field(default=None, compare=False, repr=False)

    def matches(self, line: str) -> bool:
        """Does the log line pass this filter?"""
        if self.op == "|=":
            return self.value in line
        if self.op == "!=":
            return self.value not in line
        assert self.regex is not None
        hit = self.regex.search(line) is not None
        return hit if self.op == "|~" else not hit


@dataclass(frozen=True, slots=True)
class LogSelector:
    """``{matchers} filters``."""

    matchers: tuple[Matcher, ...]
    filters: tuple[LineFilter, ...] = ()

    def matches_labels(self, labels: dict[str, str]) -> bool:
        """Do the stream labels match every matcher?"""
        return all(m.matches(labels) for m in self.matchers)

    def matches_line(self, line: str) -> bool:
        """Does the line pass every filter?"""
        return all(f.matches(line) for f in self.filters)


@dataclass(frozen=True, slots=True)
class RangeAggregation:
    """``fn(selector [range])``."""

    function: str
    selector: LogSelector
    range_ns: int


@dataclass(frozen=True, slots=True)
class VectorAggregation:
    """``op by|without (labels) (inner)``; ``grouping`` ``None`` means no clause (one group)."""

    op: str
    inner: RangeAggregation
    grouping: tuple[str, ...] | None = None
    without: bool = False


@dataclass(frozen=True, slots=True)
class RuleExpr:
    """A whole rule expression: a metric query and an optional threshold comparison."""

    metric: VectorAggregation | RangeAggregation
    comparison: str | None = None
    threshold: float = 0.0

    @property
    def range_agg(self) -> RangeAggregation:
        """The range aggregation inside."""
        return self.metric.inner if isinstance(self.metric, VectorAggregation) else self.metric

    @property
    def absent(self) -> bool:
        """Is this ``absent_over_time(...)`` (the dead-man's switch)?"""
        return self.range_agg.function == ABSENT

    def passes(self, value: float) -> bool:
        """Does a sample value satisfy the comparison? (No comparison: every sample does.)"""
        op, t = self.comparison, self.threshold
        if op is None:
            return True
        return {
            ">": value > t,
            ">=": value >= t,
            "<": value < t,
            "<=": value <= t,
            "==": value == t,
            "!=": value != t,
        }[op]


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def error(self, message: str, pos: int | None = None) -> LogQLError:
        return LogQLError(message, self.pos if pos is None else pos, self.text)

    def skip_ws(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos] in " \t\r\n":
            self.pos += 1

    def peek(self, token: str) -> bool:
        self.skip_ws()
        return self.text.startswith(token, self.pos)

    def expect(self, token: str, what: str = "") -> None:
        if not self.peek(token):
            found = self.text[self.pos : self.pos + 10] or "end of expression"
            raise self.error(f"expected {what or repr(token)}, found {found!r}")
        self.pos += len(token)

    def ident(self, what: str) -> str:
        self.skip_ws()
        m = _IDENT.match(self.text, self.pos)
        if m is None:
            found = self.text[self.pos : self.pos + 10] or "end of expression"
            raise self.error(f"expected {what}, found {found!r}")
        self.pos = m.end()
        return m.group()

    def string(self) -> str:
        self.skip_ws()
        start = self.pos
        if self.peek("`"):
            end = self.text.find("`", self.pos + 1)
            if end < 0:
                raise self.error("unterminated raw string", start)
            self.pos = end + 1
            return self.text[start + 1 : end]
        if not self.peek('"'):
            raise self.error("expected a quoted string")
        self.pos += 1
        out: list[str] = []
        while self.pos < len(self.text):
            ch = self.text[self.pos]
            if ch == '"':
                self.pos += 1
                return "".join(out)
            if ch == "\\":
                esc = self.text[self.pos + 1 : self.pos + 2]
                if esc not in _ESCAPES:
                    raise self.error(f"unknown escape \\{esc}")
                out.append(_ESCAPES[esc])
                self.pos += 2
                continue
            out.append(ch)
            self.pos += 1
        raise self.error("unterminated string", start)

    def regex(self, pattern: str, pos: int, anchored: bool) -> SafePattern:
        # A policy author's pattern runs on every matching record: RE2 (linear time), never
        # ``re``, whose backtracking lets one pattern such as ``(a+)+`` stall ingest.
        # Label matchers are anchored by Matcher.matches (fullmatch), so both compile as written.
        what = "label matcher" if anchored else "line filter"
        try:
            return compile_external(pattern, what=what)
        except UnsafePatternError as exc:
            raise self.error(f"invalid regular expression {pattern!r}: {exc}", pos) from None

    def selector(self) -> LogSelector:
        self.skip_ws()
        start = self.pos
        self.expect("{", "a stream selector '{'")
        matchers: list[Matcher] = []
        while True:
            name = self.ident("a label name")
            self.skip_ws()
            op = next((o for o in MATCH_OPS if self.text.startswith(o, self.pos)), None)
            if op is None:
                raise self.error("expected a matcher operator (=, !=, =~, !~)")
            self.pos += len(op)
            self.skip_ws()
            vpos = self.pos
            value = self.string()
            rx = self.regex(value, vpos, True) if op in ("=~", "!~") else None
            matchers.append(Matcher(name, op, value, rx))
            if self.peek(","):
                self.pos += 1
                continue
            self.expect("}", "',' or '}'")
            break
        if all(m.op in ("!=", "!~") or (m.regex is not None and m.regex.fullmatch("")) for m in matchers):
            # Loki refuses selectors that match everything, e.g. {level=~".*"}
            raise self.error(
                "a stream selector needs at least one matcher that does not match the empty value", start
            )
        filters: list[LineFilter] = []
        while True:
            self.skip_ws()
            op = next((o for o in FILTER_OPS if self.text.startswith(o, self.pos)), None)
            if op is None:
                if self.peek("|"):
                    raise self.error("only line filters (|=, !=, |~, !~) are supported after a selector")
                break
            self.pos += len(op)
            self.skip_ws()
            vpos = self.pos
            value = self.string()
            rx = self.regex(value, vpos, False) if op in ("|~", "!~") else None
            filters.append(LineFilter(op, value, rx))
        return LogSelector(tuple(matchers), tuple(filters))

    def range_agg(self, *, absent_allowed: bool = False) -> RangeAggregation:
        fpos = self.pos
        fn = self.ident("a range function")
        if fn == ABSENT and not absent_allowed:
            raise self.error(f"{ABSENT} stands alone, not inside an aggregation", fpos)
        if fn not in RANGE_FUNCTIONS and fn != ABSENT:
            raise self.error(
                f"unknown range function {fn!r} (use {', '.join(sorted(RANGE_FUNCTIONS))})", fpos
            )
        self.expect("(")
        selector = self.selector()
        self.expect("[", "a range such as [5m]")
        self.skip_ws()
        dpos = self.pos
        end = self.text.find("]", self.pos)
        if end < 0:
            raise self.error("expected ']'")
        try:
            range_ns = parse_duration(self.text[dpos:end].strip())
        except ValueError as exc:
            raise self.error(str(exc), dpos) from None
        if range_ns <= 0 or range_ns % 1_000_000:
            raise self.error("the range must be at least 1ms, in whole milliseconds", dpos)
        self.pos = end + 1
        self.expect(")")
        return RangeAggregation(fn, selector, range_ns)

    def grouping(self) -> tuple[tuple[str, ...], bool] | None:
        for word, without in (("by", False), ("without", True)):
            self.skip_ws()
            m = _IDENT.match(self.text, self.pos)
            if m and m.group() == word:
                self.pos = m.end()
                self.expect("(")
                labels: list[str] = []
                if not self.peek(")"):
                    labels.append(self.ident("a label name"))
                    while self.peek(","):
                        self.pos += 1
                        labels.append(self.ident("a label name"))
                self.expect(")", "',' or ')'")
                return tuple(labels), without
        return None

    def metric(self) -> VectorAggregation | RangeAggregation:
        self.skip_ws()
        start = self.pos
        if self.peek("{"):
            raise self.error(
                'a rule needs a metric query, e.g. count_over_time({level="fatal"}[1m]) > 0, '
                "not a bare log selector"
            )
        name = self.ident("an aggregation or range function")
        self.pos = start
        if name in RANGE_FUNCTIONS or name == ABSENT:
            return self.range_agg(absent_allowed=True)
        if name not in AGGREGATIONS:
            known = ", ".join(sorted(AGGREGATIONS | RANGE_FUNCTIONS | {ABSENT}))
            raise self.error(f"unknown function {name!r} (use {known})", start)
        self.pos += len(name)
        grouping = self.grouping()
        self.expect("(")
        inner = self.range_agg()
        self.expect(")")
        after = self.grouping()
        if grouping and after:
            raise self.error("grouping given twice")
        grouping = grouping or after
        return VectorAggregation(
            name, inner, grouping[0] if grouping else None, grouping[1] if grouping else False
        )

    def rule(self) -> RuleExpr:
        metric = self.metric()
        self.skip_ws()
        if self.pos == len(self.text):
            return RuleExpr(metric)
        op = next((o for o in COMPARISONS if self.text.startswith(o, self.pos)), None)
        if op is None:
            raise self.error("expected a comparison (>, >=, <, <=, ==, !=) or the end")
        self.pos += len(op)
        self.skip_ws()
        if self.text.startswith("bool", self.pos):
            raise self.error("the bool modifier is not supported")
        m = _NUMBER.match(self.text, self.pos)
        if m is None:
            raise self.error("expected a number")
        self.pos = m.end()
        self.skip_ws()
        if self.pos != len(self.text):
            raise self.error("unexpected text after the threshold")
        return RuleExpr(metric, op, float(m.group()))


def parse_rule(text: str) -> RuleExpr:
    """Parse a rule expression; raises :class:`LogQLError` with the position on error."""
    return _Parser(text).rule()


def parse_selector(text: str) -> LogSelector:
    """Parse a bare log query (``{...} |= "x"``)."""
    parser = _Parser(text)
    selector = parser.selector()
    parser.skip_ws()
    if parser.pos != len(text):
        raise parser.error("unexpected text after the log query")
    return selector
