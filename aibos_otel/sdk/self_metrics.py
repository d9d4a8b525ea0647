"""The SDK's own metrics: what was logged, dropped, and how long the pipeline took.

The hot path only bumps integers under a lock; OpenTelemetry *observable* counters read them at
collection time. That keeps a log call's metric cost to a fraction of a microsecond instead of
the few microseconds a synchronous ``Counter.add`` with attributes costs. The pipeline
duration histogram is recorded for one record in :data:`DURATION_SAMPLE_EVERY` (a sampled
histogram has the same shape; its count is the sample count).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import TYPE_CHECKING

from aibos_otel.sdk.levels import SEVERITY_CLASSES

if TYPE_CHECKING:
    from opentelemetry.metrics import CallbackOptions, MeterProvider, Observation

DURATION_SAMPLE_EVERY = 16
_DURATION_BUCKETS_S = [1e-6, 2.5e-6, 5e-6, 1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 1e-3, 1e-2]


class SelfMetrics:
    """Counters for records, drops, export failures and redactions; exported as OTel metrics."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.records = [0] * len(SEVERITY_CLASSES)
        # (reason, severity class index) -> count; reasons: queue_full, shutdown, export_failed, redaction
        self.dropped: dict[tuple[str, int], int] = {}
        self.export_failures: dict[str, int] = {}
        # (signal, reason) -> count, from every OTLP exporter of the process (sdk/export_failures.py)
        self.failed_exports: dict[tuple[str, str], int] = {}
        self.alert_fallbacks = 0
        self.redaction_failures = 0
        self.handler_errors = 0
        self._duration_histogram: object | None = None
        self._sample = DURATION_SAMPLE_EVERY - 1  # the first record is always sampled

    # -- hot path -------------------------------------------------------------------------------
    def count_record(self, severity_class: int) -> bool:
        """Count one record; returns True when this record's duration should be sampled."""
        with self._lock:
            self.records[severity_class] += 1
            self._sample += 1
            if self._sample >= DURATION_SAMPLE_EVERY:
                self._sample = 0
                return self._duration_histogram is not None
        return False

    def record_duration(self, seconds: float) -> None:
        """Record one sampled pipeline duration."""
        histogram = self._duration_histogram
        if histogram is not None:
            histogram.record(seconds)  # type: ignore[attr-defined]

    def count_dropped(self, reason: str, severity_class: int, count: int = 1) -> None:
        """Count records that will never be exported, by reason and severity."""
        with self._lock:
            key = (reason, severity_class)
            self.dropped[key] = self.dropped.get(key, 0) + count

    def count_export_failure(self, exporter: str) -> None:
        """Count one failed export call of ``exporter``."""
        with self._lock:
            self.export_failures[exporter] = self.export_failures.get(exporter, 0) + 1

    def count_export_failed(self, signal: str, reason: str) -> None:
        """Count one final export failure of any OTLP exporter (logs, spans, metrics), by reason."""
        with self._lock:
            key = (signal, reason)
            self.failed_exports[key] = self.failed_exports.get(key, 0) + 1

    def count_alert_fallback(self) -> None:
        """Count one invalid ``alert`` annotation that fell back to severity ``warning``."""
        with self._lock:
            self.alert_fallbacks += 1

    def count_redaction_failure(self) -> None:
        """Count one record whose redaction failed and that was masked whole (fail closed)."""
        with self._lock:
            self.redaction_failures += 1

    def count_handler_error(self) -> None:
        """Count one record the logging handler could not format or translate."""
        with self._lock:
            self.handler_errors += 1

    # -- reading --------------------------------------------------------------------------------
    def dropped_by_severity(self, reason: str | None = None) -> dict[str, int]:
        """Drops summed per severity name (optionally for one reason)."""
        with self._lock:
            out: dict[str, int] = {}
            for (why, cls), count in self.dropped.items():
                if reason is None or why == reason:
                    name = SEVERITY_CLASSES[cls]
                    out[name] = out.get(name, 0) + count
            return out

    def snapshot(self) -> dict[str, object]:
        """A plain-data copy of every counter (for tests, the demo and debugging)."""
        with self._lock:
            return {
                "records": dict(zip(SEVERITY_CLASSES, self.records, strict=True)),
                "dropped": {f"{r}/{SEVERITY_CLASSES[c]}": n for (r, c), n in self.dropped.items()},
                "export_failures": dict(self.export_failures),
                "failed_exports": {f"{s}/{r}": n for (s, r), n in self.failed_exports.items()},
                "alert_fallbacks": self.alert_fallbacks,
                "redaction_failures": self.redaction_failures,
                "handler_errors": self.handler_errors,
            }

    # -- OTel instruments -----------------------------------------------------------------------
    def register(self, meter_provider: MeterProvider) -> None:
        """Create the OTel instruments on ``meter_provider`` (observable ones read the counters)."""
        meter = meter_provider.get_meter("aibos_otel.sdk")
        meter.create_observable_counter(
            "aibos.logs.records",
            callbacks=[self._observe_records],
            unit="{record}",
            description="Log records that entered the aibos pipeline, by severity.",
        )
        meter.create_observable_counter(
            "aibos.logs.dropped",
            callbacks=[self._observe_dropped],
            unit="{record}",
            description="Log records that will not be exported, by severity and reason "
            "(queue_full, shutdown, export_failed, redaction).",
        )
        meter.create_observable_counter(
            "aibos.logs.export.failures",
            callbacks=[self._observe_export_failures],
            unit="{call}",
            description="Failed export calls, by exporter.",
        )
        meter.create_observable_counter(
            "aibos.export.failures",
            callbacks=[self._observe_failed_exports],
            unit="{call}",
            description="Failed export calls of every OTLP exporter of the process, by signal "
            "(logs, spans, metrics) and reason (unimplemented, unavailable, http_404, timeout, ...).",
        )
        meter.create_observable_counter(
            "aibos.logs.alert.fallbacks",
            callbacks=[self._observe_alert_fallbacks],
            unit="{record}",
            description="Records whose alert annotation was invalid and fell back to warning.",
        )
        meter.create_observable_counter(
            "aibos.logs.handler.errors",
            callbacks=[self._observe_handler_errors],
            unit="{record}",
            description="Records the logging handler could not format (exported unformatted) "
            "or translate (not exported).",
        )
        self._duration_histogram = meter.create_histogram(
            "aibos.logs.pipeline.duration",
            unit="s",
            description=f"Time a record spends in the aibos pipeline (1 in {DURATION_SAMPLE_EVERY} sampled).",
            explicit_bucket_boundaries_advisory=_DURATION_BUCKETS_S,
        )

    def _observe_records(self, options: CallbackOptions) -> Iterable[Observation]:
        from opentelemetry.metrics import Observation

        with self._lock:
            counts = list(self.records)
        return [Observation(n, {"level": SEVERITY_CLASSES[i]}) for i, n in enumerate(counts)]

    def _observe_dropped(self, options: CallbackOptions) -> Iterable[Observation]:
        from opentelemetry.metrics import Observation

        with self._lock:
            items = list(self.dropped.items())
        return [Observation(n, {"level": SEVERITY_CLASSES[c], "reason": r}) for (r, c), n in items]

    def _observe_export_failures(self, options: CallbackOptions) -> Iterable[Observation]:
        from opentelemetry.metrics import Observation

        with self._lock:
            items = list(self.export_failures.items())
        return [Observation(n, {"exporter": name}) for name, n in items]

    def _observe_failed_exports(self, options: CallbackOptions) -> Iterable[Observation]:
        from opentelemetry.metrics import Observation

        with self._lock:
            items = list(self.failed_exports.items())
        return [Observation(n, {"signal": s, "reason": r}) for (s, r), n in items]

    def _observe_alert_fallbacks(self, options: CallbackOptions) -> Iterable[Observation]:
        from opentelemetry.metrics import Observation

        return [Observation(self.alert_fallbacks)]

    def _observe_handler_errors(self, options: CallbackOptions) -> Iterable[Observation]:
        from opentelemetry.metrics import Observation

        return [Observation(self.handler_errors)]
