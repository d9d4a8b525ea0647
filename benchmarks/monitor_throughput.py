"""Records per second ingested over OTLP/gRPC: the aibos monitor (default rules) vs the collector.

Both servers run pinned to one core (``taskset -c 0``; the collector also with GOMAXPROCS=1);
the load generator runs in another process on the other core and sends pre-serialised
512-record export requests with 8 in flight. A record counts once its export call has been
acknowledged. The collector is aibos-otelcol (``collector-config/build.sh``) with an OTLP
receiver feeding a ``debug`` exporter (basic verbosity, sampled), the closest stock "receive and
drop" pipeline. The monitor runs twice: with the Rust scan of ``native/`` (what ``scripts/setup.sh``
installs) and with ``AIBOS_MONITOR_NATIVE_SCAN=0`` (the pure-Python scan, for machines without a
Rust toolchain). Runs alternate between the targets; the table shows each run and the median.

    .venv/bin/python benchmarks/monitor_throughput.py [--seconds 10] [--runs 3]

Record mix: 90% INFO, 7% WARN, 2% ERROR with exception attributes (20 distinct errors), 1%
FATAL, over 10 services: the default policy's two rules and error grouping all do real work.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import grpc
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.helpers import free_port  # noqa: E402

METHOD = "/opentelemetry.proto.collector.logs.v1.LogsService/Export"
PER_REQUEST = 512
IN_FLIGHT = 8


def build_requests(count: int = 10) -> list[bytes]:
    out = []
    now = time.time_ns()
    for r in range(count):
        req = ExportLogsServiceRequest()
        rl = req.resource_logs.add()
        for key, value in (
            ("service.name", f"svc-{r % 10}"),
            ("deployment.environment.name", "bench"),
            ("service.version", "1.2.3"),
            ("host.name", "bench-host"),
        ):
            rl.resource.attributes.append(KeyValue(key=key, value=AnyValue(string_value=value)))
        scope = rl.scope_logs.add()
        scope.scope.name = "bench.app"
        for i in range(PER_REQUEST):
            n = (r * PER_REQUEST + i) % 100
            sev, text = (
                (21, "FATAL")
                if n == 0
                else (17, "ERROR")
                if n < 3
                else (13, "WARN")
                if n < 10
                else (9, "INFO")
            )
            lr = LogRecord(
                time_unix_nano=now,
                observed_time_unix_nano=now,
                severity_number=sev,
                severity_text=text,
                body=AnyValue(string_value=f"request {i} handled in {n} ms"),
                trace_id=os.urandom(16),
                span_id=os.urandom(8),
            )
            lr.attributes.append(KeyValue(key="http.route", value=AnyValue(string_value="/api/orders")))
            lr.attributes.append(KeyValue(key="user.id", value=AnyValue(int_value=i)))
            if sev >= 17:
                for key, value in (
                    ("exception.type", f"Error{i % 20}"),
                    ("exception.message", f"failure {i % 20}"),
                    (
                        "exception.stacktrace",
                        f'Traceback (most recent call last):\n  File "/app/svc/h.py", line {i % 20}, in handle{i % 20}\nError{i % 20}: failure',
                    ),
                ):
                    lr.attributes.append(KeyValue(key=key, value=AnyValue(string_value=value)))
            scope.log_records.append(lr)
        out.append(req.SerializeToString())
    return out


def client(port: int, seconds: float) -> None:
    """Load generator: prints acknowledged records per second."""
    payloads = build_requests()
    channel = grpc.insecure_channel(f"127.0.0.1:{port}", options=[("grpc.max_send_message_length", 64 << 20)])
    call = channel.unary_unary(METHOD)
    lock = threading.Lock()
    acked = [0]
    errors = [0]
    stop_at = [0.0]
    sem = threading.Semaphore(IN_FLIGHT)

    def done(fut: grpc.Future) -> None:  # type: ignore[type-arg]
        with lock:
            if fut.exception() is None:
                acked[0] += PER_REQUEST
            else:
                errors[0] += 1
        sem.release()

    # warm-up
    for p in payloads[:4]:
        call(p, timeout=30)
    start = time.perf_counter()
    stop_at[0] = start + seconds
    i = 0
    while time.perf_counter() < stop_at[0]:
        sem.acquire()
        call.future(payloads[i % len(payloads)], timeout=30).add_done_callback(done)
        i += 1
    for _ in range(IN_FLIGHT):
        sem.acquire()
    elapsed = time.perf_counter() - start
    print(f"{acked[0] / elapsed:.0f} {errors[0]}", flush=True)
    channel.close()


def wait_ready(port: int, proc: subprocess.Popen[bytes], timeout: float = 30) -> None:
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    try:
        grpc.channel_ready_future(channel).result(timeout=timeout)
    except grpc.FutureTimeoutError:
        raise RuntimeError(f"server on {port} not ready (exit code {proc.poll()})") from None
    finally:
        channel.close()
    time.sleep(0.3)


def pinned(cmd: list[str], core: int) -> list[str]:
    return (
        ["taskset", "-c", str(core), *cmd] if shutil.which("taskset") and (os.cpu_count() or 1) > 1 else cmd
    )


def measure(
    target_cmd: list[str], port: int, seconds: float, env: dict[str, str] | None = None
) -> tuple[float, int]:
    proc = subprocess.Popen(
        pinned(target_cmd, 0), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env
    )
    try:
        wait_ready(port, proc)
        out = subprocess.run(
            pinned([sys.executable, __file__, "--client", str(port), "--seconds", str(seconds)], 1),
            capture_output=True,
            text=True,
            check=True,
            cwd=ROOT,
        ).stdout.split()
        return float(out[0]), int(out[1])
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def collector_binary() -> str | None:
    script = ROOT / "collector-config" / "build.sh"
    if not script.exists():
        return None
    try:
        out = subprocess.run(
            ["bash", str(script)], capture_output=True, text=True, check=True, timeout=1800
        ).stdout
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired):
        return None
    lines = out.strip().splitlines()
    return lines[-1] if lines and os.access(lines[-1], os.X_OK) else None


COLLECTOR_CONFIG = """
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:{port}
exporters:
  debug:
    verbosity: basic
    sampling_initial: 1
    sampling_thereafter: 1000
