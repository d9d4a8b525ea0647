"""Alert lifecycle with a controlled clock: pending/firing/resolved, dedup, repeat, escalation,
silences, error-group and record alerts, and state that survives a restart."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from aibos_otel.monitor.evaluate.alerts import AlertManager
from aibos_otel.monitor.evaluate.rules import RuleEngine
from aibos_otel.monitor.metrics import DerivedMetrics
from aibos_otel.monitor.notify.outbox import Outbox
from aibos_otel.monitor.receive.ingest import LogAlert
from aibos_otel.monitor.store import GroupChange, Store
from aibos_otel.policy.model import parse_policy

S = 10**9

POLICY = """
channels:
  chat: {type: webhook, url: "http://127.0.0.1:9/chat"}
  pager: {type: webhook, url: "http://127.0.0.1:9/pager"}
  mail: {type: webhook, url: "http://127.0.0.1:9/mail", send_resolved: false}
alerting:
  repeat_interval: 1h
  resolve_after: 1m
  default_channels: [chat]
  routes:
    - match: {severity: critical}
      channels: [pager]
      continue: true
    - match_re: {service_name: "pay.*"}
      channels: [mail]
rules:
  - name: slow-burn
    expr: sum by (service_name) (count_over_time({level="error"}[10s])) > 2
    for: 5s
    labels: {severity: warning}
    annotations: {summary: "{{ $labels.service_name }} has {{ $value }} errors"}
    channels: [chat]
  - name: fatal
    expr: sum by (service_name) (count_over_time({level="fatal"}[10s])) > 0
    labels: {severity: critical}
    escalation:
      - {after: 0s, channels: [chat]}
      - {after: 30s, channels: [pager]}
  - name: routed
    expr: count_over_time({level="warn"}[10s]) > 0
    labels: {severity: critical}
