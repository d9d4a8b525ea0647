"""Alerting checks: the rules Loki's ruler has loaded and the config Alertmanager runs equal what
the policy renders; the policy has a dead-man's switch; channels test-fired on request."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import yaml

from aibos_otel.doctor import probe
from aibos_otel.doctor.channel_fire import fire_test
from aibos_otel.doctor.model import Check, Status, Targets
from aibos_otel.policy.logql import parse_duration
from aibos_otel.policy.model import Policy
from aibos_otel.policy.render import alertmanager_config, loki_rules
from aibos_otel.terminal import escape

AREA = "alerting"
MAX_YAML_BYTES = 4 * 1024 * 1024


def safe_yaml(text: str) -> Any:
    """YAML from a service, size-capped; ProbeError when it does not parse."""
    if len(text) > MAX_YAML_BYTES:
        raise probe.ProbeError(f"YAML answer larger than {MAX_YAML_BYTES} bytes")
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise probe.ProbeError(f"not YAML: {exc}") from None


def _rule_key(rule: Mapping[str, Any]) -> tuple[str, str, int, tuple[tuple[str, str], ...]]:
    """What makes two alerting rules the same: name, expression, ``for`` and labels."""
    raw_for = str(rule.get("for") or "0s")
    try:
        for_ns = parse_duration(raw_for)
    except ValueError:
        for_ns = -1
    labels = tuple(sorted((str(k), str(v)) for k, v in (rule.get("labels") or {}).items()))
    return (str(rule.get("alert", "")), " ".join(str(rule.get("expr", "")).split()), for_ns, labels)


def check_loki_rules(policy: Policy, targets: Targets) -> Check:
    """The ruler's loaded rules (``GET /loki/api/v1/rules``) against ``aibos-otel render loki-rules``."""
    assert targets.loki is not None
    fix = (
        "install the output of `aibos-otel render loki-rules` in the ruler's rules directory (docs/deploy.md)"
    )
    try:
        answer = probe.request(
            probe.join(targets.loki, "/loki/api/v1/rules"), headers={"X-Scope-OrgID": targets.loki_tenant}
        )
        if answer.status == 404:
            return Check(AREA, "loki ruler rules", Status.FAIL, "the ruler has no rules loaded (404)", fix)
        if answer.status != 200:
            raise probe.ProbeError(f"rules answered HTTP {answer.status}")
        loaded = safe_yaml(answer.text()) or {}
    except probe.ProbeError as exc:
        return Check(
            AREA,
            "loki ruler rules",
            Status.FAIL,
            escape(exc),
            "check the Loki URL and that the ruler is enabled",
        )
    have = {
        _rule_key(r)
        for groups in (loaded.values() if isinstance(loaded, dict) else [])
        for g in groups or []
        for r in g.get("rules") or []
    }
    want = {_rule_key(r) for g in loki_rules(policy).document["groups"] for r in g["rules"]}
    missing, extra = want - have, have - want
    if missing:
        names = ", ".join(sorted(escape(k[0]) for k in missing))
        return Check(
            AREA,
            "loki ruler rules",
            Status.FAIL,
            f"{len(missing)} of {len(want)} rendered rules not loaded (or differ): {names}",
            fix,
        )
    evidence = f"all {len(want)} rendered rules loaded"
    if extra:
        return Check(
            AREA,
            "loki ruler rules",
            Status.WARN,
            evidence + f"; {len(extra)} more not in the policy",
            "remove stale rule files, or add the rules to the policy",
        )
    return Check(AREA, "loki ruler rules", Status.PASS, evidence)


def _route_shape(route: Mapping[str, Any]) -> tuple[Any, ...]:
    children = tuple(_route_shape(r) for r in route.get("routes") or [])
    matchers = tuple(sorted(str(m) for m in route.get("matchers") or []))
    return (str(route.get("receiver", "")), matchers, children)


def _receiver_shape(receivers: Any) -> dict[str, tuple[tuple[str, int], ...]]:
    """Receiver name -> its integration kinds and counts (Alertmanager hides URLs and keys as
    ``<secret>``, so those cannot be compared)."""
    out = {}
    for receiver in receivers or []:
        kinds = tuple(sorted((k, len(v)) for k, v in receiver.items() if k.endswith("_configs") and v))
        out[str(receiver.get("name", ""))] = kinds
    return out


def check_alertmanager(policy: Policy, targets: Targets) -> Check:
    """Alertmanager's running config (``GET /api/v2/status``) against ``aibos-otel render alertmanager``."""
    assert targets.alertmanager is not None
    fix = "load the output of `aibos-otel render alertmanager` as alertmanager.yml and reload Alertmanager"
    try:
        answer = probe.request(probe.join(targets.alertmanager, "/api/v2/status"))
        if answer.status != 200:
            raise probe.ProbeError(f"status answered HTTP {answer.status}")
        status = answer.json()
        original = status.get("config", {}).get("original", "") if isinstance(status, dict) else ""
        running = safe_yaml(str(original)) or {}
    except probe.ProbeError as exc:
        return Check(AREA, "alertmanager config", Status.FAIL, escape(exc), "check the Alertmanager URL")
    rendered = alertmanager_config(policy).document
    differences = []
    if _route_shape(running.get("route") or {}) != _route_shape(rendered["route"]):
        differences.append("routes")
    if _receiver_shape(running.get("receivers")) != _receiver_shape(rendered["receivers"]):
        differences.append("receivers")
    if differences:
        return Check(
            AREA,
            "alertmanager config",
            Status.FAIL,
            f"running config differs from the render in: {', '.join(differences)}",
            fix,
        )
    peers = len(status.get("cluster", {}).get("peers") or []) if isinstance(status, dict) else 0
    return Check(
        AREA,
        "alertmanager config",
        Status.PASS,
        f"routes and receivers equal the render ({peers} cluster peer(s))",
    )


def check_dead_mans_switch(policy: Policy) -> Check:
    """A rule that fires when a service goes silent (``absent_over_time``)."""
    rules = [r.name for r in policy.rules if r.enabled and "absent_over_time" in r.expr_text]
    if rules:
        return Check(AREA, "dead man's switch", Status.PASS, f"rule(s) {', '.join(escape(r) for r in rules)}")
    return Check(
        AREA,
        "dead man's switch",
        Status.WARN,
        "no enabled rule fires when a service goes silent",
        "add a rule with absent_over_time(...) (the default policy's logs-silent rule shows how)",
    )


def check_channels(policy: Policy) -> list[Check]:
    """Test-fire every enabled channel (only when asked: it notifies people)."""
    checks = []
    for channel in policy.channels.values():
        if not channel.enabled:
            continue
        error = fire_test(channel)
        name = f"channel {escape(channel.name)}"
        if error:
            checks.append(
                Check(
                    AREA,
                    name,
                    Status.FAIL,
                    f"test notification failed: {escape(error)}",
                    f"check the {escape(channel.type)} settings of channel {escape(channel.name)}",
                )
            )
        else:
            checks.append(
                Check(AREA, name, Status.PASS, f"test notification delivered ({escape(channel.type)})")
            )
    return checks
