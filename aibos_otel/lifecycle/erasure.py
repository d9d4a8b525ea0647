"""Right to erasure for the local file backup: drop every record whose attributes match.

The backup (``aibos_otel.sdk.file_backup``) holds JSON lines, one record per line, in
``<level>.jsonl`` (being written), ``<level>-<stamp>.jsonl.gz`` (rotated) and, after
``aibos-otel retention enforce``, ``archive/<level>-<stamp>.jsonl.gz``. :func:`erase_backups`
rewrites each file that holds a matching record without those records:

* atomically: the kept lines (byte for byte) go to a hidden temporary file in the same directory,
  which is synced and then renamed over the original, so a crash leaves either the old file or
  the new one, never half of one. Mode, owner (when allowed) and modification time are kept, so
  retention still ages the file from its last real write.
* a line that is not valid JSON (say, a torn last line) is kept and counted, never dropped.
* a file that cannot be read (permissions, a corrupt gzip stream) is reported and left as it is.

Active files (``<level>.jsonl``) are the exception. A writer holds them open for appending:
renaming a new file over one would send the writer's later records into the unlinked old file,
and its next rotation would compress the wrong one. So an active file is only reported (how many
matching records it holds) unless ``include_active`` is set, and even then it is skipped while
any process this user can inspect holds it open (Linux ``/proc``). Stop the service, or wait for
the rotation, and run again.

A file rotated or archived while the erasure runs is not missed: the directory is scanned again
until a pass finds no file it has not already cleaned.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import json
import os
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from aibos_otel.sdk.file_backup import ACTIVE_SUFFIX, ROTATED_SUFFIX
from aibos_otel.sdk.settings import DEFAULT_PRODUCTION_FILE_DIR

ARCHIVE_DIR = "archive"
_MAX_PASSES = 3
_SWITCH_WORDS = frozenset({"0", "1", "true", "false", "yes", "no", "on", "off"})


class EraseError(ValueError):
    """An erasure request that cannot be carried out as given (the message says why)."""


def default_backup_dir(environ: Mapping[str, str] | None = None) -> Path:
    """Where ``setup()`` writes the file backup in production, from the same variables.

    ``AIBOS_FILE_BACKUP`` when it names a directory, else ``AIBOS_FILE_BACKUP_DIR``, else
    ``/var/log/aibos``.
    """
    env = os.environ if environ is None else environ
    chosen = (env.get("AIBOS_FILE_BACKUP") or "").strip()
    if chosen and chosen.lower() not in _SWITCH_WORDS:
        return Path(chosen)
    return Path((env.get("AIBOS_FILE_BACKUP_DIR") or "").strip() or DEFAULT_PRODUCTION_FILE_DIR)


@dataclass(frozen=True)
class Match:
    """``KEY=VALUE``: the record attribute ``KEY`` equals ``VALUE``.

    Strings compare exactly; numbers compare as numbers (``42`` matches ``42`` and ``42.0``);
    booleans as ``true``/``false``; a list attribute matches when one of its items does.
    """

    key: str
    value: str

    @classmethod
    def parse(cls, text: str) -> Match:
        """Parse ``KEY=VALUE``; an empty key or value is refused (an empty value would match
        records without the attribute in Loki, which is far more than anyone asked for)."""
        key, sep, value = text.partition("=")
        key = key.strip()
        if not sep or not key:
            raise EraseError(f"--match {text!r}: expected KEY=VALUE, e.g. user.id=42")
        if value == "":
            raise EraseError(f"--match {text!r}: the value is empty; erasure needs a value to match")
        return cls(key, value)

    def accepts(self, value: Any) -> bool:
        """True when an attribute value (as decoded from JSON) equals this match's value."""
        if isinstance(value, list):
            return any(self.accepts(item) for item in value)
        if isinstance(value, str):
            return value == self.value
        if isinstance(value, bool):
            return ("true" if value else "false") == self.value.strip().lower()
        if isinstance(value, (int, float)):
            try:
                return float(self.value) == float(value)
            except ValueError:
                return False
        return False


