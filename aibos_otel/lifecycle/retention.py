"""Local retention for the file backup: delete or archive rotated files by level and age.

The seed's policy: trace 1 d, debug 7 d, info 30 d, warn 90 d, error 365 d, fatal 7 years;
info and above are moved to ``<dir>/archive/`` instead of being deleted when archiving is on.

Safe beside a writing service: only *rotated* files (``<level>-<stamp>.jsonl.gz``) are touched,
never the active ``<level>.jsonl`` a writer holds open; moves are atomic renames, and a file
that disappears meanwhile (another enforcer, a rotation pruning old files) is skipped.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from aibos_otel.sdk.file_backup import ROTATED_SUFFIX
from aibos_otel.sdk.levels import SEVERITY_CLASSES

DAY = 86_400.0


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
        """A line for the terminal."""
        verb = f"would {self.verb}" if dry_run else f"{self.verb}d"
        where = f" -> {self.target}" if self.target else ""
        return f"{verb} {self.path}{where} (age {self.age_days:.1f} d > {self.limit_days:g} d)"


def _level_of(path: Path) -> str | None:
    level = path.name.split("-", 1)[0]
    return level if level in SEVERITY_CLASSES else None


def enforce(
    directory: str | os.PathLike[str],
    *,
    policy: Mapping[str, RetentionRule] = DEFAULT_POLICY,
    archive: bool = True,
    archive_days: float | None = None,
    dry_run: bool = False,
    now: float | None = None,
) -> list[Action]:
    """Apply ``policy`` to the rotated files in ``directory``; returns what was (or would be) done.

    ``archive_days``: when given, archived files older than that many days (since their last
    write) are deleted too; by default the archive is kept for the operator to move to cold storage.
    """
    root = Path(directory)
    archive_dir = root / "archive"
    moment = time.time() if now is None else now
    actions: list[Action] = []
    for path in sorted(root.glob(f"*{ROTATED_SUFFIX}")):
        level = _level_of(path)
        if level is None or level not in policy:
            continue
        rule = policy[level]
        try:
            age = (moment - path.stat().st_mtime) / DAY
        except FileNotFoundError:
            continue
        if age <= rule.days:
            continue
        if archive and rule.archive:
            action = Action("archive", path, age, rule.days, archive_dir / path.name)
        else:
            action = Action("delete", path, age, rule.days)
        if not dry_run and not _apply(action):
            continue
        actions.append(action)
    if archive_days is not None and archive_dir.is_dir():
        for path in sorted(archive_dir.glob(f"*{ROTATED_SUFFIX}")):
            try:
                age = (moment - path.stat().st_mtime) / DAY
            except FileNotFoundError:
                continue
            if age > archive_days:
                action = Action("delete", path, age, archive_days)
                if dry_run or _apply(action):
                    actions.append(action)
    return actions


def _apply(action: Action) -> bool:
    try:
        if action.verb == "archive":
            assert action.target is not None
            action.target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(action.path, action.target)
        else:
            action.path.unlink()
    except FileNotFoundError:
        return False  # someone else got there first: nothing left to do
    return True
