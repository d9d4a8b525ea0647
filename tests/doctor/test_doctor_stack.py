"""``aibos-otel doctor`` against real processes: aibos-otelcol (gateway.yaml), the monitor,
Prometheus and Alertmanager (Debian packages), with a Loki stand-in that answers push,
query_range, rules, /config and /metrics in Loki's formats, and a Datadog stand-in.

Green on the good stack; each planted misconfiguration makes the right check fail with its fix.
The stack is started once for the module (two cores: starting it per test would dominate).
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from aibos_otel.doctor import Report, Status, Targets, run_doctor
from aibos_otel.policy.model import load_policy
from aibos_otel.policy.render import alertmanager_config, loki_rules
from tests.collector.conftest import built_binary, gateway_env
from tests.collector.harness import (
    CONFIG_DIR,
    REPO,
    Collector,
    DatadogStandIn,
    Prometheus,
    stop_process,
)
from tests.doctor.loki_api import LokiApiStandIn
from tests.monitor.fakes import Recorder
from tests.support.helpers import free_port, wait_for
from tests.support.processes import aibos_up_argv

LOKI_CONFIG = REPO / "deploy" / "loki" / "loki.yaml"


@dataclass
class Stack:
    targets: Targets
    env: dict[str, str]
    loki: LokiApiStandIn
    policy_path: Path
    webhook: Recorder
    workdir: Path


def _ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def _start(argv: list[str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    work = tmp_path_factory.mktemp("doctor")
    webhook = Recorder()
    env = {"AIBOS_SLACK_WEBHOOK_URL": f"{webhook.url}/slack", "AIBOS_ENVIRONMENT": "production"}
    policy_path = REPO / "aibos_otel" / "policy" / "default.yaml"
    policy = load_policy(policy_path, env=env)
    am_binary = shutil.which("prometheus-alertmanager")
    assert am_binary, "prometheus-alertmanager is not installed (scripts/install-debian-packages.sh)"
    processes: list[subprocess.Popen[bytes]] = []
    loki = LokiApiStandIn(
        yaml.safe_load(LOKI_CONFIG.read_text(encoding="utf-8")),
        {"aibos-otel": loki_rules(policy).document["groups"]},
    )
    datadog = DatadogStandIn()
    with loki, datadog:
        grpc, http, api = free_port(), free_port(), free_port()
        processes.append(_start(aibos_up_argv(grpc, http, api, work / "monitor"), work / "monitor.log"))
        monitor_url = f"http://127.0.0.1:{api}"
        am_port = free_port()
        am_config = work / "alertmanager.yml"
        am_config.write_text(alertmanager_config(policy).text(), encoding="utf-8")
        processes.append(
            _start(
                [
                    am_binary,
                    f"--config.file={am_config}",
                    f"--storage.path={work / 'am'}",
                    f"--web.listen-address=127.0.0.1:{am_port}",
                    "--cluster.listen-address=",
                ],
                work / "am.log",
            )
        )
        gateway = Collector(
            built_binary(), CONFIG_DIR / "gateway.yaml", work, gateway_env(loki, datadog, grpc), "gateway"
        )
        try:
            assert wait_for(lambda: _ok(f"{monitor_url}/readyz"), 60), (work / "monitor.log").read_text()
            assert wait_for(lambda: _ok(f"http://127.0.0.1:{am_port}/-/ready"), 60), (
                work / "am.log"
            ).read_text()
            gateway.start()
            with Prometheus(
                work,
                f"127.0.0.1:{gateway.ports.metrics}",
                f"127.0.0.1:{gateway.ports.telemetry}",
                monitor_target=f"127.0.0.1:{api}",
            ) as prometheus:
                targets = Targets(
                    policy=policy_path,
                    collector=f"http://127.0.0.1:{gateway.ports.http}",
                    collector_health=f"http://127.0.0.1:{gateway.ports.health}/",
                    collector_metrics=f"http://127.0.0.1:{gateway.ports.telemetry}/metrics",
                    loki=loki.base_url,
                    monitor=monitor_url,
                    prometheus=prometheus.url,
                    alertmanager=f"http://127.0.0.1:{am_port}",
                    backup=gateway.backup_path,
                    timeout_s=60,
                )
                _send_audit_event(targets.collector or "")
                # Prometheus must have scraped every series once before "green" can hold.
                assert wait_for(lambda: _scraped(prometheus), 60), _scrape_state(prometheus)
                yield Stack(targets, {**env, **gateway.env}, loki, policy_path, webhook, work)
        finally:
            gateway.stop()
            for proc in processes:
                stop_process(proc)
            webhook.stop()


# One series from each scrape target doctor's performance checks read.
SERIES = (
    "aibos_log_records_total",
    "otelcol_process_uptime",
    "aibos_monitor_log_records_total",
)


def _missing_series(prometheus: Prometheus) -> list[str]:
    return [s for s in SERIES if not prometheus.query(f"count({s})")]


def _scraped(prometheus: Prometheus) -> bool:
    return not _missing_series(prometheus) and all(
        t["health"] == "up" for t in prometheus.api("targets")["activeTargets"]
    )


def _scrape_state(prometheus: Prometheus) -> str:
    targets = [
        (t["scrapeUrl"], t["health"], t["lastError"]) for t in prometheus.api("targets")["activeTargets"]
    ]
    return f"prometheus never scraped everything: targets {targets}, missing {_missing_series(prometheus)}"


def _send_audit_event(collector: str) -> None:
    """One audit event (what aibos_otel.audit() sends) and one record, through the gateway."""
    record = {
        "timeUnixNano": str(1),
        "severityNumber": 9,
        "severityText": "INFO",
        "body": {"stringValue": "retention run"},
        "attributes": [{"key": "event.name", "value": {"stringValue": "aibos.audit"}}],
    }
    record["timeUnixNano"] = str(time.time_ns())
    payload = {
        "resourceLogs": [
            {
                "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "checkout"}}]},
                "scopeLogs": [{"scope": {"name": "aibos.audit"}, "logRecords": [record]}],
            }
        ]
    }
    req = urllib.request.Request(
        f"{collector}/v1/logs",
        data=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=10) as response:
        assert response.status == 200


def _failing(report: Report) -> dict[str, str]:
    return {c.name: c.fix for c in report.checks if c.status is Status.FAIL}


def doctor(stack: Stack, env: Mapping[str, str] | None = None, **changes: Any) -> Report:
    return run_doctor(dataclasses.replace(stack.targets, **changes), env={**stack.env, **(env or {})})


def test_green_on_a_good_stack(stack: Stack) -> None:
    report = doctor(stack)
    assert _failing(report) == {}, [c for c in report.checks if c.status is not Status.PASS]
    names = {c.name for c in report.checks if c.status is Status.PASS}
    for expected in (
        "canary in Loki",
        "canary in file backup",
        "canary at the monitor",
        "redacted in Loki",
        "redacted in file backup",
        "loki ruler rules",
        "alertmanager config",
        "loki retention per level",
        "loki compactor retention",
        "prometheus targets",
        "monitor metrics",
        "collector record counts",
        "monitor api",
        "audit trail",
        "loki deletion",
        "collector health",
    ):
        assert expected in names, expected
    assert report.score() > 8.0


def test_channels_test_fired_say_they_are_a_test(stack: Stack) -> None:
    report = run_doctor(stack.targets, env=stack.env, test_channels=True)
    assert any(c.name == "channel slack" and c.status is Status.PASS for c in report.checks)
    (hit,) = stack.webhook.wait_for(lambda r: r.path == "/slack")
    assert "TEST notification" in str(hit.body)


def test_wrong_loki_url(stack: Stack) -> None:
    failing = _failing(doctor(stack, loki=f"http://127.0.0.1:{free_port()}", timeout_s=3))
    assert "canary in Loki" in failing and "Loki URL" in failing["canary in Loki"]


def test_retention_that_differs_from_the_policy(stack: Stack) -> None:
    original = stack.loki.config
    changed = yaml.safe_load(yaml.safe_dump(original))
    for stream in changed["limits_config"]["retention_stream"]:
        if stream["selector"] == '{level="error"}':
            stream["period"] = "30d"
    stack.loki.config = changed
    try:
        failing = _failing(doctor(stack, collector=None))
    finally:
        stack.loki.config = original
    assert "loki retention per level" in failing and "retention_stream" in failing["loki retention per level"]


def test_a_channel_that_is_down(stack: Stack) -> None:
    dead = {"AIBOS_SLACK_WEBHOOK_URL": f"http://127.0.0.1:{free_port()}/slack"}
    report = run_doctor(
        dataclasses.replace(stack.targets, collector=None), env={**stack.env, **dead}, test_channels=True
    )
    failing = _failing(report)
    assert "channel slack" in failing and "slack" in failing["channel slack"]


def test_rules_not_loaded(stack: Stack) -> None:
    rules, stack.loki.rules = stack.loki.rules, None
    try:
        failing = _failing(doctor(stack, collector=None))
    finally:
        stack.loki.rules = rules
    assert "loki-rules" in failing["loki ruler rules"]


def test_a_redaction_profile_off(stack: Stack) -> None:
    failing = _failing(doctor(stack, env={"AIBOS_REDACTION_PROFILES": "secrets,gdpr"}, collector=None))
    assert "pci" in failing["redaction profiles"]


def test_prometheus_not_scraping(stack: Stack) -> None:
    # A second real Prometheus that scrapes nothing of this stack (its targets point at free ports).
    with Prometheus(stack.workdir / "idle", f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}") as idle:
        failing = _failing(doctor(stack, prometheus=idle.url, collector=None))
    assert "prometheus targets" in failing and "monitor metrics" in failing
    assert "scrape" in failing["monitor metrics"]


def test_no_datadog_key(stack: Stack) -> None:
    env = {"DD_LOGS_ENDPOINT": "https://otlp.datadoghq.eu/v1/logs", "DD_API_KEY": ""}
    failing = _failing(doctor(stack, env=env, loki=None, monitor=None, backup=None, timeout_s=3))
    assert "DD_API_KEY" in failing["datadog"]


def test_an_unwritable_spool_directory(stack: Stack, tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    failing = _failing(doctor(stack, env={"AIBOS_SPOOL_DIR": str(blocker / "spool")}, collector=None))
    assert "AIBOS_SPOOL_DIR" in failing["outage spool"]


def test_the_command_exits_non_zero_and_prints_json(stack: Stack) -> None:
    env = {**os.environ, **stack.env, "AIBOS_REDACTION_PROFILES": "none"}
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "aibos_otel.cli",
            "doctor",
            "--json",
            "--monitor",
            stack.targets.monitor or "",
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=120,
        check=False,
    )
    assert out.returncode == 1, out.stderr
    import json

    doc = json.loads(out.stdout)
    assert doc["failed"] is True
    assert {"area": "service", "name": "redaction profiles", "status": "fail"}.items() <= next(
        c for c in doc["checks"] if c["name"] == "redaction profiles"
    ).items()
