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
import tempfile
import time
from typing import Any


def register(subparsers: Any) -> None:
    """Add the ``demo`` command."""
    demo = subparsers.add_parser("demo", help="run a demo service that logs through the whole pipeline")
    demo.add_argument(
        "--endpoint",
        default=os.environ.get("AIBOS_ENDPOINT") or os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"),
        help="OTLP endpoint, e.g. http://127.0.0.1:4317 for `aibos-otel up` (default: none, local only)",
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


def run_demo(args: argparse.Namespace) -> int:
    """Run the demo; returns 0 when every record was delivered."""
    import aibos_otel

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
    print(f"  OTLP        : {args.endpoint or 'off (pass --endpoint, e.g. to `aibos-otel up`)'}")
    print(f"  self-metrics: {json.dumps(snapshot['records'])}")
    if snapshot["dropped"]:
        print(f"  dropped     : {json.dumps(snapshot['dropped'])}")
    return 0 if delivered else 1
