"""Right to erasure for the local file backup: drop every record whose attributes match.

The backup (``aibos_otel.sdk.file_backup``) holds JSON lines, one record per line, in
``<level>.jsonl`` (being written), ``<level>-<stamp>.jsonl.gz`` (rotated) and, after
``aibos-otel retention enforce``, ``archive/<level>-<stamp>.jsonl.gz``. :func:`erase_backups`
rewrites each file that holds a matching record without those records:

* atomically (:mod:`aibos_otel.lifecycle.rewrite`): the kept lines (byte for byte) go to a
  hidden temporary file in the same directory, which is synced and then renamed over the
  original, so a crash leaves either the old file or the new one, never half of one. Mode, owner
  (when allowed) and modification time are kept, so retention still ages the file from its last
  real write.
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

Only the backup's own files are touched (:mod:`aibos_otel.lifecycle.safe_dir`): the directory
must carry the file backup's marker (or ``force``), and only regular files directly inside it
and a real ``archive/`` are read and rewritten, through descriptors opened without following a
link. A symbolic link named like a backup file (or a symlinked ``archive``) is reported as an
error and left alone: rewriting the link's name would replace the link with a clean copy and
report the records erased while the file it points to keeps them. For the same reason a file
with more than one hard link is skipped: its records would stay under the other name.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import os
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from aibos_otel.lifecycle.rewrite import LineResult, count_lines, rewrite
from aibos_otel.lifecycle.safe_dir import (
    Entry,
    Identity,
    NotABackupError,
    Refusal,
    SafeDir,
    identity_of,
    require_marker,
)
from aibos_otel.sdk.file_backup import is_active_name, rotated_level
from aibos_otel.sdk.settings import DEFAULT_PRODUCTION_FILE_DIR
from aibos_otel.terminal import escape

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
        """A line for the terminal (the file name escaped: one file, one line)."""
        path = escape(self.path)
        if self.error is not None:
            return f"error   {path}: {escape(self.error)} (file left unchanged)"
        counts = f"{self.matched} of {self.records} record(s)"
        if self.unreadable_lines:
            counts += f", {self.unreadable_lines} unreadable line(s) kept"
        if self.skipped is not None:
            if dry_run:
                return f"would skip {path}: {counts} match but would NOT be erased: {self.skipped}"
            return f"skipped {path}: {counts} match but were NOT erased: {self.skipped}"
        if dry_run:
            return f"would erase {counts} in {path}"
        return f"erased  {counts} in {path}"


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
    """One kind of local backup: the names of its files in ``root`` (``wanted``) and in each of
    its subdirectories (``subdirs``: name and wanted names), which of them a writer holds, and
    its line format. Only regular files of those names are read, never through a link."""

    root: Path
    wanted: Callable[[str], bool]
    is_active: Callable[[str], bool]
    filter_line: LineFilter
    subdirs: tuple[tuple[str, Callable[[str], bool]], ...] = ()


def _is_sdk_file(name: str) -> bool:
    return rotated_level(name) is not None or is_active_name(name)


def _is_rotated(name: str) -> bool:
    return rotated_level(name) is not None


def sdk_layout(directory: str | os.PathLike[str]) -> Layout:
    """The file backup written by ``setup(file_backup=...)``: ``<level>-<stamp>.jsonl.gz`` and
    ``<level>.jsonl`` in the directory, ``<level>-<stamp>.jsonl.gz`` in ``archive/``."""
    return Layout(Path(directory), _is_sdk_file, is_active_name, sdk_line, ((ARCHIVE_DIR, _is_rotated),))


def list_files(backup: SafeDir, layout: Layout) -> tuple[list[Entry], list[Refusal]]:
    """The layout's files in ``backup``: rotated, then in subdirectories, then active; and what
    is named like one of them but is not touched (links, directories, a symlinked subdirectory)."""
    entries, refused = backup.files(backup.root, layout.wanted)
    nested: list[Entry] = []
    for name, wanted in layout.subdirs:
        folder = backup.subdir(name)
        if isinstance(folder, Refusal):
            refused.append(folder)
        elif folder is not None:
            more, bad = backup.files(folder, wanted)
            nested += more
            refused += bad
    rotated = [e for e in entries if not layout.is_active(e.name)]
    active = [e for e in entries if layout.is_active(e.name)]
    return [*rotated, *nested, *active], refused


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
    force: bool = False,
) -> ErasureReport:
    """Erase the records matching every one of ``matches`` from the SDK file backup in
    ``directory``.

    Raises :class:`EraseError` when there is nothing to match, the directory does not exist or
    it lacks the file backup's marker (unless ``force``); a file that fails is recorded in the
    report and left unchanged, and the others go on.
    """
    check_backup_dir(directory, force=force)
    return erase_layout(
        sdk_layout(directory),
        matches,
        window=window,
        dry_run=dry_run,
        include_active=include_active,
        held_open=held_open,
    )


def check_backup_dir(directory: str | os.PathLike[str], *, force: bool) -> None:
    """Raise :class:`EraseError` unless ``directory`` is a file backup's directory (its marker,
    or ``force``)."""
    if not Path(directory).is_dir():
        raise EraseError(f"no such backup directory: {escape(directory)}")
    try:
        require_marker(directory, force=force)
    except NotABackupError as exc:
        raise EraseError(escape(exc)) from None


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
    done: set[Identity] = set()  # files handled: clean, erased, skipped or failed
    refused: set[Path] = set()  # names reported as not touched (each once)
    results: list[FileResult] = []
    held: set[Identity] | None = None
    held_checked = False
    with SafeDir(layout.root) as backup:
        for _ in range(_MAX_PASSES):
            entries, bad = list_files(backup, layout)
            for refusal in bad:
                if refusal.path not in refused:
                    refused.add(refusal.path)
                    results.append(FileResult(refusal.path, error=refusal.reason))
            pending = [e for e in entries if e.identity not in done]
            if not pending:
                break
            for entry in pending:
                identity = entry.identity
                result = _scan_file(entry, layout.filter_line, matches, span)
                if result is None:
                    continue  # gone meanwhile: pruned, or moved to where the next pass finds it
                if result.matched and result.error is None and layout.is_active(entry.name):
                    if not include_active:
                        result.skipped = "active file (stop the writer, then use --include-active)"
                    else:
                        if not held_checked:
                            held, held_checked = held_open(), True
                        if held is not None and identity in held:
                            result.skipped = "active file held open by a running process"
                if result.matched and result.error is None and result.skipped is None and entry.links > 1:
                    result.skipped = (
                        f"{entry.links} hard links to this file: the records would stay in the others"
                    )
                if result.matched and result.error is None and result.skipped is None and not dry_run:
                    try:
                        result.matched = rewrite(entry, lambda line: layout.filter_line(line, matches, span))
                    except FileNotFoundError:
                        continue  # rotated, archived or pruned meanwhile: the next pass sees where it went
                    except (OSError, EOFError, zlib.error) as exc:
                        result.error = _describe(exc)
                    else:
                        result.rewritten = True
                        identity = identity_of(entry.folder, entry.name) or identity
                done.add(identity)
                results.append(result)
    return ErasureReport(layout.root, files=results, dry_run=dry_run)


def _scan_file(entry: Entry, read: LineFilter, matches: Sequence[Match], window: Window) -> FileResult | None:
    try:
        counts = count_lines(entry, lambda line: read(line, matches, window))
    except FileNotFoundError:
        return None
    except (OSError, EOFError, zlib.error) as exc:
        return FileResult(entry.path, error=_describe(exc))
    return FileResult(entry.path, counts.records, counts.matched, counts.unreadable_lines)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, (EOFError, zlib.error, gzip.BadGzipFile)):
        return f"not a readable gzip file ({exc})"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__


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
