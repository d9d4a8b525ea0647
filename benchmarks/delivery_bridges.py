"""Per-call cost of the structlog and loguru bridges, against each library on its own.

    .venv/bin/python benchmarks/delivery_bridges.py [--calls 30000] [--runs 3]

Each configuration runs in a fresh subprocess (runs interleaved, median reported). Output of
the library itself goes to /dev/null; the aibos pipeline (redaction off, a discarding
processor, no OTLP) is the same for every bridge:

  structlog          add_log_level + KeyValueRenderer to /dev/null
  structlog+aibos    the same with OTelProcessor() before the renderer
  loguru             one sink writing to /dev/null
  loguru+aibos       the same plus the OTelSink
  stdlib+aibos       logging.getLogger().info(..., extra=...) through the stdlib bridge
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import textwrap

CONFIGS = ("structlog", "structlog+aibos", "loguru", "loguru+aibos", "stdlib+aibos")

_CHILD = textwrap.dedent(
    """
    import json, os, sys, time
    config, calls = sys.argv[1], int(sys.argv[2])
    devnull = open(os.devnull, "w")
    if "aibos" in config:
        os.environ["OTEL_LOGS_EXPORTER"] = "none"  # no OTLP: the pipeline and a discarding processor
        import aibos_otel
        from opentelemetry.sdk._logs import LogRecordProcessor

        class Discard(LogRecordProcessor):
            def on_emit(self, log_record): pass
            def shutdown(self): pass
            def force_flush(self, timeout_millis=30000): return True

        aibos_otel.setup(environment="staging", console=False, file_backup=False, redaction=False,
                         spool=False, extra_processors=[Discard()])
    if config.startswith("structlog"):
        import structlog
        processors = [structlog.processors.add_log_level]
        if "aibos" in config:
            from aibos_otel.sdk.bridges.structlog import OTelProcessor
            processors.append(OTelProcessor())
        processors.append(structlog.processors.KeyValueRenderer())
        structlog.configure(processors=processors, logger_factory=structlog.PrintLoggerFactory(devnull),
                            cache_logger_on_first_use=True)
        log = structlog.get_logger()
        call = lambda i: log.info("user logged in", user_id=i, plan="pro", region="eu-west-1")
    elif config.startswith("loguru"):
        from loguru import logger
        logger.remove()
        logger.add(devnull, level="INFO")
        if "aibos" in config:
            from aibos_otel.sdk.bridges.loguru import install
            install(logger, level="INFO")
        log = logger.bind(plan="pro", region="eu-west-1")
        call = lambda i: log.info("user {} logged in", i)
    else:
        import logging
        log = logging.getLogger("bench")
        call = lambda i: log.info("user %s logged in", i, extra={"user_id": i, "plan": "pro", "region": "eu-west-1"})
    for i in range(2000):
        call(i)
    start = time.perf_counter()
    for i in range(calls):
        call(i)
    elapsed = time.perf_counter() - start
    print(json.dumps({"us": elapsed / calls * 1e6}))
    """
)


def run(config: str, calls: int) -> float:
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, config, str(calls)],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    value: float = json.loads(out.stdout.strip().splitlines()[-1])["us"]
    return value


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--calls", type=int, default=30_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    results: dict[str, list[float]] = {c: [] for c in CONFIGS}
    for _ in range(args.runs):
        for config in CONFIGS:
            results[config].append(run(config, args.calls))
    print(f"{args.calls} calls per run, {args.runs} runs, median µs per call on the logging thread")
    print("| config          | µs/call | runs |")
    print("|-----------------|---------|------|")
    for config in CONFIGS:
        runs = " / ".join(f"{v:.1f}" for v in results[config])
        print(f"| {config:<15} | {statistics.median(results[config]):7.1f} | {runs} |")


if __name__ == "__main__":
    main()
