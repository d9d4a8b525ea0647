"""A service that logs numbered records; the outage, kill and overload tests drive it.

    python spool_app.py log N RATE     log N records (RATE per second, 0 = flat out), shut down
    python spool_app.py hold N         log N records, print LOGGED, then wait to be killed
    python spool_app.py drain SECONDS  log nothing; wait until the spool is empty, shut down

Configuration comes from AIBOS_* variables; the last line printed is a JSON summary.
"""

import json
import os
import sys
import time
from pathlib import Path

import aibos_otel
from aibos_otel import DEBUG, ERROR, FATAL, INFO, TRACE, WARNING

# One in 100 is ERROR or FATAL; the rest is mostly noise, as in a real service under load.
MIX = [TRACE] * 30 + [DEBUG] * 30 + [INFO] * 30 + [WARNING] * 8 + [ERROR, FATAL]
BASE = int(os.environ.get("ID_BASE", "0"))


def log_records(count: int, rate: float) -> None:
    log = aibos_otel.get_logger("load")
    start = time.monotonic()
    for i in range(count):
        rid = BASE + i
        log.log(MIX[rid % len(MIX)], "record %d", rid, extra={"rid": rid})
        if rate and i % 50 == 0:
            ahead = start + i / rate - time.monotonic()
            if ahead > 0:
                time.sleep(ahead)


def spool_pending(directory: Path) -> int:
    return sum(1 for p in directory.iterdir() if ".otlp" in p.name) if directory.exists() else 0


def main() -> None:
    handle = aibos_otel.setup()
    mode = sys.argv[1]
    started = time.monotonic()
    if mode == "log":
        log_records(int(sys.argv[2]), float(sys.argv[3]))
    elif mode == "hold":
        log_records(int(sys.argv[2]), 0)
        print("LOGGED", flush=True)
        time.sleep(120)
    elif mode == "drain":
        deadline = time.monotonic() + float(sys.argv[2])
        spool = handle.settings.spool_dir
        assert spool is not None
        while spool_pending(spool) and time.monotonic() < deadline:
            time.sleep(0.05)
    logged_seconds = time.monotonic() - started
    before = time.monotonic()
    handle.shutdown()
    summary = {
        "logged_seconds": round(logged_seconds, 3),
        "shutdown_seconds": round(time.monotonic() - before, 3),
        "metrics": handle.metrics.snapshot(),
    }
    print(json.dumps(summary), flush=True)


if __name__ == "__main__":
    main()
