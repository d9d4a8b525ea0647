"""The monitor hands delivery to a real Alertmanager (Debian's prometheus-alertmanager) over
``/api/v2/alerts``; Alertmanager's own webhook receiver then gets the alert."""

from __future__ import annotations

import shutil
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from aibos_otel.monitor.server import Monitor
from aibos_otel.policy.model import parse_policy

from .conftest import free_port, http_json
from .fakes import Recorder
from .otlp_builders import logs_request, record
from .test_receiver import grpc_export

AM = shutil.which("prometheus-alertmanager")

AM_CONFIG = """
route:
  receiver: hook
  group_by: [alertname, service_name]
  group_wait: 0s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: hook
    webhook_configs: [{{url: "{url}/am-webhook", send_resolved: true}}]
"""

POLICY = """
channels:
  am: {{type: alertmanager, url: "http://127.0.0.1:{port}"}}
rules:
  - name: fatal-errors
    expr: sum by (service_name) (count_over_time({{level="fatal"}}[1m])) > 0
    labels: {{severity: critical}}
    annotations: {{summary: "{{{{ $labels.service_name }}}} is down"}}
    channels: [am]
"""


@pytest.mark.e2e
@pytest.mark.skipif(
    AM is None, reason="prometheus-alertmanager is not installed (scripts/install-debian-packages.sh)"
)
def test_alertmanager_receives_and_routes(tmp_path: Path, monitor_factory: Any, recorder: Recorder) -> None:
    assert AM
    port = free_port()
    config = tmp_path / "am.yml"
    config.write_text(AM_CONFIG.format(url=recorder.url))
    am = subprocess.Popen(
        [
            AM,
            f"--config.file={config}",
            f"--storage.path={tmp_path / 'am'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",
            f"--web.external-url=http://127.0.0.1:{port}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/-/ready", timeout=2) as resp:
                    if resp.status == 200:
                        break
            except OSError:
                pass
            assert time.monotonic() < deadline, "alertmanager did not start"
            time.sleep(0.1)
        monitor: Monitor = monitor_factory(policy=parse_policy(POLICY.format(port=port), env={}))
        assert monitor.grpc_port
        grpc_export(
            monitor.grpc_port,
            logs_request([record("kaput", "fatal")], service="inventory").SerializeToString(),
        )
        hook = recorder.wait_for(lambda r: r.path == "/am-webhook", timeout=20)[0].body
        assert hook["status"] == "firing"
        assert hook["commonLabels"] == {
            "alertname": "fatal-errors",
            "service_name": "inventory",
            "severity": "critical",
        }
        assert hook["alerts"][0]["annotations"]["summary"] == "inventory is down"
        status, alerts = http_json(f"http://127.0.0.1:{port}/api/v2/alerts")
        assert status == 200 and alerts[0]["labels"]["service_name"] == "inventory"
        assert alerts[0]["status"]["state"] == "active"
    finally:
        am.terminate()
        am.wait(10)
