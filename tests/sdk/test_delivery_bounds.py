"""The delivery queue: severity-aware eviction, counted drops, non-blocking calls, bounded shutdown."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence

import pytest
from opentelemetry._logs import LogRecord, SeverityNumber
from opentelemetry.sdk._logs import ReadableLogRecord
from opentelemetry.sdk._logs.export import LogRecordExporter, LogRecordExportResult
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.resources import Resource

import aibos_otel
from aibos_otel.sdk.delivery import DeliveryProcessor
from aibos_otel.sdk.self_metrics import SelfMetrics
from tests.support.helpers import free_port


class GatedExporter(LogRecordExporter):
    """Blocks every export until released; records what it exported."""

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.entered = threading.Event()
        self.exported: list[str] = []

    def export(self, batch: Sequence[ReadableLogRecord]) -> LogRecordExportResult:
        self.entered.set()
        self.gate.wait(10)
        self.exported.extend(str(r.log_record.body) for r in batch)
        return LogRecordExportResult.SUCCESS

    def shutdown(self) -> None:
        self.gate.set()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


def _record(body: str, severity: SeverityNumber) -> ReadableLogRecord:
    return ReadableLogRecord(
        LogRecord(body=body, severity_number=severity, severity_text=severity.name), resource=Resource({})
    )


def test_full_queue_evicts_lowest_severity_first_and_counts_every_drop() -> None:
    exporter = GatedExporter()
    metrics = SelfMetrics()
    delivery = DeliveryProcessor(
        exporter, name="t", metrics=metrics, max_queue_records=20, max_batch=20, schedule_delay=30
    )
    try:
        for i in range(10):
            delivery.enqueue(_record(f"debug-{i}", SeverityNumber.DEBUG), 1)
        for i in range(5):
            delivery.enqueue(_record(f"info-{i}", SeverityNumber.INFO), 2)
        for i in range(12):
            assert delivery.enqueue(_record(f"error-{i}", SeverityNumber.ERROR), 4)
        # 27 offered into 20 places: the 7 oldest DEBUG records made room for errors.
        assert delivery.queued() == 20
        assert metrics.dropped_by_severity() == {"debug": 7}
        # An INFO record arriving now evicts the oldest DEBUG; a TRACE record is refused.
        assert delivery.enqueue(_record("info-late", SeverityNumber.INFO), 2)
        assert not delivery.enqueue(_record("trace-late", SeverityNumber.TRACE), 0)
        assert metrics.dropped_by_severity() == {"debug": 8, "trace": 1}
        exporter.gate.set()
        assert delivery.force_flush(5000)
    finally:
        delivery.shutdown_within(2)
    assert exporter.exported == [
        "debug-8",
        "debug-9",
        *[f"info-{i}" for i in range(5)],
        *[f"error-{i}" for i in range(12)],
        "info-late",
    ]


def test_byte_bound_also_evicts() -> None:
    exporter = GatedExporter()
    metrics = SelfMetrics()
    delivery = DeliveryProcessor(
        exporter, name="t", metrics=metrics, max_queue_records=1000, max_queue_bytes=10_000, schedule_delay=30
    )
    try:
        for i in range(20):
            delivery.enqueue(_record("x" * 1000 + str(i), SeverityNumber.INFO), 2)
        assert delivery.stats()["bytes"] <= 10_000
        assert metrics.dropped_by_severity("queue_full")["info"] == 20 - delivery.queued()
    finally:
        exporter.gate.set()
        delivery.shutdown_within(2)


def test_shutdown_returns_within_deadline_when_the_exporter_hangs() -> None:
    exporter = GatedExporter()
    exporter.shutdown = lambda: None  # type: ignore[method-assign]  # a shutdown that does not unblock
    metrics = SelfMetrics()
    delivery = DeliveryProcessor(exporter, name="t", metrics=metrics, max_batch=1, schedule_delay=0.01)
    for i in range(5):
        delivery.enqueue(_record(f"r{i}", SeverityNumber.ERROR), 4)
    assert exporter.entered.wait(30)  # the worker is now stuck in export
    start = time.monotonic()
    delivery.shutdown_within(0.5)
    # The exporter would hold it for 10 s: returning well before that is the deadline at work
    # (the slack is for a busy machine, not for the code).
    assert time.monotonic() - start < 5
    assert metrics.dropped_by_severity("shutdown") == {"error": 4}
    exporter.gate.set()


def test_receiver_down_neither_blocks_the_caller_nor_crashes_and_drops_are_metrics(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # One export attempt (with the exporter's retries) may take up to 6 s: a log call that waited
    # for one would take seconds, a log call that only queues takes microseconds.
    monkeypatch.setenv("AIBOS_EXPORT_TIMEOUT", "6")
    monkeypatch.setenv("AIBOS_SCHEDULE_DELAY", "0.05")
    reader = InMemoryMetricReader()
    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    handle = aibos_otel.setup(
        service_name="down", endpoint=dead, environment="staging", redaction=False, metric_readers=[reader]
    )
    log = logging.getLogger("tests.down")
    durations = []
    for i in range(300):
        start = time.perf_counter()
        log.error("record %d", i)
        durations.append(time.perf_counter() - start)
    assert not handle.force_flush(20_000)  # honest: the export failed
    start = time.monotonic()
    handle.shutdown(timeout=2)
    assert time.monotonic() - start < 5  # bounded, though an export attempt may still be running
    # A log call only queues: even the slowest of 300 stays below half of one export attempt.
    # (How fast a log call is belongs to benchmarks/sdk_overhead.py, not to this test.)
    assert max(durations) < 3
    dropped = handle.metrics.dropped_by_severity()
    assert dropped.get("error") == 300
    points = {
        (tuple(sorted(p.attributes.items())), p.value)
        for rm in reader.get_metrics_data().resource_metrics
        for sm in rm.scope_metrics
        for m in sm.metrics
        if m.name == "aibos.logs.dropped"
        for p in m.data.data_points
    }
    exported_drops = sum(v for attrs, v in points if dict(attrs)["level"] == "error")
    assert exported_drops == 300
    assert handle.metrics.export_failures["otlp"] >= 1


def test_fatal_and_alert_records_do_not_wait_for_the_batch_delay() -> None:
    exporter = GatedExporter()
    exporter.gate.set()
    delivery = DeliveryProcessor(exporter, name="t", metrics=SelfMetrics(), schedule_delay=30)
    try:
        delivery.enqueue(_record("info", SeverityNumber.INFO), 2)
        time.sleep(0.2)
        assert exporter.exported == []  # an ordinary record waits for the 30 s delay
        delivery.enqueue(_record("fatal", SeverityNumber.FATAL), 5, urgent=True)
        deadline = time.monotonic() + 2
        while len(exporter.exported) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert exporter.exported == ["info", "fatal"]  # sent at once, with what was queued
    finally:
        delivery.shutdown_within(2)


def test_on_emit_marks_fatal_and_alert_annotated_records_urgent() -> None:
    from opentelemetry.sdk._logs import ReadWriteLogRecord

    seen: list[bool] = []

    class Spy(DeliveryProcessor):
        # on_emit admits through _admit (enqueue's body, without the size estimate's call)
        def _admit(self, record: ReadableLogRecord, severity: int, size: int, urgent: bool) -> bool:
            seen.append(urgent)
            return True

    spy = Spy(GatedExporter(), name="spy", metrics=SelfMetrics())
    try:
        for severity, attributes in [
            (SeverityNumber.INFO, {"k": 1}),
            (SeverityNumber.FATAL, {}),
            (SeverityNumber.WARN, {"alert.severity": "critical"}),
            (SeverityNumber.ERROR, None),
        ]:
            api = LogRecord(body="x", severity_number=severity, attributes=attributes)
            spy.on_emit(ReadWriteLogRecord(api, resource=Resource({})))
    finally:
        spy.shutdown_within(1)
    assert seen == [False, True, True, False]


def test_force_flush_reports_a_failing_metrics_reader_instead_of_raising() -> None:
    from opentelemetry.sdk.metrics.export import MetricReader

    class BrokenReader(InMemoryMetricReader):
        def force_flush(self, timeout_millis: float = 10_000) -> bool:
            raise RuntimeError("collector said no")

    assert issubclass(BrokenReader, MetricReader)
    handle = aibos_otel.setup(
        service_name="broken-metrics",
        environment="development",
        console=False,
        redaction=False,
        metric_readers=[BrokenReader()],
    )
    logging.getLogger("tests.broken").info("still fine")
    assert handle.force_flush(2000) is False
    handle.shutdown(timeout=1)
