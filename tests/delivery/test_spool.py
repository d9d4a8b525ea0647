"""The spool on its own: faithful round trip, eviction order, claims, crash recovery."""

from __future__ import annotations

import os
from pathlib import Path

from opentelemetry._logs import LogRecord, SeverityNumber
from opentelemetry.sdk._logs import ReadableLogRecord
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags, set_span_in_context

from aibos_otel.sdk.self_metrics import SelfMetrics
from aibos_otel.sdk.spool import Spool

RESOURCE = Resource({"service.name": "spool-test", "deployment.environment.name": "production"})
SCOPE = InstrumentationScope("shop.orders", "1.2")


def _record(rid: int, severity: SeverityNumber, text: str = "x", trace_id: int = 0) -> ReadableLogRecord:
    context = None
    if trace_id:
        span = NonRecordingSpan(SpanContext(trace_id, 0xABCDEF, is_remote=True, trace_flags=TraceFlags(1)))
        context = set_span_in_context(span)
    record = LogRecord(
        timestamp=1_700_000_000_000_000_000 + rid,
        observed_timestamp=1_700_000_000_000_000_001 + rid,
        context=context,
        severity_number=severity,
        severity_text=severity.name,
        body=f"{text} {rid}",
        attributes={"rid": rid, "user": "bob", "ratio": 0.5, "ok": True, "tags": ("a", "b")},
    )
    return ReadableLogRecord(record, resource=RESOURCE, instrumentation_scope=SCOPE)


def test_round_trip_keeps_every_field(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    original = _record(1, SeverityNumber.ERROR, trace_id=0x1234567890ABCDEF1234567890ABCDEF)
    assert spool.store([original])
    batch = spool.claim_oldest()
    assert batch is not None
    (restored,) = batch.records
    for field in ("timestamp", "observed_timestamp", "severity_number", "severity_text", "body"):
        assert getattr(restored.log_record, field) == getattr(original.log_record, field)
    assert restored.log_record.trace_id == original.log_record.trace_id
    assert restored.log_record.span_id == 0xABCDEF
    assert int(restored.log_record.trace_flags) == 1
    attributes = dict(restored.log_record.attributes or {})
    assert attributes == {"rid": 1, "user": "bob", "ratio": 0.5, "ok": True, "tags": ["a", "b"]}
    assert dict(restored.resource.attributes) == dict(RESOURCE.attributes)
    assert restored.instrumentation_scope is not None
    assert (restored.instrumentation_scope.name, restored.instrumentation_scope.version) == (
        "shop.orders",
        "1.2",
    )
    spool.acknowledge(batch)
    assert spool.claim_oldest() is None
    assert list(tmp_path.iterdir()) == []


def test_cap_evicts_lowest_severity_oldest_first_and_counts_it(tmp_path: Path) -> None:
    metrics = SelfMetrics()
    probe = Spool(tmp_path / "probe")
    probe.store([_record(0, SeverityNumber.DEBUG, "y" * 200)])
    one_file = sum(p.stat().st_size for p in (tmp_path / "probe").iterdir())
    spool = Spool(tmp_path / "capped", max_bytes=int(one_file * 3.5), metrics=metrics)
    spool.store([_record(1, SeverityNumber.DEBUG, "y" * 200)])
    spool.store([_record(2, SeverityNumber.ERROR, "y" * 200)])
    spool.store([_record(3, SeverityNumber.DEBUG, "y" * 200)])
    spool.store([_record(4, SeverityNumber.INFO, "y" * 200)])  # over the cap: oldest DEBUG goes
    spool.store([_record(5, SeverityNumber.FATAL, "y" * 200)])  # again: the other DEBUG goes
    left = []
    while (batch := spool.claim_oldest()) is not None:
        left.extend(r.log_record.attributes["rid"] for r in batch.records)  # type: ignore[index]
        spool.acknowledge(batch)
    assert left == [2, 4, 5]
    assert metrics.dropped_by_severity("spool_full") == {"debug": 2}


def test_a_batch_is_split_by_severity(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    spool.store([_record(i, s) for i, s in enumerate([SeverityNumber.INFO, SeverityNumber.ERROR] * 3)])
    names = sorted(p.name for p in tmp_path.iterdir())
    assert [n.split(".")[1:3] for n in names] == [["s2", "n3"], ["s4", "n3"]]
    assert spool.pending() == 6


def test_a_claimed_file_is_invisible_to_another_process_and_released_on_failure(tmp_path: Path) -> None:
    first, second = Spool(tmp_path), Spool(tmp_path)
    first.store([_record(1, SeverityNumber.INFO)])
    batch = first.claim_oldest()
    assert batch is not None
    assert second.claim_oldest() is None  # claimed: never sent twice by two processes
    first.release(batch)
    again = second.claim_oldest()
    assert again is not None
    assert [r.log_record.attributes["rid"] for r in again.records] == [1]  # type: ignore[index]


def test_claims_of_dead_processes_and_partial_writes_are_recovered(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    spool.store([_record(1, SeverityNumber.WARN)])
    (waiting,) = list(tmp_path.iterdir())
    dead_pid = 2**22 + 12345  # above the default pid_max: no such process
    waiting.rename(waiting.with_name(f"{waiting.name}.claimed-{dead_pid}"))
    (tmp_path / "123-1-1.s2.n1.otlp.tmp").write_bytes(b"half")
    live = tmp_path / f"9-{os.getpid()}-9.s3.n1.otlp.claimed-1"  # pid 1 is alive: left alone
    live.write_bytes(b"")
    reopened = Spool(tmp_path)
    assert reopened.pending() == 1
    assert not (tmp_path / "123-1-1.s2.n1.otlp.tmp").exists()
    assert live.exists()


def test_a_failed_write_is_counted_once_and_the_written_part_is_not(tmp_path: Path) -> None:
    metrics = SelfMetrics()
    spool = Spool(tmp_path / "spool", metrics=metrics)
    real_write = Spool._write

    def fail_for_errors(path: Path, payload: bytes) -> None:
        if ".s4." in path.name:
            raise OSError(28, "No space left on device")
        real_write(path, payload)

    spool._write = fail_for_errors  # type: ignore[method-assign]
    answered = spool.store([_record(1, SeverityNumber.INFO), _record(2, SeverityNumber.ERROR)])
    assert answered  # the spool accounted for both: the caller must not count them again
    assert metrics.dropped_by_severity() == {"error": 1}
    assert spool.pending() == 1