@dataclass(frozen=True)
class Window:
    """An optional time window on the record ``timestamp`` (start inclusive, end exclusive)."""

    start: datetime | None = None
    end: datetime | None = None

    def contains(self, timestamp: Any) -> bool | None:
        """True/False, or None when a bound is set and the timestamp cannot be read."""
        if self.start is None and self.end is None:
            return True
        try:
            moment = datetime.fromisoformat(str(timestamp))
        except ValueError:
            return None
        if moment.tzinfo is None:
            return None
        if self.start is not None and moment < self.start:
            return False
        return not (self.end is not None and moment >= self.end)


@dataclass
class FileResult:
    """What happened to one file."""

    path: Path
    records: int = 0
    matched: int = 0
    unreadable_lines: int = 0
    rewritten: bool = False
    skipped: str | None = None  # why matching records were left in place
    error: str | None = None

    def describe(self, *, dry_run: bool) -> str:
        """A line for the terminal."""
        if self.error is not None:
            return f"error   {self.path}: {self.error} (file left unchanged)"
        counts = f"{self.matched} of {self.records} record(s)"
        if self.unreadable_lines:
            counts += f", {self.unreadable_lines} unreadable line(s) kept"
        if self.skipped is not None:
            if dry_run:
                return f"would skip {self.path}: {counts} match but would NOT be erased: {self.skipped}"
            return f"skipped {self.path}: {counts} match but were NOT erased: {self.skipped}"
        if dry_run:
            return f"would erase {counts} in {self.path}"
        return f"erased  {counts} in {self.path}"


@dataclass
class ErasureReport:
    """The outcome of :func:`erase_backups`, file by file."""

    directory: Path
    files: list[FileResult] = field(default_factory=list)
    dry_run: bool = False

    @property
    def scanned(self) -> int:
        return len(self.files)

    @property
    def matched(self) -> int:
        """Matching records found (erased, or to be erased in a dry run, or left in skipped files)."""
        return sum(f.matched for f in self.files)

    @property
    def erased(self) -> int:
        """Matching records removed from disk."""
        return sum(f.matched for f in self.files if f.rewritten)

    @property
    def erasable(self) -> int:
        """Matching records in files that a run would rewrite (what a dry run reports)."""
        return sum(f.matched for f in self.files if f.skipped is None and f.error is None)

    @property
    def left(self) -> int:
        """Matching records still on disk because their file was skipped."""
        return sum(f.matched for f in self.files if f.skipped is not None)

    @property
    def errors(self) -> list[FileResult]:
        return [f for f in self.files if f.error is not None]

    @property
    def complete(self) -> bool:
        """Every matching record is gone (or would be, in a dry run) and no file failed."""
        return not self.errors and self.left == 0


def record_matches(line: bytes, matches: Sequence[Match], window: Window) -> bool | None:
    """Whether one JSON line is a record to erase; None when the line cannot be read."""
    try:
        record = json.loads(line)
    except ValueError:
        return None
    if not isinstance(record, dict):
        return None
    attributes = record.get("attributes")
    if not isinstance(attributes, dict):
        return False
    for match in matches:
        if match.key not in attributes or not match.accepts(attributes[match.key]):
            return False
    inside = window.contains(record.get("timestamp"))
    return inside  # None: matches but its time cannot be read, so it is kept and counted


@dataclass(frozen=True)
class LineResult:
    """What one line of a backup file holds: records, how many match, and its replacement
    (``None``: keep the line as it is; ``b""``: drop it)."""

    records: int
    matched: int
    replacement: bytes | None = None


LineFilter = Callable[[bytes, Sequence[Match], Window], "LineResult | None"]
"""Reads one line; None when the line cannot be read (it is then kept and counted)."""


def sdk_line(line: bytes, matches: Sequence[Match], window: Window) -> LineResult | None:
    """A line of the SDK's file backup: one record, dropped whole when it matches."""
    verdict = record_matches(line, matches, window)
    if verdict is None:
        return None
    return LineResult(1, 1, b"") if verdict else LineResult(1, 0)


