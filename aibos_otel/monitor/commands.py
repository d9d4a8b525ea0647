"""``aibos-otel up``, ``monitor``, ``errors`` and ``alerts``."""

from __future__ import annotations

import argparse
import faulthandler
import json
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aibos_otel.monitor.server import Monitor

from aibos_otel.monitor import errors_cli
from aibos_otel.monitor.settings import (
    DEFAULT_API_PORT,
    DEFAULT_GRPC_PORT,
    DEFAULT_HTTP_PORT,
    default_data_dir,
)
from aibos_otel.terminal import escape


def _add_server_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--grpc-port", type=int, default=DEFAULT_GRPC_PORT, help="OTLP/gRPC port (4317)")
    parser.add_argument("--http-port", type=int, default=DEFAULT_HTTP_PORT, help="OTLP/HTTP port (4318)")
    parser.add_argument(
        "--api-port", type=int, default=DEFAULT_API_PORT, help="API, page and /metrics port (8088)"
    )
    parser.add_argument(
        "--data-dir", type=Path, default=None, help="where the SQLite store lives (.aibos-otel)"
    )
    parser.add_argument(
        "--policy", type=Path, default=None, help="policy file (default: the built-in policy)"
    )
    parser.add_argument(
        "--token",
        default=os.environ.get("AIBOS_MONITOR_TOKEN") or None,
        help="require this bearer token on OTLP exports and API changes (default $AIBOS_MONITOR_TOKEN)",
    )
    parser.add_argument(
        "--allow-unauthenticated",
        action="store_true",
        help="listen beyond loopback without --token (only behind a firewall that limits clients)",
    )
    parser.add_argument(
        "--tls-cert", type=Path, default=None, help="serve OTLP and the API over TLS with this certificate"
    )
    parser.add_argument("--tls-key", type=Path, default=None, help="... and this private key")
    parser.add_argument(
        "--metrics-otlp-endpoint",
        default=None,
        help="also push the derived metrics as OTLP/gRPC to this endpoint",
    )


def register(subparsers: Any) -> None:
    """Add the monitor's commands."""
    up = subparsers.add_parser("up", help="run the monitor on the embedded default (nothing else needed)")
    _add_server_options(up)
    up.set_defaults(func=run_monitor)
    mon = subparsers.add_parser("monitor", help="run the monitor with a policy file")
    _add_server_options(mon)
    mon.set_defaults(func=run_monitor)
    errors_cli.register(subparsers, list_errors)
    alerts = subparsers.add_parser("alerts", help="list alerts (active; --all for history)")
    alerts.add_argument("--data-dir", type=Path, default=None)
    alerts.add_argument("--all", action="store_true")
    alerts.set_defaults(func=list_alerts)


def run_monitor(args: argparse.Namespace) -> int:
    """Run until SIGINT/SIGTERM."""
    from aibos_otel.monitor.server import Monitor
    from aibos_otel.monitor.settings import MonitorSettings

    if (args.tls_cert is None) != (args.tls_key is None):
        print("aibos-otel: --tls-cert and --tls-key go together", file=sys.stderr)
        return 2
    settings = MonitorSettings(
        host=args.host,
        grpc_port=args.grpc_port,
        http_port=args.http_port,
        api_port=args.api_port,
        data_dir=args.data_dir or default_data_dir(),
        bearer_token=args.token,
        tls_cert=args.tls_cert,
        tls_key=args.tls_key,
        metrics_otlp_endpoint=args.metrics_otlp_endpoint,
        allow_unauthenticated=args.allow_unauthenticated,
    )
    from aibos_otel.policy.model import PolicyError, load_policy

    try:
        policy = load_policy(args.policy)
    except PolicyError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    try:
        monitor = Monitor(settings, policy)
    except (OSError, ValueError) as exc:
        print(f"aibos-otel: {exc}", file=sys.stderr)
        return 1
    try:
        monitor.start()
    except OSError as exc:
        print(
            f"aibos-otel: {exc} (is another monitor or collector running? pick ports with --*-port)",
            file=sys.stderr,
        )
        return 1
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: _on_stop_signal(stop, settings.shutdown_seconds))
    print(f"aibos monitor is up (policy: {policy.origin}):", flush=True)
    for name, where in monitor.addresses().items():
        print(f"  {name:<10} {where}", flush=True)
    on = [c.name for c in policy.channels.values() if c.enabled]
    print(f"  rules      {', '.join(r.name for r in policy.rules if r.enabled) or 'none'}", flush=True)
    print(f"  channels   {', '.join(on) or 'none'}", flush=True)
    print(f"  ingest     {_scan_description(monitor)}", flush=True)
    if monitor.grpc_port:
        endpoint = monitor.addresses()["otlp_grpc"]
        print(
            f'send logs with aibos_otel.setup(endpoint="{endpoint}") or OTEL_EXPORTER_OTLP_ENDPOINT;'
            " Ctrl-C stops",
            flush=True,
        )
    try:
        while not stop.wait(0.5):
            pass
    finally:
        monitor.stop()
        faulthandler.cancel_dump_traceback_later()
    return 0


