"""End to end: Python services -> real aibos-otelcol (gateway.yaml) -> Loki, Datadog, file, monitor, Prometheus.

One gateway run (module fixture) is checked from several sides. Services log through ``aibos_otel.setup()``
in their own processes (one over OTLP/gRPC, one over OTLP/HTTP); a raw OTLP client plants secrets past
the SDK. Stand-ins record what Loki's and Datadog's intakes receive; the real Prometheus scrapes the
gateway's count metrics.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.collector.conftest import gateway_env
from tests.collector.harness import (
    CONFIG_DIR,
    PLANTED_SECRETS,
    RECORD_ID,
    Collector,
    DatadogStandIn,
    LokiStandIn,
    Prometheus,
    by_id,
    read_file_backup,
    record_ids,
    run_sender,
    send_raw_secret_records,
    wait_for,
)
from tests.support.otlp_receiver import GrpcReceiver, Record

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

CHECKOUT_COUNT = 60  # over gRPC; 10 per level
BILLING_COUNT = 12  # over HTTP/protobuf; 2 per level


@dataclass
class Run:
    expected: dict[str, dict[str, str]]  # record id -> {"level", "service"}
    secret_ids: list[str]
    loki: list[Record]
    datadog: list[Record]
    monitor: list[Record]
    backup: list[Record]
    loki_content_types: set[str]
    prometheus: Prometheus
    gateway: Collector


@pytest.fixture(scope="module")
def run(otelcol_binary: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    workdir = tmp_path_factory.mktemp("gateway-e2e")
    with LokiStandIn() as loki, DatadogStandIn() as datadog, GrpcReceiver() as monitor:
        gateway = Collector(
            otelcol_binary,
            CONFIG_DIR / "gateway.yaml",
            workdir,
            gateway_env(loki, datadog, monitor),
            "gateway",
        )
        prometheus = Prometheus(
            workdir, f"127.0.0.1:{gateway.ports.metrics}", f"127.0.0.1:{gateway.ports.telemetry}"
        )
        with gateway, prometheus:
            expected: dict[str, dict[str, str]] = {}
            for sent in run_sender(
                f"http://{gateway.grpc_endpoint}", service="checkout", count=CHECKOUT_COUNT, run_id="co"
            ):
                expected[sent["id"]] = {"level": sent["level"], "service": "checkout"}
            for sent in run_sender(
                f"http://127.0.0.1:{gateway.ports.http}",
                protocol="http/protobuf",
                service="billing",
                count=BILLING_COUNT,
                run_id="bi",
            ):
                expected[sent["id"]] = {"level": sent["level"], "service": "billing"}
            secret_ids = send_raw_secret_records(gateway.grpc_endpoint, "raw")
            wanted = set(expected) | set(secret_ids)

            def all_arrived() -> bool:
                return all(
                    wanted <= set(record_ids(records))
                    for records in (loki.records(), datadog.records(), monitor.store.snapshot())
                ) and wanted <= set(record_ids(read_file_backup(gateway.backup_path)))

            assert wait_for(all_arrived, 20), gateway.log_tail()
            yield Run(
                expected=expected,
                secret_ids=secret_ids,
                loki=loki.records(),
                datadog=datadog.records(),
                monitor=monitor.store.snapshot(),
                backup=read_file_backup(gateway.backup_path),
                loki_content_types={r.headers.get("Content-Type", "") for r in loki.requests()},
                prometheus=prometheus,
                gateway=gateway,
            )


def assert_every_sdk_record_once_with_labels(records: list[Record], run: Run) -> None:
    counts = record_ids(records)
    assert {i: counts[i] for i in run.expected} == dict.fromkeys(run.expected, 1)
    received = by_id(records)
    for record_id, want in run.expected.items():
        resource = received[record_id].resource
        assert resource["level"] == want["level"], record_id
        assert resource["service.name"] == want["service"], record_id
        assert resource["deployment.environment.name"] == "staging", record_id
        assert "level" not in received[record_id].attributes  # lifted to the resource, not duplicated


def test_every_record_reaches_loki_once_with_level_service_and_environment(run: Run) -> None:
    assert_every_sdk_record_once_with_labels(run.loki, run)
    assert run.loki_content_types == {"application/x-protobuf"}  # exactly what Loki accepts


def test_every_record_reaches_datadog_once_with_level_service_and_environment(run: Run) -> None:
    assert_every_sdk_record_once_with_labels(run.datadog, run)


def test_file_backup_holds_every_record(run: Run) -> None:
    assert_every_sdk_record_once_with_labels(run.backup, run)
    assert set(run.secret_ids) <= set(record_ids(run.backup))


def test_monitor_gets_every_record_by_default(run: Run) -> None:
    assert_every_sdk_record_once_with_labels(run.monitor, run)


@pytest.mark.parametrize("backend", ["loki", "datadog", "backup", "monitor"])
def test_secrets_planted_past_the_sdk_are_masked_by_the_second_line(run: Run, backend: str) -> None:
    records = by_id(getattr(run, backend))
    for record_id in run.secret_ids:
        record = records[record_id]
        name = record_id.removeprefix("raw-")
        secret = PLANTED_SECRETS[name]
        assert secret not in str(record.body) and secret not in str(record.attributes), (record_id, record)
        # Masked in place: the rest of the text survives, so the record stays useful.
        assert str(record.body).startswith("login failed for ") and "[REDACTED:" in str(record.body)
        assert (
            record.attributes["detail"].startswith("value ") and "[REDACTED:" in record.attributes["detail"]
        )
        assert record.attributes["db.password"] == "[REDACTED:sensitive-key]"  # secret by key name
        assert record.attributes[RECORD_ID] == record_id
        assert record.resource["level"] == "error"


def test_count_metrics_scraped_by_real_prometheus(run: Run) -> None:
    expected = Counter((want["service"], want["level"]) for want in run.expected.values())
    expected[("legacy-java", "error")] += len(run.secret_ids)

    def scraped() -> dict[tuple[str, str], float]:
        result = run.prometheus.query('aibos_log_records_total{deployment_environment_name="staging"}')
        return {(s["metric"]["service_name"], s["metric"]["level"]): float(s["value"][1]) for s in result}

    assert wait_for(lambda: scraped() == expected, 15, 0.5), (scraped(), expected, run.gateway.metrics_text())


def test_prometheus_loads_the_collector_alerts_and_scrapes_the_collectors_own_metrics(run: Run) -> None:
    groups = run.prometheus.api("rules")["groups"]
    alerts = {rule["name"] for group in groups for rule in group["rules"]}
    assert {"AibosCollectorBackendBacklog", "AibosCollectorDroppingRecords", "AibosCollectorDown"} <= alerts

    def self_metrics_scraped() -> bool:
        up = run.prometheus.query('up{job="aibos-otelcol-self"}')
        queues = run.prometheus.query("otelcol_exporter_queue_capacity")
        return [float(s["value"][1]) for s in up] == [1.0] and {s["metric"]["exporter"] for s in queues} >= {
            "otlp_http/loki",
            "otlp_http/datadog",
            "otlp_grpc/monitor",
        }

    assert wait_for(self_metrics_scraped, 15, 0.5)
    # No alert fires on a healthy gateway.
    assert run.prometheus.api("alerts")["alerts"] == []
