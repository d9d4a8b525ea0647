"""Every Loki query of the shipped dashboards goes through the project's LogQL parser.

No Loki runs here (AGPL; the project never downloads or runs it), so the check is the parser in
aibos_otel.policy.logql, whose grammar is a strict subset of LogQL, plus what the parsed selectors
match. Queries that use LogQL beyond that subset are listed in UNCHECKED with the reason; the test
fails if one of them starts parsing (then it belongs checked) or if any other query does not parse.
"""

from __future__ import annotations

import re

import pytest

from aibos_otel.policy.logql import LogQLError, LogSelector, VectorAggregation, parse_rule, parse_selector

from .dashboards import (
    Target,
    all_targets,
    all_values,
    dashboard_by_uid,
    interpolate,
    legend_labels,
    variables,
)

LOKI_TARGETS = all_targets("loki")

# Knowingly unchecked: valid LogQL (per Loki's docs) that the subset parser does not cover.
UNCHECKED = {
    # A label filter on structured metadata (`| exception_type != ""`) after the selector: the
    # subset stops at line filters. Loki stores OTLP attributes such as exception.type as
    # structured metadata named exception_type (deploy/loki/loki.yaml keeps them out of the index).
    "aibos-logs/3/A": "label filter expression on structured metadata",
}

# One concrete selection, as a user picking single values would send it.
CONCRETE = {"environment": "production", "service": "checkout", "level": "error", "search": "timeout"}
IN_SELECTION = {"deployment_environment_name": "production", "service_name": "checkout", "level": "error"}


def parse(target: Target, expr: str) -> LogSelector:
    """Parse as Grafana's panel would send it: log panels a log query, the others a metric query."""
    if target.panel_type == "logs":
        return parse_selector(expr)
    return parse_rule(expr).range_agg.selector


def test_there_are_loki_targets() -> None:
    assert LOKI_TARGETS
    assert set(UNCHECKED) <= {t.key for t in LOKI_TARGETS}, "UNCHECKED names a target that no longer exists"


@pytest.mark.parametrize("target", LOKI_TARGETS, ids=lambda t: t.key)
def test_loki_target_parses_with_every_variable_at_all(target: Target) -> None:
    expr = interpolate(target.expr, all_values(dashboard_by_uid(target.dashboard)))
    if target.key in UNCHECKED:
        with pytest.raises(LogQLError):
            parse(target, expr)
        pytest.skip(f"knowingly unchecked: {UNCHECKED[target.key]}")
    selector = parse(target, expr)
    # "All" still selects the streams of any service and environment (every panel shows errors)
    assert selector.matches_labels(IN_SELECTION)
    assert selector.matches_labels(
        IN_SELECTION | {"service_name": "billing", "deployment_environment_name": "dev"}
    )


@pytest.mark.parametrize("target", LOKI_TARGETS, ids=lambda t: t.key)
def test_loki_target_with_one_selected_value_matches_only_that_selection(target: Target) -> None:
    if target.key in UNCHECKED:
        pytest.skip(f"knowingly unchecked: {UNCHECKED[target.key]}")
    dashboard = dashboard_by_uid(target.dashboard)
    values = {name: CONCRETE[name] for name in variables(dashboard)}
    selector = parse(target, interpolate(target.expr, values))
    assert selector.matches_labels(IN_SELECTION)
    for label, other in (("service_name", "billing"), ("deployment_environment_name", "staging")):
        assert not selector.matches_labels(IN_SELECTION | {label: other}), (target.key, label)
    if "$search" in target.expr:
        assert selector.matches_line("upstream timeout after 3s")
        assert not selector.matches_line("all good")


def test_error_panels_select_only_error_and_fatal() -> None:
    for target in LOKI_TARGETS:
        if target.key in UNCHECKED or "error" not in target.panel_title.lower():
            continue
        selector = parse(target, interpolate(target.expr, all_values(dashboard_by_uid(target.dashboard))))
        for level, wanted in (("error", True), ("fatal", True), ("warn", False), ("info", False)):
            assert selector.matches_labels(IN_SELECTION | {"level": level}) is wanted, (target.key, level)


def test_loki_variable_queries_use_valid_selectors() -> None:
    dashboard = dashboard_by_uid("aibos-logs")
    checked = 0
    for var in variables(dashboard).values():
        if var["type"] != "query":
            continue
        m = re.fullmatch(r"label_values\((?:(\{.*\}),\s*)?(\w+)\)", var["query"])
        assert m, f"{var['name']}: expected label_values([selector,] label), got {var['query']!r}"
        assert m.group(2) in {"service_name", "deployment_environment_name"}
        if m.group(1):
            parse_selector(interpolate(m.group(1), all_values(dashboard)))
            checked += 1
    assert checked, "the service list depends on the environment"


@pytest.mark.parametrize("target", [t for t in LOKI_TARGETS if t.panel_type != "logs"], ids=lambda t: t.key)
def test_metric_legends_name_the_grouping_labels(target: Target) -> None:
    if target.key in UNCHECKED:
        pytest.skip(f"knowingly unchecked: {UNCHECKED[target.key]}")
    metric = parse_rule(interpolate(target.expr, all_values(dashboard_by_uid(target.dashboard)))).metric
    assert isinstance(metric, VectorAggregation) and metric.grouping and not metric.without, target.key
    assert legend_labels(target.legend) and legend_labels(target.legend) <= set(metric.grouping), target.key
