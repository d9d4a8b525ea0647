"""The stdlib ``logging`` bridge: a handler that turns ``logging.LogRecord`` into OTel records.

Written here rather than using ``opentelemetry-instrumentation-logging``'s ``LoggingHandler``
because that handler maps TRACE (5) to UNSPECIFIED, keeps ``extra`` dicts as maps and objects
as ``None``, and records only the first argument of an exception as its message; fixing those
through its private ``_translate`` hook would still pay for its per-record work. This handler
does the one translation the pipeline needs and nothing else (it is also cheaper per call).
"""

from __future__ import annotations

import logging
import threading
import traceback
from typing import Any

from opentelemetry._logs import Logger as OTelLogger
from opentelemetry._logs import LogRecord, SeverityNumber
from opentelemetry.context import get_current
from opentelemetry.sdk._logs import LoggerProvider

from aibos_otel.sdk.attributes import flatten_into
from aibos_otel.sdk.levels import severity_for_level
from aibos_otel.sdk.pipeline import in_pipeline

# The fields every logging.LogRecord has; anything else in record.__dict__ came from extra=.
_STANDARD_FIELDS = frozenset(
    logging.LogRecord("", 0, "", 0, "", (), None).__dict__.keys()
    | {"message", "asctime", "taskName", "otelSpanID", "otelTraceID", "otelTraceSampled", "otelServiceName"}
)
# Loggers whose records are never exported over OTLP: the exporters' own failure messages
# would otherwise feed back into the queue that is failing to drain.
_NOT_EXPORTED_PREFIXES = ("opentelemetry.", "grpc.", "urllib3.connectionpool", "aibos_otel.sdk.")


_SEVERITIES = {n: SeverityNumber(n) for n in range(25)}


def exception_attributes(exc: BaseException) -> dict[str, Any]:
    """``exception.type/message/stacktrace`` per the OTel semantic conventions."""
    return {
        "exception.type": type(exc).__qualname__,
        "exception.message": str(exc),
        "exception.stacktrace": "".join(traceback.format_exception(exc)),
    }


class OTelBridgeHandler(logging.Handler):
    """A ``logging.Handler`` that emits each record through an OTel ``LoggerProvider``."""

    def __init__(self, logger_provider: LoggerProvider, level: int = logging.NOTSET) -> None:
        super().__init__(level)
        self._provider = logger_provider
        self._loggers: dict[str, OTelLogger] = {}
        self._loggers_lock = threading.Lock()

    def _otel_logger(self, name: str) -> OTelLogger:
        logger = self._loggers.get(name)
        if logger is not None:
            return logger
        with self._loggers_lock:
            return self._loggers.setdefault(name, self._provider.get_logger(name))

    def emit(self, record: logging.LogRecord) -> None:
        """Translate and emit; an invalid ``alert`` annotation in development is re-raised."""
        name = record.name
        if in_pipeline() or name.startswith(_NOT_EXPORTED_PREFIXES):
            return
        try:
            attributes: dict[str, Any] = {}
            extra_keys = record.__dict__.keys() - _STANDARD_FIELDS
            if extra_keys:
                values = record.__dict__
                for key in extra_keys:
                    flatten_into(attributes, key, values[key])
            exc_info = record.exc_info
            if exc_info and exc_info[1] is not None:
                attributes.update(exception_attributes(exc_info[1]))
            number, text = severity_for_level(record.levelno)
            event_name = attributes.get("event.name")
            otel_record = LogRecord(
                timestamp=int(record.created * 1e9),
                context=get_current(),
                severity_number=_SEVERITIES[number],
                severity_text=text,
                body=record.getMessage(),
                attributes=attributes,
                # an ``event.name`` extra also fills OTLP's own field (audit events set it), so
                # backends that index events see them; the attribute stays for attribute filters
                event_name=event_name if isinstance(event_name, str) and event_name else None,
            )
        except Exception:
            self.handleError(record)
            return
        logger = self._otel_logger(name)
        logger.emit(otel_record)  # may raise AlertAnnotationError in development: on purpose
