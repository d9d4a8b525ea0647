"""The rendered config in the real Alertmanager (Debian's prometheus-alertmanager): alerts shaped
like the ones Loki's ruler sends for the rendered rules reach the receivers the policy names."""

from __future__ import annotations

import json
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from aibos_otel.policy.model import parse_policy
from aibos_otel.policy.render import alertmanager_config, loki_rules
from aibos_otel.policy.templates import render
from tests.monitor.fakes import Received, Recorder, SmtpSink

from .policies import rich


def ruler_alert(rule: dict[str, Any], series: dict[str, str], value: float) -> dict[str, Any]:
    """What Loki's ruler posts for a rendered rule firing on one series: alertname, the rule's
    labels and the series labels; annotations rendered from the templates."""
    labels = {**series, **rule.get("labels", {}), "alertname": rule["alert"]}
    annotations = {k: render(v, labels, value) for k, v in rule.get("annotations", {}).items()}
    now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    return {"labels": labels, "annotations": annotations, "startsAt": now, "generatorURL": "http://loki/"}


def post_alerts(url: str, alerts: list[dict[str, Any]]) -> None:
    req = urllib.request.Request(
        f"{url}/api/v2/alerts",
        data=json.dumps(alerts).encode(),
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=10) as resp:
        assert resp.status == 200


def header(request: Received, name: str) -> str | None:
    return next((v for k, v in request.headers.items() if k.lower() == name.lower()), None)


@pytest.mark.e2e
def test_alerts_reach_the_receivers_the_policy_names(
    tmp_path: Path,
    start_alertmanager: Any,
    recorder: Recorder,
    smtp: SmtpSink,
    tls_cert: tuple[Path, Path],
) -> None:
    policy = parse_policy(rich(recorder.url, smtp.port, str(tls_cert[0])), env={})
    config = tmp_path / "alertmanager.yml"
    config.write_text(alertmanager_config(policy).text())
    rules = {r["alert"]: r for r in yaml.safe_load(loki_rules(policy).text())["groups"][0]["rules"]}
    url = start_alertmanager(config)

    post_alerts(
        url,
        [
            ruler_alert(rules["error-spike"], {"service_name": "api"}, 0.5),  # own channels: chat
            ruler_alert(rules["fatal-errors"], {"service_name": "pay7"}, 2),  # routes: pager, chat; mail
            ruler_alert(rules["slow-checkout"], {"service_name": "checkout"}, 4),  # no route: default hook
            ruler_alert(rules["escalating"], {}, 2e6),  # the 0s step only: hook, not pager
            ruler_alert(rules["console-only"], {}, 5000),  # null receiver: nothing
        ],
    )

    slack = recorder.wait_for(lambda r: r.path.startswith("/slack/"), count=2)
    hooks = recorder.wait_for(lambda r: r.path == "/hook", count=2)
    pages = recorder.wait_for(lambda r: r.path == "/pd/v2/enqueue")
    mail = smtp.wait_for(lambda m: "fatal-errors" in str(m.message["Subject"]))
    time.sleep(1)  # anything misrouted would have arrived by now (Alertmanager sends in ~20 ms)

    titles = sorted(r.body["attachments"][0]["title"] for r in slack)
    assert len(slack) == 2 and titles[0].startswith("[FIRING:1] error-spike")
    assert titles[1].startswith("[FIRING:1] fatal-errors")
    texts = {r.body["attachments"][0]["text"] for r in slack}
    assert "api: 0.5 errors/s\n" in texts  # the annotation the ruler rendered, via the Slack text

    assert len(hooks) == 2
    assert {r.body["commonLabels"]["alertname"] for r in hooks} == {"slow-checkout", "escalating"}
    assert all(r.body["receiver"] == "hook" for r in hooks)
    assert all(header(r, "Authorization") == "Bearer s3cret" for r in hooks)

    assert len(pages) == 1
    event = pages[0].body
    assert event["routing_key"] == "0123456789abcdef0123456789abcdef"
    assert event["event_action"] == "trigger" and event["payload"]["severity"] == "critical"
    assert "fatal-errors" in event["payload"]["summary"]

    assert sorted(mail.rcpt) == ["dev@example.test", "ops@example.test"] and mail.tls
    assert len(smtp.mails) == 1
    assert not any("console-only" in json.dumps(r.body) for r in recorder.requests)
