"""Which records of a logs request need a Python step of their own; everything else is counted.

Most records are INFO lines that feed no rule, carry no exception and no alert: the ingest path
only counts them (by severity) and adds their latency to the histogram. :func:`scan_logs` does
that over whole scopes and returns, per scope, the record indices grouped by severity number
plus the records with ``alert.*`` or ``exception.*`` attributes, so the ingest path touches
only the few records that matter.

Two implementations give the same answer:

- ``aibos_otel_native.scan_logs`` (the optional ``native/`` Rust extension) walks the request's
  protobuf bytes once, after upb has decoded and so validated them; it also tells which
  records carry ``alert.*`` attributes and hands over the ``exception.*`` strings.
- The pure-Python scan below uses C-level passes (``map`` over attribute getters) over the
  decoded message. It cannot afford to look at attributes, so it reports them as unknown
  (``None``) and the ingest path scans the attributes of every record it steps through.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import compress
from operator import attrgetter
from types import ModuleType

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord

from aibos_otel.monitor.metrics import LATENCY_BOUNDS_NS, BatchCounts

_native: ModuleType | None
try:
    import aibos_otel_native as _native
except ImportError:  # not built on this machine: the pure-Python scan serves
    _native = None

log = logging.getLogger(__name__)

_SEVERITY = attrgetter("severity_number")
_TIME = attrgetter("time_unix_nano")
_OBSERVED_TIME = attrgetter("observed_time_unix_nano")
_TRACE_ID = attrgetter("trace_id")
_SPAN_ID = attrgetter("span_id")
_TRACE_ID_LENGTHS = frozenset((0, 16))
_SPAN_ID_LENGTHS = frozenset((0, 8))
_BOUNDS = list(LATENCY_BOUNDS_NS)


ExceptionTexts = tuple[str, str, str, str]


@dataclass(slots=True)
class ScopeScan:
    """One ``ScopeLogs`` of the request: ``request.resource_logs[resource].scope_logs[scope]``."""

    resource: int
    scope: int
    by_severity: dict[int, list[int]]
    """Severity number -> indices of its records (valid ids only), in order."""
    alerts: list[int] | None
    """Indices of records with ``alert.*`` attributes; ``None``: not known, any record may."""
    exceptions: dict[int, ExceptionTexts | None] | None
    """Index of each record with ``exception.*`` attributes -> its ``exception.type``, ``.message``,
    ``.stacktrace`` and ``.fingerprint`` ("" when absent), or ``None`` when one of them is not a
    plain string (the ingest path then reads the attributes itself); ``None``: not known."""
    rejected: int
    """Records left out because their trace or span id has an invalid length."""


def native_available() -> bool:
    """Whether the Rust scan is installed (``aibos_otel_native``)."""
    return _native is not None


def scan_logs(
    request: ExportLogsServiceRequest,
    raw: bytes | None,
    receive_ns: int,
    counts: BatchCounts,
    *,
    use_native: bool = True,
) -> list[ScopeScan]:
    """Scan a decoded request (``raw``: its protobuf bytes, when known); adds latencies to ``counts``."""
    if use_native and _native is not None and raw is not None:
        try:
            scopes, buckets, latency_sum = _native.scan_logs(raw, receive_ns, _BOUNDS)
        except ValueError:
            # upb accepted these bytes, so this is a bug in the native scan: say so, and serve
            log.exception("native OTLP scan failed; using the Python scan for this batch")
        else:
            for i, n in enumerate(buckets):
                counts.latency_buckets[i] += n
            counts.latency_sum_ns += latency_sum
            return [ScopeScan(*scope) for scope in scopes]
    return _scan_python(request, raw, receive_ns, counts)


def _scan_python(
    request: ExportLogsServiceRequest, raw: bytes | None, receive_ns: int, counts: BatchCounts
) -> list[ScopeScan]:
    # Without the raw bytes nothing is known about alert attributes; with them, a batch that does
    # not contain ``alert.`` anywhere has none.
    alerts: list[int] | None = None if raw is None or b"alert." in raw else []
    out: list[ScopeScan] = []
    for r, rl in enumerate(request.resource_logs):
        for s, sl in enumerate(rl.scope_logs):
            records: Sequence[LogRecord] = list(sl.log_records)
            indices: Sequence[int] = range(len(records))
            rejected = 0
            if not _all_ids_valid(records):
                indices = [i for i, lr in enumerate(records) if _ids_valid(lr)]
                rejected = len(records) - len(indices)
                records = [records[i] for i in indices]
            severities = list(map(_SEVERITY, records))
            times = list(map(_TIME, records))
            if 0 in times:
                observed = map(_OBSERVED_TIME, records)
                times = [t or o for t, o in zip(times, observed, strict=True)]
            counts.observe_times(times, receive_ns)
            by_severity = {
                sev: list(compress(indices, map(sev.__eq__, severities))) for sev in sorted(set(severities))
            }
            out.append(ScopeScan(r, s, by_severity, alerts, None, rejected))
    return out


def _all_ids_valid(records: Sequence[LogRecord]) -> bool:
    """Whether every record's trace and span ids have a valid length (checked in C-level passes)."""
    return (
        set(map(len, map(_TRACE_ID, records))) <= _TRACE_ID_LENGTHS
        and set(map(len, map(_SPAN_ID, records))) <= _SPAN_ID_LENGTHS
    )


def _ids_valid(record: LogRecord) -> bool:
    return len(record.trace_id) in _TRACE_ID_LENGTHS and len(record.span_id) in _SPAN_ID_LENGTHS
