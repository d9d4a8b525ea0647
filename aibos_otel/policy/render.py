"""The policy rendered for Loki's ruler and for Alertmanager (``aibos-otel render``).

Two pure functions turn a validated :class:`~aibos_otel.policy.model.Policy` into documents:

- :func:`loki_rules`: a Loki ruler rule file (the Prometheus rule-group format with LogQL
  expressions). Each enabled rule becomes one alerting rule whose ``expr`` is the policy text
  verbatim, with its ``for``, labels and annotations; the templates are already restricted to
  the ``{{ $labels.NAME }}`` / ``{{ $value }}`` subset that Loki renders the same way.
- :func:`alertmanager_config`: an Alertmanager 0.25 ``alertmanager.yml`` with one receiver per
  deliverable channel and a route tree that reproduces the monitor's choice of channels:
  a rule's own channels (or its immediate escalation step) first, matched by ``alertname``
  (the ruler sets it to the rule name), then ``alerting.routes`` in order, then
  ``alerting.default_channels`` as the root receiver.

Both return a :class:`Rendered`: the document plus *notes*, each saying what did not map (a
console channel, a later escalation step, a custom webhook header). :meth:`Rendered.text`
writes the notes as a comment above the YAML, and the command prints them on stderr, so
nothing is dropped silently.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from aibos_otel.policy.logql import format_duration
from aibos_otel.policy.model import CHANNEL_TYPES, Channel, Policy, Route, Rule

RULE_GROUP = "aibos-otel"
"""The name of the one rule group in the rendered Loki rule file."""

NULL_RECEIVER = "aibos-otel:none"
"""A receiver without configurations: alerts routed to it are not delivered. The ``:`` cannot
occur in a channel name, so it never clashes with a channel's receiver."""

GROUP_BY = ("alertname",)
"""Alertmanager grouping: one notification per rule, as the monitor batches alerts of a rule."""

DEFAULT_PAGERDUTY_URL: str = CHANNEL_TYPES["pagerduty"][1]["url"]

# Alertmanager's default Slack text is empty; list each alert's summary as the monitor does.
SLACK_TEXT = '{{ range .Alerts }}{{ .Annotations.summary }}{{ "\\n" }}{{ end }}'
# PagerDuty's severity from the alert's severity label (the policy allows exactly PagerDuty's
# four values); Alertmanager's default would send "error" for everything.
PAGERDUTY_SEVERITY = "{{ if .CommonLabels.severity }}{{ .CommonLabels.severity }}{{ else }}error{{ end }}"


@dataclass(frozen=True, slots=True)
class Rendered:
    """A rendered document, what did not map (``notes``) and the comment to put above it."""

    document: dict[str, Any]
    notes: tuple[str, ...] = ()
    header: tuple[str, ...] = ()

    def text(self) -> str:
        """The YAML, preceded by the header and the notes as ``#`` comments."""
        lines = [*self.header]
        if self.notes:
            lines += ["", "Not rendered / differs from the monitor:"]
            lines += [f"- {note}" for note in self.notes]
        comment = "".join(f"# {line}".rstrip() + "\n" for line in lines)
        body = yaml.dump(
            self.document,
            Dumper=_Dumper,
            sort_keys=False,
            allow_unicode=True,
            default_flow_style=False,
            width=2**16,
        )
        return comment + body


