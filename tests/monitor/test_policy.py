"""The policy file: the default, ${ENV}, strict validation with line and field, ``validate``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aibos_otel.policy.model import PolicyError, load_policy, parse_policy


def test_default_policy_has_the_seed_rules() -> None:
    policy = load_policy(None, env={})
    spike, fatal = policy.rule("error-spike"), policy.rule("fatal-errors")
    assert spike is not None and fatal is not None
    assert spike.expr_text == 'sum by (service_name) (rate({level="error"}[5m])) > 0.1'
    assert spike.expr.threshold == 0.1 and spike.expr.range_agg.range_ns == 300 * 10**9
    assert fatal.expr.range_agg.function == "count_over_time" and fatal.immediate
    assert set(spike.channels or ()) == {"console", "slack", "email"}
    assert set(fatal.channels or ()) == {"console", "slack", "pagerduty"}
    assert policy.retention_ns["fatal"] == 7 * 365 * 86400 * 10**9
    # without the environment, only the console channel is on
    assert [c.name for c in policy.channels.values() if c.enabled] == ["console"]


def test_env_substitution_enables_channels() -> None:
    policy = load_policy(None, env={"AIBOS_SLACK_WEBHOOK_URL": "http://127.0.0.1:9/hook"})
    assert (
        policy.channels["slack"].enabled
        and policy.channels["slack"].options["url"] == "http://127.0.0.1:9/hook"
    )


def test_missing_env_without_default_is_an_error_with_line() -> None:
    text = "channels:\n  s:\n    type: slack\n    url: ${NOT_SET_ANYWHERE}\n"
    with pytest.raises(PolicyError) as err:
        parse_policy(text, "p.yaml", env={})
    (issue,) = err.value.issues
    assert issue.line == 4 and issue.path == "channels.s.url" and "NOT_SET_ANYWHERE" in issue.message


def test_every_error_is_reported_with_line_and_field() -> None:
    text = """version: 1
rules:
  - name: a
    expr: sum(rate({level="error"}[5q])) > 1
    for: soon
    channels: [nowhere]
    labels: {severity: loud}
    annotations: {summary: "{{ .Value }}"}
  - name: a
    expr: '{level="fatal"}'
bogus: 1
"""
    with pytest.raises(PolicyError) as err:
        parse_policy(text, "p.yaml", env={})
    found = {(i.line, i.path) for i in err.value.issues}
    assert (4, "rules[0].expr") in found
    assert (5, "rules[0].for") in found
    assert (6, "rules[0].channels[0]") in found
    assert (7, "rules[0].labels.severity") in found
    assert (8, "rules[0].annotations.summary") in found
    assert (9, "rules[1].name") in found
    assert (10, "rules[1].expr") in found
    assert (11, "bogus") in found
    expr_issue = next(i for i in err.value.issues if i.path == "rules[0].expr")
    assert "column 26" in expr_issue.message


def test_yaml_syntax_error_names_the_line() -> None:
    with pytest.raises(PolicyError) as err:
        parse_policy("rules:\n  - name: x\n   expr: [\n", "p.yaml", env={})
    assert err.value.issues[0].line >= 2 and "YAML" in err.value.issues[0].message


def test_validate_command(tmp_path: Path) -> None:
    good = tmp_path / "good.yaml"
    good.write_text(
        "channels:\n  hook: {type: webhook, url: 'http://127.0.0.1:1/x'}\n"
        'rules:\n  - name: r\n    expr: count_over_time({service_name="a"} |= "x" [1m]) > 2\n    channels: [hook]\n'
    )
    ok = subprocess.run(
        [sys.executable, "-m", "aibos_otel.cli", "validate", str(good)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert ok.returncode == 0 and "OK" in ok.stdout and "rules:    r" in ok.stdout
    bad = tmp_path / "bad.yaml"
    bad.write_text('rules:\n  - name: r\n    expr: rate({a="b"}[5m]) >\n')
    out = subprocess.run(
        [sys.executable, "-m", "aibos_otel.cli", "validate", str(bad)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 1
    assert "line 3: rules[0].expr: expected a number at column 20" in out.stderr
    default = subprocess.run(
        [sys.executable, "-m", "aibos_otel.cli", "validate", "--print-default"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert "error-spike" in default.stdout


_keys = st.sampled_from(
    [
        "version",
        "retention",
        "channels",
        "alerting",
        "rules",
        "redaction",
        "name",
        "expr",
        "for",
        "labels",
        "annotations",
        "type",
        "url",
        "to",
        "port",
        "escalation",
        "after",
        "routes",
        "match",
        "match_re",
        "error_groups",
        "default_channels",
        "trace",
        "fatal",
        "slack",
        "x",
    ]
)
_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-5, 70000)
    | st.sampled_from(
        [
            "5m",
            "slack",
            "email",
            "immediate",
            "${HOME}",
            "${NOPE}",
            'count_over_time({a="b"}[1m]) > 0',
            "{{ $value }}",
            "(",
            "",
        ]
    ),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(_keys, children, max_size=4),
    max_leaves=25,
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(_keys, _values, max_size=6))
def test_policy_validation_never_crashes(doc: dict[str, object]) -> None:
    import yaml

    text = yaml.safe_dump(doc)
    try:
        parse_policy(text, "fuzz.yaml", env={"HOME": "/root"})
    except PolicyError as exc:
        assert exc.issues and all(i.message for i in exc.issues)
