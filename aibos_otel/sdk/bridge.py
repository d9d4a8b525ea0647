"""The stdlib ``logging`` bridge: a handler that turns ``logging.LogRecord`` into OTel records.

Written here rather than using ``opentelemetry-instrumentation-logging``'s ``LoggingHandler``
because that handler maps TRACE (5) to UNSPECIFIED, keeps ``extra`` dicts as maps and objects
as ``None``, and records only the first argument of an exception as its message; fixing those
through its private ``_translate`` hook would still pay for its per-record work. This handler
does the one translation the pipeline needs and nothing else (it is also cheaper per call).
"""

from __future__ import annotations

import logging
import sys
import threading
import traceback
from typing import Any

from opentelemetry._logs import Logger as OTelLogger
from opentelemetry._logs import LogRecord, SeverityNumber
from opentelemetry.context import get_current
from opentelemetry.sdk._logs import LoggerProvider

from aibos_otel.sdk import handler_errors
from aibos_otel.sdk.attributes import flatten_into
from aibos_otel.sdk.levels import severity_for_level
from aibos_otel.sdk.pipeline import PIPELINE_FLAG

# The fields every logging.LogRecord has; anything else in record.__dict__ came from extra=.
_STANDARD_FIELDS = frozenset(
    logging.LogRecord("", 0, "", 0, "", (), None).__dict__.keys()
    | {"message", "asctime", "taskName", "otelSpanID", "otelTraceID", "otelTraceSampled", "otelServiceName"}
)
# Loggers whose records are never exported over OTLP: the exporters' own failure messages
# would otherwise feed back into the queue that is failing to drain.
_NOT_EXPORTED_PREFIXES = ("opentelemetry.", "grpc.", "urllib3.connectionpool", "aibos_otel.sdk.")


_SEVERITIES = {n: SeverityNumber(n) for n in range(25)}
# severity_for_level's answer for the usual level numbers, with the enum member already looked up
# (one dict probe per record instead of two calls).
_BY_LEVEL = {n: (_SEVERITIES[num], text) for n in range(61) for num, text in (severity_for_level(n),)}


def exception_attributes(exc: BaseException) -> dict[str, Any]:
    """``exception.type/message/stacktrace`` per the OTel semantic conventions."""
    try:
        return {
            "exception.type": type(exc).__qualname__,
            "exception.message": str(exc),
            "exception.stacktrace": "".join(traceback.format_exception(exc)),
        }
    except Exception:  # an exception whose str() raises: keep the record, lose the text
        return {"exception.type": type(exc).__qualname__, "exception.message": handler_errors.UNRENDERABLE}


class OTelBridgeHandler(logging.Handler):
    """A ``logging.Handler`` that emits each record through an OTel ``LoggerProvider``.

    ``sanitise`` (the redaction engine's ``redact_text``) redacts the one line printed when a
    record cannot be handled; ``metrics`` counts those failures.
    """

    def __init__(
        self,
        logger_provider: LoggerProvider,
        level: int = logging.NOTSET,
        *,
        sanitise: handler_errors.Sanitise | None = None,
        metrics: handler_errors.ErrorCounter | None = None,
    ) -> None:
        super().__init__(level)
        self._provider = logger_provider
        self._loggers: dict[str, OTelLogger] = {}
        self._loggers_lock = threading.Lock()
        self._sanitise = sanitise
        self._metrics = metrics

    def _otel_logger(self, name: str) -> OTelLogger:
        logger = self._loggers.get(name)
        if logger is not None:
            return logger
        with self._loggers_lock:
            return self._loggers.setdefault(name, self._provider.get_logger(name))

    def emit(self, record: logging.LogRecord) -> None:
        """Translate and emit; an invalid ``alert`` annotation in development is re-raised."""
        name = record.name
        if PIPELINE_FLAG.active or name.startswith(_NOT_EXPORTED_PREFIXES):
            return
        try:
            attributes: dict[str, Any] = {}
            extra_keys = record.__dict__.keys() - _STANDARD_FIELDS
            if extra_keys:
                values = record.__dict__
                for key in extra_keys:
                    try:
                        flatten_into(attributes, key, values[key])
                    except Exception:  # a value whose str() raises must not cost the record
                        attributes[key] = handler_errors.UNRENDERABLE
            exc_info = record.exc_info
            if exc_info and exc_info[1] is not None:
                attributes.update(exception_attributes(exc_info[1]))
            severity = _BY_LEVEL.get(record.levelno)
            if severity is None:
                number, text = severity_for_level(record.levelno)
                severity = _SEVERITIES[number], text
            try:
                body = record.getMessage()
            except Exception as exc:
                # Template and arguments do not fit: export the template alone (redacted by the
                # pipeline like any body) and report without the arguments, never lose the record.
                body = handler_errors.unformatted_body(record)
                attributes[handler_errors.FORMAT_ERROR_KEY] = handler_errors.describe(exc, self._sanitise)
                self._report(record, exc, "exported with the unformatted message")
            event_name = attributes.get("event.name")
            otel_record = LogRecord(
                timestamp=int(record.created * 1e9),
                context=get_current(),
                severity_number=severity[0],
                severity_text=severity[1],
                body=body,
                attributes=attributes,
                # an ``event.name`` extra also fills OTLP's own field (audit events set it), so
                # backends that index events see them; the attribute stays for attribute filters
                event_name=event_name if isinstance(event_name, str) and event_name else None,
            )
        except Exception:
            self.handleError(record)
            return
        logger = self._loggers.get(name) or self._otel_logger(name)
        logger.emit(otel_record)  # may raise AlertAnnotationError in development: on purpose

    def handleError(self, record: logging.LogRecord) -> None:  # noqa: N802 - logging.Handler API
        """Report a record that could not be handled on one redacted line, and count it.

        Replaces stdlib's version, which prints the traceback and the record's arguments
        (where secrets are) to stderr.
        """
        self._report(record, sys.exc_info()[1], "the record was not exported")

    def _report(self, record: logging.LogRecord, exc: BaseException | None, outcome: str) -> None:
        handler_errors.report(record, exc, sanitise=self._sanitise, counter=self._metrics, outcome=outcome)
