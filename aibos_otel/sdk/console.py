"""Console output: written on the logging thread so a developer sees lines in order, at once."""

from __future__ import annotations

import os
import sys
import threading
from typing import TextIO

from opentelemetry.sdk._logs import LogRecordProcessor, ReadableLogRecord, ReadWriteLogRecord

from aibos_otel.sdk.render import to_json_line, to_pretty_line


def _wants_colour(stream: TextIO) -> bool:
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    return hasattr(stream, "isatty") and stream.isatty()


class ConsoleProcessor(LogRecordProcessor):
    """Writes each record to a stream: pretty and coloured, or JSON lines."""

    def __init__(self, *, pretty: bool, stream: TextIO | None = None) -> None:
        self._stream = stream if stream is not None else sys.stderr
        self._pretty = pretty
        self._colour = pretty and _wants_colour(self._stream)
        self._lock = threading.Lock()

    def on_emit(self, log_record: ReadWriteLogRecord) -> None:
        record = ReadableLogRecord(
            log_record=log_record.log_record,
            resource=log_record.resource,  # type: ignore[arg-type]
            instrumentation_scope=log_record.instrumentation_scope,
            limits=log_record.limits,
        )
        line = to_pretty_line(record, colour=self._colour) if self._pretty else to_json_line(record)
        with self._lock:
            self._stream.write(line + "\n")

    def shutdown(self) -> None:
        self.force_flush()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        try:
            with self._lock:
                self._stream.flush()
        except (OSError, ValueError):  # closed stream at interpreter exit
            return False
        return True
