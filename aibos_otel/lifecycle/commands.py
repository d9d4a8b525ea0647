"""Lifecycle commands: ``aibos-otel retention enforce`` (per-level retention of the local file
backup) and ``aibos-otel erase`` (right to erasure, in erase_command.py)."""

from __future__ import annotations

import argparse
import os
from typing import Any

from aibos_otel.lifecycle.retention import DEFAULT_POLICY, enforce


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
        ),
    )
    run.add_argument(
        "--dir",
        default=os.environ.get("AIBOS_FILE_BACKUP_DIR", "/var/log/aibos"),
        help="backup directory (default: $AIBOS_FILE_BACKUP_DIR or /var/log/aibos)",
    )
    run.add_argument("--dry-run", action="store_true", help="print what would be done, change nothing")
    run.add_argument("--no-archive", action="store_true", help="delete instead of archiving info and above")
    run.add_argument("--archive-days", type=float, help="also delete archived files older than this")
    run.set_defaults(func=_enforce)


def _enforce(args: argparse.Namespace) -> int:
    if not os.path.isdir(args.dir):
        print(f"aibos-otel retention: no such directory: {args.dir}")
        return 2
    done = enforce(
        args.dir, archive=not args.no_archive, archive_days=args.archive_days, dry_run=args.dry_run
    )
    for action in done:
        print(action.describe(dry_run=args.dry_run))
    print(f"{len(done)} file(s) {'to process' if args.dry_run else 'processed'} in {args.dir}")
    return 0
