"""A service that logs numbered records; the outage, kill and overload tests drive it.

    python spool_app.py log N RATE     log N records (RATE per second, 0 = flat out), shut down
    python spool_app.py hold N         log N records, print LOGGED, then wait to be killed
    python spool_app.py drain SECONDS  log nothing; wait until the spool is empty, shut down

Configuration comes from AIBOS_* variables; the last line printed is a JSON summary, with the
records that entered the delivery stage counted by severity class ("entered").
"""

import json
import os
import sys
import threading
import time
from pathlib import Path

from opentelemetry.sdk._logs import LogRecordProcessor, ReadWriteLogRecord

import aibos_otel
from aibos_otel import DEBUG, ERROR, FATAL, INFO, TRACE, WARNING
from aibos_otel.sdk.levels import SEVERITY_CLASSES, severity_class

# One in 100 is ERROR or FATAL; the rest is mostly noise, as in a real service under load.
MIX = [TRACE] * 30 + [DEBUG] * 30 + [INFO] * 30 + [WARNING] * 8 + [ERROR, FATAL]
BASE = int(os.environ.get("ID_BASE", "0"))


CALL_SECONDS: list[float] = []


def log_records(count: int, rate: float) -> None:
    log = aibos_otel.get_logger("load")
    start = time.monotonic()
    for i in range(count):
        rid = BASE + i
        before = time.perf_counter()
        log.log(MIX[rid % len(MIX)], "record %d", rid, extra={"rid": rid})
        CALL_SECONDS.append(time.perf_counter() - before)
        if rate and i % 50 == 0:
            ahead = start + i / rate - time.monotonic()
            if ahead > 0:
                time.sleep(ahead)


class EnteredCounter(LogRecordProcessor):
    """Counts what the pipeline hands to the exporters: the ground truth for drop accounting."""

    def __init__(self) -> None:
        self.counts = [0] * len(SEVERITY_CLASSES)
        self.lock = threading.Lock()

    def on_emit(self, log_record: ReadWriteLogRecord) -> None:
        number = log_record.log_record.severity_number
        with self.lock:
            self.counts[severity_class(number.value if number is not None else 0)] += 1

    def shutdown(self) -> None:
        pass

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


def spool_pending(directory: Path) -> int:
    return sum(1 for p in directory.iterdir() if ".otlp" in p.name) if directory.exists() else 0


def main() -> None:
    entered = EnteredCounter()
    handle = aibos_otel.setup(extra_processors=[entered])
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
        "entered": dict(zip(SEVERITY_CLASSES, entered.counts, strict=True)),
        "max_call_ms": round(max(CALL_SECONDS, default=0) * 1000, 3),
        "p99_call_ms": round(sorted(CALL_SECONDS)[int(len(CALL_SECONDS) * 0.99)] * 1000, 3)
        if CALL_SECONDS
        else 0,
    }
    print(json.dumps(summary), flush=True)


if __name__ == "__main__":
    main()
