"""Local file backup: JSON lines, one file per level, rotated by size and count, gzipped.

Layout of the backup directory (the retention command relies on it):

    <dir>/info.jsonl                              the file being written, one per level
    <dir>/info-20261126T181500123456.jsonl.gz     rotated files, newest kept up to ``max_files``
    <dir>/.aibos-otel-backup                      the marker: this directory is a file backup

The lifecycle commands (``aibos-otel retention enforce``, ``aibos-otel erase``) delete and
rewrite files, so they act only in a directory holding the marker (see :func:`write_marker`):
pointed at the wrong directory by mistake, they refuse instead of deleting someone's files.

Rotated names carry their rotation time, so nothing is ever renamed twice and a concurrent
``aibos-otel retention enforce`` can never race a rename cascade. Runs in a delivery worker
thread, never on the logging thread.
"""

from __future__ import annotations

import gzip
import logging
import os
import re
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
MARKER_NAME = ".aibos-otel-backup"
MARKER_TEXT = (
    "This directory is an aibos-otel file backup (aibos_otel.sdk.file_backup): JSON lines per\n"
    "level, <level>.jsonl being written, <level>-<stamp>.jsonl.gz rotated, archive/ after retention.\n"
    "`aibos-otel retention enforce` and `aibos-otel erase` act only in a directory holding this\n"
    "file (or with --force). Keep other files out of it.\n"
)

_internal = logging.getLogger("aibos_otel.sdk.file_backup")
# Exactly what _rotate() writes: a level, then the UTC rotation stamp to the microsecond.
_ROTATED_NAME = re.compile(rf"({'|'.join(SEVERITY_CLASSES)})-\d{{8}}T\d{{12}}{re.escape(ROTATED_SUFFIX)}")
_ACTIVE_NAMES = frozenset(f"{level}{ACTIVE_SUFFIX}" for level in SEVERITY_CLASSES)


def rotated_level(name: str) -> str | None:
    """The level of a rotated file's name (``info-20261126T181500123456.jsonl.gz``), None for any
    other name: a file the writer did not name this way is never the backup's to delete."""
    found = _ROTATED_NAME.fullmatch(name)
    return found.group(1) if found else None


def is_active_name(name: str) -> bool:
    """True for the name of a file being written (``info.jsonl``)."""
    return name in _ACTIVE_NAMES


def rotated_files(directory: Path, level: str) -> list[Path]:
    """Rotated files of one level, oldest first."""
    return sorted(p for p in directory.glob(f"{level}-*{ROTATED_SUFFIX}") if rotated_level(p.name) == level)


def write_marker(directory: Path) -> None:
    """Create :data:`MARKER_NAME` in ``directory`` unless something of that name is there.

    Never follows a symbolic link (a planted link must not make the writer create or truncate a
    file elsewhere) and never raises: the backup works without its marker, only the lifecycle
    commands then want ``--force``, so a failure is logged and the service goes on.
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(directory / MARKER_NAME, flags, 0o644)
    except FileExistsError:
        return  # marked already (whether it is a real marker, the lifecycle commands check)
    except OSError as exc:
        _internal.warning("aibos: cannot write the file backup marker in %s: %s", directory, exc)
        return
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(MARKER_TEXT)
    except OSError as exc:
        _internal.warning("aibos: cannot write the file backup marker in %s: %s", directory, exc)


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
        write_marker(self.directory)
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
            level = SEVERITY_CLASSES[
                severity_class(number.value if number is not None else 0, record.log_record.severity_text)
            ]
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
