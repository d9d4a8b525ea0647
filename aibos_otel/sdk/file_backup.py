"""Local file backup: JSON lines, one file per level, rotated by size and count, gzipped.

Layout of the backup directory (the retention command relies on it):

    <dir>/info.jsonl                              the file being written, one per level
    <dir>/info-20261126T181500123456.jsonl.gz     rotated files, newest kept up to ``max_files``

Rotated names carry their rotation time, so nothing is ever renamed twice and a concurrent
``aibos-otel retention enforce`` can never race a rename cascade. Runs in a delivery worker
thread, never on the logging thread.
"""

from __future__ import annotations

import gzip
import os
import shutil
import threading
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from opentelemetry.sdk._logs import ReadableLogRecord
from opentelemetry.sdk._logs.export import LogRecordExporter, LogRecordExportResult

from aibos_otel.sdk.levels import SEVERITY_CLASSES, severity_class
from aibos_otel.sdk.render import to_json_line

DEFAULT_MAX_BYTES = 100 * 1024 * 1024
DEFAULT_MAX_FILES = 10
ACTIVE_SUFFIX = ".jsonl"
ROTATED_SUFFIX = ".jsonl.gz"


def rotated_files(directory: Path, level: str) -> list[Path]:
    """Rotated files of one level, oldest first."""
    return sorted(directory.glob(f"{level}-*{ROTATED_SUFFIX}"))


class FileBackupExporter(LogRecordExporter):
    """Appends records as JSON lines to ``<dir>/<level>.jsonl`` with size/count rotation."""

    def __init__(
        self,
        directory: str | os.PathLike[str],
        *,
        max_bytes: int = DEFAULT_MAX_BYTES,
        max_files: int = DEFAULT_MAX_FILES,
    ) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self._max_bytes = max_bytes
        self._max_files = max_files
        self._files: dict[str, IO[str]] = {}
        self._lock = threading.Lock()

    def _file(self, level: str) -> IO[str]:
        handle = self._files.get(level)
        if handle is None:
            handle = open(self.directory / f"{level}{ACTIVE_SUFFIX}", "a", encoding="utf-8")  # noqa: SIM115
            self._files[level] = handle
        return handle

    def export(self, batch: Sequence[ReadableLogRecord]) -> LogRecordExportResult:
        by_level: dict[str, list[str]] = {}
        for record in batch:
            number = record.log_record.severity_number
            level = SEVERITY_CLASSES[severity_class(number.value if number is not None else 0)]
            by_level.setdefault(level, []).append(to_json_line(record))
        try:
            with self._lock:
                for level, lines in by_level.items():
                    handle = self._file(level)
                    handle.write("\n".join(lines) + "\n")
                    handle.flush()
                    if handle.tell() >= self._max_bytes:
                        self._rotate(level)
        except OSError:
            return LogRecordExportResult.FAILURE
        return LogRecordExportResult.SUCCESS

    def _rotate(self, level: str) -> None:
        self._files.pop(level).close()
        active = self.directory / f"{level}{ACTIVE_SUFFIX}"
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
        target = self.directory / f"{level}-{stamp}{ROTATED_SUFFIX}"
        partial = target.with_name(target.name + ".tmp")
        with open(active, "rb") as source, gzip.open(partial, "wb") as sink:
            shutil.copyfileobj(source, sink)
        os.replace(partial, target)
        active.unlink()
        for old in rotated_files(self.directory, level)[: -self._max_files or None]:
            old.unlink(missing_ok=True)

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        with self._lock:
            for handle in self._files.values():
                handle.flush()
        return True

    def shutdown(self) -> None:
        with self._lock:
            for handle in self._files.values():
                handle.close()
            self._files.clear()
