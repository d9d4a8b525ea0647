"""Lifecycle commands: ``aibos-otel retention enforce`` (per-level retention of the local file
backup) and ``aibos-otel erase`` (right to erasure, in erase_command.py)."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from aibos_otel.lifecycle.retention import DEFAULT_POLICY, enforce
from aibos_otel.lifecycle.safe_dir import NotABackupError
from aibos_otel.sdk.file_backup import MARKER_NAME
from aibos_otel.terminal import escape


def register(subparsers: Any) -> None:
    """Add the ``retention`` command group and the ``erase`` command."""
    _register_retention(subparsers)
    from aibos_otel.lifecycle.erase_command import add_parser

    add_parser(subparsers)


def _register_retention(subparsers: Any) -> None:
    retention = subparsers.add_parser("retention", help="local retention of the file backup")
    actions = retention.add_subparsers(dest="retention_command", metavar="ACTION", required=True)
    run = actions.add_parser(
        "enforce",
        help="delete or archive rotated backup files past their level's retention",
        description="Rules: "
        + ", ".join(
            f"{level} {rule.days:g} d{' (archive)' if rule.archive else ''}"
            for level, rule in DEFAULT_POLICY.items()
        )
        + f". Runs only in a directory the file backup marked ({MARKER_NAME}); touches only regular "
        "files directly in it and in a real archive/ (never through a symbolic link) and never "
        "overwrites a file in the archive. Exit 1 when an entry was skipped, 2 on a bad directory.",
    )
    run.add_argument(
        "--dir",
        default=os.environ.get("AIBOS_FILE_BACKUP_DIR", "/var/log/aibos"),
        help="backup directory (default: $AIBOS_FILE_BACKUP_DIR or /var/log/aibos)",
    )
    run.add_argument("--dry-run", action="store_true", help="print what would be done, change nothing")
    run.add_argument("--no-archive", action="store_true", help="delete instead of archiving info and above")
    run.add_argument("--archive-days", type=float, help="also delete archived files older than this")
    run.add_argument(
        "--force",
        action="store_true",
        help=f"run in a directory without the {MARKER_NAME} marker (a backup older than the marker)",
    )
    run.set_defaults(func=_enforce)


def _enforce(args: argparse.Namespace) -> int:
    """0 when every due file was handled, 1 when some entry was skipped, 2 on a bad directory."""
    if not os.path.isdir(args.dir):
        print(f"aibos-otel retention: no such directory: {escape(args.dir)}", file=sys.stderr)
        return 2
    try:
        report = enforce(
            args.dir,
            archive=not args.no_archive,
            archive_days=args.archive_days,
            dry_run=args.dry_run,
            force=args.force,
        )
    except NotABackupError as exc:
        print(f"aibos-otel retention: {escape(exc)}", file=sys.stderr)
        return 2
    except OSError as exc:  # the directory itself cannot be read: nothing was done
        reason = escape(exc.strerror or exc)
        print(f"aibos-otel retention: cannot read {escape(args.dir)}: {reason}", file=sys.stderr)
        return 2
    for action in report.actions:
        print(action.describe(dry_run=args.dry_run))
    for problem in report.problems:
        print(problem.describe(dry_run=args.dry_run))
    done = "to process" if args.dry_run else "processed"
    summary = f"{len(report.actions)} file(s) {done} in {escape(args.dir)}"
    if report.problems:
        summary += f"; {len(report.problems)} skipped (see above)"
    print(summary)
    return 0 if report.complete else 1
