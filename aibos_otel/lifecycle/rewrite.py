"""Rewriting one backup file without some of its lines, atomically and without following links.

The file is read through a descriptor on the very file that was listed
(:func:`aibos_otel.lifecycle.safe_dir.open_read`); the kept lines (byte for byte) and the
replacements go to a new hidden file beside it, created with ``O_EXCL | O_NOFOLLOW`` so a planted
name fails the rewrite instead of being followed. That file is synced, given the original's
mode, owner (when allowed) and times, and renamed over the original only if the name still holds
the file listed: a crash leaves the old file or the new one, never half of one, and a file moved
or pruned meanwhile raises FileNotFoundError for the caller to look again. ``.gz`` files stay
complete gzip streams.
"""

from __future__ import annotations

import contextlib
import gzip
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import IO

from aibos_otel.lifecycle.safe_dir import Entry, create_new, open_read, remove_name, replace_with, sync


@dataclass(frozen=True)
class LineResult:
    """What one line of a backup file holds: records, how many match, and its replacement
    (``None``: keep the line as it is; ``b""``: drop it)."""

    records: int
    matched: int
    replacement: bytes | None = None


LineReader = Callable[[bytes], "LineResult | None"]
"""Reads one (non-blank) line; None when the line cannot be read (it is then kept and counted)."""


@dataclass(frozen=True)
class Counts:
    """What a file holds: records, matching records, and lines that could not be read."""

    records: int = 0
    matched: int = 0
    unreadable_lines: int = 0


@contextlib.contextmanager
def _lines(fd: int, name: str) -> Iterator[IO[bytes]]:
    """The (decompressed) bytes of an open file; the descriptor stays open for its owner."""
    with open(fd, "rb", closefd=False) as raw:
        if name.endswith(".gz"):
            with gzip.GzipFile(fileobj=raw, mode="rb") as unpacked:
                yield unpacked  # type: ignore[misc]  # GzipFile is a binary IO
        else:
            yield raw


def count_lines(entry: Entry, read: LineReader) -> Counts:
    """Read ``entry`` line by line and count what ``read`` finds in it."""
    records = matched = unreadable = 0
    with open_read(entry) as fd, _lines(fd, entry.name) as handle:
        for line in handle:
            if not line.strip():
                continue
            verdict = read(line)
            if verdict is None:
                unreadable += 1
                continue
            records += verdict.records
            matched += verdict.matched
    return Counts(records, matched, unreadable)


def rewrite(entry: Entry, read: LineReader) -> int:
    """Write ``entry`` with each line replaced as ``read`` says, atomically (see the module
    docstring); returns how many matching records were dropped."""
    temporary = f".{entry.name}.erase-{os.getpid()}.tmp"
    dropped = 0
    with open_read(entry) as source_fd:
        before = os.fstat(source_fd)
        out_fd = create_new(entry.folder, temporary)
        try:
            with open(out_fd, "wb") as raw, _lines(source_fd, entry.name) as source:
                sink: IO[bytes] = raw
                if entry.name.endswith(".gz"):
                    sink = gzip.GzipFile(filename="", mode="wb", fileobj=raw)  # type: ignore[assignment]
                for line in source:
                    verdict = read(line) if line.strip() else None
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
                os.fchmod(raw.fileno(), before.st_mode & 0o7777)
                with contextlib.suppress(PermissionError):  # only root may give a file away
                    os.fchown(raw.fileno(), before.st_uid, before.st_gid)
                os.utime(raw.fileno(), ns=(before.st_atime_ns, before.st_mtime_ns))
            replace_with(entry, temporary)
        except BaseException:
            remove_name(entry.folder, temporary)
            raise
    sync(entry.folder)
    return dropped
