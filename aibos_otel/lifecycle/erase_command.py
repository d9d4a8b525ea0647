"""``aibos-otel erase``: right to erasure over the local file backup and Loki, audited.

Order of work: every input is checked first (matches, times, selector, URL), so a bad request
changes nothing; then the local backup is rewritten, then Loki's delete requests are sent, and
last an audit event (``logs.erase``) records who erased what, with counts and attribute keys but
never the matched values. A dry run reads and reports, and sends and records nothing.
"""

from __future__ import annotations

import argparse
import functools
import getpass
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from aibos_otel.lifecycle.collector_backup import DEFAULT_PATH as COLLECTOR_DEFAULT_PATH
from aibos_otel.lifecycle.collector_backup import erase_collector_backup
from aibos_otel.lifecycle.erasure import (
    EraseError,
    ErasureReport,
    Match,
    Window,
    check_backup_dir,
    default_backup_dir,
    erase_backups,
    parse_time,
    summarize,
)
from aibos_otel.lifecycle.loki_delete import (
    DeleteRequest,
    DeleteResult,
    FilterForm,
    LokiError,
    authorization_from,
    build_request,
    send,
)
from aibos_otel.sdk.file_backup import MARKER_NAME
from aibos_otel.terminal import escape

AUDIT_ACTION = "logs.erase"


def add_parser(subparsers: Any) -> None:
    """Add ``erase`` to the command line."""
    erase = subparsers.add_parser(
        "erase",
        help="right to erasure: drop matching records from the local backup and Loki",
        description="Drop every record whose attributes match all --match pairs from the local file "
        "backup (rotated, archived and, with --include-active, active files) and send Loki a delete "
        "request for the same records. Records an audit event (counts, never the values). Only "
        f"regular files are touched, never through a symbolic link, and only in a --backup-dir "
        f"the file backup marked ({MARKER_NAME}) unless --force.",
    )
    erase.add_argument(
        "--match",
        action="append",
        required=True,
        metavar="KEY=VALUE",
        help="attribute that must equal VALUE, e.g. user.id=42 (repeat: all must match)",
    )
    erase.add_argument(
        "--backup-dir",
        default=None,
        help=f"local backup directory (default: $AIBOS_FILE_BACKUP_DIR or {default_backup_dir({})})",
    )
    erase.add_argument("--no-backup", action="store_true", help="leave the SDK's local backup alone")
    erase.add_argument(
        "--force",
        action="store_true",
        help=f"erase in a --backup-dir without the {MARKER_NAME} marker (a backup older than the marker)",
    )
    erase.add_argument(
        "--collector-backup",
        metavar="PATH",
        help=f"also erase from the collector's file backup ($AIBOS_BACKUP_PATH: {COLLECTOR_DEFAULT_PATH})",
    )
    erase.add_argument(
        "--include-active",
        action="store_true",
        help="also rewrite the files being written (<level>.jsonl, the collector's logs.jsonl) "
        "when no process holds them open",
    )
    erase.add_argument(
        "--loki",
        metavar="URL",
        help="Loki base URL, e.g. http://loki:3100 (credentials from the environment only: "
        "AIBOS_LOKI_BEARER_TOKEN or AIBOS_LOKI_BASIC_AUTH=user:password)",
    )
    erase.add_argument("--selector", help="stream selector for Loki, e.g. '{service_name=\"checkout\"}'")
    erase.add_argument("--tenant", help="Loki tenant, sent as X-Scope-OrgID (default: $LOKI_TENANT)")
    erase.add_argument(
        "--loki-filter",
        choices=("metadata", "line", "both"),
        default="metadata",
        help='match structured metadata (user_id="42", default), the log line (|= "42"), or send both',
    )
    erase.add_argument("--start", help="RFC 3339 start of the window (default: the beginning of time)")
    erase.add_argument("--end", help="RFC 3339 end of the window (default: now)")
    erase.add_argument("--dry-run", action="store_true", help="report what would go; change and send nothing")
    erase.add_argument("--actor", help="who asks for the erasure, for the audit event (default: the OS user)")
    erase.add_argument("--reason", help="ticket or request reference for the audit event (no personal data)")
    erase.set_defaults(func=run)


def _actor(explicit: str | None) -> str:
    if explicit:
        return explicit
    try:
        return os.environ.get("SUDO_USER") or getpass.getuser()
    except (OSError, KeyError):  # no login name in a bare container
        return f"uid:{os.getuid()}"


def _fail(message: str) -> int:
    print(f"aibos-otel erase: {message}", file=sys.stderr)
    return 2


