"""Per-call cost of a log call through the aibos pipeline, against named baselines, in one run.

    .venv/bin/python benchmarks/sdk_overhead.py [--calls 50000] [--runs 3] [--baseline REV]
    .venv/bin/python benchmarks/sdk_overhead.py --instructions [--baseline REV]   (valgrind)

The call measured in every configuration:

    logger.info("user %s logged in", uid, extra={"user_id": uid, "plan": "pro", "region": "eu-west-1"})

``--message timestamped`` logs a line that fits a dozen detectors' coarse shapes instead (a
timestamp, a decimal, a hex trace id: ``MESSAGES`` below), the kind the redaction clean gate
once sent to Hyperscan, whose GIL release per record wakes the batch worker.

Configurations (each run in a fresh subprocess; runs interleaved round-robin; median reported):
  stdlib-file     stdlib logging.FileHandler, default formatter (the cheapest useful baseline)
  otel-plain      OpenTelemetry SDK LoggingHandler + BatchLogRecordProcessor + discarding exporter
  aibos           aibos_otel.setup() pipeline (context, fingerprint, alert, self-metrics stages,
                  severity-aware delivery) with redaction OFF + discarding exporter
  aibos+redact    the same with the default redaction profiles ON (when the engine is installed)

  Both aibos configurations export nowhere, like otel-plain: OTEL_LOGS_EXPORTER=none leaves the
  OTLP exporters out and the self-metrics go to a discarding metric reader, whose collection
  (observable callbacks, the duration histogram) the final flush still runs and counts. (Until
  2026-12-07 the self-metrics were exported over gRPC to an unreachable localhost:4317: the
  final flush's failed export cost 20-26 ms of CPU, 1.0-1.3 us per call at --calls 20000, and
  each child then waited out its shutdown deadline at exit.)

  otel-spans      spans, not logs: OpenTelemetry TracerProvider + BatchSpanProcessor + discarding exporter,
                  one span per call with the attributes of an HTTP server span
  aibos-spans     the same with the exporter wrapped in aibos_otel.sdk.spans.RedactingSpanExporter
                  (the default profiles, as setup() and the distro build it); its ratio is against otel-spans

  aibos@REV, aibos+redact@REV   with --baseline REV: the two aibos log configurations run on the
                  tree of git revision REV (extracted with git archive into a temporary directory),
                  interleaved with this checkout's in the same run; "vs REV" is this checkout's ratio
                  to it (so "did this change make a log call dearer?" is answered in one run)

Target (issue 2/3): aibos <= 1.3x otel-plain; aibos+redact <= 1.3x otel-plain.

Two figures per run: wall time per call on the logging thread, and CPU time per call of the
whole process (``time.process_time``, so the batch worker's export work is included, up to
a final flush). CPU time is the steadier of the two on a shared machine; the ratio column uses it.
"""

from __future__ import annotations

import argparse
import io
import json
import re
import statistics
import subprocess
import sys
import tarfile
import tempfile
import textwrap
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

CONFIGS = ("stdlib-file", "otel-plain", "aibos", "aibos+redact", "otel-spans", "aibos-spans")
SPAN_CONFIGS = {"otel-spans", "aibos-spans"}

