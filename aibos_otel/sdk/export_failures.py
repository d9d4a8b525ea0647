"""Export failures made visible: one stderr line per failing exporter, and a counter.

The OTLP exporters (logs, spans, metrics; gRPC and HTTP) report a failed export only by logging
through their own ``opentelemetry.exporter.otlp.*`` loggers, and the aibos bridge never exports
records of ``opentelemetry.*`` loggers (they would loop). So a collector that refuses every span
(no traces pipeline: gRPC ``UNIMPLEMENTED``, HTTP 404) went unnoticed. :class:`ExportFailureReporter`
watches those loggers and turns each final failure into

* a count in ``aibos.export.failures{signal, reason}`` (:class:`~aibos_otel.sdk.self_metrics.SelfMetrics`),
* one warning on stderr naming the signal, the endpoint and the status, at most once per
  ``interval`` seconds per (signal, endpoint); the next one says how many failures it stood for.

Retries (``Transient error ... retrying``) are not failures: only the exporters' final verdicts count.

It is a logging *filter*, inserted first on each exporter module's logger, not a handler: those
loggers carry OpenTelemetry's ``DuplicateFilter``, which drops a message equal to the previous
one for 20 s, so a handler would count one failure per 20 s. A filter placed before it sees every
record; it always answers True, so what the loggers did before is unchanged.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from aibos_otel.sdk.self_metrics import SelfMetrics

EXPORTER_LOGGERS = (
    "opentelemetry.exporter.otlp.proto.grpc.exporter",  # every gRPC exporter (the signal is an argument)
    "opentelemetry.exporter.otlp.proto.http.trace_exporter",
    "opentelemetry.exporter.otlp.proto.http._log_exporter",
    "opentelemetry.exporter.otlp.proto.http.metric_exporter",
)
"""The loggers the OTLP exporters of opentelemetry-exporter-otlp 1.45 report failures through."""

_BY_MODULE = (("trace_exporter", "spans"), ("_log_exporter", "logs"), ("metric_exporter", "metrics"))
_GRPC_SIGNAL = {"logs": "logs", "traces": "spans", "spans": "spans", "metrics": "metrics"}
_HINTS = {
    "unimplemented": "the collector has no {signal} pipeline",
    "http_404": "the collector has no {signal} pipeline (or the path is wrong)",
    "unauthenticated": "check the headers (API key)",
    "http_401": "check the headers (API key)",
    "http_403": "check the headers (API key)",
}


@dataclass(frozen=True)
class Failure:
    """One final export failure, parsed from an exporter's log record."""

    signal: str
    endpoint: str | None
    reason: str  # a short token for the metric attribute: unavailable, unimplemented, http_503, ...
    status: str  # what the line shows: the gRPC code or the HTTP status and reason


def parse(record: logging.LogRecord) -> Failure | None:
    """The failure a stock OTLP exporter's log record reports, or None (retries, other messages)."""
    message = record.msg if isinstance(record.msg, str) else ""
    args = record.args if isinstance(record.args, tuple) else ()
    if message.startswith("Failed to export %s to %s, error code: %s") and len(args) >= 3:
        code = getattr(args[2], "name", str(args[2]))  # grpc.StatusCode
        grpc_signal = _GRPC_SIGNAL.get(str(args[0]), str(args[0]))
        return Failure(grpc_signal, str(args[1]), code.lower(), code)
    signal = _signal_of(record.name, args)
    if signal is None:
        return None
    if message.startswith("Failed to export %s batch code: %s, reason: %s") and len(args) >= 3:
        status_code, why = args[1], args[2]
        if status_code is None:
            return Failure(signal, None, "connection", f"no response ({why})")
        return Failure(signal, None, f"http_{status_code}", f"HTTP {status_code} {why}")
    if message.startswith("Failed to export %s batch due to timeout"):
        return Failure(signal, None, "timeout", "timeout or retries exhausted")
    if message.startswith("Dropping ") and "exceeds max_request_size" in message:
        return Failure(signal, None, "too_large", "batch larger than max_request_size")
    if message.startswith("Failed to encode"):
        return Failure(signal, None, "encoding", "batch could not be encoded")
    return None


