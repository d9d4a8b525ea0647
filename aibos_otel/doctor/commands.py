"""``aibos-otel doctor`` and ``aibos-otel alerts-test``."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit


def register(subparsers: Any) -> None:
    """Add ``doctor`` and ``alerts-test``."""
    d = subparsers.add_parser(
        "doctor",
        help="check a running deployment against the production-readiness review",
        description="Check a running deployment: every check reports pass, warn or fail, the evidence "
        "and the fix. Checks whose target is not given are skipped. Exit status 1 on any fail.",
    )
    d.add_argument(
        "--policy", type=Path, default=None, help="policy file (default: ./aibos-otel.yaml, else built-in)"
    )
    d.add_argument(
        "--collector",
        help="the agent's or gateway's OTLP/HTTP URL, e.g. http://127.0.0.1:4318 (sends a canary)",
    )
    d.add_argument("--collector-health", help="health_check URL (default: the --collector host, port 13133)")
    d.add_argument(
        "--collector-metrics", help="the collector's own metrics (default: --collector host, :8888/metrics)"
    )
    d.add_argument("--loki", help="Loki's base URL, e.g. http://127.0.0.1:3100")
    d.add_argument(
        "--loki-tenant",
        default=os.environ.get("LOKI_TENANT", "fake"),
        help="X-Scope-OrgID (default $LOKI_TENANT or fake)",
    )
    d.add_argument("--monitor", help="the monitor's API URL, e.g. http://127.0.0.1:8088")
    d.add_argument("--prometheus", help="Prometheus's base URL, e.g. http://127.0.0.1:9090")
    d.add_argument("--alertmanager", help="Alertmanager's base URL, e.g. http://127.0.0.1:9093")
    d.add_argument("--backup", type=Path, help="the gateway's file backup (AIBOS_BACKUP_PATH)")
    d.add_argument(
        "--timeout", type=float, default=30.0, help="seconds the canary may take to arrive (default 30)"
    )
    d.add_argument(
        "--test-channels", action="store_true", help="also test-fire every enabled channel (notifies people)"
    )
    d.add_argument("--json", action="store_true", help="print the report as JSON (for CI)")
    d.set_defaults(func=run)

    t = subparsers.add_parser("alerts-test", help="send a test notification to one policy channel")
    t.add_argument("--channel", required=True, help="the channel's name in the policy")
    t.add_argument(
        "--policy", type=Path, default=None, help="policy file (default: ./aibos-otel.yaml, else built-in)"
    )
    t.set_defaults(func=alerts_test)


def _derived(base: str | None, port: int, path: str) -> str | None:
    if not base:
        return None
    host = urlsplit(base).hostname or "127.0.0.1"
    host = f"[{host}]" if ":" in host else host
    return f"http://{host}:{port}{path}"


def run(args: argparse.Namespace) -> int:
    """Run the checks and print the report; 1 when any check failed, 2 on bad arguments."""
    from aibos_otel.doctor import probe
    from aibos_otel.doctor.model import Targets
    from aibos_otel.doctor.report import render_json, render_text
    from aibos_otel.doctor.run import run_doctor

    urls = {
        "collector": args.collector,
        "collector_health": args.collector_health or _derived(args.collector, 13133, "/"),
        "collector_metrics": args.collector_metrics or _derived(args.collector, 8888, "/metrics"),
        "loki": args.loki,
        "monitor": args.monitor,
        "prometheus": args.prometheus,
        "alertmanager": args.alertmanager,
    }
    for name, url in urls.items():
        if url:
            try:
                probe.check_url(url)
            except probe.ProbeError as exc:
                print(f"aibos-otel doctor: --{name.replace('_', '-')}: {exc}", file=sys.stderr)
                return 2
    targets = Targets(
        policy=args.policy,
        backup=args.backup,
        loki_tenant=args.loki_tenant,
        monitor_token=os.environ.get("AIBOS_MONITOR_TOKEN") or None,
        timeout_s=args.timeout,
        **urls,
    )
    report = run_doctor(targets, test_channels=args.test_channels)
    sys.stdout.write(render_json(report) if args.json else render_text(report))
    return 1 if report.failed else 0


def alerts_test(args: argparse.Namespace) -> int:
    """Send one test notification; 0 when delivered."""
    from aibos_otel.doctor.channel_fire import fire_test
    from aibos_otel.policy.model import PolicyError, load_policy
    from aibos_otel.terminal import escape

    try:
        policy = load_policy(args.policy)
    except PolicyError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    channel = policy.channels.get(args.channel)
    if channel is None:
        print(
            f"aibos-otel: no channel {escape(args.channel)!s}; the policy has: {', '.join(policy.channels)}",
            file=sys.stderr,
        )
        return 2
    if not channel.enabled:
        print(
            f"aibos-otel: channel {escape(channel.name)} is disabled (a required setting is empty)",
            file=sys.stderr,
        )
        return 1
    error = fire_test(channel)
    if error:
        print(f"channel {escape(channel.name)}: test notification FAILED: {escape(error)}", file=sys.stderr)
        return 1
    print(f"channel {escape(channel.name)}: test notification delivered")
    return 0
