"""Issue 11, "nobody gets in, nothing hangs": hostile patterns, cross-origin requests, TLS on the
API, malformed input and the bounds on what one client can make the monitor keep."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from aibos_otel.monitor.server import Monitor
from aibos_otel.policy.model import PolicyError, parse_policy

from .conftest import http_json

EVIL = "(a+)+"
EVIL_INPUT = "a" * 40 + "!"  # 2**40 steps for a backtracking engine: hours


def _runs_quickly(code: str) -> None:
    """Run ``code`` in a fresh interpreter; a backtracking regex would still be running at the
    timeout (the child is killed, so a failure cannot leave this process burning CPU)."""
    try:
        subprocess.run([sys.executable, "-c", textwrap.dedent(code)], check=True, timeout=60)
    except subprocess.TimeoutExpired:
        pytest.fail("matching took more than 60 s: a backtracking regex engine")


# -- finding 1: regexes from outside the code -------------------------------------------------
def test_silence_regex_runs_in_linear_time() -> None:
    _runs_quickly(
        f"""
        from aibos_otel.monitor.evaluate.alerts import Silence
        s = Silence("x", (("service_name", {EVIL!r}, True),), 0, 10, "t", "")
        assert not s.matches({{"service_name": {EVIL_INPUT!r}}})
        assert s.matches({{"service_name": "aaaa"}})
        """
    )


def test_policy_regexes_run_in_linear_time() -> None:
    _runs_quickly(
        f"""
        from aibos_otel.policy.logql import parse_rule
        from aibos_otel.policy.model import parse_policy
        expr = parse_rule('count_over_time({{level="fatal", service_name=~"{EVIL}"}} |~ "{EVIL}$" [1m])')
        sel = expr.range_agg.selector
        assert not sel.matchers[1].matches({{"service_name": {EVIL_INPUT!r}}})
        assert not sel.filters[0].matches({EVIL_INPUT!r})
        policy = parse_policy('''
        channels: {{c: {{type: console}}}}
        alerting:
          routes:
            - match_re: {{service_name: "{EVIL}"}}
              channels: [c]
        ''')
        assert not policy.alerting.routes[0].matches({{"service_name": {EVIL_INPUT!r}}})
        """
    )


def test_silence_with_a_pattern_re2_refuses_is_a_400(monitor: Monitor) -> None:
    status, body = http_json(
        f"http://127.0.0.1:{monitor.api_port}/api/silences",
        "POST",
        {"matchers": [{"name": "service_name", "value": r"(a)\1", "isRegex": True}]},
    )
    assert status == 400, body
    assert "silence matcher 'service_name'" in body["error"] and "RE2" in body["error"]
    assert http_json(f"http://127.0.0.1:{monitor.api_port}/api/silences")[1]["silences"] == []


@pytest.mark.parametrize(
    ("yaml_text", "path", "needle"),
    [
        (
            'rules:\n  - name: backref\n    expr: count_over_time({level="error"} |~ "(a)\\\\1" [1m]) > 0\n',
            "rules[0].expr",
            "rule 'backref': invalid regular expression",
        ),
        (
            "rules:\n  - name: look\n"
            '    expr: count_over_time({level="error", service_name=~"(?=a)a"}[1m]) > 0\n',
            "rules[0].expr",
            "rule 'look': invalid regular expression",
        ),
        (
            "channels: {c: {type: console}}\nalerting:\n  routes:\n"
            '    - match_re: {service_name: "(a)\\\\1"}\n      channels: [c]\n',
            "alerting.routes[0].match_re.service_name",
            "RE2",
        ),
    ],
)
def test_policy_pattern_re2_refuses_is_a_validation_error(yaml_text: str, path: str, needle: str) -> None:
    with pytest.raises(PolicyError) as err:
        parse_policy(yaml_text, "p.yaml", env={})
    issues = [i for i in err.value.issues if i.path == path]
    assert issues, err.value.issues
    assert needle in issues[0].message and "RE2" in issues[0].message, issues[0].message
