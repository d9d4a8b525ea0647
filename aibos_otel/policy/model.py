"""The policy (``aibos-otel.yaml``): retention per level, channels, routes, alert rules, redaction.

:func:`load_policy` reads a file (or the built-in default), substitutes ``${ENV}``, and
validates strictly: unknown keys, wrong types, bad durations, rule expressions that do not
parse (with the column), unknown channels. Every problem is reported with its line and field;
nothing is half-loaded.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from aibos_otel.alerting import SEVERITIES
from aibos_otel.levels import ALL_LEVELS, LEVELS
from aibos_otel.policy.errors_policy import Errors, parse_errors
from aibos_otel.policy.logql import LogQLError, RuleExpr, parse_duration, parse_rule
from aibos_otel.policy.templates import template_errors
from aibos_otel.policy.yamlsource import Issue, Source, dotted, load, read_bounded
from aibos_otel.saferegex import SafePattern, UnsafePatternError, compile_external

IMMEDIATE = "immediate"


def unreachable_level(expr: RuleExpr) -> str:
    """Why a rule's ``level`` matcher can never hold ("" when it can).

    ``level`` has exactly the values of the one table of levels (:data:`ALL_LEVELS`), in the
    gateway (what Loki's ruler sees) and in the monitor alike; ``{level="warning"}`` would be a
    rule that silently never fires in both.
    """
    for m in expr.range_agg.selector.matchers:
        if m.name != "level" or m.op not in ("=", "=~"):
            continue
        if not any(m.matches({"level": lvl}) for lvl in ALL_LEVELS):
            return f"level {m.op} {m.value!r} matches no level; levels are {', '.join(ALL_LEVELS)}"
    return ""


_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_LABEL = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

# channel type -> (required options, optional options with defaults)
CHANNEL_TYPES: dict[str, tuple[tuple[str, ...], dict[str, Any]]] = {
    "slack": (("url",), {}),
    "pagerduty": (("routing_key",), {"url": "https://events.pagerduty.com/v2/enqueue"}),
    "email": (
        ("host", "from", "to"),
        {"port": 587, "starttls": True, "username": "", "password": "", "timeout": "10s", "ca_file": ""},
    ),
    "webhook": (("url",), {"headers": {}}),
    "alertmanager": (("url",), {}),
    "console": ((), {"stream": "stderr"}),
}


class PolicyError(ValueError):
    """The policy has errors; ``issues`` lists each with its line and field."""

    def __init__(self, origin: str, issues: list[Issue]) -> None:
        self.origin = origin
        self.issues = issues
        super().__init__("\n".join(f"{origin}: {i}" for i in issues))


@dataclass(frozen=True, slots=True)
class Channel:
    """A notification channel. ``enabled`` is false when a required option is empty."""

    name: str
    type: str
    options: Mapping[str, Any]
    send_resolved: bool = True
    enabled: bool = True


@dataclass(frozen=True, slots=True)
class EscalationStep:
    """Notify ``channels`` once the alert has been firing for ``after_ns``."""

    after_ns: int
    channels: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Route:
    """Alerts whose labels match go to ``channels``; ``continue_`` keeps looking."""

    match: Mapping[str, str]
    match_re: Mapping[str, SafePattern]
    channels: tuple[str, ...]
    continue_: bool = False

    def matches(self, labels: Mapping[str, str]) -> bool:
        """All equality and regex matchers hold."""
        return all(labels.get(k) == v for k, v in self.match.items()) and all(
            rx.fullmatch(labels.get(k, "")) for k, rx in self.match_re.items()
        )


@dataclass(frozen=True, slots=True)
class Rule:
    """An alert rule."""

    name: str
    expr_text: str
    expr: RuleExpr
    for_ns: int = 0
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)
    channels: tuple[str, ...] | None = None
    escalation: tuple[EscalationStep, ...] | None = None
    immediate: bool = False
    enabled: bool = True

    def escalation_steps(self) -> tuple[tuple[int, tuple[str, ...]], ...] | None:
        """``(after_ns, channels)`` steps, or ``None`` for "every channel at once"."""
        if self.immediate or not self.escalation:
            return None
        return tuple((step.after_ns, step.channels) for step in self.escalation)


@dataclass(frozen=True, slots=True)
class ErrorGroupAlerts:
    """Alerts for new and regressed error groups."""

    on_new: bool = True
    on_regression: bool = True
    on_escalation: bool = True
    severity: str = "warning"
    channels: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class Alerting:
    """How alerts become notifications."""

    group_wait_ns: int = 0
    repeat_interval_ns: int = 4 * 3_600_000_000_000
    resolve_after_ns: int = 5 * 60_000_000_000
    default_channels: tuple[str, ...] = ("console",)
    routes: tuple[Route, ...] = ()
    error_groups: ErrorGroupAlerts = field(default_factory=ErrorGroupAlerts)


DEFAULT_MAX_ERROR_GROUPS = 10_000
DEFAULT_MAX_ACTIVE_ALERTS = 1_000
# field -> (default, largest value accepted)
LIMIT_FIELDS: dict[str, tuple[int, int]] = {
    "error_groups": (DEFAULT_MAX_ERROR_GROUPS, 1_000_000),
    "active_alerts": (DEFAULT_MAX_ACTIVE_ALERTS, 100_000),
}


@dataclass(frozen=True, slots=True)
class Limits:
    """Caps on the monitor's derived state, so that a flood of distinct errors stays bounded.

    Past ``error_groups`` groups, occurrences of new fingerprints are counted into one
    ``overflow`` group; past ``active_alerts`` pending or firing alerts, new alert series are
    counted into one ``AlertCapReached`` alert.
    """

    error_groups: int = DEFAULT_MAX_ERROR_GROUPS
    active_alerts: int = DEFAULT_MAX_ACTIVE_ALERTS


@dataclass(frozen=True, slots=True)
class Policy:
    """A validated policy."""

    origin: str
    retention_ns: Mapping[str, int]
    channels: Mapping[str, Channel]
    alerting: Alerting
    rules: tuple[Rule, ...]
    redaction: Mapping[str, Any]
    warnings: tuple[Issue, ...] = ()
    limits: Limits = field(default_factory=Limits)
    errors: Errors = field(default_factory=Errors)

    def rule(self, name: str) -> Rule | None:
        """A rule by name."""
        return next((r for r in self.rules if r.name == name), None)


DEFAULT_POLICY_NAME = "<built-in default policy>"


def default_policy_text() -> str:
    """The YAML of the built-in default policy."""
    return resources.files("aibos_otel.policy").joinpath("default.yaml").read_text("utf-8")


def load_policy(path: Path | None = None, env: Mapping[str, str] | None = None) -> Policy:
    """Load and validate a policy file, or the built-in default when ``path`` is ``None``."""
    if path is None:
        return parse_policy(default_policy_text(), DEFAULT_POLICY_NAME, env)
    try:
        text = read_bounded(path)  # read_text() would read /dev/zero until memory ran out
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyError(str(path), [Issue(0, "", f"cannot read: {exc}")]) from None
    return parse_policy(text, str(path), env)


def parse_policy(text: str, origin: str = "<policy>", env: Mapping[str, str] | None = None) -> Policy:
    """Validate policy text; raises :class:`PolicyError` listing every problem."""
    source = load(text, env)
    if source.issues and source.data is None:
        raise PolicyError(origin, source.issues)
    v = _Validator(source)
    policy = v.policy(origin)
    errors = [i for i in source.issues if i.severity == "error"]
    if errors or policy is None:
        raise PolicyError(origin, errors)
    return policy


class _Validator:
    def __init__(self, source: Source) -> None:
        self.src = source

    def issue(self, path: tuple[str | int, ...], message: str, severity: str = "error") -> None:
        self.src.issues.append(Issue(self.src.line(path), dotted(path), message, severity))

    def mapping(
        self, value: Any, path: tuple[str | int, ...], allowed: set[str] | None = None
    ) -> dict[str, Any]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.issue(path, f"must be a mapping, not {type(value).__name__}")
            return {}
        if allowed is not None:
            for key in value:
                if key not in allowed:
                    self.issue((*path, key), f"unknown field (allowed: {', '.join(sorted(allowed))})")
        return value

    def string(self, value: Any, path: tuple[str | int, ...], *, required: bool = False) -> str:
        if value is None:
            if required:
                self.issue(path, "is required")
            return ""
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            self.issue(path, "must be a string")
            return ""
        return str(value)

    def boolean(self, value: Any, path: tuple[str | int, ...], default: bool) -> bool:
        if value is None:
            return default
        if not isinstance(value, bool):
            self.issue(path, "must be true or false")
            return default
        return value

    def duration(self, value: Any, path: tuple[str | int, ...], default: int) -> int:
        if value is None:
            return default
        try:
            return parse_duration(str(value))
        except ValueError as exc:
            self.issue(path, str(exc))
            return default

    def names(self, value: Any, path: tuple[str | int, ...]) -> tuple[str, ...]:
        if value is None:
            return ()
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.issue(path, "must be a list of channel names")
            return ()
        for i, name in enumerate(value):
            if name not in self.channel_names:
                known = ", ".join(sorted(self.channel_names)) or "none defined"
                self.issue((*path, i), f"unknown channel {name!r} (channels: {known})")
        return tuple(value)

    def string_map(
        self, value: Any, path: tuple[str | int, ...], templates: bool, *, label_keys: bool = True
    ) -> dict[str, str]:
        out: dict[str, str] = {}
        for key, item in self.mapping(value, path).items():
            if label_keys and not _LABEL.match(key):
                self.issue((*path, key), "label names are letters, digits and _")
            text = self.string(item, (*path, key))
            if templates:
                for err in template_errors(text):
                    self.issue((*path, key), err)
            out[key] = text
        return out

    def policy(self, origin: str) -> Policy | None:
        top = self.mapping(
            self.src.data,
            (),
            {"version", "retention", "channels", "alerting", "rules", "redaction", "limits", "errors"},
        )
        version = top.get("version", 1)
        if version != 1:
            self.issue(("version",), "only version 1 is known")
        retention = self.retention(top.get("retention"))
        channels = self.channels(top.get("channels"))
        self.channel_names = set(channels)
        alerting = self.alerting(top.get("alerting"))
        rules = self.rules(top.get("rules"))
        redaction = self.mapping(top.get("redaction"), ("redaction",), {"profiles", "default_profile"})
        limits = self.limits(top.get("limits"))
        errors = self.errors(top.get("errors"))
        warnings = tuple(i for i in self.src.issues if i.severity == "warning")
        return Policy(origin, retention, channels, alerting, rules, redaction, warnings, limits, errors)

    def errors(self, value: Any) -> Errors:
        return parse_errors(self, value)

    def limits(self, value: Any) -> Limits:
        body = self.mapping(value, ("limits",), set(LIMIT_FIELDS))
        out: dict[str, int] = {}
        for name, (default, largest) in LIMIT_FIELDS.items():
            item = body.get(name)
            if item is None:
                out[name] = default
                continue
            if isinstance(item, str) and item.strip().isdigit():
                item = int(item)  # from ${ENV} substitution
            if isinstance(item, bool) or not isinstance(item, int) or not 1 <= item <= largest:
                self.issue(("limits", name), f"must be a whole number from 1 to {largest}")
                item = default
            out[name] = item
        return Limits(**out)

    def retention(self, value: Any) -> dict[str, int]:
        out: dict[str, int] = {}
        for level, period in self.mapping(value, ("retention",), set(LEVELS)).items():
            out[level] = self.duration(period, ("retention", level), 0)
        return out

    def channels(self, value: Any) -> dict[str, Channel]:
        out: dict[str, Channel] = {}
        for name, spec in self.mapping(value, ("channels",)).items():
            path: tuple[str | int, ...] = ("channels", name)
            if not _NAME.match(name):
                self.issue(path, "channel names are letters, digits, '.', '_' and '-'")
            body = self.mapping(spec, path)
            ctype = body.get("type")
            if not isinstance(ctype, str) or ctype not in CHANNEL_TYPES:
                self.issue((*path, "type"), f"must be one of {', '.join(CHANNEL_TYPES)}")
                continue
            required, optional = CHANNEL_TYPES[ctype]
            self.mapping(body, path, {"type", "send_resolved", *required, *optional})
            options: dict[str, Any] = dict(optional)
            enabled = True
            for key in required:
                if key not in body:
                    self.issue((*path, key), f"is required for a {ctype} channel")
                    continue
                item = body[key]
                if key == "to":
                    if isinstance(item, str):
                        item = [item]
                    if not isinstance(item, list) or not all(isinstance(x, str) for x in item):
                        self.issue((*path, key), "must be an address or a list of addresses")
                        item = []
                    item = [x for x in item if x]
                if not item:
                    enabled = False
                    self.issue((*path, key), f"is empty: channel {name!r} is disabled", "warning")
                options[key] = item
            for key in optional:
                if key in body:
                    options[key] = body[key]
            if ctype == "email":
                port = options["port"]
                if isinstance(port, str) and port.isdigit():
                    port = options["port"] = int(port)  # from ${ENV} substitution
                if not isinstance(port, int) or isinstance(port, bool) or not 0 < port < 65536:
                    self.issue((*path, "port"), "must be a port number")
                options["starttls"] = self.boolean(body.get("starttls"), (*path, "starttls"), True)
                options["timeout_ns"] = self.duration(options.pop("timeout"), (*path, "timeout"), 10**10)
            if ctype == "webhook":
                options["headers"] = self.string_map(
                    body.get("headers"), (*path, "headers"), False, label_keys=False
                )
            for key in ("url",):
                url = options.get(key)
                if isinstance(url, str) and url and not url.startswith(("http://", "https://")):
                    self.issue((*path, key), "must be an http:// or https:// URL")
            if ctype == "console" and options["stream"] not in ("stderr", "stdout"):
                self.issue((*path, "stream"), "must be stderr or stdout")
            send_resolved = self.boolean(body.get("send_resolved"), (*path, "send_resolved"), True)
            out[name] = Channel(name, ctype, options, send_resolved, enabled)
        return out

    def alerting(self, value: Any) -> Alerting:
        path: tuple[str | int, ...] = ("alerting",)
        body = self.mapping(
            value,
            path,
            {"group_wait", "repeat_interval", "resolve_after", "default_channels", "routes", "error_groups"},
        )
        default = Alerting()
        routes: list[Route] = []
        raw_routes = body.get("routes") or []
        if not isinstance(raw_routes, list):
            self.issue((*path, "routes"), "must be a list")
            raw_routes = []
        for i, spec in enumerate(raw_routes):
            rpath = (*path, "routes", i)
            r = self.mapping(spec, rpath, {"match", "match_re", "channels", "continue"})
            match = self.string_map(r.get("match"), (*rpath, "match"), False)
            match_re: dict[str, SafePattern] = {}
            for key, pattern in self.string_map(r.get("match_re"), (*rpath, "match_re"), False).items():
                # Linear-time engine: a route is matched for every alert, under the alert lock.
                # Not compile_anchored: Route.matches anchors with fullmatch, and the renderer
                # needs the author's own text in ``.pattern``.
                try:
                    match_re[key] = compile_external(pattern, what=f"route {i} match_re {key!r}")
                except UnsafePatternError as exc:
                    self.issue((*rpath, "match_re", key), f"invalid regular expression: {exc}")
            channels = self.names(r.get("channels"), (*rpath, "channels"))
            if not channels:
                self.issue((*rpath, "channels"), "a route needs at least one channel")
            routes.append(
                Route(match, match_re, channels, self.boolean(r.get("continue"), (*rpath, "continue"), False))
            )
        eg = self.mapping(
            body.get("error_groups"),
            (*path, "error_groups"),
            {"on_new", "on_regression", "on_escalation", "severity", "channels"},
        )
        severity = self.string(eg.get("severity", "warning"), (*path, "error_groups", "severity"))
        if severity not in SEVERITIES:
            self.issue((*path, "error_groups", "severity"), f"must be one of {', '.join(SEVERITIES)}")
        error_groups = ErrorGroupAlerts(
            self.boolean(eg.get("on_new"), (*path, "error_groups", "on_new"), True),
            self.boolean(eg.get("on_regression"), (*path, "error_groups", "on_regression"), True),
            self.boolean(eg.get("on_escalation"), (*path, "error_groups", "on_escalation"), True),
            severity,
            self.names(eg["channels"], (*path, "error_groups", "channels")) if "channels" in eg else None,
        )
        return Alerting(
            self.duration(body.get("group_wait"), (*path, "group_wait"), default.group_wait_ns),
            self.duration(
                body.get("repeat_interval"), (*path, "repeat_interval"), default.repeat_interval_ns
            ),
            self.duration(body.get("resolve_after"), (*path, "resolve_after"), default.resolve_after_ns),
            self.names(body["default_channels"], (*path, "default_channels"))
            if "default_channels" in body
            else tuple(c for c in default.default_channels if c in self.channel_names),
            tuple(routes),
            error_groups,
        )

    def rules(self, value: Any) -> tuple[Rule, ...]:
        if value is None:
            return ()
        if not isinstance(value, list):
            self.issue(("rules",), "must be a list of rules")
            return ()
        out: list[Rule] = []
        seen: set[str] = set()
        for i, spec in enumerate(value):
            path: tuple[str | int, ...] = ("rules", i)
            body = self.mapping(
                spec,
                path,
                {"name", "expr", "for", "labels", "annotations", "channels", "escalation", "enabled"},
            )
            name = self.string(body.get("name"), (*path, "name"), required=True)
            if name in seen:
                self.issue((*path, "name"), f"duplicate rule name {name!r}")
            seen.add(name)
            expr_text = self.string(body.get("expr"), (*path, "expr"), required=True)
            try:
                expr = parse_rule(expr_text) if expr_text else None
            except LogQLError as exc:
                # a refused pattern says which rule it is in (the caret shows where)
                who = f"rule {name!r}: " if exc.reason.startswith("invalid regular expression") else ""
                self.issue((*path, "expr"), f"{who}{exc.reason} at column {exc.position + 1}:\n{exc.caret()}")
                expr = None
            if expr is not None and (level_problem := unreachable_level(expr)):
                self.issue((*path, "expr"), f"rule {name!r}: {level_problem}")
            labels = self.string_map(body.get("labels"), (*path, "labels"), True)
            severity = labels.get("severity")
            if severity is not None and severity not in SEVERITIES:
                self.issue((*path, "labels", "severity"), f"must be one of {', '.join(SEVERITIES)}")
            annotations = self.string_map(body.get("annotations"), (*path, "annotations"), True)
            channels = self.names(body["channels"], (*path, "channels")) if "channels" in body else None
            escalation: tuple[EscalationStep, ...] | None = None
            immediate = False
            raw = body.get("escalation")
            if raw == IMMEDIATE:
                immediate = True
            elif isinstance(raw, list):
                steps = []
                for j, step in enumerate(raw):
                    spath = (*path, "escalation", j)
                    s = self.mapping(step, spath, {"after", "channels"})
                    steps.append(
                        EscalationStep(
                            self.duration(s.get("after", "0s"), (*spath, "after"), 0),
                            self.names(s.get("channels"), (*spath, "channels")),
                        )
                    )
                escalation = tuple(sorted(steps, key=lambda st: st.after_ns))
            elif raw is not None:
                self.issue((*path, "escalation"), "must be 'immediate' or a list of {after, channels} steps")
            for_ns = self.duration(body.get("for"), (*path, "for"), 0)
            enabled = self.boolean(body.get("enabled"), (*path, "enabled"), True)
            if expr is not None and name:
                out.append(
                    Rule(
                        name,
                        expr_text,
                        expr,
                        for_ns,
                        labels,
                        annotations,
                        channels,
                        escalation,
                        immediate,
                        enabled,
                    )
                )
        return tuple(out)
