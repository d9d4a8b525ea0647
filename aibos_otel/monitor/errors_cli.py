"""``aibos-otel errors``: list error groups with filters, and ``resolve`` / ``ignore`` / ``reopen``.

Listing reads the data directory (no monitor needs to run). State changes go through the running
monitor's API (``--api``, default ``http://127.0.0.1:8088``; ``--token`` or
``$AIBOS_MONITOR_TOKEN``), because the monitor caches the groups it merges occurrences into and
is the one writer of their state; the actor recorded is ``cli:$USER``. Every cell printed is
escaped (``aibos_otel.terminal.escape``): exception texts come from any sender.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import quote

from aibos_otel.monitor.groupquery import SORTS, FilterError, GroupFilter
from aibos_otel.monitor.groupstate import STATES
from aibos_otel.monitor.settings import DEFAULT_API_PORT
from aibos_otel.terminal import escape

DEFAULT_API = f"http://127.0.0.1:{DEFAULT_API_PORT}"
API_TIMEOUT_S = 10.0


def register(subparsers: Any, list_func: Any) -> None:
    """``errors`` with its filters and subcommands."""
    errors = subparsers.add_parser("errors", help="list error groups (newest first); resolve, ignore, reopen")
    errors.add_argument("--data-dir", type=Path, default=None)
    errors.add_argument("--limit", type=int, default=20)
    errors.add_argument("--state", default="", help=f"comma-separated: {', '.join(STATES)}")
    errors.add_argument("--service", default="")
    errors.add_argument("--environment", default="")
    errors.add_argument("--release", default="")
    errors.add_argument("--search", default="", help="text in the type or message")
    errors.add_argument("--sort", default="last_seen", choices=sorted(SORTS))
    errors.set_defaults(func=list_func)
    actions = errors.add_subparsers(dest="action")
    for name, helptext in (
        ("resolve", "resolve groups (in a release with --release, or --next-release)"),
        ("ignore", "ignore groups (forever, --for 2h, --count N, --until-escalating)"),
        ("reopen", "reopen groups"),
    ):
        sub = actions.add_parser(name, help=helptext)
        sub.add_argument("fingerprints", nargs="+", help="group fingerprints (from the list)")
        sub.add_argument("--api", default=os.environ.get("AIBOS_MONITOR_API") or DEFAULT_API)
        sub.add_argument("--token", default=os.environ.get("AIBOS_MONITOR_TOKEN") or None)
        if name == "resolve":
            how = sub.add_mutually_exclusive_group()
            how.add_argument("--release", dest="in_release", default=None, help="resolved in this release")
            how.add_argument("--next-release", action="store_true", help="resolved in the next release")
        if name == "ignore":
            how = sub.add_mutually_exclusive_group()
            how.add_argument("--for", dest="for_", default=None, help="a duration (30m, 2h, 7d)")
            how.add_argument("--count", type=int, default=None, help="until this many more occurrences")
            how.add_argument("--until-escalating", action="store_true")
        sub.set_defaults(func=change_state, action=name)


def filters_of(args: argparse.Namespace) -> GroupFilter:
    """The list filters of the command line (the same checks as the API's)."""
    query = {
        "state": args.state,
        "service": args.service,
        "environment": args.environment,
        "release": args.release,
        "q": args.search,
        "sort": args.sort,
    }
    return GroupFilter.from_query({k: v for k, v in query.items() if v})


def body_of(args: argparse.Namespace) -> dict[str, Any]:
    """The API body of a state change."""
    body: dict[str, Any] = {"actor": f"cli:{getpass.getuser()}"[:64]}
    if args.action == "resolve":
        if args.in_release:
            body["release"] = args.in_release
        elif args.next_release:
            body["next_release"] = True
    elif args.action == "ignore":
        if args.for_:
            body["for"] = args.for_
        elif args.count is not None:
            body["count"] = args.count
        elif args.until_escalating:
            body["until_escalating"] = True
    return body


def change_state(args: argparse.Namespace) -> int:
    """POST the action to the monitor, one group at a time; print each group's new state."""
    body, failed = body_of(args), 0
    for fp in args.fingerprints:
        url = f"{args.api.rstrip('/')}/api/errors/{quote(fp, safe='')}/{args.action}"
        status, reply = _post(url, body, args.token)
        if status == 200:
            print(f"{escape(fp[:12])}  {escape(str(reply.get('state')))}")
        else:
            failed += 1
            print(
                f"aibos-otel: {escape(fp[:40])}: {escape(str(reply.get('error', status)))}", file=sys.stderr
            )
    return 1 if failed else 0


def _post(url: str, body: dict[str, Any], token: str | None) -> tuple[int, dict[str, Any]]:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST", headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=API_TIMEOUT_S) as resp:
            return resp.status, _json(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, _json(exc.read())
    except (OSError, ValueError) as exc:
        return 0, {"error": f"cannot reach the monitor at {url.split('/api/', maxsplit=1)[0]}: {exc}"}


def _json(raw: bytes) -> dict[str, Any]:
    try:
        value = json.loads(raw[: 4 << 20] or b"{}")
    except ValueError:
        return {"error": "the answer is not JSON"}
    return value if isinstance(value, dict) else {}


def check_filters(args: argparse.Namespace) -> GroupFilter | None:
    """The filters, or ``None`` after printing why they are refused."""
    try:
        return filters_of(args)
    except FilterError as exc:
        print(f"aibos-otel: {exc}", file=sys.stderr)
        return None


def fmt_time(ns: int | None) -> str:
    """Local time of a timestamp (``-`` for none)."""
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ns / 1e9)) if ns else "-"
