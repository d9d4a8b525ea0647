"""The rendered Loki rules speak the one table of levels, as the gateway and the monitor do.

A rule on ``{level="<L>"}`` for each level of :data:`aibos_otel.levels.ALL_LEVELS` is rendered for
Loki's ruler; for every severity number 0..24 with and without a text, exactly the rule of the level
the table gives selects the record's stream (``tests/collector/test_levels_agree.py`` shows the real
gateway gives that same level). A rule on a level no record can have is refused, not rendered.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from aibos_otel.levels import ALL_LEVELS, level_for
from aibos_otel.policy.logql import parse_rule
from aibos_otel.policy.model import PolicyError, parse_policy
from aibos_otel.policy.render import loki_rules

REPO = Path(__file__).resolve().parents[2]
TEXTS = ("", "WARNING", "warn", "CRITICAL", " error ", "notice", "verbose")


def _policy_text(rules: dict[str, str]) -> str:
    lines = ["version: 1", "rules:"]
    for name, expr in rules.items():
        lines += [f"  - name: {name}", f"    expr: '{expr}'", "    labels: {severity: warning}"]
    return "\n".join(lines) + "\n"


def test_exactly_the_tables_level_rule_selects_each_severity() -> None:
    policy = parse_policy(
        _policy_text({f"on-{lvl}": f'count_over_time({{level="{lvl}"}}[5m]) > 0' for lvl in ALL_LEVELS})
    )
    rendered = yaml.safe_load(loki_rules(policy).text())["groups"][0]["rules"]
    selectors = {r["alert"]: parse_rule(r["expr"]).range_agg.selector for r in rendered}
    assert set(selectors) == {f"on-{lvl}" for lvl in ALL_LEVELS}
    for number in range(25):
        for text in TEXTS:
            stream = {"service_name": "checkout", "level": level_for(number, text)}
            hits = [name for name, selector in selectors.items() if selector.matches_labels(stream)]
            assert hits == [f"on-{level_for(number, text)}"], (number, text)


@pytest.mark.parametrize("selector", ['{level="warning"}', '{level=~"warning|crit"}', '{level="WARN"}'])
def test_a_rule_on_a_level_no_record_has_is_refused(selector: str) -> None:
    with pytest.raises(PolicyError) as caught:
        parse_policy(_policy_text({"never-fires": f"count_over_time({selector}[5m]) > 0"}))
    assert "matches no level" in str(caught.value) and "warn" in str(caught.value)


def test_a_rule_on_a_real_level_by_regex_is_accepted() -> None:
    policy = parse_policy(_policy_text({"errors": 'count_over_time({level=~"error|fatal"}[5m]) > 0'}))
    assert [r.name for r in policy.rules] == ["errors"]


def test_the_gateways_level_block_is_rendered_from_the_table() -> None:
    script = REPO / "collector-config" / "render_levels.py"
    done = subprocess.run(
        [sys.executable, str(script), "--check"], check=False, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
