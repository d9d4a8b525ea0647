"""The deployment's gateway (gateway.yaml + the token fragment, as the rendered ConfigMap holds them)
delivers to a real monitor that requires a bearer token, as both deployments run it; without the
fragment the monitor refuses the gateway. Real aibos-otelcol, real monitor, loopback only."""

from __future__ import annotations

import subprocess
import sys
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.collector.conftest import built_binary, gateway_env
from tests.collector.harness import Collector, DatadogStandIn, LokiStandIn, run_sender, stop_process
from tests.deploy_manifests.manifests import find, objects
from tests.support.helpers import free_port, metric_sum, wait_for

TOKEN = "deploy-test-" + "0" * 32
COUNT = 40


class Monitor:
    """``aibos-otel monitor --token`` on free loopback ports."""

    def __init__(self, workdir: Path) -> None:
        self.grpc, self.http, self.api = free_port(), free_port(), free_port()
        argv = [sys.executable, "-m", "aibos_otel.cli", "monitor", "--host=127.0.0.1", f"--token={TOKEN}"]
        argv += [f"--grpc-port={self.grpc}", f"--http-port={self.http}", f"--api-port={self.api}"]
        self.log = (workdir / "monitor.log").open("wb")
        self.proc = subprocess.Popen(
            [*argv, f"--data-dir={workdir / 'monitor'}"], stdout=self.log, stderr=subprocess.STDOUT
        )

    def metric(self, name: str, **labels: str) -> float:
        return metric_sum(f"http://127.0.0.1:{self.api}/metrics", name, **labels)

    def ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.api}/readyz", timeout=2) as response:
                return bool(response.status == 200)
        except OSError:
            return False


@pytest.fixture
def monitor(tmp_path: Path) -> Iterator[Monitor]:
    m = Monitor(tmp_path)
    try:
        assert wait_for(lambda: m.proc.poll() is not None or m.ready(), 60), "monitor not ready"
        assert m.proc.poll() is None, (tmp_path / "monitor.log").read_text()
        yield m
    finally:
        stop_process(m.proc)
        m.log.close()


def _configmap_files(rendered: dict[str, str], tmp_path: Path) -> dict[str, Path]:
    data = find(objects(rendered["production"]), "ConfigMap", "aibos-otelcol-config-")["data"]
    paths = {}
    for name, text in data.items():
        paths[name] = tmp_path / name
        paths[name].write_text(text, encoding="utf-8")
    return paths


def _gateway(
    tmp_path: Path, monitor: Monitor, loki: LokiStandIn, datadog: DatadogStandIn, extra: tuple[Path, ...]
) -> Collector:
    env = {**gateway_env(loki, datadog, monitor.grpc), "AIBOS_MONITOR_TOKEN": TOKEN}
    return Collector(built_binary(), tmp_path / "gateway.yaml", tmp_path, env, "gateway", extra_configs=extra)


def _monitor_records(monitor: Monitor, service: str) -> float:
    return monitor.metric("aibos_monitor_log_records_total", service_name=service)


def test_gateway_with_the_fragment_delivers_to_a_monitor_with_a_token(
    rendered: dict[str, str], tmp_path: Path, monitor: Monitor, loki: LokiStandIn, datadog: DatadogStandIn
) -> None:
    files = _configmap_files(rendered, tmp_path)
    service = f"deploy-{uuid.uuid4().hex[:8]}"
    with _gateway(tmp_path, monitor, loki, datadog, (files["gateway-monitor-token.yaml"],)) as gateway:
        sent = run_sender(f"http://{gateway.grpc_endpoint}", service=service, count=COUNT, run_id=service)
        assert wait_for(lambda: _monitor_records(monitor, service) >= len(sent), 60, 0.2), gateway.log_tail()
    assert _monitor_records(monitor, service) == len(sent)
    assert monitor.metric("aibos_monitor_receiver_errors_total", reason="unauthenticated") == 0


def test_gateway_without_the_fragment_is_refused(
    rendered: dict[str, str], tmp_path: Path, monitor: Monitor, loki: LokiStandIn, datadog: DatadogStandIn
) -> None:
    # The control: gateway.yaml alone sends no token, so the fragment is what makes the test above pass.
    _configmap_files(rendered, tmp_path)
    service = f"deploy-{uuid.uuid4().hex[:8]}"
    with _gateway(tmp_path, monitor, loki, datadog, ()) as gateway:
        sent = run_sender(f"http://{gateway.grpc_endpoint}", service=service, count=COUNT, run_id=service)
        assert wait_for(lambda: len(loki.records()) >= len(sent), 60, 0.2), gateway.log_tail()
        assert wait_for(
            lambda: monitor.metric("aibos_monitor_receiver_errors_total", reason="unauthenticated") > 0,
            60,
            0.2,
        ), gateway.log_tail()
    assert _monitor_records(monitor, service) == 0
