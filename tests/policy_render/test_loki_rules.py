"""``render loki-rules``: the rule file carries every enabled rule verbatim, in the format of
Loki's ruler (Prometheus rule groups with LogQL expressions)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from aibos_otel.policy.logql import parse_duration, parse_rule
from aibos_otel.policy.model import Policy, load_policy
from aibos_otel.policy.render import RULE_GROUP, loki_rules
from aibos_otel.policy.templates import template_errors

from .policies import rich


def rendered_rules(policy: Policy) -> list[dict[str, Any]]:
    document = yaml.safe_load(loki_rules(policy).text())
    assert list(document) == ["groups"]
    [group] = document["groups"]
    assert group["name"] == RULE_GROUP and set(group) == {"name", "rules"}
    rules: list[dict[str, Any]] = group["rules"]
    return rules


def assert_carries(policy: Policy, rules: list[dict[str, Any]]) -> None:
    """Each rendered rule is the enabled policy rule of that name, field for field."""
    assert [r["alert"] for r in rules] == [r.name for r in policy.rules if r.enabled]
    for out in rules:
        rule = policy.rule(out["alert"])
        assert rule is not None
        assert set(out) <= {"alert", "expr", "for", "labels", "annotations"}
        assert out["expr"] == rule.expr_text
        assert parse_rule(out["expr"]) == rule.expr  # the project's parser reads it back the same
        assert parse_duration(out["for"]) == rule.for_ns
        assert out.get("labels", {}) == dict(rule.labels)
        assert out.get("annotations", {}) == dict(rule.annotations)
        for text in [*out.get("labels", {}).values(), *out.get("annotations", {}).values()]:
            assert template_errors(text) == []  # only the subset Loki renders the same way


def test_default_policy_renders_every_rule() -> None:
    policy = load_policy(None)
    rules = rendered_rules(policy)
    assert_carries(policy, rules)
    assert {r["alert"] for r in rules} == {"error-spike", "fatal-errors", "logs-silent"}
    assert all(r["labels"]["severity"] in ("warning", "critical") for r in rules)


def test_rich_policy_round_trips_and_leaves_disabled_rules_out(tmp_path: Path) -> None:
    path = tmp_path / "aibos-otel.yaml"
    path.write_text(rich())
    policy = load_policy(path, env={})
    rules = rendered_rules(policy)
    assert_carries(policy, rules)
    names = [r["alert"] for r in rules]
    assert "retired" not in names and len(names) == len(policy.rules) - 1
    by_name = {r["alert"]: r for r in rules}
    # quoting survives YAML: backticks with ": " inside, escaped regexes, double quotes
    assert by_name["fatal-errors"]["expr"].count('`panic: "x"`') == 1
    assert r'|~ "took \\d+ms"' in by_name["slow-checkout"]["expr"]
    assert by_name["slow-checkout"]["for"] == "1h30m"
    assert (
        by_name["error-spike"]["annotations"]["summary"]
        == "{{ $labels.service_name }}: {{ $value }} errors/s"
    )
    assert "labels" not in by_name["escalating"]  # no empty mappings
    rendered = loki_rules(policy)
    assert any("retired" in note for note in rendered.notes)
    assert "# - rule 'retired': disabled" in rendered.text()


@pytest.mark.parametrize(("namespace", "tenant"), [("aibos-otel", "fake"), ("shop", "team-a")])
def test_header_names_the_ruler_file(namespace: str, tenant: str) -> None:
    text = loki_rules(load_policy(None), namespace, tenant).text()
    assert f"/{tenant}/{namespace}.yaml" in text.split("groups:")[0]
