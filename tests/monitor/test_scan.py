"""The Rust scan and the Python scan give one answer, and so does everything derived from them.

Requests are random: several resources and scopes, every severity (including 0 and numbers
past FATAL, whose level comes from the text), missing and future timestamps, ids of invalid
length, and attributes with ``alert.*`` and ``exception.*`` keys among others.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord
from prometheus_client import generate_latest

from aibos_otel.monitor.metrics import BatchCounts
from aibos_otel.monitor.receive import scan as scan_module
from aibos_otel.monitor.receive.ingest import _scan_attributes
from aibos_otel.monitor.receive.scan import native_available, scan_logs
from aibos_otel.monitor.server import Monitor
from aibos_otel.monitor.settings import MonitorSettings

RECEIVE_NS = 1_800_000_000 * 10**9
needs_native = pytest.mark.skipif(not native_available(), reason="aibos_otel_native is not built")

_keys = st.sampled_from(
    [
        "http.route",
        "user.id",
        "alert.severity",
        "alert.channels",
        "alerting",
        "exception.type",
        "exception.message",
        "exception.stacktrace",
        "exceptional",
        "a",
        "e",
        "",
    ]
)
_values = st.one_of(
    st.text(max_size=12).map(lambda s: AnyValue(string_value=s)),
    st.integers(-5, 5).map(lambda i: AnyValue(int_value=i)),
    st.booleans().map(lambda b: AnyValue(bool_value=b)),
)
_records = st.builds(
    lambda sev, text, t, observed, trace_len, span_len, attrs, body: LogRecord(
        severity_number=sev,  # type: ignore[arg-type]
        severity_text=text,
        time_unix_nano=t,
        observed_time_unix_nano=observed,
        trace_id=bytes(range(trace_len)),
        span_id=bytes(range(span_len)),
        attributes=[KeyValue(key=k, value=v) for k, v in attrs],
        body=AnyValue(string_value=body),
    ),
    st.sampled_from([0, 1, 5, 9, 12, 13, 16, 17, 20, 21, 24, 25, 30]),
    st.sampled_from(["", "INFO", "warning", "ERROR", "critical", "nonsense"]),
    st.sampled_from([0, 1, RECEIVE_NS - 3 * 10**6, RECEIVE_NS - 2 * 10**9, RECEIVE_NS, RECEIVE_NS + 10**9]),
    st.sampled_from([0, RECEIVE_NS - 10**9]),
    st.sampled_from([0, 16, 16, 16, 15, 17]),
    st.sampled_from([0, 8, 8, 8, 4]),
    st.lists(st.tuples(_keys, _values), max_size=4),
    st.sampled_from(["request handled", "payment failed", "timeout talking to db"]),
)
_scopes = st.lists(_records, max_size=12)
_resources = st.lists(
    st.tuples(st.sampled_from(["checkout", "billing", ""]), st.lists(_scopes, min_size=1, max_size=3)),
    max_size=3,
)


def build(resources: list[tuple[str, list[list[LogRecord]]]]) -> ExportLogsServiceRequest:
    request = ExportLogsServiceRequest()
    for service, scopes in resources:
        rl = request.resource_logs.add()
        if service:
            rl.resource.attributes.append(KeyValue(key="service.name", value=AnyValue(string_value=service)))
        for records in scopes:
            rl.scope_logs.add().log_records.extend(records)
    return request


def has_key(record: LogRecord, prefix: str) -> bool:
    return any(kv.key.startswith(prefix) for kv in record.attributes)


@needs_native
@settings(max_examples=300, deadline=None)
@given(_resources)
def test_native_scan_equals_python_scan(resources: list[tuple[str, list[list[LogRecord]]]]) -> None:
    request = build(resources)
    raw = request.SerializeToString()
    native_counts, python_counts = BatchCounts(), BatchCounts()
    native = scan_logs(request, raw, RECEIVE_NS, native_counts)
    python = scan_logs(request, raw, RECEIVE_NS, python_counts, use_native=False)
    assert [(s.resource, s.scope, s.by_severity, s.rejected) for s in native] == [
        (s.resource, s.scope, s.by_severity, s.rejected) for s in python
    ]
    assert native_counts.latency_buckets == python_counts.latency_buckets
    assert native_counts.latency_sum_ns == python_counts.latency_sum_ns
    for scan in native:
        records = request.resource_logs[scan.resource].scope_logs[scan.scope].log_records
        valid = sorted(i for indices in scan.by_severity.values() for i in indices)
        assert scan.alerts == [i for i in valid if has_key(records[i], "alert.")]
        assert scan.exceptions is not None
        assert list(scan.exceptions) == [i for i in valid if has_key(records[i], "exception.")]
        for i, texts in scan.exceptions.items():
            exc, _ = _scan_attributes(records[i].attributes)
            assert exc is not None
            plain = all(
                kv.value.WhichOneof("value") == "string_value"
                for kv in records[i].attributes
                if kv.key in {f"exception.{n}" for n in ("type", "message", "stacktrace", "fingerprint")}
            )
            if plain:
                assert texts == (exc.type, exc.message, exc.stacktrace, exc.fingerprint)
            else:
                assert texts is None


def derived(monitor: Monitor) -> dict[str, Any]:
    groups = [
        {k: g[k] for k in ("fingerprint", "count", "first_seen_ns", "last_seen_ns", "services", "message")}
        for g in monitor.store.error_groups(limit=1000)
    ]
    alerts = sorted((a.rule, a.state, sorted(a.labels.items()), a.value) for a in monitor.alerts.snapshot())
    metrics = generate_latest(monitor.metrics_registry).decode()
    return {"groups": sorted(groups, key=lambda g: g["fingerprint"]), "alerts": alerts, "metrics": metrics}


@needs_native
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_resources, min_size=1, max_size=3))
def test_ingest_derives_the_same_with_either_scan(
    batches: list[list[tuple[str, list[list[LogRecord]]]]],
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        monitors = []
        for name, native in (("native", True), ("python", False)):
            monitor = Monitor(MonitorSettings(data_dir=Path(tmp) / name))
            monitor.ingestor.native_scan = native
            monitor.ingestor.clock = lambda: RECEIVE_NS
            monitors.append(monitor)
        try:
            for resources in batches:
                request = build(resources)
                raw = request.SerializeToString()
                results = [m.ingestor.ingest_logs(request, raw) for m in monitors]
                assert results[0] == results[1]
            assert derived(monitors[0]) == derived(monitors[1])
        finally:
            for monitor in monitors:
                monitor.store.close()


def test_native_scan_error_falls_back_to_python(monkeypatch: pytest.MonkeyPatch) -> None:
    """Bytes that upb accepted but the native scan refuses are scanned in Python, not lost."""
    request = build([("checkout", [[LogRecord(severity_number=17, time_unix_nano=RECEIVE_NS - 10**9)]])])  # type: ignore[arg-type]

    class Refusing:
        @staticmethod
        def scan_logs(raw: bytes, receive_ns: int, bounds: list[int]) -> Any:
            raise ValueError("not an ExportLogsServiceRequest: test")

    monkeypatch.setattr(scan_module, "_native", Refusing)
    counts = BatchCounts()
    (scan,) = scan_logs(request, request.SerializeToString(), RECEIVE_NS, counts)
    assert scan.by_severity == {17: [0]} and scan.exceptions is None
    assert sum(counts.latency_buckets) == 1


def test_native_scan_is_built_where_ci_runs() -> None:
    """CI builds the extension (scripts/setup.sh); without this the tests above would skip."""
    if not os.environ.get("CI"):
        pytest.skip("only required on CI")
    assert native_available()