_CHILD = textwrap.dedent(
    """
    import json, logging, sys, tempfile, time, warnings
    config, calls, message = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    warnings.simplefilter("ignore")
    root = logging.getLogger()
    root.setLevel(logging.INFO)
    discard_cls = None
    flush = lambda: None
    if config.endswith("-spans"):
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
        class DiscardSpans(SpanExporter):
            def export(self, spans):
                return SpanExportResult.SUCCESS
        exporter = DiscardSpans()
        if config == "aibos-spans":
            import aibos_otel
            from aibos_otel.sdk.spans import RedactingSpanExporter
            handle = aibos_otel.setup(service_name="bench", environment="production", endpoint=None,
                                      console=False, file_backup=False, level="info")
            exporter = RedactingSpanExporter(exporter, handle.span_redaction)
        provider = TracerProvider()
        provider.add_span_processor(BatchSpanProcessor(exporter))
        flush = provider.force_flush
        tracer = provider.get_tracer("bench.app")
        def run(n):
            for uid in range(n):
                with tracer.start_as_current_span("GET /users/{id}", attributes={
                    "http.request.method": "GET", "http.route": "/users/{id}", "url.path": f"/users/{uid}",
                    "http.response.status_code": 200, "user_agent.original": "curl/8.5.0"}):
                    pass
    elif config != "stdlib-file":
        from opentelemetry.sdk._logs.export import LogRecordExporter, LogRecordExportResult
        class Discard(LogRecordExporter):
            def export(self, batch):
                return LogRecordExportResult.SUCCESS
            def shutdown(self):
                pass
            def force_flush(self, timeout_millis=30000):
                return True
        discard_cls = Discard
    if config.endswith("-spans"):
        pass  # built above
    elif config == "stdlib-file":
        handler = logging.FileHandler(tempfile.mktemp(suffix=".log"))
        root.addHandler(handler)
    elif config == "otel-plain":
        from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
        from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
        provider = LoggerProvider(shutdown_on_exit=False)
        provider.add_log_record_processor(BatchLogRecordProcessor(discard_cls()))
        root.addHandler(LoggingHandler(level=logging.INFO, logger_provider=provider))
        flush = provider.force_flush
    else:
        import aibos_otel
        from aibos_otel.sdk.delivery import DeliveryProcessor
        from aibos_otel.sdk.self_metrics import SelfMetrics
        from opentelemetry.sdk.metrics.export import MetricExporter, MetricExportResult, PeriodicExportingMetricReader
        class DiscardMetrics(MetricExporter):
            def export(self, metrics_data, timeout_millis=10000, **kwargs):
                return MetricExportResult.SUCCESS
            def force_flush(self, timeout_millis=10000):
                return True
            def shutdown(self, timeout_millis=30000, **kwargs):
                pass
        redaction = None if config == "aibos+redact" else False
        # OTEL_LOGS_EXPORTER=none (in the environment) leaves out the OTLP exporters; the
        # self-metrics go to a discarding reader instead, as the logs go to a discarding exporter.
        reader = PeriodicExportingMetricReader(DiscardMetrics(), export_interval_millis=3_600_000)
        handle = aibos_otel.setup(service_name="bench", environment="production", endpoint=None,
                                  console=False, file_backup=False, redaction=redaction, level="info",
                                  extra_processors=[], metric_readers=[reader])
        handle.pipeline._downstream = (DeliveryProcessor(discard_cls(), name="discard", metrics=handle.metrics),)
        flush = handle.force_flush
    if not config.endswith("-spans"):
        log = logging.getLogger("bench.app")
        def run(n):
            for uid in range(n):
                log.info(message, uid, extra={"user_id": uid, "plan": "pro", "region": "eu-west-1"})
    run(2000)
    flush()
    cpu_start, start = time.process_time(), time.perf_counter()
    run(calls)
    elapsed = time.perf_counter() - start
    flush()  # the worker's export work for these calls is part of their cost
    cpu = time.process_time() - cpu_start
    print(json.dumps({"us_per_call": elapsed / calls * 1e6, "cpu_us_per_call": cpu / calls * 1e6}))
    """
)


MESSAGES = {
    "user": "user %s logged in",
    "timestamped": "2024-05-15T16:24:01.123Z order %s shipped in 12.50 ms "
    "trace_id=4bf92f3577b34da6a3ce929d0e0e4736 span_id=00f067aa0ba902b7",
}


def _available(config: str) -> bool:
    if config not in ("aibos+redact", "aibos-spans"):
        return True
    try:
        import aibos_otel.redaction.stage  # noqa: F401
    except ImportError:
        return False
    return True


def _extract(revision: str, into: Path) -> None:
    """Write the tree of ``revision`` into ``into`` (git archive: no worktree to clean up)."""
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", "--format=tar", revision, "aibos_otel"],
        check=True,
        capture_output=True,
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")


_CALLGRIND = ("valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null")
_COLLECTED = re.compile(r"Collected\s*:\s*(\d+)")


