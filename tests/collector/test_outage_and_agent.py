"""Delivery guarantees of the real collector: a Loki outage with a restart in the middle, and agent -> gateway."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.collector.conftest import gateway_env
from tests.collector.harness import (
    CONFIG_DIR,
    Collector,
    DatadogStandIn,
    LokiStandIn,
    read_file_backup,
    record_ids,
    run_sender,
    wait_for,
)
from tests.support.otlp_receiver import GrpcReceiver

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

OUTAGE_SECONDS = 20.0


def test_loki_outage_with_a_collector_restart_delivers_everything_once(
    gateway: Collector, loki: LokiStandIn, datadog: DatadogStandIn, monitor: GrpcReceiver
) -> None:
    loki.fail_for(OUTAGE_SECONDS)
    gateway.start()
    sent = run_sender(f"http://{gateway.grpc_endpoint}", service="checkout", count=60, run_id="out")
    ids = {s["id"] for s in sent}

    # Datadog (and the monitor) are unaffected: everything arrives while Loki still answers 503.
    assert wait_for(lambda: ids <= set(record_ids(datadog.records())), 10), gateway.log_tail()
    assert wait_for(lambda: ids <= set(record_ids(monitor.store.snapshot())), 10)
    assert time.monotonic() < loki.state.fail_until
    assert not set(record_ids(loki.records())) & ids
    assert any(r.status == 503 for r in loki.requests())  # the gateway was retrying
    # What deploy/prometheus/rules/aibos-otelcol.yml alerts on: only Loki's queue holds a backlog.
    queue = "otelcol_exporter_queue_size"
    assert (gateway.self_metric(queue, exporter="otlp_http/loki") or 0) > 0
    assert gateway.self_metric(queue, exporter="otlp_http/datadog") == 0

    # Restart during the outage: the sender has exited, so only the persistent queue can still deliver.
    gateway.restart()
    assert time.monotonic() < loki.state.fail_until, "restart took longer than the outage"

    remaining = loki.state.fail_until - time.monotonic()
    assert wait_for(lambda: ids <= set(record_ids(loki.records())), remaining + 15), gateway.log_tail()
    time.sleep(0.5)  # a late duplicate would show up here
    assert {i: record_ids(loki.records())[i] for i in ids} == dict.fromkeys(ids, 1)
    # One backend's retries never duplicate into the others.
    assert {i: record_ids(datadog.records())[i] for i in ids} == dict.fromkeys(ids, 1)
    assert {i: record_ids(monitor.store.snapshot())[i] for i in ids} == dict.fromkeys(ids, 1)
    assert {i: record_ids(read_file_backup(gateway.backup_path))[i] for i in ids} == dict.fromkeys(ids, 1)


def test_agent_to_gateway_delivers_each_record_once_across_a_gateway_outage(
    otelcol_binary: Path,
    tmp_path: Path,
    gateway: Collector,
    loki: LokiStandIn,
    datadog: DatadogStandIn,
    monitor: GrpcReceiver,
) -> None:
    gateway.start()
    agent = Collector(
        otelcol_binary,
        CONFIG_DIR / "agent.yaml",
        tmp_path,
        {"AIBOS_GATEWAY_ENDPOINT": gateway.grpc_endpoint},
        name="agent",
    )

    def everywhere(ids: set[str]) -> bool:
        return all(
            ids <= set(record_ids(records))
            for records in (
                loki.records(),
                datadog.records(),
                monitor.store.snapshot(),
                read_file_backup(gateway.backup_path),
            )
        )

    with agent:
        sent = run_sender(f"http://{agent.grpc_endpoint}", service="checkout", count=30, run_id="ag")
        assert wait_for(lambda: everywhere({s["id"] for s in sent}), 15), (
            agent.log_tail() + gateway.log_tail()
        )

        # Gateway down; the service logs on; the agent itself restarts: its disk queue keeps the records.
        gateway.stop()
        sent += run_sender(f"http://{agent.grpc_endpoint}", service="checkout", count=30, run_id="ag2")
        agent.restart()
        gateway.start()

        ids = {s["id"] for s in sent}
        levels = {s["id"]: s["level"] for s in sent}
        assert len(ids) == 60
        assert wait_for(lambda: everywhere(ids), 15), agent.log_tail() + gateway.log_tail()
        time.sleep(0.5)  # a late duplicate would show up here
        for records in (loki.records(), datadog.records(), monitor.store.snapshot()):
            assert {i: record_ids(records)[i] for i in ids} == dict.fromkeys(ids, 1)
        for record in loki.records():
            assert record.resource["level"] == levels[record.attributes["test.record_id"]]
            assert record.resource["service.name"] == "checkout"


def test_monitor_can_be_limited_to_warn_and_above_plus_alert_annotated_records(
    otelcol_binary: Path,
    tmp_path: Path,
    loki: LokiStandIn,
    datadog: DatadogStandIn,
    monitor: GrpcReceiver,
) -> None:
    env = gateway_env(loki, datadog, monitor) | {"AIBOS_MONITOR_MIN_SEVERITY": "13"}  # SEVERITY_NUMBER_WARN
    with Collector(otelcol_binary, CONFIG_DIR / "gateway.yaml", tmp_path, env, name="gateway") as gateway:
        sent = run_sender(
            f"http://{gateway.grpc_endpoint}", service="checkout", count=24, run_id="sel", alert_info=True
        )
        wanted = {s["id"] for s in sent if s["level"] in ("warn", "error", "fatal") or s["alert"]}
        everything = {s["id"] for s in sent}
        assert len(wanted) == 16  # 4 each of warn, error, fatal, plus 4 alert-annotated info records
        # Loki gets everything; once it has, the monitor's pipeline has also had every record.
        assert wait_for(lambda: everything <= set(record_ids(loki.records())), 15), gateway.log_tail()
        assert wait_for(lambda: wanted <= set(record_ids(monitor.store.snapshot())), 5)
        time.sleep(0.3)
        assert set(record_ids(monitor.store.snapshot())) == wanted