def _signal_of(logger_name: str, args: tuple[object, ...]) -> str | None:
    for part, signal in _BY_MODULE:
        if part in logger_name:
            return signal
    if logger_name.endswith("common.http") and args and str(args[0]) in _GRPC_SIGNAL:
        return _GRPC_SIGNAL[str(args[0])]  # the shared HTTP client logs with the kind as first argument
    return None


def configured_endpoints(logs_endpoint: str | None, protocol: str) -> dict[str, str]:
    """Where each signal goes, for the lines of HTTP exporters (their records do not say): the
    aibos logs endpoint and the standard ``OTEL_EXPORTER_OTLP_*`` variables for spans and metrics."""
    out: dict[str, str] = {}
    if logs_endpoint:
        out["logs"] = logs_endpoint
    base = os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT", "").rstrip("/")
    for signal, name, path in (("spans", "TRACES", "v1/traces"), ("metrics", "METRICS", "v1/metrics")):
        specific = os.environ.get(f"OTEL_EXPORTER_OTLP_{name}_ENDPOINT")
        if specific:
            out[signal] = specific
        elif base:
            out[signal] = base if protocol == "grpc" else f"{base}/{path}"
    return out


class ExportFailureReporter(logging.Filter):
    """A logging filter on :data:`EXPORTER_LOGGERS`: counts each export failure and prints one
    rate-limited warning per (signal, endpoint). Never raises into the exporter, never drops a record."""

    def __init__(
        self,
        metrics: SelfMetrics,
        *,
        endpoints: Mapping[str, str] | None = None,
        interval: float = 60.0,
        stream: TextIO | None = None,
    ) -> None:
        super().__init__()
        self._metrics = metrics
        self._endpoints = dict(endpoints or {})
        self._interval = interval
        self._stream = stream
        self._guard = threading.Lock()
        self._last: dict[tuple[str, str], float] = {}  # (signal, endpoint) -> when last printed
        self._unreported: dict[tuple[str, str], int] = {}

    def install(self) -> None:
        """Insert this filter first on every exporter logger (before OpenTelemetry's own filters)."""
        for name in EXPORTER_LOGGERS:
            logger = logging.getLogger(name)
            if self not in logger.filters:
                logger.filters.insert(0, self)

    def uninstall(self) -> None:
        """Remove this filter again."""
        for name in EXPORTER_LOGGERS:
            logging.getLogger(name).removeFilter(self)

    def filter(self, record: logging.LogRecord) -> bool:
        """Count and, when due, report the failure ``record`` describes; always True."""
        if record.levelno < logging.WARNING:
            return True
        try:
            failure = parse(record)
            if failure is not None:
                self._metrics.count_export_failed(failure.signal, failure.reason)
                line = self._line_if_due(failure)
                if line is not None:
                    print(line, file=self._stream or sys.stderr, flush=True)
        except Exception:  # a reporter must never break the exporter it watches
            pass
        return True

    def _line_if_due(self, failure: Failure) -> str | None:
        endpoint = failure.endpoint or self._endpoints.get(failure.signal) or "(endpoint unknown)"
        key = (failure.signal, endpoint)
        now = time.monotonic()
        with self._guard:
            last = self._last.get(key)
            if last is not None and now - last < self._interval:
                self._unreported[key] = self._unreported.get(key, 0) + 1
                return None
            self._last[key] = now
            earlier = self._unreported.pop(key, 0)
        hint = _HINTS.get(failure.reason, "").format(signal=failure.signal)
        text = f"aibos: {failure.signal} export to {endpoint} failed: {failure.status}"
        if hint:
            text += f" ({hint})"
        if earlier:
            text += f"; {earlier} more failure(s) since the last report"
        every = f"{self._interval:g}"
        return text + f". Counted in aibos.export.failures; reported at most once per {every} s."
