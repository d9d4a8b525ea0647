"""The pipeline processor: one LogRecordProcessor that runs the stages in a fixed order.

OpenTelemetry runs processors in registration order but gives a processor no way to drop a
record, and an exception in one reaches the application's logging call. So a single processor
owns the stages and the downstream (exporting) processors:

    context -> error fingerprint -> alert annotation -> redaction -> self-metrics -> downstream

Every stage but the alert check in development is shielded: a failing stage never reaches the
caller. A failing redaction masks the whole record (fail closed) before anything sees it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from opentelemetry._logs import LogRecord
from opentelemetry.sdk._logs import LogRecordProcessor, ReadWriteLogRecord
from opentelemetry.sdk.util.instrumentation import InstrumentationScope

from aibos_otel.fingerprint import fingerprint
from aibos_otel.sdk import alerts
from aibos_otel.sdk.context import bound_attributes_getter
from aibos_otel.sdk.levels import SEVERITY_TEXTS, severity_class
from aibos_otel.sdk.self_metrics import SelfMetrics

RecordStage = Callable[[LogRecord], None]
"""A stage that mutates an API ``LogRecord`` in place (every field but the scope)."""
ScopeStage = Callable[[InstrumentationScope], InstrumentationScope]
"""Returns the instrumentation scope a record is exported under (redacted)."""

REDACTION_FAILED = "[REDACTED:redaction-failed]"

_internal = logging.getLogger("aibos_otel.sdk.pipeline")
_bound_attributes = bound_attributes_getter()


class _PipelineFlag(threading.local):
    # A class default, so that reading the flag on a thread that never ran the pipeline is a
    # plain attribute read, not a getattr whose AttributeError is raised and swallowed.
    active = False


PIPELINE_FLAG = _PipelineFlag()
"""``PIPELINE_FLAG.active`` is True while this thread runs the pipeline (the bridge reads it
to avoid feedback loops; see :func:`in_pipeline`)."""
_in_pipeline = PIPELINE_FLAG


def in_pipeline() -> bool:
    """True while this thread runs the pipeline (the bridge uses it to avoid feedback loops)."""
    return _in_pipeline.active


def mask_whole_record(record: LogRecord) -> None:
    """Fail closed: replace the body, the event name, a severity text the SDK did not write,
    every attribute key and every non-numeric attribute value with markers."""
    record.body = REDACTION_FAILED
    if record.event_name:
        record.event_name = REDACTION_FAILED
    if record.severity_text and record.severity_text not in SEVERITY_TEXTS:
        record.severity_text = REDACTION_FAILED
    attributes: Any = record.attributes
    if attributes is None:
        return
    # Without the engine nothing can vouch for a key: keep the values (numbers only) in order.
    for index, key in enumerate(list(attributes)):
        value = attributes.pop(key)
        masked = value if isinstance(value, (bool, int, float)) else REDACTION_FAILED
        attributes[f"aibos.redaction.masked.{index}"] = masked


class PipelineProcessor(LogRecordProcessor):
    """Runs the aibos stages on every record, then hands it to the downstream processors."""

    def __init__(
        self,
        downstream: Sequence[LogRecordProcessor],
        *,
        metrics: SelfMetrics,
        redaction: RecordStage | None = None,
        scope_redaction: ScopeStage | None = None,
        strict_alerts: bool = False,
    ) -> None:
        self._downstream = tuple(downstream)
        self._metrics = metrics
        self._redaction = redaction
        self._scope_redaction = scope_redaction
        self._strict_alerts = strict_alerts

    def on_emit(self, log_record: ReadWriteLogRecord) -> None:
        start = time.perf_counter()
        record = log_record.log_record
        attributes: Any = record.attributes
        # Membership tests on BoundedAttributes go through the Mapping ABC (about 1 us each);
        # its backing dict answers the same question in tens of nanoseconds. Writes still go
        # through BoundedAttributes so its limits apply.
        keys = getattr(attributes, "_dict", attributes)
        _in_pipeline.active = True
        try:
            bound = _bound_attributes()
            if bound:  # the context stage inline: most records have no bound context
                self._context_stage(attributes, keys, bound)
            if "exception.type" in keys and "exception.fingerprint" not in keys:
                self._fingerprint_stage(attributes)
            if not keys.keys().isdisjoint(alerts.ALERT_KEYS):
                self._alert_stage(attributes)  # may raise AlertAnnotationError in development
            if self._redaction is not None:
                self._redaction_stage(log_record)
            number = record.severity_number.value if record.severity_number is not None else 0
            sampled = self._metrics.count_record(severity_class(number, record.severity_text))
            for processor in self._downstream:
                try:
                    processor.on_emit(log_record)
                except Exception:  # a broken exporter must not break the service's logging call
                    _internal.exception("aibos: downstream processor %r failed", processor)
            if sampled:
                self._metrics.record_duration(time.perf_counter() - start)
        finally:
            _in_pipeline.active = False

    @staticmethod
    def _context_stage(attributes: Any, keys: Any, bound: Mapping[str, Any]) -> None:
        for key, value in bound.items():
            if key not in keys:  # explicit ``extra=`` wins over bound context
                attributes[key] = value

    @staticmethod
    def _fingerprint_stage(attributes: Any) -> None:
        try:
            attributes["exception.fingerprint"] = fingerprint(
                str(attributes.get("exception.type", "")),
                str(attributes.get("exception.stacktrace", "")),
                str(attributes.get("exception.message", "")),
            )
        except Exception:
            _internal.exception("aibos: fingerprinting failed")

    def _alert_stage(self, attributes: Any) -> None:
        if alerts.annotate(attributes, strict=self._strict_alerts):
            self._metrics.count_alert_fallback()
            _internal.warning(
                "aibos: invalid alert annotation, fell back to warning: %s", attributes["alert.invalid"]
            )

    def _redaction_stage(self, log_record: ReadWriteLogRecord) -> None:
        assert self._redaction is not None
        record = log_record.log_record
        try:
            self._redaction(record)
            scope = log_record.instrumentation_scope
            if self._scope_redaction is not None and scope is not None:
                # The scope (logger name) is exported beside the record: redact it too.
                log_record.instrumentation_scope = self._scope_redaction(scope)
        except Exception:
            mask_whole_record(record)
            log_record.instrumentation_scope = InstrumentationScope(REDACTION_FAILED)
            self._metrics.count_redaction_failure()
            _internal.error("aibos: redaction failed; the record was masked whole")

    def shutdown(self) -> None:
        for processor in self._downstream:
            processor.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        deadline = time.monotonic() + timeout_millis / 1000
        ok = True
        for processor in self._downstream:
            remaining = max(0, int((deadline - time.monotonic()) * 1000))
            ok = processor.force_flush(remaining) and ok
        return ok
