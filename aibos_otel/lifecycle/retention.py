"""Local retention for the file backup: delete or archive rotated files by level and age.

The seed's policy: trace 1 d, debug 7 d, info 30 d, warn 90 d, error 365 d, fatal 7 years;
info and above are moved to ``<dir>/archive/`` instead of being deleted when archiving is on.

Safe beside a writing service: only *rotated* files (``<level>-<stamp>.jsonl.gz``, exactly as
the writer names them) are touched, never the active ``<level>.jsonl`` a writer holds open; a
file that disappears meanwhile (another enforcer, a rotation pruning old files) is skipped.

Safe in a directory others write to (:mod:`aibos_otel.lifecycle.safe_dir`): it runs only in a
directory the file backup marked as its own (or with ``force``), touches only regular files
directly inside it and inside a real ``archive/`` (never through a symbolic link), never
overwrites a file in the archive, and reports a file it cannot handle and goes on with the rest.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from aibos_otel.lifecycle.safe_dir import (
    Entry,
    Folder,
    Refusal,
    SafeDir,
    identity_of,
    move_into,
    remove,
    require_marker,
)
from aibos_otel.sdk.file_backup import rotated_level
from aibos_otel.terminal import escape

DAY = 86_400.0
ARCHIVE_DIR = "archive"


@dataclass(frozen=True)
class RetentionRule:
    """How long one level's rotated files stay, and whether they are archived after that."""

    days: float
    archive: bool


DEFAULT_POLICY: Mapping[str, RetentionRule] = {
    "trace": RetentionRule(1, archive=False),
    "debug": RetentionRule(7, archive=False),
    "info": RetentionRule(30, archive=True),
    "warn": RetentionRule(90, archive=True),
    "error": RetentionRule(365, archive=True),
    "fatal": RetentionRule(2555, archive=True),
}


@dataclass(frozen=True)
class Action:
    """One thing enforcement did (or would do, in a dry run)."""

    verb: str  # "delete" | "archive"
    path: Path
    age_days: float
    limit_days: float
    target: Path | None = None

    def describe(self, *, dry_run: bool) -> str:
        """A line for the terminal (file names escaped: one name, one line)."""
        verb = f"would {self.verb}" if dry_run else f"{self.verb}d"
        where = f" -> {escape(self.target)}" if self.target else ""
        return f"{verb} {escape(self.path)}{where} (age {self.age_days:.1f} d > {self.limit_days:g} d)"


@dataclass(frozen=True)
class Problem:
    """An entry left as it was, and why (a link, a directory, an existing target, an error)."""

    path: Path
    reason: str

    def describe(self, *, dry_run: bool) -> str:
        """A line for the terminal."""
        return f"{'would skip' if dry_run else 'skipped'} {escape(self.path)}: {escape(self.reason)}"


@dataclass
class RetentionReport:
    """What :func:`enforce` did (or would do) and what it left alone."""

    directory: Path
    actions: list[Action] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        """No entry was skipped for a problem."""
        return not self.problems


def enforce(
    directory: str | os.PathLike[str],
    *,
    policy: Mapping[str, RetentionRule] = DEFAULT_POLICY,
    archive: bool = True,
    archive_days: float | None = None,
    dry_run: bool = False,
    now: float | None = None,
    force: bool = False,
) -> RetentionReport:
    """Apply ``policy`` to the rotated files in ``directory``; returns what was (or would be) done.

    ``archive_days``: when given, archived files older than that many days (since their last
    write) are deleted too; by default the archive is kept for the operator to move to cold storage.

    Raises :class:`~aibos_otel.lifecycle.safe_dir.NotABackupError` when ``directory`` lacks the
    file backup's marker and ``force`` is not set, and OSError when it cannot be listed at all;
    a single file that cannot be handled is a :class:`Problem` in the report and the rest go on.
    """
    require_marker(directory, force=force)
    moment = time.time() if now is None else now
    report = RetentionReport(Path(directory))
    with SafeDir(directory) as backup:
        entries, refused = backup.files(backup.root, lambda name: rotated_level(name) in policy)
        _refuse(report, refused)
        found = backup.subdir(ARCHIVE_DIR)
        if isinstance(found, Refusal):
            _refuse(report, [found])
        for entry in entries:
            rule = policy[rotated_level(entry.name) or ""]
            age = (moment - entry.mtime) / DAY
            if age <= rule.days:
                continue
            if not (archive and rule.archive):
                _delete(report, entry, age, rule.days, dry_run=dry_run)
                continue
            if found is None and not dry_run:
                found = backup.subdir(ARCHIVE_DIR, create=True)
                if isinstance(found, Refusal):  # something took the name just now
                    _refuse(report, [found])
            if isinstance(found, Refusal):
                report.problems.append(Problem(entry.path, f"not archived: {found.path} is skipped"))
            else:
                _archive(report, entry, found, age, rule.days, dry_run=dry_run)
        if archive_days is not None and isinstance(found, Folder):
            _expire_archive(report, backup, found, archive_days, moment, dry_run=dry_run)
    return report


def _refuse(report: RetentionReport, refused: list[Refusal]) -> None:
    report.problems.extend(Problem(r.path, r.reason) for r in refused)


def _delete(report: RetentionReport, entry: Entry, age: float, limit: float, *, dry_run: bool) -> None:
    if not dry_run:
        try:
            remove(entry)
        except FileNotFoundError:
            return  # someone else got there first: nothing left to do
        except OSError as exc:
            report.problems.append(Problem(entry.path, exc.strerror or str(exc)))
            return
    report.actions.append(Action("delete", entry.path, age, limit))


def _archive(
    report: RetentionReport, entry: Entry, archive: Folder | None, age: float, limit: float, *, dry_run: bool
) -> None:
    target = report.directory / ARCHIVE_DIR / entry.name
    taken = archive is not None and identity_of(archive, entry.name) is not None
    if dry_run:
        if taken:
            report.problems.append(
                Problem(entry.path, f"{target} exists already; it would not be overwritten")
            )
        else:
            report.actions.append(Action("archive", entry.path, age, limit, target))
        return
    if archive is None:  # created, then removed by someone else before it could be opened
        report.problems.append(Problem(entry.path, f"not archived: {target.parent} could not be created"))
        return
    try:
        move_into(entry, archive)
    except FileNotFoundError:
        return  # moved or pruned meanwhile
    except FileExistsError:
        if identity_of(archive, entry.name) == entry.identity:
            return  # another enforcer is moving this very file
        report.problems.append(Problem(entry.path, f"{target} exists already; not overwritten"))
        return
    except OSError as exc:
        report.problems.append(Problem(entry.path, exc.strerror or str(exc)))
        return
    report.actions.append(Action("archive", entry.path, age, limit, target))


def _expire_archive(
    report: RetentionReport, backup: SafeDir, archive: Folder, days: float, moment: float, *, dry_run: bool
) -> None:
    try:
        entries, refused = backup.files(archive, lambda name: rotated_level(name) is not None)
    except OSError as exc:  # the moves above are done and must still be reported
        report.problems.append(Problem(archive.path, exc.strerror or str(exc)))
        return
    _refuse(report, refused)
    for entry in entries:
        age = (moment - entry.mtime) / DAY
        if age > days:
            _delete(report, entry, age, days, dry_run=dry_run)