service:
  telemetry:
    metrics:
      level: none
    logs:
      level: warn
  pipelines:
    logs:
      receivers: [otlp]
      exporters: [debug]
"""


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--client", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    if args.client:
        client(args.client, args.seconds)
        return 0
    binary = collector_binary()
    monitor = "aibos monitor (default policy)"
    python_scan = "  same, pure-Python scan"
    results: dict[str, list[tuple[float, int]]] = {monitor: [], python_scan: []}
    if binary:
        results["aibos-otelcol otlp -> debug"] = []
    with tempfile.TemporaryDirectory() as tmp:
        for run in range(args.runs):
            port = free_port()
            cmd = [
                sys.executable,
                "-m",
                "aibos_otel.cli",
                "up",
                "--grpc-port",
                str(port),
                "--http-port",
                str(free_port()),
                "--api-port",
                str(free_port()),
                "--data-dir",
                f"{tmp}/data-{run}",
            ]
            results[monitor].append(measure(cmd, port, args.seconds))
            port = free_port()
            cmd[cmd.index("--grpc-port") + 1] = str(port)
            cmd[cmd.index("--data-dir") + 1] = f"{tmp}/data-py-{run}"
            env = {**os.environ, "AIBOS_MONITOR_NATIVE_SCAN": "0"}
            results[python_scan].append(measure(cmd, port, args.seconds, env))
            if binary:
                port = free_port()
                config = Path(tmp) / f"otelcol-{run}.yaml"
                config.write_text(COLLECTOR_CONFIG.format(port=port))
                env = {**os.environ, "GOMAXPROCS": "1"}
                results["aibos-otelcol otlp -> debug"].append(
                    measure([binary, "--config", str(config)], port, args.seconds, env)
                )
    print(
        f"\nOTLP/gRPC logs ingest, {PER_REQUEST} records/request, {IN_FLIGHT} in flight, server on 1 core, {args.seconds:g} s runs"
    )
    print(f"{'target':<34} {'runs (records/s)':<36} {'median':>10} {'errors':>7}")
    medians = {}
    for name, runs in results.items():
        med = statistics.median(r for r, _ in runs)
        medians[name] = med
        print(
            f"{name:<34} {' / '.join(f'{r:,.0f}' for r, _ in runs):<36} {med:>10,.0f} {sum(e for _, e in runs):>7}"
        )
    if not binary:
        print("collector binary not available (collector-config/build.sh failed): monitor figure alone")
    else:
        collector = medians["aibos-otelcol otlp -> debug"]
        print(f"monitor / collector = {medians[monitor] / collector:.2f}")
        print(f"monitor with the pure-Python scan / collector = {medians[python_scan] / collector:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
