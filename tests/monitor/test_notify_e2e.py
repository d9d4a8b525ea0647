"""Real OTLP in, vendor-format notifications out: the default policy's seed rules to fake Slack
and PagerDuty and a real SMTP server with STARTTLS; resolves, retries and the webhook and
Alertmanager formats with a short-window policy."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from aibos_otel.monitor.server import Monitor
from aibos_otel.policy.model import load_policy, parse_policy

from .conftest import http_json
from .fakes import Recorder, SmtpSink
from .otlp_builders import logs_request, record
from .test_receiver import grpc_export

ROUTING_KEY = "0123456789abcdef0123456789abcdef"


def test_seed_rules_from_default_policy_notify_slack_pagerduty_email(
    monitor_factory: Any, recorder: Recorder, smtp: SmtpSink, tls_cert: tuple[Path, Path]
) -> None:
    env = {
        "AIBOS_SLACK_WEBHOOK_URL": f"{recorder.url}/slack/T000/B000/XXXX",
        "AIBOS_PAGERDUTY_ROUTING_KEY": ROUTING_KEY,
        "AIBOS_PAGERDUTY_URL": f"{recorder.url}/pd/v2/enqueue",
        "AIBOS_SMTP_HOST": "127.0.0.1",
        "AIBOS_SMTP_PORT": str(smtp.port),
        "AIBOS_SMTP_CA_FILE": str(tls_cert[0]),
        "AIBOS_ALERT_EMAIL_TO": "ops@example.test",
    }
    policy = load_policy(None, env=env)
    assert {c.name for c in policy.channels.values() if c.enabled} == {
        "console",
        "slack",
        "email",
        "pagerduty",
    }
    monitor: Monitor = monitor_factory(policy=policy)
    assert monitor.grpc_port
    sent_at = time.time()
    grpc_export(
        monitor.grpc_port,
        logs_request([record("out of memory", "fatal")], service="billing").SerializeToString(),
    )

    slack = recorder.wait_for(lambda r: r.path.startswith("/slack") and "fatal-errors" in r.body["text"])[0]
    assert slack.at - sent_at < 5
    assert slack.body["attachments"][0]["color"] == "danger"
    assert "billing: 1 fatal log(s)" in slack.body["text"]
    assert slack.body["blocks"][0]["type"] == "section"
    pd = recorder.wait_for(lambda r: r.path == "/pd/v2/enqueue")[0].body
    assert pd["routing_key"] == ROUTING_KEY and pd["event_action"] == "trigger"
    assert len(pd["dedup_key"]) == 32 and pd["payload"]["severity"] == "critical"
    assert pd["payload"]["source"] == "billing" and pd["payload"]["class"] == "fatal-errors"
    assert pd["payload"]["summary"].startswith("billing: 1 fatal log(s)")

    # error-spike: more than 0.1 error records/s over 5 m, i.e. > 30 in the window
    grpc_export(
        monitor.grpc_port,
        logs_request([record(f"db down {i}", "error") for i in range(29)], service="api").SerializeToString(),
    )
    grpc_export(
        monitor.grpc_port, logs_request([record("db down", "error")], service="api").SerializeToString()
    )
    time.sleep(0.5)
    assert not [r for r in recorder.requests if "error-spike" in str(r.body)]  # 30 records = 0.1/s: not above
    grpc_export(
        monitor.grpc_port, logs_request([record("db down", "error")], service="api").SerializeToString()
    )
    spike = recorder.wait_for(lambda r: r.path.startswith("/slack") and "error-spike" in r.body["text"])[0]
    assert "api: error logs at 0.103333/s" in spike.body["text"]
    mail = smtp.wait_for(lambda m: m.message["Subject"] == "[FIRING:1] error-spike")
    assert mail.tls and mail.rcpt == ["ops@example.test"]  # delivered after STARTTLS
    assert "service_name: api" in str(mail.message.get_payload())
    # the seed routes fatal-errors to Slack and PagerDuty, not email
    assert not [m for m in smtp.mails if "fatal-errors" in str(m.message["Subject"])]
    assert not [r for r in recorder.requests if r.path.startswith("/pd") and "error-spike" in str(r.body)]
    # the first occurrence of each error is also a new error group, on the default channels
    recorder.wait_for(lambda r: r.path.startswith("/slack") and "new-error-group" in r.body["text"])
    alerts = http_json(f"http://127.0.0.1:{monitor.api_port}/api/alerts")[1]["alerts"]
    assert {a["rule"] for a in alerts} >= {"fatal-errors", "error-spike", "new-error-group"}
    rules = {r["name"]: r for r in http_json(f"http://127.0.0.1:{monitor.api_port}/api/rules")[1]["rules"]}
    assert rules["fatal-errors"]["state"] == "firing" and rules["error-spike"]["state"] == "firing"


SHORT = """
channels:
  hook: {{type: webhook, url: "{url}/hook", headers: {{X-Token: abc}}}}
  am: {{type: alertmanager, url: "{url}"}}
  pd: {{type: pagerduty, routing_key: "{key}", url: "{url}/pd/v2/enqueue"}}
