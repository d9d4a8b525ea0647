"""Delivery under overload and with the collector down: aibos vs the stock batch processor.

Each configuration runs in its own service process that logs N records of mixed severity as
fast as one thread can (30 % TRACE, 30 % DEBUG, 30 % INFO, 8 % WARN, 1 % ERROR, 1 % FATAL)
through the same stdlib bridge, to a slow OTLP/gRPC receiver in this process (a sleep per
request). Configurations:

* ``stock-2048``: OpenTelemetry's ``BatchLogRecordProcessor`` with its defaults (queue 2 048);
* ``stock-20000``: the same with a queue as large as the aibos default (20 000);
* ``aibos``: ``aibos_otel.setup()`` (severity-aware queue of 20 000 records).

Then the shutdown time with the collector down (nothing listens on the port), after logging
``--down-records`` records.

    .venv/bin/python benchmarks/delivery_overload.py [--records 200000] [--delay 0.05] [--skip-down]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.delivery.receiver import OtlpReceiver  # noqa: E402
from tests.support.helpers import free_port  # noqa: E402

SEVERITIES = ("trace", "debug", "info", "warn", "error", "fatal")

CHILD = r"""
import json, logging, sys, time
mode, endpoint, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
MIX = [5] * 30 + [10] * 30 + [20] * 30 + [30] * 8 + [40, 50]
if mode == "aibos":
    import aibos_otel
    handle = aibos_otel.setup(environment="staging", endpoint=endpoint, level=5, file_backup=False,
                              spool=False, capture_warnings=False)
    stop = handle.shutdown
else:
    from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter
    from opentelemetry.sdk._logs import LoggerProvider
    from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
    from aibos_otel.sdk.bridge import OTelBridgeHandler
    provider = LoggerProvider(shutdown_on_exit=False)
    provider.add_log_record_processor(BatchLogRecordProcessor(
        OTLPLogExporter(endpoint=endpoint, insecure=True), max_queue_size=int(mode.split("-")[1])))
    root = logging.getLogger()
    root.addHandler(OTelBridgeHandler(provider))
    root.setLevel(5)
    stop = provider.shutdown
log = logging.getLogger("load")
start = time.perf_counter()
for i in range(count):
    log.log(MIX[i % 100], "record %d", i, extra={"rid": i})
logged = time.perf_counter() - start
before = time.perf_counter()
stop()
print(json.dumps({"us_per_call": logged / count * 1e6, "shutdown_s": time.perf_counter() - before}))
"""


def _class(number: int) -> str:
    return SEVERITIES[min(max(number - 1, 0) // 4, 5)]


def run(mode: str, endpoint: str, count: int) -> dict[str, float]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "AIBOS_"))}
    env["PYTHONPATH"] = str(ROOT)
    out = subprocess.run(
        [sys.executable, "-c", CHILD, mode, endpoint, str(count)],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--delay", type=float, default=0.05, help="receiver sleep per request (s)")
    parser.add_argument("--down-records", type=int, default=5_000)
    parser.add_argument("--skip-down", action="store_true", help="skip the collector-down shutdown runs")
    parser.add_argument("--modes", default="stock-2048,stock-20000,aibos")
    args = parser.parse_args()
    modes = args.modes.split(",")
    sent = Counter(
        {s: args.records * share // 100 for s, share in zip(SEVERITIES, (30, 30, 30, 8, 1, 1), strict=True)}
    )

    print(f"overload: {args.records} records flat out, receiver sleeps {args.delay} s per request")
    header = f"| {'config':<12} | µs/call | received | lost ERROR | lost FATAL | lost WARN | lost TRACE+DEBUG+INFO |"
    print(header)
    print("|" + "|".join("-" * (len(c)) for c in header.split("|")[1:-1]) + "|")
    for mode in modes:
        receiver = OtlpReceiver(delay=args.delay).start()
        try:
            result = run(mode, receiver.endpoint, args.records)
            time.sleep(0.5)
            got = Counter(
                _class(r["severity_number"]) for r in receiver.snapshot() if "rid" in r["attributes"]
            )
        finally:
            receiver.stop()
        lost = {s: sent[s] - got[s] for s in SEVERITIES}
        print(
            f"| {mode:<12} | {result['us_per_call']:7.1f} | {sum(got.values()):8d} | {lost['error']:10d} | "
            f"{lost['fatal']:10d} | {lost['warn']:9d} | {lost['trace'] + lost['debug'] + lost['info']:21d} |"
        )

    if args.skip_down:
        return
    print(f"\nshutdown with the collector down, after {args.down_records} records")
    print("| config       | shutdown s |")
    print("|--------------|------------|")
    for mode in modes:
        dead = f"http://127.0.0.1:{free_port()}"
        result = run(mode, dead, args.down_records)
        print(f"| {mode:<12} | {result['shutdown_s']:10.2f} |")


if __name__ == "__main__":
    main()
