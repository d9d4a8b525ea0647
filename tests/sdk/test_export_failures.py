"""ExportFailureReporter against the real OTLP/HTTP exporters and a real HTTP server on loopback."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from aibos_otel.sdk.export_failures import EXPORTER_LOGGERS, ExportFailureReporter
from aibos_otel.sdk.self_metrics import SelfMetrics
from tests.support.otlp_receiver import HttpReceiver


@pytest.fixture
def reporter() -> Iterator[tuple[ExportFailureReporter, SelfMetrics, io.StringIO]]:
    metrics, stream = SelfMetrics(), io.StringIO()
    reporter = ExportFailureReporter(
        metrics, endpoints={"spans": "http://collector.example:4318/v1/traces"}, interval=60, stream=stream
    )
    reporter.install()
    yield reporter, metrics, stream
    reporter.uninstall()


def test_http_404_is_counted_every_time_and_printed_once(
    reporter: tuple[ExportFailureReporter, SelfMetrics, io.StringIO],
) -> None:
    _, metrics, stream = reporter
    with HttpReceiver() as server:  # answers 404 on /v1/traces: it serves logs and metrics only
        exporter = OTLPSpanExporter(endpoint=f"{server.endpoint}/v1/traces", timeout=5)
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        for i in range(3):
            with provider.get_tracer("t").start_as_current_span(f"s{i}"):
                pass
        provider.shutdown()
    # OpenTelemetry's DuplicateFilter would have let one of the three records through.
    assert metrics.snapshot()["failed_exports"] == {"spans/http_404": 3}
    lines = stream.getvalue().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith(
        "aibos: spans export to http://collector.example:4318/v1/traces failed: HTTP 404"
    )
    assert "no spans pipeline" in lines[0]


def test_the_next_report_after_the_interval_says_how_many_it_stands_for() -> None:
    metrics, stream = SelfMetrics(), io.StringIO()
    reporter = ExportFailureReporter(metrics, interval=0.0, stream=stream)
    record = logging.LogRecord(
        EXPORTER_LOGGERS[0],
        logging.ERROR,
        __file__,
        1,
        "Failed to export %s to %s, error code: %s, error details: %s",
        ("traces", "gw:4317", "UNAVAILABLE", "down"),
        None,
    )
    assert reporter.filter(record) is True  # never drops a record
    reporter._interval = 3600
    reporter.filter(record)
    reporter.filter(record)
    reporter._interval = 0.0
    reporter.filter(record)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2
    assert "spans export to gw:4317 failed: UNAVAILABLE" in lines[1]
    assert "2 more failure(s) since the last report" in lines[1]
    assert metrics.snapshot()["failed_exports"] == {"spans/unavailable": 4}


def test_retries_and_other_messages_are_not_failures() -> None:
    metrics, stream = SelfMetrics(), io.StringIO()
    reporter = ExportFailureReporter(metrics, stream=stream)
    for msg, args in (
        (
            "Transient error %s encountered while exporting %s to %s, retrying in %.2fs.",
            ("X", "logs", "a", 1.0),
        ),
        ("Exporter already shutdown, ignoring batch", ()),
    ):
        reporter.filter(logging.LogRecord(EXPORTER_LOGGERS[0], logging.WARNING, __file__, 1, msg, args, None))
    assert metrics.snapshot()["failed_exports"] == {}
    assert stream.getvalue() == ""
