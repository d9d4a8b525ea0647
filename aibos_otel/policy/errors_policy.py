"""The policy's ``errors:`` section: grouping (``group_by``, grouping rules), escalation, ``new_for``.

Grouping rules let a team say "these are one bug" or "this is two bugs": a rule matches an
occurrence on its exception type, message, module (the logger or instrumentation scope), service
and attributes, and sets the fingerprint from parts, where ``{{ default }}`` is the fingerprint
the monitor would have used. The first matching rule wins. Every pattern is RE2
(:mod:`aibos_otel.saferegex`: linear time) and every list is bounded, so a policy cannot make
ingest slow.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from aibos_otel.saferegex import SafePattern, UnsafePatternError, compile_external

GROUP_BY_SERVICE = "service"
GROUP_BY_FLEET = "fleet"
GROUP_BY_CHOICES = (GROUP_BY_SERVICE, GROUP_BY_FLEET)
DEFAULT_PART = "{{ default }}"
MAX_GROUPING_RULES = 100
MAX_FINGERPRINT_PARTS = 10
MAX_PART_CHARS = 200
MAX_ATTRIBUTE_MATCHERS = 10
MATCH_FIELDS = ("type", "message", "module", "service")
"""Fields a rule's ``match`` tests (each an RE2 pattern, searched); ``attributes`` maps keys to patterns."""
MAX_MATCH_TEXT = 4096
"""Characters of a value a pattern is run on (RE2 is linear; this bounds the constant)."""

Path = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class GroupingRule:
    """One ``errors.grouping`` entry."""

    name: str
    match: Mapping[str, SafePattern]
    attributes: Mapping[str, SafePattern]
    fingerprint: tuple[str, ...]

    def matches(self, fields: Mapping[str, str], attributes: Mapping[str, str]) -> bool:
        """Whether every matcher of the rule holds for the occurrence."""
        for key, pattern in self.match.items():
            if pattern.search(fields.get(key, "")[:MAX_MATCH_TEXT]) is None:
                return False
        for key, pattern in self.attributes.items():
            value = attributes.get(key)
            if value is None or pattern.search(value[:MAX_MATCH_TEXT]) is None:
                return False
        return True

    def fingerprint_for(self, default: str) -> str:
        """The fingerprint the rule sets: a hash of its parts, ``{{ default }}`` replaced."""
        text = "\x1f".join(default if part == DEFAULT_PART else part for part in self.fingerprint)
        return hashlib.sha256(f"rule\x1f{self.name}\x1f{text}".encode()).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class Escalation:
    """``errors.escalation``: a group escalates when its rate over ``window`` is at least
    ``factor`` times its own baseline rate (over ``baseline``) and ``min_events`` occurred."""

    factor: float = 5.0
    window_ns: int = 10 * 60 * 10**9
    min_events: int = 20
    baseline_ns: int = 24 * 3600 * 10**9
    enabled: bool = True


@dataclass(frozen=True, slots=True)
class Errors:
    """How occurrences become error groups.

    ``group_by: service`` (the default, as Sentry projects and Datadog Error Tracking do): the
    same exception in two services is two groups, each with its own ``new-error-group`` alert.
    ``fleet``: one group across services (one alert for the first service that raises it).
    """

    group_by: str = GROUP_BY_SERVICE
    grouping: tuple[GroupingRule, ...] = ()
    escalation: Escalation = field(default_factory=Escalation)
    new_for_ns: int = 7 * 86_400 * 10**9
    """A group stays ``new`` this long after it was first seen (then ``ongoing``), as in Sentry."""

    @property
    def rules_need_attributes(self) -> bool:
        """Whether any grouping rule matches on attributes (ingest then reads them)."""
        return any(rule.attributes for rule in self.grouping)


class ValidatorLike(Protocol):
    """What :func:`parse_errors` uses of the policy validator (``model._Validator``)."""

    def issue(self, path: Path, message: str, severity: str = "error") -> None: ...

    def mapping(self, value: Any, path: Path, allowed: set[str] | None = None) -> dict[str, Any]: ...

    def string(self, value: Any, path: Path, *, required: bool = False) -> str: ...

    def boolean(self, value: Any, path: Path, default: bool) -> bool: ...

    def duration(self, value: Any, path: Path, default: int) -> int: ...


def parse_errors(v: ValidatorLike, value: Any) -> Errors:
    """Validate ``errors:``; each problem is an issue with its line and field."""
    body = v.mapping(value, ("errors",), {"group_by", "grouping", "escalation", "new_for"})
    group_by = body.get("group_by", GROUP_BY_SERVICE)
    if group_by not in GROUP_BY_CHOICES:
        v.issue(("errors", "group_by"), f"must be one of {', '.join(GROUP_BY_CHOICES)}")
        group_by = GROUP_BY_SERVICE
    default = Errors()
    return Errors(
        group_by=group_by,
        grouping=_grouping(v, body.get("grouping")),
        escalation=_escalation(v, body.get("escalation")),
        new_for_ns=v.duration(body.get("new_for"), ("errors", "new_for"), default.new_for_ns),
    )


