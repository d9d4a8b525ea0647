"""TLS on both receivers, and the ``alerts`` table command."""

from __future__ import annotations

import json
import ssl
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import grpc

from aibos_otel.monitor.server import Monitor

from .otlp_builders import logs_request, record
from .test_receiver import LOGS_METHOD


def test_tls_grpc_and_https(monitor_factory: Any, tls_cert: tuple[Path, Path]) -> None:
    cert, key = tls_cert
    monitor: Monitor = monitor_factory(tls_cert=cert, tls_key=key)
    payload = logs_request([record("over tls", "fatal")], service="secure").SerializeToString()
    creds = grpc.ssl_channel_credentials(root_certificates=cert.read_bytes())
    with grpc.secure_channel(f"127.0.0.1:{monitor.grpc_port}", creds) as channel:
        channel.unary_unary(LOGS_METHOD)(payload, timeout=10)
    context = ssl.create_default_context(cafile=str(cert))
    req = urllib.request.Request(
        f"https://127.0.0.1:{monitor.http_port}/v1/logs",
        data=payload,
        method="POST",
        headers={"Content-Type": "application/x-protobuf"},
    )
    with urllib.request.urlopen(req, timeout=10, context=context) as resp:
        assert resp.status == 200
    # plaintext to the TLS port fails
    with grpc.insecure_channel(f"127.0.0.1:{monitor.grpc_port}") as channel:
        try:
            channel.unary_unary(LOGS_METHOD)(payload, timeout=3)
            raise AssertionError("plaintext accepted on a TLS port")
        except grpc.RpcError as exc:
            assert exc.code() == grpc.StatusCode.UNAVAILABLE
    # the API is on TLS too (issue 11 finding 3), and says so in the printed addresses
    url = f"https://127.0.0.1:{monitor.api_port}/api/stats"
    with urllib.request.urlopen(url, timeout=5, context=context) as resp:
        assert json.loads(resp.read())["records_by_level"] == {"fatal": 2}
    assert all(
        where.startswith("https://") for name, where in monitor.addresses().items() if name != "data"
    ), monitor.addresses()


def test_alerts_command_lists_firing_alerts(monitor_factory: Any) -> None:
    monitor: Monitor = monitor_factory()
    with grpc.insecure_channel(f"127.0.0.1:{monitor.grpc_port}") as channel:
        channel.unary_unary(LOGS_METHOD)(
            logs_request([record("boom", "fatal")], service="cli-svc").SerializeToString(), timeout=10
        )
    data_dir = monitor.settings.data_dir
    out = subprocess.run(
        [sys.executable, "-m", "aibos_otel.cli", "alerts", "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout.splitlines()
    assert out[0].split()[:2] == ["RULE", "STATE"]
    rows = {line.split()[0]: line for line in out[1:]}
    assert "firing" in rows["fatal-errors"] and "service_name=cli-svc" in rows["fatal-errors"]
    missing = subprocess.run(
        [sys.executable, "-m", "aibos_otel.cli", "alerts", "--data-dir", str(data_dir / "nope")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert missing.returncode == 1 and "no monitor data" in missing.stderr


def test_metrics_pushed_as_otlp(monitor_factory: Any, tmp_path: Path) -> None:
    """The monitor pushes its derived metrics over OTLP; here to a second monitor, which counts them."""
    sink: Monitor = monitor_factory(data_dir=tmp_path / "sink")
    source: Monitor = monitor_factory(
        metrics_otlp_endpoint=f"http://127.0.0.1:{sink.grpc_port}",
        metrics_otlp_interval=0.2,
        data_dir=tmp_path / "source",
    )
    with grpc.insecure_channel(f"127.0.0.1:{source.grpc_port}") as channel:
        channel.unary_unary(LOGS_METHOD)(logs_request([record("x", "info")]).SerializeToString(), timeout=10)
    deadline = time.monotonic() + 10
    while True:
        with urllib.request.urlopen(f"http://127.0.0.1:{sink.api_port}/metrics", timeout=5) as resp:
            text = resp.read().decode()
        if 'aibos_monitor_export_requests_total{signal="metrics",transport="grpc"}' in text:
            break
        assert time.monotonic() < deadline, "no OTLP metrics arrived"
        time.sleep(0.1)
    assert 'aibos_monitor_items_total{signal="metrics"}' in text