class _Dumper(yaml.SafeDumper):
    """Plain YAML: a receiver config shared by two receivers is written out twice, not as an
    ``&anchor`` / ``*alias`` pair that a reader of the file would have to resolve."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


# --- Loki ruler -------------------------------------------------------------------------------


def loki_rules(policy: Policy, namespace: str = RULE_GROUP, tenant: str = "fake") -> Rendered:
    """The Loki ruler rule file for the enabled rules of ``policy``.

    ``namespace`` and ``tenant`` only name the file in the header comment: with
    ``auth_enabled: false`` the ruler reads ``<rules_directory>/fake/<namespace>.yaml``.
    """
    rules = [_loki_rule(rule) for rule in policy.rules if rule.enabled]
    notes = tuple(
        f"rule {r.name!r}: disabled (enabled: false), left out" for r in policy.rules if not r.enabled
    )
    header = (
        f"Loki ruler rules rendered by `aibos-otel render loki-rules` from {policy.origin}.",
        f"Install as <ruler rules_directory>/{tenant}/{namespace}.yaml (the tenant directory is",
        "`fake` when auth_enabled is false). Alertmanager routes these alerts by alertname:",
        "render its config from the same policy (`aibos-otel render alertmanager`).",
    )
    return Rendered({"groups": [{"name": RULE_GROUP, "rules": rules}]}, notes, header)


def _loki_rule(rule: Rule) -> dict[str, Any]:
    out: dict[str, Any] = {"alert": rule.name, "expr": rule.expr_text, "for": format_duration(rule.for_ns)}
    if rule.labels:
        out["labels"] = dict(rule.labels)
    if rule.annotations:
        out["annotations"] = dict(rule.annotations)
    return out


# --- Alertmanager -----------------------------------------------------------------------------


def alertmanager_config(policy: Policy) -> Rendered:
    """An Alertmanager 0.25 configuration equivalent to the channels and routes of ``policy``."""
    notes: list[str] = []
    receivers = _Receivers(policy.channels, notes)
    routes: list[dict[str, Any]] = []
    for rule in policy.rules:
        if not rule.enabled:
            continue
        channels = _rule_channels(rule, policy.channels, notes)
        if channels is None:
            continue  # the monitor routes this rule's alerts through alerting.routes: so does this
        name = receivers.for_channels(channels, f"rule {rule.name!r}")
        routes.append({"receiver": name, "matchers": [_matcher("alertname", "=", rule.name)]})
    for i, route in enumerate(policy.alerting.routes):
        routes.append(_route(route, receivers.for_channels(route.channels, f"alerting.routes[{i}]")))
    root: dict[str, Any] = {
        "receiver": receivers.for_channels(policy.alerting.default_channels, "alerting.default_channels"),
        "group_by": list(GROUP_BY),
        "group_wait": format_duration(policy.alerting.group_wait_ns),
    }
    if policy.alerting.repeat_interval_ns > 0:
        root["repeat_interval"] = format_duration(policy.alerting.repeat_interval_ns)
    else:
        notes.append(
            "alerting.repeat_interval 0s (re-notify at every evaluation) is invalid in Alertmanager:"
            " left at Alertmanager's default (4h)"
        )
    if routes:
        root["routes"] = routes
    header = (
        f"Alertmanager 0.25 configuration rendered by `aibos-otel render alertmanager` from {policy.origin}.",
        "It contains the channels' secrets (webhook URLs, routing keys, SMTP passwords) as",
        "substituted from the environment: keep it private (`-o` writes it with mode 0600).",
        "Rule routes match alertname, which Loki's ruler sets to the rule name",
        "(`aibos-otel render loki-rules`). Check: amtool check-config <this file>",
    )
    document = {"route": root, "receivers": receivers.listing()}
    return Rendered(document, tuple(notes), header)


def _rule_channels(rule: Rule, channels: Mapping[str, Channel], notes: list[str]) -> tuple[str, ...] | None:
    """The channels the monitor notifies at once for ``rule``; ``None`` when routes decide."""
    steps = rule.escalation_steps()
    if steps:
        now = [c for after, chans in steps if after == 0 for c in chans]
        for after, chans in steps:
            if after > 0:
                notes.append(
                    f"rule {rule.name!r}: escalation step after {format_duration(after)} to"
                    f" {', '.join(chans)} has no Alertmanager equivalent (not rendered);"
                    " only the steps at 0s are"
                )
        return tuple(dict.fromkeys(now))
    if rule.channels is None:
        return None
    if not any(c in channels and channels[c].enabled for c in rule.channels):
        # the monitor routes an alert whose channels are all unusable instead of dropping it
        return None
    return rule.channels


def _route(route: Route, receiver: str) -> dict[str, Any]:
    matchers = [_matcher(k, "=", v) for k, v in route.match.items()]
    matchers += [_matcher(k, "=~", rx.pattern) for k, rx in route.match_re.items()]
    out: dict[str, Any] = {"receiver": receiver}
    if matchers:
        out["matchers"] = matchers
    if route.continue_:
        out["continue"] = True
    return out


def _matcher(label: str, op: str, value: str) -> str:
    """An Alertmanager matcher string; the value double-quoted with ``\\``, ``"`` and newline escaped."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'{label}{op}"{escaped}"'