def _escalation(v: ValidatorLike, value: Any) -> Escalation:
    path: Path = ("errors", "escalation")
    body = v.mapping(value, path, {"factor", "window", "min_events", "baseline", "enabled"})
    d = Escalation()
    factor = body.get("factor", d.factor)
    if isinstance(factor, bool) or not isinstance(factor, int | float) or not 1 < factor <= 1000:
        v.issue((*path, "factor"), "must be a number above 1 (at most 1000)")
        factor = d.factor
    min_events = body.get("min_events", d.min_events)
    if isinstance(min_events, bool) or not isinstance(min_events, int) or not 1 <= min_events <= 10**9:
        v.issue((*path, "min_events"), "must be a whole number from 1")
        min_events = d.min_events
    window = v.duration(body.get("window"), (*path, "window"), d.window_ns)
    baseline = v.duration(body.get("baseline"), (*path, "baseline"), d.baseline_ns)
    if window < 60 * 10**9:
        v.issue((*path, "window"), "must be at least 1m")
        window = d.window_ns
    if baseline < 2 * window:
        v.issue((*path, "baseline"), "must be at least twice the window")
        baseline = max(d.baseline_ns, 2 * window)
    enabled = v.boolean(body.get("enabled"), (*path, "enabled"), True)
    return Escalation(float(factor), window, int(min_events), baseline, enabled)


def _grouping(v: ValidatorLike, value: Any) -> tuple[GroupingRule, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        v.issue(("errors", "grouping"), "must be a list of rules")
        return ()
    if len(value) > MAX_GROUPING_RULES:
        v.issue(("errors", "grouping"), f"{len(value)} rules; the limit is {MAX_GROUPING_RULES}")
        return ()
    rules: list[GroupingRule] = []
    names: set[str] = set()
    for i, item in enumerate(value):
        rule = _grouping_rule(v, item, ("errors", "grouping", i))
        if rule is None:
            continue
        if rule.name in names:
            v.issue(("errors", "grouping", i, "name"), f"duplicate rule name {rule.name!r}")
        names.add(rule.name)
        rules.append(rule)
    return tuple(rules)


def _pattern(v: ValidatorLike, value: Any, path: Path, what: str) -> SafePattern | None:
    text = v.string(value, path, required=True)
    try:
        return compile_external(text, what=what)
    except UnsafePatternError as exc:
        v.issue(path, f"invalid regular expression: {exc}")
        return None


def _grouping_rule(v: ValidatorLike, item: Any, path: Path) -> GroupingRule | None:
    body = v.mapping(item, path, {"name", "match", "fingerprint"})
    if not body:
        v.issue(path, "a grouping rule needs name, match and fingerprint")
        return None
    name = v.string(body.get("name"), (*path, "name"), required=True)[:MAX_PART_CHARS]
    match_body = v.mapping(body.get("match"), (*path, "match"), {*MATCH_FIELDS, "attributes"})
    match: dict[str, SafePattern] = {}
    for key in MATCH_FIELDS:
        if key in match_body:
            compiled = _pattern(v, match_body[key], (*path, "match", key), f"grouping rule {name!r} {key}")
            if compiled is not None:
                match[key] = compiled
    attributes: dict[str, SafePattern] = {}
    attr_body = v.mapping(match_body.get("attributes"), (*path, "match", "attributes"))
    if len(attr_body) > MAX_ATTRIBUTE_MATCHERS:
        v.issue((*path, "match", "attributes"), f"at most {MAX_ATTRIBUTE_MATCHERS} attributes")
    for key, pattern in list(attr_body.items())[:MAX_ATTRIBUTE_MATCHERS]:
        where = (*path, "match", "attributes", key)
        compiled = _pattern(v, pattern, where, f"grouping rule {name!r} attribute {key!r}")
        if compiled is not None:
            attributes[str(key)] = compiled
    if not match and not attributes:
        v.issue((*path, "match"), "a grouping rule needs at least one matcher")
    return GroupingRule(name, match, attributes, _parts(v, body.get("fingerprint"), (*path, "fingerprint")))


def _parts(v: ValidatorLike, value: Any, path: Path) -> tuple[str, ...]:
    parts = [value] if isinstance(value, str) else value
    if not isinstance(parts, list) or not parts or not all(isinstance(p, str) for p in parts):
        v.issue(path, 'must be a string or a list of strings (e.g. ["db-timeout", "{{ default }}"])')
        return (DEFAULT_PART,)
    if len(parts) > MAX_FINGERPRINT_PARTS:
        v.issue(path, f"at most {MAX_FINGERPRINT_PARTS} parts")
    out: list[str] = []
    for i, part in enumerate(parts[:MAX_FINGERPRINT_PARTS]):
        normal = DEFAULT_PART if part.replace(" ", "") == "{{default}}" else part
        if "{{" in normal and normal != DEFAULT_PART:
            v.issue((*path, i), "the only placeholder is {{ default }} (as a part of its own)")
        if len(normal) > MAX_PART_CHARS:
            v.issue((*path, i), f"at most {MAX_PART_CHARS} characters")
        out.append(normal)
    return tuple(out)
