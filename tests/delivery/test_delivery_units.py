"""DeliveryProcessor details that the end-to-end tests do not isolate, and the new settings."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from pathlib import Path

from opentelemetry._logs import LogRecord, SeverityNumber
from opentelemetry.sdk._logs import ReadableLogRecord
from opentelemetry.sdk._logs.export import LogRecordExporter, LogRecordExportResult
from opentelemetry.sdk.resources import Resource

from aibos_otel.sdk.delivery import DeliveryProcessor
from aibos_otel.sdk.self_metrics import SelfMetrics
from aibos_otel.sdk.settings import resolve
from aibos_otel.sdk.spool import Spool

SEVERITIES = [SeverityNumber.DEBUG, SeverityNumber.INFO, SeverityNumber.WARN, SeverityNumber.ERROR]


def _record(rid: int, severity: SeverityNumber) -> ReadableLogRecord:
    return ReadableLogRecord(
        LogRecord(severity_number=severity, body=f"r{rid}", attributes={"rid": rid}),
        resource=Resource({"service.name": "unit"}),
    )


class SlowExporter(LogRecordExporter):
    def __init__(self, seconds: float, fail: bool = False) -> None:
        self.seconds = seconds
        self.fail = fail
        self.batches: list[list[int]] = []
        self.severities: list[list[int]] = []
        self.calls = 0
        self.gate: threading.Event | None = None
        self._stop = threading.Event()

    def export(self, batch: Sequence[ReadableLogRecord]) -> LogRecordExportResult:
        self.calls += 1
        if self.gate is not None:
            self.gate.wait(5)
        if self._stop.wait(self.seconds):
            return LogRecordExportResult.FAILURE
        if self.fail:
            return LogRecordExportResult.FAILURE
        self.batches.append([r.log_record.attributes["rid"] for r in batch])  # type: ignore[index]
        self.severities.append([r.log_record.severity_number.value for r in batch])  # type: ignore[union-attr]
        return LogRecordExportResult.SUCCESS

    def shutdown(self) -> None:
        self._stop.set()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


def test_shutdown_exports_the_most_severe_first() -> None:
    exporter = SlowExporter(0.1)
    gate = threading.Event()
    exporter.gate = gate
    processor = DeliveryProcessor(
        exporter, name="unit", metrics=SelfMetrics(), max_batch=100, schedule_delay=60, shutdown_deadline=1.0
    )
    for i in range(2000):
        processor.enqueue(_record(i, SEVERITIES[i % 4]), [1, 2, 3, 4][i % 4])
    # The worker holds its first batch (arrival order) at the gate until shutdown has begun.
    stopper = threading.Thread(target=processor.shutdown_within, args=(1.5,))
    stopper.start()
    time.sleep(0.1)
    gate.set()
    stopper.join(5)
    # Every batch taken after shutdown began is most severe first: non-increasing severity, and
    # the deadline cut the tail, so no DEBUG made it out.
    assert 2 <= len(exporter.severities) - 1 < 19
    later = [s for batch in exporter.severities[1:] for s in batch]
    assert later == sorted(later, reverse=True)
    assert later[0] == SeverityNumber.ERROR.value
    assert SeverityNumber.DEBUG.value not in later


def test_open_circuit_sends_batches_to_the_spool_without_waiting(tmp_path: Path) -> None:
    exporter = SlowExporter(0.0, fail=True)
    spool = Spool(tmp_path)
    metrics = SelfMetrics()
    processor = DeliveryProcessor(
        exporter,
        name="unit",
        metrics=metrics,
        max_batch=10,
        schedule_delay=0.05,
        spool=spool,
        retry_interval=60,
    )
    try:
        for i in range(100):
            processor.enqueue(_record(i, SeverityNumber.INFO), 2)
        deadline = time.monotonic() + 5
        while spool.pending() < 100 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert spool.pending() == 100
        assert exporter.calls == 1  # one failure opened the circuit; the other batches went to disk
        assert metrics.dropped_by_severity() == {}
    finally:
        processor.shutdown_within(1)


def test_spool_is_drained_when_the_endpoint_is_back(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    spool.store([_record(i, SeverityNumber.WARN) for i in range(30)])  # left by an earlier run
    exporter = SlowExporter(0.0)
    processor = DeliveryProcessor(exporter, name="unit", metrics=SelfMetrics(), max_batch=10, spool=spool)
    try:
        deadline = time.monotonic() + 5
        # Wait for the files to go: a claimed file no longer counts as pending but is not sent yet.
        while list(tmp_path.iterdir()) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert sorted(rid for batch in exporter.batches for rid in batch) == list(range(30))
        assert list(tmp_path.iterdir()) == []
    finally:
        processor.shutdown_within(1)


def test_spool_settings() -> None:
    production = resolve(environ={"AIBOS_ENVIRONMENT": "production", "AIBOS_SERVICE_NAME": "pay/api"})
    assert production.spool_dir == Path("/var/spool/aibos/pay_api")
    assert resolve(environ={"AIBOS_ENVIRONMENT": "staging"}).spool_dir is None
    assert resolve(environ={"AIBOS_ENVIRONMENT": "production", "AIBOS_SPOOL": "off"}).spool_dir is None
    assert resolve(environ={"AIBOS_SPOOL": "/tmp/s"}).spool_dir == Path("/tmp/s")
    assert resolve(environ={"AIBOS_SPOOL_DIR": "/tmp/d"}).spool_dir == Path("/tmp/d")
    assert resolve(spool=True, environ={"AIBOS_SERVICE_NAME": "x"}).spool_dir == Path("/var/spool/aibos/x")
    switched = resolve(
        environ={
            "AIBOS_CAPTURE_EXCEPTIONS": "off",
            "AIBOS_CAPTURE_WARNINGS": "0",
            "AIBOS_FLUSH_ON_SIGTERM": "no",
        }
    )
    assert (switched.capture_exceptions, switched.capture_warnings, switched.flush_on_sigterm) == (False,) * 3
    assert resolve(environ={}).capture_exceptions is True


class PoisonExporter(SlowExporter):
    """Refuses every batch that holds record 13, accepts the rest (a malformed batch)."""

    def export(self, batch: Sequence[ReadableLogRecord]) -> LogRecordExportResult:
        if any(r.log_record.attributes["rid"] == 13 for r in batch):  # type: ignore[index]
            self.calls += 1
            return LogRecordExportResult.FAILURE
        return super().export(batch)


def test_a_batch_refused_while_others_pass_is_struck_out_and_does_not_block(tmp_path: Path) -> None:
    metrics = SelfMetrics()
    spool = Spool(tmp_path, metrics=metrics)
    spool.store([_record(13, SeverityNumber.ERROR)])  # oldest: first in line
    for rid in range(3):
        spool.store([_record(rid, SeverityNumber.INFO)])
    exporter = PoisonExporter(0.0)
    processor = DeliveryProcessor(
        exporter,
        name="unit",
        metrics=metrics,
        max_batch=10,
        spool=spool,
        retry_interval=0.05,
        schedule_delay=0.05,
    )
    try:
        deadline = time.monotonic() + 10
        while list(tmp_path.iterdir()) and time.monotonic() < deadline:
            processor.enqueue(_record(100, SeverityNumber.INFO), 2)  # live traffic keeps flowing
            time.sleep(0.05)
        assert list(tmp_path.iterdir()) == []
        delivered = {rid for batch in exporter.batches for rid in batch}
        assert {0, 1, 2} <= delivered
        assert 13 not in delivered
        assert metrics.dropped_by_severity("spool_rejected") == {"error": 1}
    finally:
        processor.shutdown_within(1)
