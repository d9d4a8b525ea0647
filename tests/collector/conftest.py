"""Fixtures for the collector tests: the built aibos-otelcol binary, stand-ins and a running gateway."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.collector.harness import (
    CONFIG_DIR,
    DD_API_KEY,
    REPO,
    Collector,
    DatadogStandIn,
    LokiStandIn,
)
from tests.support.otlp_receiver import GrpcReceiver

BUILD_SCRIPT = REPO / "collector-config" / "build.sh"


def built_binary() -> Path:
    """Path of aibos-otelcol, built by collector-config/build.sh (a fast no-op once it exists)."""
    proc = subprocess.run(
        ["bash", str(BUILD_SCRIPT)], capture_output=True, text=True, timeout=3600, check=False
    )
    if proc.returncode != 0:
        raise RuntimeError(f"collector-config/build.sh failed:\n{proc.stderr[-4000:]}")
    path = Path(proc.stdout.strip().splitlines()[-1])
    if not path.is_file():
        raise RuntimeError(f"build.sh printed {path}, which is not a file")
    return path


@pytest.fixture(scope="session")
def otelcol_binary() -> Path:
    return built_binary()


@pytest.fixture
def loki() -> Iterator[LokiStandIn]:
    with LokiStandIn() as stand_in:
        yield stand_in


@pytest.fixture
def datadog() -> Iterator[DatadogStandIn]:
    with DatadogStandIn() as stand_in:
        yield stand_in


@pytest.fixture
def monitor() -> Iterator[GrpcReceiver]:
    """Records what the gateway's otlp_grpc/monitor exporter sends (stands in for the aibos monitor)."""
    with GrpcReceiver() as receiver:
        yield receiver


def gateway_env(loki: LokiStandIn, datadog: DatadogStandIn, monitor: GrpcReceiver | int) -> dict[str, str]:
    """Point gateway.yaml's backends at the local stand-ins (``monitor``: a receiver or a gRPC port)."""
    port = monitor if isinstance(monitor, int) else monitor.port
    return {
        "DD_API_KEY": DD_API_KEY,
        "LOKI_ENDPOINT": loki.endpoint,
        "DD_LOGS_ENDPOINT": datadog.endpoint,
        "DD_TRACES_ENDPOINT": datadog.traces_endpoint,
        "DD_METRICS_ENDPOINT": datadog.metrics_endpoint,
        "AIBOS_MONITOR_ENDPOINT": f"127.0.0.1:{port}",
    }


@pytest.fixture
def gateway(
    otelcol_binary: Path,
    tmp_path: Path,
    loki: LokiStandIn,
    datadog: DatadogStandIn,
    monitor: GrpcReceiver,
) -> Iterator[Collector]:
    """The real aibos-otelcol running gateway.yaml against the stand-ins (not started yet)."""
    collector = Collector(
        otelcol_binary,
        CONFIG_DIR / "gateway.yaml",
        tmp_path,
        gateway_env(loki, datadog, monitor),
        name="gateway",
    )
    try:
        yield collector
    finally:
        collector.stop()
