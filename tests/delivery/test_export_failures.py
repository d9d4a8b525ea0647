"""Export failures are visible: a service whose collector refuses spans says so once on stderr.

The collector is the real aibos-otelcol with a logs pipeline only, so its OTLP receiver answers
``UNIMPLEMENTED`` to every span export (what the shipped configs did before they had a traces
pipeline). The service runs under ``opentelemetry-instrument`` with the aibos distro.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.collector.conftest import built_binary
from tests.collector.harness import Collector
from tests.delivery.conftest import INSTRUMENT, ROOT, clean_env

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

LOGS_ONLY = """
extensions:
  health_check:
    endpoint: ${env:AIBOS_HEALTH_ENDPOINT}
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: ${env:AIBOS_OTLP_GRPC_ENDPOINT}
exporters:
  debug: {}
service:
  extensions: [health_check]
  telemetry:
    metrics:
      level: none
  pipelines:
    logs:
      receivers: [otlp]
      exporters: [debug]
"""

SERVICE = """
import json, logging, time
from opentelemetry import trace
from aibos_otel.sdk.setup import active_handle

print("STARTED", flush=True)
tracer = trace.get_tracer("probe")
for i in range(3):  # three failed exports: one line on stderr, three counted
    with tracer.start_as_current_span(f"work-{i}"):
        logging.getLogger("probe").warning("inside span %d", i)
    trace.get_tracer_provider().force_flush()
handle = active_handle()
deadline = time.monotonic() + 15
while time.monotonic() < deadline and handle.metrics.failed_exports.get(("spans", "unimplemented"), 0) < 3:
    time.sleep(0.05)
print(json.dumps(handle.metrics.snapshot()["failed_exports"]), flush=True)
"""


def _read_lines(stream: object, into: list[tuple[float, str]]) -> None:
    for line in stream:  # type: ignore[attr-defined]
        into.append((time.monotonic(), line.rstrip("\n")))


def test_collector_refusing_spans_gives_one_warning_naming_the_endpoint(tmp_path: Path) -> None:
    config = tmp_path / "logs-only.yaml"
    config.write_text(LOGS_ONLY, encoding="utf-8")
    script = tmp_path / "service.py"
    script.write_text(SERVICE, encoding="utf-8")
    with Collector(built_binary(), config, tmp_path, {}, "logs-only") as collector:
        endpoint = collector.grpc_endpoint
        env = clean_env(
            PYTHONPATH=str(ROOT),
            AIBOS_ENDPOINT=f"http://{endpoint}",
            AIBOS_SERVICE_NAME="refused",
            OTEL_BSP_SCHEDULE_DELAY="200",
            OTEL_PYTHON_DISTRO="aibos",
        )
        proc = subprocess.Popen(
            [str(INSTRUMENT), sys.executable, str(script)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        out: list[tuple[float, str]] = []
        err: list[tuple[float, str]] = []
        readers = [
            threading.Thread(target=_read_lines, args=(proc.stdout, out), daemon=True),
            threading.Thread(target=_read_lines, args=(proc.stderr, err), daemon=True),
        ]
        for reader in readers:
            reader.start()
        try:
            proc.wait(60)
        finally:
            if proc.poll() is None:
                proc.kill()
        for reader in readers:
            reader.join(5)
    assert proc.returncode == 0, "\n".join(line for _, line in err)
    started = next(at for at, line in out if line == "STARTED")
    span_lines = [(at, line) for at, line in err if line.startswith("aibos: spans export")]
    assert len(span_lines) == 1, err  # three failures, one line
    at, line = span_lines[0]
    assert endpoint in line and "UNIMPLEMENTED" in line and "no spans pipeline" in line
    assert at - started <= 10.0, at - started
    print(f"spans warning {at - started:.2f} s after start")
    failed = json.loads(out[-1][1])
    assert failed["spans/unimplemented"] >= 3
    # The logs went through (the collector has a logs pipeline): no logs warning.
    assert not [line for _, line in err if line.startswith("aibos: logs export")]
