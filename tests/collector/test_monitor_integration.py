"""The gateway's monitor exporter against the real aibos monitor (``aibos-otel up``), not a stand-in."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests.collector.conftest import gateway_env
from tests.collector.harness import (
    CONFIG_DIR,
    Collector,
    DatadogStandIn,
    LokiStandIn,
    record_ids,
    run_sender,
    stop_process,
    wait_for,
)
from tests.support.helpers import free_port

pytestmark = [pytest.mark.e2e]


def api(port: int, path: str) -> Any:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/{path}", timeout=5) as response:
        return json.load(response)


def test_gateway_feeds_the_real_monitor(otelcol_binary: Path, tmp_path: Path) -> None:
    grpc_port, http_port, api_port = free_port(), free_port(), free_port()
    log = (tmp_path / "monitor.log").open("wb")
    monitor = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "aibos_otel.cli",
            "up",
            f"--grpc-port={grpc_port}",
            f"--http-port={http_port}",
            f"--api-port={api_port}",
            f"--data-dir={tmp_path / 'monitor'}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    log.close()
    try:
        assert wait_for(lambda: _stats_ok(api_port), 30), (tmp_path / "monitor.log").read_text()
        with LokiStandIn() as loki, DatadogStandIn() as datadog:
            env = gateway_env(loki, datadog, grpc_port)
            with Collector(otelcol_binary, CONFIG_DIR / "gateway.yaml", tmp_path, env, "gateway") as gateway:
                sent = run_sender(
                    f"http://{gateway.grpc_endpoint}", service="checkout", count=30, run_id="mon"
                )
                expected = Counter(s["level"] for s in sent)  # 5 of each level

                def all_counted() -> bool:
                    counted: dict[str, int] = api(api_port, "stats")["records_by_level"]
                    return counted == dict(expected)

                assert wait_for(all_counted, 15, 0.2), (api(api_port, "stats"), gateway.log_tail())
                # The other backends got them too.
                assert wait_for(lambda: len(record_ids(loki.records())) == 30, 10)
        errors = api(api_port, "errors")["errors"]
        assert errors, "ERROR and FATAL records make an error group"
        assert {s for group in errors for s in group["services"]} == {"checkout"}
        assert {e for group in errors for e in group["environments"]} == {"staging"}
    finally:
        stop_process(monitor)


def _stats_ok(port: int) -> bool:
    try:
        api(port, "stats")
        return True
    except OSError:
        return False
