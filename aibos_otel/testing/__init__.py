"""Assert on your own logs in tests: ``capture_logs()`` and the ``aibos_logs`` pytest fixture.

    from aibos_otel.testing import capture_logs

    def test_checkout_logs_the_order() -> None:
        with capture_logs(service_name="checkout") as records:
            checkout(order_id=7)
        assert records[-1]["body"] == "order placed"
        assert records[-1]["attributes"]["order.id"] == 7

Each record is a plain dict taken as it leaves the aibos stages (bound context, error
fingerprint, alert annotation and redaction applied), exactly what the exporters are given.
Nothing is sent anywhere unless an ``endpoint`` is passed explicitly.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from opentelemetry.sdk._logs import LogRecordProcessor, ReadableLogRecord, ReadWriteLogRecord

from aibos_otel.sdk.settings import resolve
from aibos_otel.sdk.setup import STATE, start

__all__ = ["CapturedRecord", "capture_logs", "record_to_dict"]

CapturedRecord = dict[str, Any]
"""One captured record: ``body``, ``severity_text``, ``severity_number``, ``event_name``,
``logger``, ``attributes``, ``trace_id``/``span_id`` (hex, or None), ``timestamp`` (ns) and
``resource`` (its attributes)."""

# Process-wide hooks and outputs a test does not want unless it asks for them.
_QUIET: dict[str, Any] = {
    "console": False,
    "file_backup": False,
    "spool": False,
    "capture_exceptions": False,
    "capture_warnings": False,
    "flush_on_sigterm": False,
}


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def record_to_dict(record: ReadableLogRecord | ReadWriteLogRecord) -> CapturedRecord:
    """A record as a plain dict (a copy: later changes to the record do not show in it)."""
    log = record.log_record
    scope = record.instrumentation_scope
    resource = record.resource
    return {
        "body": log.body,
        "severity_text": log.severity_text,
        "severity_number": log.severity_number.value if log.severity_number is not None else 0,
        "event_name": log.event_name,
        "logger": scope.name if scope is not None else "",
        "attributes": {key: _plain(value) for key, value in (log.attributes or {}).items()},
        "trace_id": f"{log.trace_id:032x}" if log.trace_id else None,
        "span_id": f"{log.span_id:016x}" if log.span_id else None,
        "timestamp": log.timestamp or log.observed_timestamp,
        "resource": dict(resource.attributes) if resource is not None else {},
    }


class _Capture(LogRecordProcessor):
    """Runs beside the exporters, after every aibos stage: keeps each record as a dict."""

    def __init__(self, records: list[CapturedRecord]) -> None:
        self._records = records

    def on_emit(self, log_record: ReadWriteLogRecord) -> None:
        self._records.append(record_to_dict(log_record))

    def shutdown(self) -> None:
        pass

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


@contextmanager
def capture_logs(**setup_kwargs: Any) -> Iterator[list[CapturedRecord]]:
    """``aibos_otel.setup(**setup_kwargs)`` for the duration of the block; yields the records.

    The list fills as records are logged (the pipeline runs in the logging thread). Unless
    asked for, there is no console output, no file backup, no spool, no OTLP export (pass
    ``endpoint=`` to have one) and no process hooks (uncaught exceptions, warnings, SIGTERM).
    Redaction, levels and the environment preset apply as in ``setup()``, and so do the
    ``AIBOS_*``/``OTEL_*`` variables for everything not passed. The block replaces any earlier
    ``setup()``; on exit the capture pipeline is shut down and the root logger restored.
    """
    records: list[CapturedRecord] = []
    options = {**_QUIET, **setup_kwargs}
    metric_readers = options.pop("metric_readers", ())
    extra_processors = options.pop("extra_processors", ())
    settings = resolve(**options)
    if "endpoint" not in setup_kwargs:
        settings = dataclasses.replace(settings, endpoint=None)
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    start(settings, metric_readers=metric_readers, extra_processors=[*extra_processors, _Capture(records)])
    try:
        yield records
    finally:
        STATE.reset()
        root.handlers[:] = handlers
        root.setLevel(level)