@dataclass(frozen=True)
class Layout:
    """One kind of local backup: its files, which of them a writer holds, and its line format."""

    root: Path
    files: Callable[[], list[Path]]
    is_active: Callable[[Path], bool]
    filter_line: LineFilter


def backup_files(directory: Path) -> list[Path]:
    """The backup files in ``directory`` and its archive: rotated, archived, then active."""
    rotated = sorted(directory.glob(f"*{ROTATED_SUFFIX}"))
    archived = sorted((directory / ARCHIVE_DIR).glob(f"*{ROTATED_SUFFIX}"))
    active = sorted(directory.glob(f"*{ACTIVE_SUFFIX}"))
    return [p for p in (*rotated, *archived, *active) if p.is_file()]


def _is_active(path: Path) -> bool:
    return path.name.endswith(ACTIVE_SUFFIX) and not path.name.endswith(ROTATED_SUFFIX)


def sdk_layout(directory: str | os.PathLike[str]) -> Layout:
    """The file backup written by ``setup(file_backup=...)``."""
    root = Path(directory)
    return Layout(root, lambda: backup_files(root), _is_active, sdk_line)


def _open_read(path: Path) -> io.BufferedIOBase:
    if path.name.endswith(".gz"):
        return gzip.open(path, "rb")
    return open(path, "rb")  # the caller closes it


def _scan(path: Path, read: LineFilter, matches: Sequence[Match], window: Window) -> FileResult:
    result = FileResult(path)
    with _open_read(path) as handle:
        for line in handle:
            if not line.strip():
                continue
            verdict = read(line, matches, window)
            if verdict is None:
                result.unreadable_lines += 1
                continue
            result.records += verdict.records
            result.matched += verdict.matched
    return result


def _rewrite(path: Path, read: LineFilter, matches: Sequence[Match], window: Window) -> int:
    """Write ``path`` without its matching records, atomically; returns how many were dropped."""
    before = path.stat()
    temporary = path.with_name(f".{path.name}.erase-{os.getpid()}.tmp")
    dropped = 0
    try:
        sink: io.BufferedIOBase
        with open(temporary, "xb") as raw:
            sink = gzip.GzipFile(filename="", mode="wb", fileobj=raw) if path.name.endswith(".gz") else raw
            with _open_read(path) as source:
                for line in source:
                    verdict = read(line, matches, window) if line.strip() else None
                    if verdict is None or verdict.replacement is None:
                        sink.write(line)
                        continue
                    dropped += verdict.matched
                    if verdict.replacement:
                        sink.write(verdict.replacement + (b"\n" if line.endswith(b"\n") else b""))
            if sink is not raw:
                sink.close()  # writes the gzip trailer into ``raw``
            raw.flush()
            os.fsync(raw.fileno())
        os.chmod(temporary, before.st_mode & 0o7777)
        with contextlib.suppress(PermissionError):  # only root may give a file away
            os.chown(temporary, before.st_uid, before.st_gid)
        os.utime(temporary, ns=(before.st_atime_ns, before.st_mtime_ns))
        current = path.stat()  # moved or pruned meanwhile? then the next pass deals with it
        if (current.st_dev, current.st_ino) != (before.st_dev, before.st_ino):
            raise FileNotFoundError(path)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    _sync_directory(path.parent)
    return dropped


def _sync_directory(directory: Path) -> None:
    with contextlib.suppress(OSError):  # not every platform or file system allows it
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def open_file_ids() -> set[tuple[int, int]] | None:
    """(device, inode) of every file some process this user may inspect holds open;
    None where ``/proc`` is not available."""
    proc = Path("/proc")
    if not (proc / "self" / "fd").is_dir():
        return None
    held: set[tuple[int, int]] = set()
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            descriptors = list((entry / "fd").iterdir())
        except OSError:  # another user's process, or it exited
            continue
        for descriptor in descriptors:
            with contextlib.suppress(OSError):
                info = descriptor.stat()
                held.add((info.st_dev, info.st_ino))
    return held