alerting:
  default_channels: [hook]
  error_groups: {{on_new: false}}
rules:
  - name: fatal-burst
    expr: sum by (service_name) (count_over_time({{level="fatal"}} |= "panic" [2s])) > 0
    labels: {{severity: critical}}
    annotations: {{summary: "{{{{ $labels.service_name }}}} panicked"}}
    channels: [hook, am, pd]
"""


def test_resolve_retry_webhook_and_alertmanager_formats(monitor_factory: Any, recorder: Recorder) -> None:
    policy = parse_policy(SHORT.format(url=recorder.url, key=ROUTING_KEY), env={})
    recorder.fail_next["/hook"] = 2  # the webhook is down for two attempts
    monitor: Monitor = monitor_factory(policy=policy, tick_seconds=0.2)
    assert monitor.grpc_port
    grpc_export(
        monitor.grpc_port,
        logs_request(
            [record("kernel panic", "fatal"), record("not matching", "fatal")], service="edge"
        ).SerializeToString(),
    )
    firing = recorder.wait_for(lambda r: r.path == "/hook" and r.body["status"] == "firing", timeout=15)[0]
    body = firing.body
    assert firing.headers["X-Token"] == "abc"
    assert body["version"] == "4" and body["receiver"] == "hook"
    (alert,) = body["alerts"]
    assert alert["labels"] == {"alertname": "fatal-burst", "service_name": "edge", "severity": "critical"}
    assert alert["annotations"] == {"summary": "edge panicked"} and alert["endsAt"] == "0001-01-01T00:00:00Z"
    am = recorder.wait_for(lambda r: r.path == "/api/v2/alerts")[0].body
    assert am[0]["labels"]["alertname"] == "fatal-burst" and "endsAt" not in am[0]
    # resolves once the 2 s window is empty
    resolved = recorder.wait_for(lambda r: r.path == "/hook" and r.body["status"] == "resolved", timeout=15)[
        0
    ]
    assert resolved.body["alerts"][0]["endsAt"] != "0001-01-01T00:00:00Z"
    am_resolved = recorder.wait_for(lambda r: r.path == "/api/v2/alerts" and "endsAt" in r.body[0])[0].body
    assert am_resolved[0]["labels"]["alertname"] == "fatal-burst"
    pd = [r.body for r in recorder.wait_for(lambda r: r.path.startswith("/pd"), count=2)]
    assert [e["event_action"] for e in pd] == ["trigger", "resolve"]
    assert pd[0]["dedup_key"] == pd[1]["dedup_key"]
    history = http_json(f"http://127.0.0.1:{monitor.api_port}/api/alerts?state=all")[1]["alerts"]
    assert [a["state"] for a in history] == ["resolved"]
    from prometheus_client.exposition import generate_latest

    # The fake server records a request before the monitor has read the response and counted
    # the outcome: poll for the count instead of reading it once.
    expected = (
        'aibos_monitor_notifications_total{channel="hook",outcome="retry"} 2.0',
        'aibos_monitor_notifications_total{channel="hook",outcome="sent"} 2.0',
    )
    deadline = time.monotonic() + 10
    text = generate_latest(monitor.metrics_registry).decode()
    while not all(line in text for line in expected) and time.monotonic() < deadline:
        time.sleep(0.05)
        text = generate_latest(monitor.metrics_registry).decode()
    assert all(line in text for line in expected), [
        line for line in text.splitlines() if "notifications" in line
    ]


def test_silence_api(monitor_factory: Any, recorder: Recorder) -> None:
    policy = parse_policy(SHORT.format(url=recorder.url, key=ROUTING_KEY), env={})
    monitor: Monitor = monitor_factory(policy=policy, tick_seconds=0.2)
    base = f"http://127.0.0.1:{monitor.api_port}"
    status, silence = http_json(
        f"{base}/api/silences",
        "POST",
        {
            "matchers": [{"name": "service_name", "value": "ed.*", "isRegex": True}],
            "duration": "1h",
            "comment": "maintenance",
        },
    )
    assert status == 200 and silence["status"] == "active"
    assert http_json(f"{base}/api/silences", "POST", {"matchers": "nope"})[0] == 400
    assert monitor.grpc_port
    grpc_export(
        monitor.grpc_port, logs_request([record("panic", "fatal")], service="edge").SerializeToString()
    )
    time.sleep(1)
    assert recorder.requests == []
    (alert,) = http_json(f"{base}/api/alerts")[1]["alerts"]
    assert alert["state"] == "firing" and alert["silenced"]
    assert http_json(f"{base}/api/silences/{silence['id']}", "DELETE")[0] == 200
    assert http_json(f"{base}/api/silences")[1]["silences"][0]["status"] == "expired"