def _on_stop_signal(stop: threading.Event, deadline_seconds: float) -> None:
    """First SIGINT/SIGTERM: stop cleanly, under a deadline; a second one: exit at once.

    The deadline runs on faulthandler's watchdog, a C thread that needs no GIL: if a listener or
    a worker does not stop in time, the process still exits (status 1, with every thread's stack
    on stderr to show what held it) instead of waiting for SIGKILL.
    """
    if stop.is_set():
        os._exit(1)
    faulthandler.dump_traceback_later(deadline_seconds, exit=True)
    stop.set()


def _fmt_time(ns: int | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ns / 1e9)) if ns else "-"


def _table(headers: list[str], rows: list[list[str]]) -> str:
    # Every cell is outside data (exception texts, service names, labels from any sender):
    # escaped here, in the one place both tables pass, so no cell can drive the terminal.
    rows = [[escape(cell) for cell in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    return "\n".join(line.rstrip() for line in lines)


def _open_store(data_dir: Path | None) -> Any:
    from aibos_otel.monitor.settings import MonitorSettings
    from aibos_otel.monitor.store import Store

    settings = MonitorSettings(data_dir=data_dir or default_data_dir())
    if not settings.database.exists():
        print(
            f"aibos-otel: no monitor data in {settings.data_dir} (run `aibos-otel up` first)", file=sys.stderr
        )
        return None
    return Store(settings.database)


def list_errors(args: argparse.Namespace) -> int:
    """Print error groups as a table (filters: state, service, environment, release, text)."""
    filters = errors_cli.check_filters(args)
    if filters is None:
        return 2
    store = _open_store(args.data_dir)
    if store is None:
        return 1
    try:
        groups = store.error_groups(limit=max(1, min(args.limit, 1000)), filters=filters)
    finally:
        store.close()
    rows = [
        [
            g["fingerprint"][:12],
            str(g["count"]),
            g["state"],
            str(g["user_count"]),
            (g["type"] or "-")[:30],
            g["message"].replace("\n", " ")[:60],
            ",".join(g["services"])[:30],
            g["last_release"] or "-",
            _fmt_time(g["first_seen_ns"]),
            _fmt_time(g["last_seen_ns"]),
        ]
        for g in groups
    ]
    headers = ["FINGERPRINT", "COUNT", "STATE", "USERS", "TYPE", "MESSAGE", "SERVICES", "RELEASE"]
    print(_table([*headers, "FIRST SEEN", "LAST SEEN"], rows))
    return 0


def list_alerts(args: argparse.Namespace) -> int:
    """Print alerts as a table."""
    store = _open_store(args.data_dir)
    if store is None:
        return 1
    try:
        sql = "SELECT * FROM alerts" + ("" if args.all else " WHERE state != 'resolved'")
        alerts = store.query(sql + " ORDER BY active_at_ns DESC LIMIT 200")
    finally:
        store.close()
    rows = []
    for a in alerts:
        labels = json.loads(a["labels"])
        rows.append(
            [
                a["rule"],
                a["state"],
                ",".join(f"{k}={v}" for k, v in sorted(labels.items()) if k != "alertname")[:60],
                f"{a['value']:g}",
                _fmt_time(a["active_at_ns"]),
                _fmt_time(a["resolved_at_ns"]),
            ]
        )
    print(_table(["RULE", "STATE", "LABELS", "VALUE", "ACTIVE SINCE", "RESOLVED"], rows))
    return 0


def _scan_description(monitor: Monitor) -> str:
    from aibos_otel.monitor.receive.scan import native_available

    if not monitor.settings.native_scan:
        return "pure-Python scan (AIBOS_MONITOR_NATIVE_SCAN=0)"
    if native_available():
        return "Rust scan (aibos_otel_native)"
    return "pure-Python scan (aibos_otel_native is not installed: see native/README.md)"