"""


class Clock:
    def __init__(self) -> None:
        self.now = 1_000 * S

    def __call__(self) -> int:
        return self.now


class Harness:
    def __init__(self, path: Path, clock: Clock) -> None:
        self.clock = clock
        self.store = Store(path)
        self.policy = parse_policy(POLICY, env={})
        self.alerts = AlertManager(self.policy, self.store, Outbox(self.store), DerivedMetrics(), clock)
        self.engine = RuleEngine(self.policy.rules, self.alerts.on_samples)

    def log(self, level: str, service: str = "api", n: int = 1) -> None:
        for feed in self.engine.feeds_for({"level": level, "service_name": service}):
            for _ in range(n):
                feed.offer("x", self.clock.now)
        self.engine.after_batch(self.clock.now)

    def tick(self, advance_s: float = 0) -> None:
        self.clock.now += int(advance_s * S)
        self.engine.evaluate_all(self.clock.now)
        self.alerts.tick(self.clock.now)

    def sent(self) -> list[tuple[str, str, str]]:
        rows = self.store.query("SELECT channel, kind, payload FROM outbox ORDER BY id")
        return [(r["channel"], r["kind"], json.loads(r["payload"])["rule"]) for r in rows]

    def states(self) -> dict[str, str]:
        return {a.rule: a.state for a in self.alerts.snapshot()}


@pytest.fixture
def h(tmp_path: Path) -> Any:
    harness = Harness(tmp_path / "db.sqlite3", Clock())
    yield harness
    harness.store.close()


def test_pending_then_firing_then_resolved(h: Harness) -> None:
    h.log("error", n=3)
    assert h.states() == {"slow-burn": "pending"}
    h.tick(2)
    assert h.states() == {"slow-burn": "pending"} and h.sent() == []
    h.log("error", n=5)  # more samples: still one alert (dedup)
    h.tick(3.5)
    assert h.states() == {"slow-burn": "firing"}
    assert h.sent() == [("chat", "firing", "slow-burn")]
    (alert,) = h.alerts.snapshot()
    assert alert.annotations["summary"] == "api has 8 errors" and alert.labels["severity"] == "warning"
    h.log("error", n=2)  # the value moves while the state stays: the annotation follows it
    (alert,) = h.alerts.snapshot()
    assert alert.annotations["summary"] == "api has 10 errors"
    assert alert.public()["annotations"]["summary"] == "api has 10 errors"
    h.tick(11)  # the window emptied
    assert h.states() == {}
    assert h.sent()[-1] == ("chat", "resolved", "slow-burn")
    history = h.store.query("SELECT state FROM alerts")
    assert [r["state"] for r in history] == ["resolved"]


def test_pending_that_clears_never_notifies(h: Harness) -> None:
    h.log("error", n=3)
    h.tick(11)
    assert h.states() == {} and h.sent() == []
    assert h.store.query("SELECT COUNT(*) FROM alerts")[0][0] == 0


def test_escalation_steps_and_repeat(h: Harness) -> None:
    h.log("fatal")
    assert h.states() == {"fatal": "firing"}
    assert h.sent() == [("chat", "firing", "fatal")]
    for _ in range(5):  # still firing for 29 s: no page yet, no repeat
        h.log("fatal")
        h.tick(5.8)
    assert h.sent() == [("chat", "firing", "fatal")]
    h.log("fatal")
    h.tick(1.5)
    assert h.sent() == [("chat", "firing", "fatal"), ("pager", "firing", "fatal")]
    # repeat after repeat_interval (1h), only while firing
    h.clock.now += 3600 * S
    h.log("fatal")
    h.tick(0)
    assert h.sent()[-2:] == [("chat", "firing", "fatal"), ("pager", "firing", "fatal")]


def test_routes_and_separate_groups(h: Harness) -> None:
    h.log("warn", service="payments")
    h.log("warn", service="api")
    sent = h.sent()
    # critical -> pager (continue) and payments matches the regex route -> mail
    assert sorted(c for c, _, r in sent if r == "routed") == ["mail", "pager", "pager"]
    assert len(h.alerts.snapshot()) == 2


def test_silence_mutes_then_releases(h: Harness) -> None:
    silence = h.alerts.add_silence({"matchers": {"alertname": "fatal"}, "duration": "20s"}, h.clock.now)
    h.log("fatal")
    assert h.states() == {"fatal": "firing"} and h.sent() == []
    assert h.alerts.snapshot()[0].silenced
    h.log("fatal")
    h.tick(21)  # silence over, still firing: the due channel is told now
    h.log("fatal")
    h.tick(0)
    assert ("chat", "firing", "fatal") in h.sent()
    assert h.alerts.expire_silence(silence.id, h.clock.now)
    with pytest.raises(ValueError):
        h.alerts.add_silence({"matchers": []}, h.clock.now)


def test_error_group_and_record_alerts(h: Harness) -> None:
    h.alerts.error_group_changes(
        [GroupChange("f" * 32, "new", "ValueError", "bad", "api", "prod")], h.clock.now
    )
    h.alerts.error_group_changes(
        [GroupChange("f" * 32, "new", "ValueError", "bad", "api", "prod")], h.clock.now
    )  # dedup
    labels = {"service_name": "api", "level": "error"}
    h.alerts.log_alerts(
        [
            LogAlert(
                labels,
                {"severity": "critical", "channels": ["mail", "pager"], "escalation": "immediate"},
                "card declined",
                h.clock.now,
            )
        ],
        h.clock.now,
    )
    sent = h.sent()
    assert sent.count(("chat", "firing", "new-error-group")) == 1
    assert sorted(c for c, _, r in sent if r == "log-alert") == ["mail", "pager"]
    h.tick(61)  # quiet for resolve_after
    assert h.states() == {}
    resolved = [(c, r) for c, k, r in h.sent() if k == "resolved"]
    # mail has send_resolved: false
    assert sorted(resolved) == [("chat", "new-error-group"), ("pager", "log-alert")]


def test_record_alert_escalation_after_a_duration(h: Harness) -> None:
    labels = {"service_name": "api", "level": "fatal"}
    h.alerts.log_alerts(
        [LogAlert(labels, {"channels": ["chat", "pager"], "escalation": "5m"}, "boom", h.clock.now)],
        h.clock.now,
    )
    assert [c for c, _, r in h.sent() if r == "log-alert"] == ["chat"]
    (alert,) = [a for a in h.alerts.snapshot() if a.rule == "log-alert"]
    assert alert.labels["severity"] == "critical"  # fatal record without alert.severity
    h.clock.now += 299 * S
    h.alerts.log_alerts(
        [LogAlert(labels, {"channels": ["chat", "pager"], "escalation": "5m"}, "boom", h.clock.now)],
        h.clock.now,
    )
    h.tick(0)
    assert [c for c, _, r in h.sent() if r == "log-alert"] == ["chat"]
    h.tick(1.5)
    assert [c for c, _, r in h.sent() if r == "log-alert"] == ["chat", "pager"]


def test_state_survives_restart_without_duplicate_page(tmp_path: Path) -> None:
    clock = Clock()
    first = Harness(tmp_path / "db.sqlite3", clock)
    for _ in range(7):  # firing for 35 s: chat at once, pager after 30 s
        first.log("fatal")
        first.tick(5)
    before = first.sent()
    assert before == [("chat", "firing", "fatal"), ("pager", "firing", "fatal")]
    first.store.close()
    clock.now += 2 * S
    second = Harness(tmp_path / "db.sqlite3", clock)  # a new process: windows are empty
    assert second.states() == {"fatal": "firing"}
    second.tick(1)  # the empty window must not resolve during warm-up
    assert second.states() == {"fatal": "firing"}
    second.log("fatal")
    second.tick(1)
    assert second.sent() == before  # no duplicate page
    second.tick(11)  # warm and quiet: resolves now
    assert second.states() == {}
    assert [k for _, k, _ in second.sent()[2:]] == ["resolved", "resolved"]
    second.store.close()


def test_alerts_of_a_removed_rule_resolve_at_start(tmp_path: Path) -> None:
    clock = Clock()
    first = Harness(tmp_path / "db.sqlite3", clock)
    first.log("fatal")
    assert first.states() == {"fatal": "firing"}
    first.store.close()
    store = Store(tmp_path / "db.sqlite3")
    policy = parse_policy(POLICY.replace("name: fatal\n", "name: fatal-renamed\n"), env={})
    alerts = AlertManager(policy, store, Outbox(store), DerivedMetrics(), clock)
    assert alerts.snapshot() == []
    kinds = [r["kind"] for r in store.query("SELECT kind FROM outbox ORDER BY id")]
    assert kinds == ["firing", "resolved"]
    # the resolved episode goes; the notifications stay while they are pending delivery
    assert store.prune(clock.now + 10 * S, 5 * S) == 1
    store.query("UPDATE outbox SET status='sent'")
    assert store.prune(clock.now + 10 * S, 5 * S) == 2
    store.close()


def test_record_alert_for_missing_channels_falls_back_to_routes(h: Harness) -> None:
    labels = {"service_name": "api", "level": "error"}
    h.alerts.log_alerts(
        [LogAlert(labels, {"severity": "warning", "channels": ["slack", "nope"]}, "x", h.clock.now)],
        h.clock.now,
    )
    assert [c for c, _, r in h.sent() if r == "log-alert"] == ["chat"]  # default_channels
    h.alerts.log_alerts(
        [LogAlert(labels, {"severity": "critical", "channels": ["nope", "mail"]}, "y", h.clock.now)],
        h.clock.now,
    )
    assert [c for c, _, r in h.sent() if r == "log-alert"][1:] == ["mail"]  # the usable one only


def test_error_groups_follow_retention(tmp_path: Path) -> None:
    from aibos_otel.monitor.store import ErrorEvent

    store = Store(tmp_path / "db.sqlite3")
    store.record_errors(
        [
            ErrorEvent("old", "E", "m", "", "svc", "", "", 1 * S),
            ErrorEvent("new", "E", "m", "", "svc", "", "", 100 * S),
        ]
    )
    assert store.prune(101 * S, 10**18, 50 * S) == 1
    assert [g["fingerprint"] for g in store.error_groups()] == ["new"]
    assert store.prune(101 * S, 10**18, 0) == 0  # 0 keeps forever
    store.close()


def test_record_alerts_dedupe_on_the_message_shape_and_are_capped(h: Harness) -> None:
    labels = {"service_name": "api", "level": "error"}
    for i in range(5):
        h.alerts.log_alerts(
            [LogAlert(labels, {"channels": ["chat"]}, f"card {i} declined", h.clock.now)], h.clock.now
        )
    (alert,) = [a for a in h.alerts.snapshot() if a.rule == "log-alert"]
    assert alert.value == 5 and [c for c, _, r in h.sent() if r == "log-alert"] == ["chat"]
    h.alerts.max_active = 3  # limits.active_alerts; past it, AlertCapReached counts the rest
    for word in ["alpha", "beta", "gamma", "delta"]:
        h.alerts.log_alerts(
            [LogAlert(labels, {"channels": ["chat"]}, f"{word} failed", h.clock.now)], h.clock.now
        )
    assert len([a for a in h.alerts.snapshot() if a.rule == "log-alert"]) == 3
    (cap,) = [a for a in h.alerts.snapshot() if a.rule == "AlertCapReached"]
    assert cap.value == 2


def test_alert_texts_are_redacted_before_they_leave_the_monitor(h: Harness) -> None:
    secret = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"
    labels = {"service_name": "api", "level": "error"}
    h.alerts.log_alerts(
        [
            LogAlert(
                labels,
                {"severity": "critical", "channels": ["pager"]},
                f"token {secret} rejected",
                h.clock.now,
            )
        ],
        h.clock.now,
    )
    payloads = [r["payload"] for r in h.store.query("SELECT payload FROM outbox")]
    assert payloads
    assert all(secret not in p for p in payloads)
    assert any("[REDACTED:" in p for p in payloads)
