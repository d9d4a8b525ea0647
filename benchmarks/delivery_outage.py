"""Records lost to a collector outage: stock batch processor vs aibos, without and with the spool.

A service process logs numbered records at a steady rate for ``--seconds``; the OTLP/gRPC receiver
in this process is stopped after 2 s and started again (same port) after ``--outage`` seconds.
Then the service shuts down and the receiver counts the distinct ids it got, and duplicates.

    .venv/bin/python benchmarks/delivery_outage.py [--rate 1000] [--seconds 16] [--outage 10]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.delivery.receiver import OtlpReceiver  # noqa: E402

CHILD = r"""
import json, logging, sys, time
mode, endpoint, rate, seconds, spool = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
if mode.startswith("aibos"):
    import aibos_otel
    handle = aibos_otel.setup(environment="staging", endpoint=endpoint, file_backup=False,
                              spool=spool if mode == "aibos-spool" else False, capture_warnings=False)
    stop = handle.shutdown
else:
    from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter
    from opentelemetry.sdk._logs import LoggerProvider
    from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
    from aibos_otel.sdk.bridge import OTelBridgeHandler
    provider = LoggerProvider(shutdown_on_exit=False)
    provider.add_log_record_processor(BatchLogRecordProcessor(OTLPLogExporter(endpoint=endpoint, insecure=True)))
    logging.getLogger().addHandler(OTelBridgeHandler(provider))
    logging.getLogger().setLevel(logging.INFO)
    stop = provider.shutdown
log = logging.getLogger("steady")
count = int(rate * seconds)
start = time.monotonic()
for i in range(count):
    log.info("record %d", i, extra={"rid": i})
    ahead = start + (i + 1) / rate - time.monotonic()
    if ahead > 0:
        time.sleep(ahead)
before = time.monotonic()
stop()
print(json.dumps({"count": count, "shutdown_s": time.monotonic() - before}))
"""


def run(mode: str, rate: float, seconds: float, outage: float) -> tuple[int, int, int, float]:
    receiver = OtlpReceiver().start()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "AIBOS_"))}
    env["PYTHONPATH"] = str(ROOT)
    env["AIBOS_EXPORT_TIMEOUT"] = "2"
    env["AIBOS_SPOOL_RETRY_INTERVAL"] = "1"
    with tempfile.TemporaryDirectory() as spool:
        process = subprocess.Popen(
            [sys.executable, "-c", CHILD, mode, receiver.endpoint, str(rate), str(seconds), spool],
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            time.sleep(2)
            receiver.stop()
            time.sleep(outage)
            receiver.start()
            output, _ = process.communicate(timeout=seconds + 120)
            time.sleep(1)
        finally:
            if process.poll() is None:
                process.kill()
            receiver.stop()
    result = json.loads(output.strip().splitlines()[-1])
    ids = Counter(r["attributes"]["rid"] for r in receiver.snapshot())
    duplicates = sum(n - 1 for n in ids.values())
    return result["count"], len(ids), duplicates, result["shutdown_s"]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rate", type=float, default=1000)
    parser.add_argument("--seconds", type=float, default=16)
    parser.add_argument("--outage", type=float, default=10)
    parser.add_argument("--modes", default="stock,aibos,aibos-spool")
    args = parser.parse_args()
    print(
        f"{args.rate:.0f} records/s for {args.seconds:.0f} s; collector down from 2 s to {2 + args.outage:.0f} s"
    )
    print("| config      | logged | received | lost  | duplicates | shutdown s |")
    print("|-------------|--------|----------|-------|------------|------------|")
    for mode in args.modes.split(","):
        logged, received, duplicates, shutdown = run(mode, args.rate, args.seconds, args.outage)
        print(
            f"| {mode:<11} | {logged:6d} | {received:8d} | {logged - received:5d} | {duplicates:10d} | {shutdown:10.2f} |"
        )


if __name__ == "__main__":
    main()
