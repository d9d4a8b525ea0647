"""The disk spool: batches that could not be exported wait on disk and are re-sent later.

A batch is split by severity class and each part is written as one file holding an OTLP
``ExportLogsServiceRequest`` (the wire format, so nothing is lost in translation):

    <dir>/<time ns>-<pid>-<n>.s<severity 0-5>.n<records>[.a<strikes>].otlp   waiting
    <dir>/<same name>.claimed-<pid>                                          being re-sent by <pid>

Writes are atomic (temporary file, fsync, rename), so a crash or ``kill -9`` leaves either the
whole file or none. A re-send first *claims* a file by renaming it (atomic, so two processes of
one service sharing the directory never send the same file), and deletes it only after the
backend acknowledged the export: delivery is **at least once**. A record is sent twice only when
an acknowledgement is lost (the export timed out after the backend had accepted it) or the
process dies between the acknowledgement and the delete. Claims left by dead processes are
returned to the queue when a spool is opened.

A batch the backend keeps refusing while it accepts others (malformed, too large) would block
the spool for ever; each such refusal is a *strike* (kept in the file name), and a batch with
``MAX_STRIKES`` strikes is dropped and counted (reason ``spool_rejected``).

The directory is capped in bytes: past the cap, files are evicted lowest severity first and,
within a severity, oldest first; evicted records are counted as drops (reason ``spool_full``).
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import re
import threading
import time
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from opentelemetry._logs import LogRecord, SeverityNumber
from opentelemetry.context import Context
from opentelemetry.sdk._logs import ReadableLogRecord
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags, set_span_in_context

from aibos_otel.sdk.levels import SEVERITY_CLASSES, severity_class
from aibos_otel.sdk.self_metrics import SelfMetrics

_internal = logging.getLogger("aibos_otel.sdk.spool")
_NAME = re.compile(
    r"^(?P<stamp>\d+)-(?P<pid>\d+)-(?P<n>\d+)\.s(?P<sev>\d)\.n(?P<count>\d+)(?:\.a(?P<strikes>\d+))?\.otlp$"
)
MAX_STRIKES = 5
_RESCAN_SECONDS = 5.0
_CLAIMED = re.compile(r"^(?P<base>.+\.otlp)\.claimed-(?P<pid>\d+)$")


@dataclass(frozen=True)
class SpooledBatch:
    """One claimed spool file and the records it holds."""

    path: Path
    original: Path
    severity: int
    records: Sequence[ReadableLogRecord]
    size: int = 0
    strikes: int = 0
    count: int = 0


@dataclass(frozen=True)
class _Waiting:
    path: Path
    stamp: int
    severity: int
    count: int
    size: int
    strikes: int = 0


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


class Spool:
    """A size-capped directory of failed batches; thread-safe, shareable between processes."""

    def __init__(
        self,
        directory: str | os.PathLike[str],
        *,
        max_bytes: int = 256 * 1024 * 1024,
        metrics: SelfMetrics | None = None,
    ) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self._max_bytes = max_bytes
        self._metrics = metrics
        self._lock = threading.Lock()
        self._counter = itertools.count()
        # Directory scans are O(files): the cap check trusts a running estimate between scans,
        # and claims pop from the last scan's sorted list until it runs out.
        self._estimated_bytes = 0
        self._last_scan = 0.0
        self._to_claim: list[_Waiting] = []
        self._recover()
        # A child of fork() (pre-fork servers) must not inherit a lock held by a parent thread.
        weak_self = weakref.ref(self)

        def reset_in_child() -> None:
            spool = weak_self()
            if spool is not None:
                spool._lock = threading.Lock()
                spool._to_claim = []

        os.register_at_fork(after_in_child=reset_in_child)

    # -- writing --------------------------------------------------------------------------------
    def store(self, records: Sequence[ReadableLogRecord]) -> bool:
        """Write ``records`` to disk (one file per severity class).

        Returns True when the spool answers for every record: written, or (with ``metrics``)
        counted as a ``spool_failed`` drop. The caller counts the batch itself only on False,
        so no record is counted twice, nor counted lost while it waits on disk.
        """
        from opentelemetry.exporter.otlp.proto.common._log_encoder import encode_logs

        by_severity: dict[int, list[ReadableLogRecord]] = {}
        for record in records:
            number = record.log_record.severity_number
            severity = severity_class(
                number.value if number is not None else 0, record.log_record.severity_text
            )
            by_severity.setdefault(severity, []).append(record)
        all_written = True
        for severity, part in by_severity.items():
            payload = encode_logs(part).SerializeToString()
            name = f"{time.time_ns()}-{os.getpid()}-{next(self._counter)}.s{severity}.n{len(part)}.otlp"
            try:
                self._write(self.directory / name, payload)
                self._estimated_bytes += len(payload)
            except OSError as exc:
                _internal.error("aibos: cannot spool %d records to %s: %s", len(part), self.directory, exc)
                if self._metrics is not None:
                    self._metrics.count_dropped("spool_failed", severity, len(part))
                all_written = False
        self._enforce_cap()
        return all_written or self._metrics is not None

    @staticmethod
    def _write(path: Path, payload: bytes) -> None:
        partial = path.with_name(path.name + ".tmp")
        with open(partial, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(partial, path)

    def _enforce_cap(self) -> None:
        with self._lock:
            now = time.monotonic()
            # Other processes may share the directory: rescan at least every few seconds.
            if self._estimated_bytes <= self._max_bytes and now - self._last_scan < _RESCAN_SECONDS:
                return
            waiting = self._waiting()
            total = sum(item.size for item in waiting)
            self._estimated_bytes = total
            self._last_scan = now
            if total <= self._max_bytes:
                return
            # Lowest severity first, oldest first within it.
            for item in sorted(waiting, key=lambda w: (w.severity, w.stamp)):
                if total <= self._max_bytes:
                    break
                try:
                    item.path.unlink()
                except FileNotFoundError:  # claimed or evicted by another process meanwhile
                    continue
                total -= item.size
                self._estimated_bytes = total
                if self._metrics is not None:
                    self._metrics.count_dropped("spool_full", item.severity, item.count)
                _internal.warning(
                    "aibos: spool over %d bytes, evicted %d %s records",
                    self._max_bytes,
                    item.count,
                    SEVERITY_CLASSES[item.severity],
                )

    # -- reading --------------------------------------------------------------------------------
    def _waiting(self) -> list[_Waiting]:
        items = []
        for entry in os.scandir(self.directory):
            match = _NAME.match(entry.name)
            if match is None:
                continue
            try:
                size = entry.stat().st_size
            except FileNotFoundError:
                continue
            items.append(
                _Waiting(
                    Path(entry.path),
                    int(match["stamp"]),
                    int(match["sev"]),
                    int(match["count"]),
                    size,
                    int(match["strikes"] or 0),
                )
            )
        return items

    def pending(self) -> int:
        """Records waiting on disk (from the file names; claimed files not included)."""
        return sum(item.count for item in self._waiting())

    def claim_oldest(self) -> SpooledBatch | None:
        """Claim the oldest waiting file (most severe first among equals) and decode it."""
        with self._lock:
            if not self._to_claim:
                # Newest last, so that pop() takes the oldest.
                self._to_claim = sorted(self._waiting(), key=lambda w: (w.stamp, -w.severity), reverse=True)
        while True:
            with self._lock:
                if not self._to_claim:
                    return None
                item = self._to_claim.pop()
            claimed = item.path.with_name(f"{item.path.name}.claimed-{os.getpid()}")
            try:
                os.rename(item.path, claimed)
            except FileNotFoundError:  # claimed by another process, or evicted
                continue
            try:
                records = decode(claimed.read_bytes())
            except Exception:
                _internal.exception("aibos: unreadable spool file %s, removed", claimed)
                claimed.unlink(missing_ok=True)
                if self._metrics is not None:
                    self._metrics.count_dropped("spool_corrupt", item.severity, item.count)
                continue
            return SpooledBatch(
                claimed, item.path, item.severity, records, item.size, item.strikes, item.count
            )

    def acknowledge(self, batch: SpooledBatch) -> None:
        """The backend accepted the batch: delete it."""
        batch.path.unlink(missing_ok=True)
        with self._lock:
            self._estimated_bytes = max(0, self._estimated_bytes - batch.size)

    def release(self, batch: SpooledBatch, *, strike: bool = False) -> None:
        """The re-send failed: put the batch back in the queue.

        ``strike``: the backend refused this batch while it was accepting others. With
        :data:`MAX_STRIKES` strikes the batch is dropped and counted instead.
        """
        target = batch.original
        if strike:
            strikes = batch.strikes + 1
            if strikes >= MAX_STRIKES:
                batch.path.unlink(missing_ok=True)
                _internal.error(
                    "aibos: spooled batch %s refused %d times while the backend accepted others; dropped",
                    batch.original.name,
                    strikes,
                )
                if self._metrics is not None:
                    self._metrics.count_dropped("spool_rejected", batch.severity, batch.count)
                with self._lock:
                    self._estimated_bytes = max(0, self._estimated_bytes - batch.size)
                return
            base = re.sub(r"(\.a\d+)?\.otlp$", "", batch.original.name)
            target = batch.original.with_name(f"{base}.a{strikes}.otlp")
        with contextlib.suppress(FileNotFoundError):
            os.rename(batch.path, target)
        # The next claim moves on to the next file of the last scan (the released one comes back
        # at the next scan): a batch that cannot be sent never keeps the ones behind it waiting,
        # and the next probe of a possibly-down endpoint uses a different batch.

    def _recover(self) -> None:
        # Return claims of dead processes (and of an earlier process with our pid) to the queue;
        # remove half-written files.
        for entry in os.scandir(self.directory):
            if entry.name.endswith(".tmp"):
                Path(entry.path).unlink(missing_ok=True)
                continue
            match = _CLAIMED.match(entry.name)
            if match is None:
                continue
            pid = int(match["pid"])
            if pid == os.getpid() or not _pid_alive(pid):
                with contextlib.suppress(FileNotFoundError):
                    os.rename(entry.path, self.directory / match["base"])


# -- OTLP protobuf -> SDK records ---------------------------------------------------------------
def _value(any_value: Any) -> Any:
    kind = any_value.WhichOneof("value")
    if kind is None:
        return None
    if kind == "kvlist_value":
        return {kv.key: _value(kv.value) for kv in any_value.kvlist_value.values}
    if kind == "array_value":
        return [_value(v) for v in any_value.array_value.values]
    return getattr(any_value, kind)


def _attributes(pairs: Any) -> dict[str, Any]:
    return {kv.key: _value(kv.value) for kv in pairs}


def decode(payload: bytes) -> list[ReadableLogRecord]:
    """Turn a serialized ``ExportLogsServiceRequest`` back into SDK records for an exporter."""
    from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

    request = ExportLogsServiceRequest.FromString(payload)
    records: list[ReadableLogRecord] = []
    for resource_logs in request.resource_logs:
        resource = Resource(_attributes(resource_logs.resource.attributes), resource_logs.schema_url or None)
        for scope_logs in resource_logs.scope_logs:
            scope_pb = scope_logs.scope
            scope = InstrumentationScope(
                scope_pb.name,
                scope_pb.version or None,
                scope_logs.schema_url or None,
                _attributes(scope_pb.attributes) or None,
            )
            for pb in scope_logs.log_records:
                context = Context()
                if pb.trace_id and pb.span_id:
                    span_context = SpanContext(
                        int.from_bytes(pb.trace_id, "big"),
                        int.from_bytes(pb.span_id, "big"),
                        is_remote=True,
                        trace_flags=TraceFlags(pb.flags & 0xFF),
                    )
                    context = set_span_in_context(NonRecordingSpan(span_context))
                record = LogRecord(
                    timestamp=pb.time_unix_nano or None,
                    observed_timestamp=pb.observed_time_unix_nano or None,
                    context=context,
                    severity_text=pb.severity_text or None,
                    severity_number=SeverityNumber(pb.severity_number),
                    body=_value(pb.body) if pb.HasField("body") else None,
                    attributes=_attributes(pb.attributes),
                    event_name=pb.event_name or None,
                )
                records.append(ReadableLogRecord(record, resource=resource, instrumentation_scope=scope))
    return records
