"""``aibos-otel demo``: a small service that logs through the whole pipeline.

It shows every feature once: the six levels, bound context, a span, a repeated error that
groups under one fingerprint, an alert-annotated error and a fatal record, to the console,
the file backup and, when an endpoint is given (the monitor from ``aibos-otel up``, or a
collector), over OTLP.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import tempfile
import time
import urllib.request
from typing import Any
from urllib.parse import urlsplit

MONITOR_OTLP = "http://127.0.0.1:4317"
MONITOR_API = "http://127.0.0.1:8088"


def register(subparsers: Any) -> None:
    """Add the ``demo`` command."""
    demo = subparsers.add_parser("demo", help="run a demo service that logs through the whole pipeline")
    demo.add_argument(
        "--endpoint",
        default=os.environ.get("AIBOS_ENDPOINT") or os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"),
        help=f"OTLP endpoint (default: $AIBOS_ENDPOINT, $OTEL_EXPORTER_OTLP_ENDPOINT, or the monitor of "
        f"`aibos-otel up` at {MONITOR_OTLP} when it is running; otherwise local only)",
    )
    demo.add_argument(
        "--monitor-api",
        default=MONITOR_API,
        help=f"the monitor's API, to show the alerts and error groups it derived (default {MONITOR_API})",
    )
    demo.add_argument("--protocol", choices=("grpc", "http/protobuf"), default=None)
    demo.add_argument("--file-dir", help="file backup directory (default: a new temporary directory)")
    demo.add_argument("--requests", type=int, default=3, help="simulated requests (default 3)")
    demo.add_argument("--quiet", action="store_true", help="no console output, only the summary")
    demo.set_defaults(func=run_demo)


def _simulate(requests: int) -> None:
    from opentelemetry.sdk.trace import TracerProvider

    import aibos_otel

    log = aibos_otel.get_logger("aibos.demo.checkout")
    log.setLevel(aibos_otel.TRACE)
    tracer = TracerProvider().get_tracer("aibos.demo")
    log.info("demo service starting", extra={"build": {"commit": "abc123", "python": "3.11"}})
    for number in range(1, requests + 1):
        with (
            aibos_otel.bind(request_id=f"req-{number:04d}", user={"id": 1000 + number}),
            tracer.start_as_current_span("POST /checkout"),
        ):
            log.trace("cart loaded with %d items", number * 2)
            log.debug("pricing rules applied", extra={"rules": ["vat", "promo"]})
            log.info("order placed", extra={"order": {"id": 5000 + number, "total": 19.5 * number}})
            try:
                raise ConnectionError(f"payment gateway timeout after {30 + number} s (attempt {number})")
            except ConnectionError:
                log.exception("payment failed")  # same bug each time: one error group
    log.warning("inventory low", extra={"sku": "SKU-1", "remaining": 3})
    log.error(
        "database connection failed",
        extra={
            "alert": {"severity": "critical", "channels": ["slack", "pagerduty"], "escalation": "immediate"}
        },
    )
    log.fatal("demo service cannot continue: config store unreachable")


def _listening(url: str) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 80), timeout=0.3):
            return True
    except OSError:
        return False


def _get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=2) as response:
        return json.load(response)


def _show_monitor(api: str) -> None:
    """Print what the monitor derived from the demo's records (alerts, error groups)."""
    from aibos_otel.terminal import escape

    try:
        page = _get_json(f"{api}/api/alerts?limit=20")
        alerts, more = page["alerts"], page.get("next_cursor") is not None
        groups = _get_json(f"{api}/api/errors?limit=5")["errors"]
        group_count = _get_json(f"{api}/api/stats")["error_groups"]
    except (OSError, ValueError, KeyError) as exc:
        print(f"  monitor     : could not read {api} ({escape(str(exc))})")
        return
    shown = f"{len(alerts)}{'+' if more else ''}"
    print(f"  monitor     : {api}/ (page), {shown} active alert(s), {group_count} error group(s)")
    # alert and error texts come from any sender: escaped, so they cannot drive the terminal
    for alert in alerts:
        summary = alert.get("annotations", {}).get("summary", "")
        print(f"    alert {escape(alert['state']):<8} {escape(alert['rule']):<16} {escape(str(summary))}")
    for group in groups:
        what = f"{group['type']}: {group['message']}" if group["type"] else group["message"]
        print(f"    error x{group['count']:<3} {escape(group['fingerprint'][:12])}  {escape(what[:70])}")


def run_demo(args: argparse.Namespace) -> int:
    """Run the demo; returns 0 when every record was delivered."""
    import aibos_otel

    if args.endpoint is None and _listening(MONITOR_OTLP):
        args.endpoint = MONITOR_OTLP  # `aibos-otel up` is running: send to it
    file_dir = args.file_dir or tempfile.mkdtemp(prefix="aibos-demo-")
    handle = aibos_otel.setup(
        service_name="aibos-demo",
        service_version="1.0.0",
        environment="development",
        level="trace",
        endpoint=args.endpoint,
        protocol=args.protocol,
        console=not args.quiet,
        file_backup=file_dir,
    )
    started = time.monotonic()
    _simulate(args.requests)
    delivered = handle.force_flush(10_000)
    snapshot = handle.metrics.snapshot()
    handle.shutdown()
    elapsed = time.monotonic() - started
    print()
    print(f"aibos-otel demo: logged in {elapsed:.2f} s; delivered: {'yes' if delivered else 'NO'}")
    print(f"  file backup : {file_dir} ({', '.join(sorted(os.listdir(file_dir)))})")
    print(f"  OTLP        : {args.endpoint or 'off (start `aibos-otel up` first, or pass --endpoint)'}")
    print(f"  self-metrics: {json.dumps(snapshot['records'])}")
    if snapshot["dropped"]:
        print(f"  dropped     : {json.dumps(snapshot['dropped'])}")
    if args.endpoint and _listening(args.monitor_api):
        time.sleep(1.5)  # let the monitor's rule tick (1 s) turn the records into alerts
        _show_monitor(args.monitor_api.rstrip("/"))
    return 0 if delivered else 1
