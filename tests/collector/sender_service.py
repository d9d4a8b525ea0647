"""A small Python service that logs through ``aibos_otel.setup()`` to a collector, run as its own process.

    python tests/collector/sender_service.py --endpoint=http://127.0.0.1:4317 --protocol=grpc \
        --service=checkout --count=60 --run-id=r1

It logs ``count`` records cycling through the six levels (TRACE..FATAL), each with a unique
``test.record_id`` attribute (with ``--alert-info``, INFO records also carry an alert annotation), flushes, shuts down, and prints one JSON line: the ids and levels it logged.
Exit status 1 when the flush did not complete.
"""

from __future__ import annotations

import argparse
import json
import sys

import aibos_otel

LEVELS = ("trace", "debug", "info", "warning", "error", "fatal")
# The `level` resource attribute the gateway derives from each SDK level.
LEVEL_LABEL = {"trace": "trace", "debug": "debug", "info": "info", "warning": "warn", "error": "error"}
LEVEL_LABEL["fatal"] = "fatal"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--protocol", default="grpc", choices=["grpc", "http/protobuf"])
    parser.add_argument("--service", required=True)
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--run-id", required=True)
    parser.add_argument("--alert-info", action="store_true", help="annotate INFO records with an alert")
    args = parser.parse_args()

    handle = aibos_otel.setup(
        service_name=args.service,
        environment="staging",
        endpoint=args.endpoint,
        protocol=args.protocol,
        console=False,
        level="TRACE",
        file_backup=False,
    )
    log = aibos_otel.get_logger("sender")
    sent = []
    for i in range(args.count):
        level = LEVELS[i % len(LEVELS)]
        record_id = f"{args.run_id}-{i:04d}"
        extra: dict[str, object] = {"test.record_id": record_id}
        alert = args.alert_info and level == "info"
        if alert:
            extra["alert"] = {"severity": "warning"}  # flattened to alert.severity by the SDK
        getattr(log, level)("order %s processed", i, extra=extra)
        sent.append({"id": record_id, "level": LEVEL_LABEL[level], "alert": alert})
    flushed = handle.force_flush(timeout_millis=20_000)
    handle.shutdown()
    print(json.dumps(sent))
    return 0 if flushed else 1


if __name__ == "__main__":
    sys.exit(main())
