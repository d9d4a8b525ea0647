"""``render alertmanager``: receivers from channels, a route tree from rules, routes and default
channels; checked by the real ``amtool`` (config and routing decisions)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from aibos_otel.policy.model import Policy, load_policy, parse_policy
from aibos_otel.policy.render import NULL_RECEIVER, PAGERDUTY_SEVERITY, alertmanager_config

from .policies import rich


def rich_policy() -> Policy:
    return parse_policy(rich(), env={})


def rendered(policy: Policy) -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(alertmanager_config(policy).text())
    return document


def receivers(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["name"]: r for r in document["receivers"]}


def test_receivers_map_each_channel_type() -> None:
    by_name = receivers(rendered(rich_policy()))
    assert by_name["chat"]["slack_configs"] == [
        {
            "api_url": "http://127.0.0.1:9/slack/T000/B000/XXXX",
            "send_resolved": False,
            "text": by_name["chat"]["slack_configs"][0]["text"],
        }
    ]
    assert "{{ .Annotations.summary }}" in by_name["chat"]["slack_configs"][0]["text"]
    [pager] = by_name["pager"]["pagerduty_configs"]
    assert pager["routing_key"] == "0123456789abcdef0123456789abcdef"
    assert pager["url"] == "http://127.0.0.1:9/pd/v2/enqueue"
    assert pager["severity"] == PAGERDUTY_SEVERITY and pager["send_resolved"] is True
    [pd_default] = by_name["pd-default"]["pagerduty_configs"]
    assert "url" not in pd_default  # Alertmanager's own default is PagerDuty's Events API v2
    [hook] = by_name["hook"]["webhook_configs"]
    assert hook["url"] == "http://127.0.0.1:9/hook"
    assert hook["http_config"] == {"authorization": {"type": "Bearer", "credentials": "s3cret"}}
    [mail] = by_name["mail"]["email_configs"]
    assert mail == {
        "to": "ops@example.test, dev@example.test",
        "from": "aibos@example.test",
        "smarthost": "127.0.0.1:2525",
        "require_tls": True,
        "send_resolved": True,
    }
    [relay] = by_name["relay"]["email_configs"]
    assert relay["smarthost"] == "smtp.example.test:587" and relay["require_tls"] is False
    assert (relay["auth_username"], relay["auth_password"]) == ("alerts", "hunter2")
    # no receiver for console, the alertmanager hand-over, or a disabled channel
    assert not {"console", "am", "muted"} & set(by_name)


def test_skipped_channels_and_headers_are_noted() -> None:
    result = alertmanager_config(rich_policy())
    notes = "\n".join(result.notes)
    assert "'console' (console)" in notes and "'am' (alertmanager)" in notes
    assert "'muted' (slack): disabled (url empty)" in notes
    assert "header 'X-Team' not rendered" in notes
    assert "escalation step after 15m to pager has no Alertmanager equivalent" in notes
    header = result.text().split("\nroute:")[0]
    assert all(line.startswith("#") for line in header.splitlines())
    assert "X-Team" in header and "mode 0600" in header


def test_route_tree_follows_rule_channels_then_routes_then_defaults() -> None:
    route = rendered(rich_policy())["route"]
    assert route["receiver"] == "hook"  # default_channels [console, hook]: console has no receiver
    assert route["group_by"] == ["alertname"]
    assert (route["group_wait"], route["repeat_interval"]) == ("0s", "1h30m")
    assert route["routes"] == [
        {"receiver": "chat", "matchers": ['alertname="error-spike"']},  # its own channels
        {"receiver": "hook", "matchers": ['alertname="escalating"']},  # the 0s escalation step
        {"receiver": NULL_RECEIVER, "matchers": ['alertname="console-only"']},
        # fatal-errors (immediate, no channels) and muted-only (only disabled channels) are routed
        {"receiver": "pager+chat", "matchers": ['severity="critical"'], "continue": True},
        {"receiver": "mail", "matchers": ['service_name=~"pay\\\\d*|\\"quoted\\""']},
    ]
    by_name = receivers(rendered(rich_policy()))
    assert set(by_name["pager+chat"]) == {"name", "pagerduty_configs", "slack_configs"}
    assert by_name[NULL_RECEIVER] == {"name": NULL_RECEIVER}


def quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def amtool_routes(amtool: str, config: Path, labels: dict[str, str]) -> list[str]:
    out = subprocess.run(
        # amtool reads each label as a matcher: quote the value (escaping \ and ")
        [
            amtool,
            "config",
            "routes",
            "test",
            f"--config.file={config}",
            *(f"{k}={quote(v)}" for k, v in labels.items()),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip().split(",")


def check_config(amtool: str, config: Path) -> str:
    result = subprocess.run(
        [amtool, "check-config", str(config)], check=False, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout
    return result.stdout


def test_amtool_accepts_it_and_routes_as_the_monitor_would(amtool: str, tmp_path: Path) -> None:
    policy = rich_policy()
    config = tmp_path / "alertmanager.yml"
    config.write_text(alertmanager_config(policy).text())
    out = check_config(amtool, config)
    assert f"{len(rendered(policy)['receivers'])} receivers" in out
    cases = [
        ({"alertname": "error-spike", "severity": "warning", "service_name": "pay"}, ["chat"]),
        ({"alertname": "escalating", "severity": "critical"}, ["hook"]),
        ({"alertname": "console-only", "severity": "critical"}, [NULL_RECEIVER]),
        ({"alertname": "fatal-errors", "severity": "critical", "service_name": "api"}, ["pager+chat"]),
        (
            {"alertname": "fatal-errors", "severity": "critical", "service_name": "pay42"},
            ["pager+chat", "mail"],
        ),
        ({"alertname": "muted-only", "service_name": '"quoted"'}, ["mail"]),  # the escaped regex
        ({"alertname": "muted-only", "service_name": "quoted"}, ["hook"]),
        ({"alertname": "slow-checkout", "severity": "warning", "service_name": "payx"}, ["hook"]),
        ({"alertname": "slow-checkout", "severity": "warning", "service_name": "checkout"}, ["hook"]),
    ]
    for labels, expected in cases:
        assert amtool_routes(amtool, config, labels) == expected, labels


@pytest.mark.parametrize("with_env", [False, True])
def test_default_policy_passes_amtool(amtool: str, tmp_path: Path, with_env: bool) -> None:
    env = dict(os.environ)
    for name in list(env):
        if name.startswith("AIBOS_"):
            del env[name]
    if with_env:
        env.update(
            AIBOS_SLACK_WEBHOOK_URL="https://hooks.slack.com/services/T0/B0/XYZ",
            AIBOS_PAGERDUTY_ROUTING_KEY="0123456789abcdef0123456789abcdef",
            AIBOS_SMTP_HOST="smtp.example.test",
            AIBOS_SMTP_USERNAME="alerts",
            AIBOS_SMTP_PASSWORD="pw",
            AIBOS_ALERT_EMAIL_TO="ops@example.test",
        )
    policy = load_policy(None, env=env)
    config = tmp_path / "alertmanager.yml"
    config.write_text(alertmanager_config(policy).text())
    check_config(amtool, config)
    fatal = amtool_routes(amtool, config, {"alertname": "fatal-errors", "severity": "critical"})
    spike = amtool_routes(amtool, config, {"alertname": "error-spike", "severity": "warning"})
    if with_env:
        assert (fatal, spike) == (["slack+pagerduty"], ["slack+email"])
    else:  # every channel but console is disabled: nothing to deliver to, said in the notes
        assert (fatal, spike) == ([NULL_RECEIVER], [NULL_RECEIVER])
