"""One severity, one level: the real gateway, the real monitor and the table agree on every number.

Every severity number 0..24 (and two outside the data model), each without a text and with texts
that name a level in different spellings, goes once through the gateway (whose ``level`` is what
Loki indexes and its ruler sees; here the Loki stand-in records it) and once straight to the
monitor. The gateway's level, the monitor's level for both copies and
:func:`aibos_otel.levels.level_for` must be the same word.
"""

from __future__ import annotations

import subprocess
import urllib.request
from collections import Counter
from pathlib import Path

import grpc
import pytest
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2, logs_service_pb2_grpc
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord, ResourceLogs, ScopeLogs
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from prometheus_client.parser import text_string_to_metric_families

from aibos_otel.levels import level_for
from tests.collector.conftest import gateway_env
from tests.collector.harness import CONFIG_DIR, Collector, DatadogStandIn, LokiStandIn, stop_process
from tests.support.helpers import free_port, wait_for
from tests.support.processes import aibos_up_argv

pytestmark = [pytest.mark.e2e]

NUMBERS = (*range(25), 25, 99)  # 25 and 99: outside the data model, so the text decides
TEXTS = ("", "WARNING", "fatal", " Error\t", "Notice", "no-such-level", "INFO")
CASE = "test.case"


def _kv(key: str, value: str) -> KeyValue:
    return KeyValue(key=key, value=AnyValue(string_value=value))


def _request(prefix: str, text_index: int) -> logs_service_pb2.ExportLogsServiceRequest:
    """One resource (service ``<prefix>-<number>``) per number, each with one record."""
    text = TEXTS[text_index]
    request = logs_service_pb2.ExportLogsServiceRequest()
    for number in NUMBERS:
        record = LogRecord(
            severity_number=number,  # type: ignore[arg-type]
            severity_text=text,
            body=AnyValue(string_value=f"level case {number} {text_index}"),
            attributes=[_kv(CASE, f"{number}|{text_index}")],
        )
        resource = Resource(attributes=[_kv("service.name", f"{prefix}-{number}")])
        request.resource_logs.append(
            ResourceLogs(resource=resource, scope_logs=[ScopeLogs(log_records=[record])])
        )
    return request


def _send(endpoint: str, request: logs_service_pb2.ExportLogsServiceRequest) -> None:
    with grpc.insecure_channel(endpoint) as channel:
        stub = logs_service_pb2_grpc.LogsServiceStub(channel)  # type: ignore[no-untyped-call]
        stub.Export(request, timeout=30)


def _monitor_counts(api_port: int) -> Counter[tuple[str, str]]:
    """(service, level) -> records, from the monitor's /metrics."""
    url = f"http://127.0.0.1:{api_port}/metrics"
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            text = response.read().decode()
    except OSError:
        return Counter()
    counts: Counter[tuple[str, str]] = Counter()
    for family in text_string_to_metric_families(text):
        if family.name != "aibos_monitor_log_records":
            continue
        for sample in family.samples:
            if sample.name.endswith("_total") or sample.name == family.name:
                counts[(sample.labels["service_name"], sample.labels["level"])] = int(sample.value)
    return counts


def test_every_severity_gets_one_level_in_gateway_monitor_and_table(
    otelcol_binary: Path, tmp_path: Path
) -> None:
    grpc_port, http_port, api_port = free_port(), free_port(), free_port()
    log_path = tmp_path / "monitor.log"
    with log_path.open("wb") as log:
        monitor = subprocess.Popen(
            aibos_up_argv(grpc_port, http_port, api_port, tmp_path / "monitor"),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        assert wait_for(lambda: _metrics_up(api_port), 60), log_path.read_text()
        with LokiStandIn() as loki, DatadogStandIn() as datadog:
            env = gateway_env(loki, datadog, grpc_port)
            with Collector(otelcol_binary, CONFIG_DIR / "gateway.yaml", tmp_path, env, "gateway") as gateway:
                disagreements: list[str] = []
                for text_index, text in enumerate(TEXTS):
                    before = _monitor_counts(api_port)
                    _send(f"127.0.0.1:{grpc_port}", _request("direct", text_index))
                    _send(gateway.grpc_endpoint, _request("gateway", text_index))
                    expected_total = sum(before.values()) + 2 * len(NUMBERS)

                    suffix = f"|{text_index}"

                    def arrived(total: int = expected_total, suffix: str = suffix) -> bool:
                        at_loki = sum(
                            1 for r in loki.records() if str(r.attributes.get(CASE, "")).endswith(suffix)
                        )
                        return at_loki == len(NUMBERS) and sum(_monitor_counts(api_port).values()) >= total

                    assert wait_for(arrived, 60, 0.2), (
                        text,
                        gateway.log_tail(),
                        log_path.read_text()[-2000:],
                    )
                    delta = _monitor_counts(api_port) - before
                    at_loki = {
                        r.attributes[CASE]: r.resource.get("level")
                        for r in loki.records()
                        if str(r.attributes.get(CASE, "")).endswith(suffix)
                    }
                    for number in NUMBERS:
                        want = level_for(number, text)
                        direct = [lvl for (svc, lvl), n in delta.items() if svc == f"direct-{number}" and n]
                        via = [lvl for (svc, lvl), n in delta.items() if svc == f"gateway-{number}" and n]
                        got = {
                            "gateway (Loki)": at_loki.get(f"{number}|{text_index}"),
                            "monitor direct": direct,
                            "monitor via gateway": via,
                        }
                        if got != {
                            "gateway (Loki)": want,
                            "monitor direct": [want],
                            "monitor via gateway": [want],
                        }:
                            disagreements.append(f"severity {number} text {text!r}: table {want!r}, {got}")
                assert len(loki.records()) == len(NUMBERS) * len(TEXTS)  # nothing twice
        assert not disagreements, "\n".join(disagreements)
    finally:
        stop_process(monitor)


def _metrics_up(api_port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{api_port}/metrics", timeout=5) as response:
            return bool(response.status == 200)
    except OSError:
        return False
