"""The LogQL-subset parser: what it accepts, and where it says an error is."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aibos_otel.policy.logql import (
    LogQLError,
    RangeAggregation,
    VectorAggregation,
    format_duration,
    parse_duration,
    parse_rule,
    parse_selector,
)


@pytest.mark.parametrize(
    ("text", "op", "fn", "grouping", "cmp", "threshold"),
    [
        ('sum(rate({level="error"}[5m])) > 0.1', "sum", "rate", None, ">", 0.1),
        (
            'sum by (service_name) (rate({level="error"}[5m])) > 0.1',
            "sum",
            "rate",
            ("service_name",),
            ">",
            0.1,
        ),
        (
            'sum(rate({level="error"}[5m])) by (service_name, deployment_environment) >= 2',
            "sum",
            "rate",
            ("service_name", "deployment_environment"),
            ">=",
            2,
        ),
        ('count_over_time({level="fatal"}[1m]) > 0', None, "count_over_time", None, ">", 0),
        (
            'max without (level) (bytes_over_time({service_name=~"api|web"} |~ "time(d)? out" [30s])) < 1e3',
            "max",
            "bytes_over_time",
            ("level",),
            "<",
            1000,
        ),
        ('avg(bytes_rate({a="b"} != "health" !~ `^GET /ready` [1h30m]))', "avg", "bytes_rate", None, None, 0),
        ('count by () (count_over_time({a!="b", c="d"}[10s])) == 3', "count", "count_over_time", (), "==", 3),
    ],
)
def test_valid_expressions(
    text: str, op: str | None, fn: str, grouping: tuple[str, ...] | None, cmp: str | None, threshold: float
) -> None:
    rule = parse_rule(text)
    metric = rule.metric
    if op is None:
        assert isinstance(metric, RangeAggregation)
    else:
        assert isinstance(metric, VectorAggregation) and metric.op == op and metric.grouping == grouping
    assert rule.range_agg.function == fn
    assert rule.comparison == cmp and rule.threshold == threshold


def test_selector_and_filters_semantics() -> None:
    sel = parse_selector(
        '{service_name=~"api|web", level!="debug"} |= "timeout" != "retry" |~ "db[0-9]+" !~ "(?i)ignored"'
    )
    labels = {"service_name": "api", "level": "error"}
    assert sel.matches_labels(labels)
    assert not sel.matches_labels({"service_name": "apiserver", "level": "error"})  # =~ is anchored
    assert not sel.matches_labels({"service_name": "web", "level": "debug"})
    assert sel.matches_line("timeout talking to db12")
    assert not sel.matches_line("timeout talking to db12, retry")
    assert not sel.matches_line("timeout on db1 IGNORED")
    assert not sel.matches_line("timeout on db")
    escaped = parse_selector('{a="x\\"y\\\\z"} |= "tab\\there"')
    assert escaped.matchers[0].value == 'x"y\\z' and escaped.filters[0].value == "tab\there"


@pytest.mark.parametrize(
    ("text", "column", "reason"),
    [
        ('sum(rate({level="error"}[5x])) > 1', 26, "invalid duration"),
        ('{level="fatal"}', 1, "metric query"),
        ('rate({level="error"} | json [5m])', 22, "only line filters"),
        ('sum(rate({level=~"("}[5m]))', 18, "invalid regular expression"),
        ('sum(rate({level="error"}[5m])) >', 33, "expected a number"),
        ('sum(rate({level="error"}[5m])) > 1 and', 36, "unexpected text"),
        ('median(rate({a="b"}[5m]))', 1, "unknown function"),
        ('sum(rates({a="b"}[5m]))', 5, "unknown range function"),
        ('sum(rate({a="b"[5m]))', 16, "',' or '}'"),
        ('sum(rate({a="b}[5m]))', 13, "unterminated string"),
        ('sum(rate({a=~".*"}[5m]))', 10, "at least one matcher"),
        ('sum(rate({a="b"}))', 17, "a range"),
        ('sum(rate({a="b"}[0s]))', 18, "at least 1ms"),
        ('sum by (a (rate({a="b"}[1m]))', 11, "',' or ')'"),
        ("rate({a = 3}[1m])", 11, "quoted string"),
        ('rate({a="b"}[1m]) > bool 1', 21, "bool"),
    ],
)
def test_invalid_expressions_name_the_position(text: str, column: int, reason: str) -> None:
    with pytest.raises(LogQLError) as err:
        parse_rule(text)
    assert err.value.position + 1 == column, (str(err.value), err.value.caret())
    assert reason in err.value.reason
    assert f"at column {column}" in str(err.value)
    assert err.value.caret().splitlines()[1] == " " * (column - 1) + "^"


@given(
    st.lists(
        st.tuples(st.integers(1, 500), st.sampled_from(["ms", "s", "m", "h", "d"])), min_size=1, max_size=4
    )
)
def test_duration_roundtrip(parts: list[tuple[int, str]]) -> None:
    text = "".join(f"{n}{u}" for n, u in parts)
    ns = parse_duration(text)
    assert parse_duration(format_duration(ns)) == ns


@given(st.text(max_size=60))
def test_parser_never_crashes(text: str) -> None:
    try:
        parse_rule(text)
    except LogQLError as exc:
        assert 0 <= exc.position <= len(text)


def test_absent_over_time_stands_alone() -> None:
    from aibos_otel.policy.logql import LogQLError

    assert parse_rule('absent_over_time({service_name=~".+"}[15m])').absent
    assert parse_rule('absent_over_time({service_name="a"} |= "x" [15m]) == 1').absent
    assert not parse_rule('count_over_time({level="fatal"}[1m]) > 0').absent
    with pytest.raises(LogQLError, match="stands alone"):
        parse_rule('sum(absent_over_time({service_name="a"}[5m]))')