class _Receivers:
    """Receivers by channel set: one per deliverable channel, named after it, plus one per
    combination a route needs (``a+b``: ``+`` cannot occur in a channel name), since an
    Alertmanager route has exactly one receiver."""

    def __init__(self, channels: Mapping[str, Channel], notes: list[str]) -> None:
        self.notes = notes
        self.configs: dict[str, dict[str, list[dict[str, Any]]]] = {}
        self.receivers: dict[str, dict[str, Any]] = {}
        for channel in channels.values():
            configs = _channel_configs(channel, notes)
            if configs is not None:
                self.configs[channel.name] = configs
                self.receivers[channel.name] = {"name": channel.name, **configs}

    def for_channels(self, names: Iterable[str], where: str) -> str:
        """The receiver delivering to ``names`` (the null receiver when none can be)."""
        unique = list(dict.fromkeys(names))
        deliverable = [n for n in unique if n in self.configs]
        if not deliverable:
            self.notes.append(
                f"{where}: none of its channels ({', '.join(unique) or 'none'}) has an Alertmanager"
                f" receiver; its alerts go to {NULL_RECEIVER!r} and are not delivered"
            )
            self.receivers.setdefault(NULL_RECEIVER, {"name": NULL_RECEIVER})
            return NULL_RECEIVER
        name = "+".join(deliverable)
        if name not in self.receivers:
            merged: dict[str, Any] = {"name": name}
            for channel in deliverable:
                for kind, configs in self.configs[channel].items():
                    merged.setdefault(kind, []).extend(configs)
            self.receivers[name] = merged
        return name

    def listing(self) -> list[dict[str, Any]]:
        """Every receiver; Alertmanager needs at least one, so the null one when nothing else."""
        if not self.receivers:
            self.receivers[NULL_RECEIVER] = {"name": NULL_RECEIVER}
        return list(self.receivers.values())


def _channel_configs(channel: Channel, notes: list[str]) -> dict[str, list[dict[str, Any]]] | None:
    """The Alertmanager receiver configurations of one channel, or ``None`` (with a note)."""
    opts = channel.options
    if not channel.enabled:
        empty = [key for key in CHANNEL_TYPES[channel.type][0] if not opts.get(key)]
        notes.append(
            f"channel {channel.name!r} ({channel.type}): disabled ({', '.join(empty)} empty), left out"
        )
        return None
    if channel.type == "console":
        notes.append(f"channel {channel.name!r} (console): Alertmanager has no console receiver")
        return None
    if channel.type == "alertmanager":
        notes.append(
            f"channel {channel.name!r} (alertmanager): the monitor's hand-over to an Alertmanager;"
            " no receiver inside Alertmanager itself"
        )
        return None
    resolved = {"send_resolved": channel.send_resolved}
    if channel.type == "slack":
        return {"slack_configs": [{"api_url": opts["url"], **resolved, "text": SLACK_TEXT}]}
    if channel.type == "pagerduty":
        pd: dict[str, Any] = {"routing_key": opts["routing_key"], **resolved, "severity": PAGERDUTY_SEVERITY}
        if opts.get("url") and opts["url"] != DEFAULT_PAGERDUTY_URL:
            pd["url"] = opts["url"]
        return {"pagerduty_configs": [pd]}
    if channel.type == "webhook":
        hook: dict[str, Any] = {"url": opts["url"], **resolved}
        for header, value in (opts.get("headers") or {}).items():
            scheme, _, credentials = str(value).partition(" ")
            if header.lower() == "authorization" and scheme and credentials:
                hook["http_config"] = {"authorization": {"type": scheme, "credentials": credentials}}
            else:
                notes.append(
                    f"channel {channel.name!r} (webhook): header {header!r} not rendered"
                    " (Alertmanager 0.25 webhooks send only an Authorization header)"
                )
        return {"webhook_configs": [hook]}
    if channel.type == "email":
        host = str(opts["host"])
        email: dict[str, Any] = {
            "to": ", ".join(opts["to"]),
            "from": opts["from"],
            "smarthost": f"[{host}]:{opts['port']}" if ":" in host else f"{host}:{opts['port']}",
            "require_tls": bool(opts["starttls"]),
            **resolved,
        }
        if opts.get("username"):
            email["auth_username"] = opts["username"]
            email["auth_password"] = opts.get("password", "")
        if opts.get("ca_file"):
            email["tls_config"] = {"ca_file": opts["ca_file"]}
        return {"email_configs": [email]}
    raise ValueError(f"unknown channel type {channel.type!r}")  # pragma: no cover - model validates