def run(args: argparse.Namespace) -> int:
    """Carry out one erasure request; 0 when complete, 1 when something was left, 2 on bad input."""
    try:
        matches = [Match.parse(text) for text in args.match]
        window = Window(
            parse_time(args.start, "--start") if args.start else None,
            parse_time(args.end, "--end") if args.end else None,
        )
        requests = _loki_requests(args, matches, window)
        local = _local_targets(args)
    except EraseError as exc:
        return _fail(str(exc))

    reports: list[tuple[str, ErasureReport]] = []
    for label, erase in local:
        report = erase(matches, window=window, dry_run=args.dry_run, include_active=args.include_active)
        reports.append((label, report))
        for file_result in report.files:
            print(file_result.describe(dry_run=args.dry_run))
        verb = "would erase" if args.dry_run else "erased"
        print(
            f"{escape(label)}: {verb} {report.erasable if args.dry_run else report.erased} "
            f"record(s) in {report.scanned} file(s)"
            + (f"; {report.left} matching record(s) left in skipped files" if report.left else "")
            + (f"; {len(report.errors)} file(s) failed" if report.errors else "")
        )

    loki_results: list[DeleteResult] = []
    loki_errors: list[str] = []
    if requests and args.loki_filter != "line":
        # Say it where it is acted on, not only in the docs: an erasure that silently does not
        # hide anything is the worst outcome (docs/compliance.md, "Loki").
        print(
            "note: Loki 3.4 accepted structured-metadata deletes but did not hide the lines; "
            "check on your Loki that the lines are gone (or use --loki-filter line)",
            file=sys.stderr,
        )
    for request in requests:
        if args.dry_run:
            print(f"would send: {request.describe()}")
            continue
        try:
            result = send(request)
        except LokiError as exc:
            loki_errors.append(str(exc))
            print(f"error   Loki: {exc}", file=sys.stderr)
            continue
        loki_results.append(result)
        print(f"{result.describe()}; query: {request.query}")

    if args.dry_run:
        return 1 if any(report.errors for _, report in reports) else 0
    complete = all(report.complete for _, report in reports) and not loki_errors
    recorded = _record_audit(
        args,
        matches=matches,
        reports=reports,
        requests=requests,
        loki_results=loki_results,
        loki_errors=loki_errors,
        complete=complete,
    )
    return 0 if complete and recorded else 1


Eraser = Callable[..., ErasureReport]


def _local_targets(args: argparse.Namespace) -> list[tuple[str, Eraser]]:
    """The local backups to erase from, each checked to exist before anything changes."""
    targets: list[tuple[str, Eraser]] = []
    if not args.no_backup:
        directory = Path(args.backup_dir or default_backup_dir())
        if not directory.is_dir():
            raise EraseError(f"no such backup directory: {escape(directory)} (use --no-backup for Loki only)")
        check_backup_dir(directory, force=args.force)
        targets.append((f"backup:{directory}", functools.partial(erase_backups, directory, force=args.force)))
    if args.collector_backup:
        path = Path(args.collector_backup)
        if not path.parent.is_dir():
            raise EraseError(f"no such collector backup directory: {escape(path.parent)}")
        targets.append((f"collector-backup:{path}", functools.partial(erase_collector_backup, path)))
    return targets


def _loki_requests(args: argparse.Namespace, matches: Sequence[Match], window: Window) -> list[DeleteRequest]:
    if args.loki is None:
        if args.selector or args.tenant:
            raise EraseError("--selector and --tenant need --loki URL")
        return []
    if not args.selector:
        raise EraseError("--loki needs --selector, e.g. '{service_name=\"checkout\"}'")
    tenant = args.tenant or os.environ.get("LOKI_TENANT") or None
    authorization = authorization_from()
    forms: tuple[FilterForm, ...] = (
        ("metadata", "line") if args.loki_filter == "both" else (args.loki_filter,)
    )
    return [
        build_request(
            args.loki,
            args.selector,
            matches,
            start=window.start,
            end=window.end,
            tenant=tenant,
            authorization=authorization,
            form=form,
        )
        for form in forms
    ]


def _record_audit(
    args: argparse.Namespace,
    *,
    matches: Sequence[Match],
    reports: Sequence[tuple[str, ErasureReport]],
    requests: Sequence[DeleteRequest],
    loki_results: Sequence[DeleteResult],
    loki_errors: Sequence[str],
    complete: bool,
) -> bool:
    """Send the ``logs.erase`` audit event through a pipeline built from the environment (the
    same ``AIBOS_*``/``OTEL_*`` variables as a service); True when it was handed on."""
    from aibos_otel.lifecycle.audit import audit
    from aibos_otel.sdk.settings import SettingsError
    from aibos_otel.sdk.setup import setup

    targets = [label for label, _ in reports] + ([f"loki:{args.selector}"] if requests else [])
    done_something = any(report.erased for _, report in reports) or bool(loki_results)
    files = [result for _, report in reports for result in report.files]
    details: dict[str, Any] = {
        "erase": {"match_keys": sorted({m.key for m in matches}), **(summarize(files) if reports else {})}
    }
    if requests:
        details["loki"] = {
            "requests_sent": len(loki_results),
            "requests_failed": len(loki_errors),
            "request_ids": [r.request_id for r in loki_results if r.request_id],
        }
    if args.reason:
        details["erase"]["reason"] = args.reason
    try:
        handle = setup(
            service_name="aibos-otel",
            console=False,
            capture_stdlib=False,
            capture_exceptions=False,
            capture_warnings=False,
            flush_on_sigterm=False,
        )
    except (SettingsError, OSError) as exc:
        print(f"aibos-otel erase: the audit event was NOT recorded: {exc}", file=sys.stderr)
        return False
    try:
        audit(
            AUDIT_ACTION,
            actor=_actor(args.actor),
            target=",".join(targets) or None,
            outcome="success" if complete else ("partial" if done_something else "failure"),
            **details,
        )
        delivered = handle.force_flush(10_000)
        settings = handle.settings
    finally:
        handle.shutdown()
    if settings.endpoint is None and settings.file_backup_dir is None:
        print(
            "aibos-otel erase: the audit event went nowhere: set AIBOS_ENDPOINT (or "
            "OTEL_EXPORTER_OTLP_ENDPOINT) or AIBOS_FILE_BACKUP, as for the services",
            file=sys.stderr,
        )
        return False
    if not delivered:
        print("aibos-otel erase: the audit event could not be delivered", file=sys.stderr)
        return False
    where = settings.logs_endpoint or settings.file_backup_dir
    print(f"audit event {AUDIT_ACTION} recorded ({where})")
    return True