def erase_backups(
    directory: str | os.PathLike[str],
    matches: Sequence[Match],
    *,
    window: Window | None = None,
    dry_run: bool = False,
    include_active: bool = False,
    held_open: Callable[[], set[tuple[int, int]] | None] = open_file_ids,
) -> ErasureReport:
    """Erase the records matching every one of ``matches`` from the SDK file backup in
    ``directory``.

    Raises :class:`EraseError` when there is nothing to match or the directory does not exist;
    a file that fails is recorded in the report and left unchanged, and the others go on.
    """
    if not Path(directory).is_dir():
        raise EraseError(f"no such backup directory: {directory}")
    return erase_layout(
        sdk_layout(directory),
        matches,
        window=window,
        dry_run=dry_run,
        include_active=include_active,
        held_open=held_open,
    )


def erase_layout(
    layout: Layout,
    matches: Sequence[Match],
    *,
    window: Window | None = None,
    dry_run: bool = False,
    include_active: bool = False,
    held_open: Callable[[], set[tuple[int, int]] | None] = open_file_ids,
) -> ErasureReport:
    """Erase matching records from every file of ``layout`` (see :func:`erase_backups`)."""
    if not matches:
        raise EraseError("at least one --match KEY=VALUE is needed")
    span = window or Window()
    done: set[tuple[int, int]] = set()  # files (by inode) handled: clean, erased, skipped or failed
    results: list[FileResult] = []
    held: set[tuple[int, int]] | None = None
    held_checked = False
    for _ in range(_MAX_PASSES):
        pending = [p for p in layout.files() if _file_id(p) not in done]
        if not pending:
            break
        for path in pending:
            identity = _file_id(path)
            result = _scan_file(path, layout.filter_line, matches, span)
            if result is None:
                continue  # gone meanwhile: pruned, or moved to where the next pass finds it
            if result.matched and result.error is None and layout.is_active(path):
                if not include_active:
                    result.skipped = "active file (stop the writer, then use --include-active)"
                else:
                    if not held_checked:
                        held, held_checked = held_open(), True
                    if held is not None and identity in held:
                        result.skipped = "active file held open by a running process"
            if result.matched and result.error is None and result.skipped is None and not dry_run:
                try:
                    result.matched = _rewrite(path, layout.filter_line, matches, span)
                except FileNotFoundError:
                    continue  # rotated, archived or pruned meanwhile: the next pass sees where it went
                except (OSError, EOFError, zlib.error) as exc:
                    result.error = _describe(exc)
                else:
                    result.rewritten = True
                    identity = _file_id(path)
            done.add(identity)
            results.append(result)
    return ErasureReport(layout.root, files=results, dry_run=dry_run)


def _scan_file(path: Path, read: LineFilter, matches: Sequence[Match], window: Window) -> FileResult | None:
    try:
        return _scan(path, read, matches, window)
    except FileNotFoundError:
        return None
    except (OSError, EOFError, zlib.error) as exc:
        return FileResult(path, error=_describe(exc))


def _describe(exc: BaseException) -> str:
    if isinstance(exc, (EOFError, zlib.error, gzip.BadGzipFile)):
        return f"not a readable gzip file ({exc})"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__


def _file_id(path: Path) -> tuple[int, int]:
    try:
        info = path.stat()
    except OSError:
        return (-1, -1)
    return (info.st_dev, info.st_ino)


def parse_time(text: str, option: str) -> datetime:
    """An RFC 3339 time with a UTC offset or ``Z``."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise EraseError(
            f"{option} {text!r}: expected an RFC 3339 time such as 2026-11-26T10:00:00Z"
        ) from None
    if moment.tzinfo is None:
        raise EraseError(f"{option} {text!r}: give a UTC offset or Z, e.g. 2026-11-26T10:00:00Z")
    return moment


def summarize(results: Iterable[FileResult]) -> dict[str, int]:
    """Counts for the audit event: never the matched values."""
    items = list(results)
    return {
        "files_scanned": len(items),
        "files_rewritten": sum(1 for r in items if r.rewritten),
        "files_skipped": sum(1 for r in items if r.skipped is not None),
        "files_failed": sum(1 for r in items if r.error is not None),
        "records_erased": sum(r.matched for r in items if r.rewritten),
        "records_left": sum(r.matched for r in items if r.skipped is not None),
    }
