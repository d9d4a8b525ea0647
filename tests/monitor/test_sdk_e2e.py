"""The project's SDK, in a separate process, sends to the monitor over gRPC and HTTP; the monitor
derives error groups, the seed's fatal rule and the record's own alert."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from aibos_otel.monitor.server import Monitor
from aibos_otel.policy.model import parse_policy

from .conftest import http_json
from .fakes import Recorder

ROOT = Path(__file__).resolve().parents[2]

POLICY = """
channels:
  hook: {{type: webhook, url: "{url}/hook"}}
  slack: {{type: slack, url: "{url}/slack/T0/B0/X"}}
alerting:
  default_channels: [slack]
  error_groups: {{on_new: false}}
rules:
  - name: fatal-errors
    expr: sum by (service_name) (count_over_time({{level="fatal"}}[1m])) > 0
    labels: {{severity: critical}}
    annotations: {{summary: "{{{{ $labels.service_name }}}}: {{{{ $value }}}} fatal log(s) in the last minute"}}
    channels: [slack]
"""


@pytest.mark.parametrize("protocol", ["grpc", "http/protobuf"])
def test_sdk_process_to_monitor(protocol: str, monitor_factory: Any, recorder: Recorder) -> None:
    monitor: Monitor = monitor_factory(policy=parse_policy(POLICY.format(url=recorder.url), env={}))
    endpoint = f"http://127.0.0.1:{monitor.grpc_port if protocol == 'grpc' else monitor.http_port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "AIBOS_"))}
    proc = subprocess.run(
        [sys.executable, "-m", "tests.monitor.sdk_sender", endpoint, protocol],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0 and "sent" in proc.stdout, proc.stderr[-3000:]
    groups = http_json(f"http://127.0.0.1:{monitor.api_port}/api/errors")[1]["errors"]
    key_error = next(g for g in groups if g["type"].endswith("KeyError"))
    assert (
        key_error["count"] == 1
        and key_error["services"] == ["sdk-shop"]
        and key_error["environments"] == ["staging"]
    )
    assert "sdk_sender.py" in key_error["stacktrace"]
    assert {g["message"] for g in groups} >= {"disk full on /var", "payment provider down"}
    slack = recorder.wait_for(lambda r: r.path.startswith("/slack") and "fatal-errors" in r.body["text"])[0]
    assert "sdk-shop: 1 fatal log(s)" in slack.body["text"]
    hook = recorder.wait_for(lambda r: r.path == "/hook")[0].body
    (alert,) = hook["alerts"]
    assert alert["labels"]["severity"] == "critical" and alert["labels"]["service_name"] == "sdk-shop"
    assert alert["annotations"]["summary"] == "payment provider down"
    stats = http_json(f"http://127.0.0.1:{monitor.api_port}/api/stats")[1]
    assert stats["records_by_level"]["info"] >= 5 and stats["records_by_level"]["fatal"] == 1