def instructions_per_call(
    configs: list[str], tree_of: dict[str, Path], workdir: str, message: str
) -> dict[str, float]:
    """Instructions per call of each configuration, counted by ``valgrind --tool=callgrind``
    over every thread of the child (the batch worker included): the child runs twice, with
    500 and 2 500 measured calls, and the difference is divided by 2 000, so start-up and
    imports cancel. Counts do not depend on the machine's load (times do); they do not see
    cache misses or SIMD width, so read them beside the CPU column, not instead of it."""

    def collected(config: str, calls: int) -> int:
        run = subprocess.run(
            [*_CALLGRIND, sys.executable, "-c", _CHILD, config.partition("@")[0], str(calls), message],
            check=True,
            capture_output=True,
            text=True,
            cwd=workdir,
            env={
                "AIBOS_METRICS_INTERVAL": "3600",
                "OTEL_LOGS_EXPORTER": "none",
                "PATH": "/usr/bin:/bin",
                "PYTHONPATH": str(tree_of[config]),
            },
        )
        return int(_COLLECTED.findall(run.stderr)[-1])

    # Byte-compile every tree first: a child that compiles the modules it imports (the
    # baseline's fresh tree) would count that work in one of its two runs only.
    for tree in set(tree_of.values()):
        subprocess.run([sys.executable, "-m", "compileall", "-q", str(tree)], check=True, capture_output=True)
    # Counts do not depend on load, so the children may run side by side.
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = {(c, n): pool.submit(collected, c, n) for c in configs for n in (500, 2500)}
        return {c: (futures[c, 2500].result() - futures[c, 500].result()) / 2000 for c in configs}


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--calls", type=int, default=50_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", help="also write the results to this file")
    parser.add_argument("--message", choices=sorted(MESSAGES), default="user", help="the message logged")
    parser.add_argument(
        "--baseline", metavar="REV", help="also run the aibos log configurations on git revision REV"
    )
    parser.add_argument(
        "--instructions",
        action="store_true",
        help="instead of timing, count instructions per call with valgrind's callgrind (load-independent)",
    )
    args = parser.parse_args()
    configs = [c for c in CONFIGS if _available(c)]
    if args.baseline:
        configs += [f"{c}@{args.baseline}" for c in ("aibos", "aibos+redact") if c in configs]
    results: dict[str, list[float]] = {c: [] for c in configs}
    cpu: dict[str, list[float]] = {c: [] for c in configs}
    with tempfile.TemporaryDirectory() as workdir:
        baseline_tree = Path(workdir) / "baseline"
        if args.baseline:
            _extract(args.baseline, baseline_tree)
        if args.instructions:
            log_configs = [c for c in configs if c.partition("@")[0] not in SPAN_CONFIGS]
            trees = {c: baseline_tree if "@" in c else REPO for c in log_configs}
            counts = instructions_per_call(log_configs, trees, workdir, MESSAGES[args.message])
            print("instructions per call (callgrind, all threads; 2 500 - 500 calls)")
            for config, count in counts.items():
                print(f"{config:<22} {count:>10.0f} {count / counts['otel-plain']:>8.2f}x plain")
            return 0
        for _ in range(args.runs):
            for config in configs:
                name, _, revision = config.partition("@")
                # PYTHONPATH: measure this checkout (or the baseline's tree), not whatever aibos_otel
                # the venv has installed
                tree = baseline_tree if revision else REPO
                out = subprocess.run(
                    [sys.executable, "-c", _CHILD, name, str(args.calls), MESSAGES[args.message]],
                    check=True,
                    capture_output=True,
                    text=True,
                    cwd=workdir,
                    env={
                        "AIBOS_METRICS_INTERVAL": "3600",
                        "OTEL_LOGS_EXPORTER": "none",
                        "PATH": "/usr/bin:/bin",
                        "PYTHONPATH": str(tree),
                    },
                )
                measured = json.loads(out.stdout.strip().splitlines()[-1])
                results[config].append(measured["us_per_call"])
                cpu[config].append(measured["cpu_us_per_call"])
    print(
        f"{args.calls} calls per run, {args.runs} runs per configuration, medians, message {args.message!r}"
    )
    width = max(14, *(len(c) for c in configs))
    versus = f"vs {args.baseline}" if args.baseline else ""
    print(
        f"{'configuration':<{width}} {'wall us/call':>12} {'vs plain':>9} {'CPU us/call':>12} {'vs plain':>9}"
        + (f" {versus:>12}" if versus else "")
    )
    for config in configs:
        baseline = "otel-spans" if config in SPAN_CONFIGS else "otel-plain"  # spans against plain spans
        base = statistics.median(cpu[baseline])
        wall_base = statistics.median(results[baseline])
        wall = statistics.median(results[config])
        used = statistics.median(cpu[config])
        line = f"{config:<{width}} {wall:>12.2f} {wall / wall_base:>8.2f}x {used:>12.2f} {used / base:>8.2f}x"
        theirs = f"{config}@{args.baseline}"
        if args.baseline and theirs in cpu:
            line += f" {used / statistics.median(cpu[theirs]):>11.2f}x"  # CPU, this checkout / REV
        print(line)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"wall_us": results, "cpu_us": cpu}, fh, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
