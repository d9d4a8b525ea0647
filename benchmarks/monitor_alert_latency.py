"""Alert latency: a FATAL log emitted by a service -> the fake Slack webhook, p50/p99 over trials.

The monitor runs as ``aibos-otel up`` (default policy: ``fatal-errors`` pages Slack at once)
with its Slack channel pointed at a recording HTTP server in this process. Each trial uses a
new service name (a new alert). Three ways to emit:

* ``sdk``: a separate service process using ``aibos_otel.setup()`` with its defaults (the SDK
  batches records for up to ``AIBOS_SCHEDULE_DELAY`` = 1 s before sending);
* ``sdk-100ms``: the same with ``AIBOS_SCHEDULE_DELAY=0.1``;
* ``otlp``: one OTLP/gRPC export straight from this process: the monitor's own share.

The clock starts just before ``log.fatal()`` (or the export call) and stops when the Slack
request arrives; service start-up is not counted.

    .venv/bin/python benchmarks/monitor_alert_latency.py [--trials 50] [--modes sdk,sdk-100ms,otlp]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import grpc
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.helpers import free_port  # noqa: E402

SENDER = r"""
import sys, time, aibos_otel
handle = aibos_otel.setup(service_name=sys.argv[1], environment="production", endpoint=sys.argv[2], protocol="grpc", console=False)
log = aibos_otel.get_logger("bench")
log.info("warm-up")
handle.force_flush()
print("ready", flush=True)
sys.stdin.readline()
t0 = time.time()
log.fatal("out of memory")
print(t0, flush=True)
sys.stdin.readline()
handle.shutdown()
"""


class SlackRecorder:
    def __init__(self) -> None:
        self.arrivals: dict[str, float] = {}
        self.cond = threading.Condition()
        rec = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                at = time.time()
                text = body.get("text", "")
                if "fatal-errors" in text and "FIRING" in text:
                    service = text.split(": ", 2)[1] if ": " in text else ""
                    with rec.cond:
                        rec.arrivals.setdefault(service, at)
                        rec.cond.notify_all()
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/slack/T/B/X"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait(self, service: str, timeout: float = 15) -> float:
        deadline = time.monotonic() + timeout
        with self.cond:
            while service not in self.arrivals:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(service)
                self.cond.wait(left)
            return self.arrivals[service]


def otlp_fatal(service: str) -> bytes:
    req = ExportLogsServiceRequest()
    rl = req.resource_logs.add()
    rl.resource.attributes.append(KeyValue(key="service.name", value=AnyValue(string_value=service)))
    lr = rl.scope_logs.add().log_records.add()
    lr.time_unix_nano = time.time_ns()
    lr.severity_number = 21  # type: ignore[assignment]
    lr.severity_text = "FATAL"
    lr.body.string_value = "out of memory"
    return req.SerializeToString()


def trial_sdk(service: str, port: int, slack: SlackRecorder, env: dict[str, str]) -> float:
    proc = subprocess.Popen(
        [sys.executable, "-c", SENDER, service, f"http://127.0.0.1:{port}"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
        cwd=ROOT,
    )
    assert proc.stdin and proc.stdout
    try:
        assert proc.stdout.readline().strip() == "ready"
        proc.stdin.write("go\n")
        proc.stdin.flush()
        t0 = float(proc.stdout.readline())
        return slack.wait(service) - t0
    finally:
        try:
            proc.stdin.write("done\n")
            proc.stdin.close()
        except BrokenPipeError:
            pass
        proc.wait(30)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--trials", type=int, default=50)
    parser.add_argument("--modes", default="sdk,sdk-100ms,otlp")
    args = parser.parse_args()
    slack = SlackRecorder()
    grpc_port = free_port()
    base_env = {k: v for k, v in os.environ.items() if not k.startswith(("AIBOS_", "OTEL_"))}
    with tempfile.TemporaryDirectory() as tmp:
        monitor = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "aibos_otel.cli",
                "up",
                "--grpc-port",
                str(grpc_port),
                "--http-port",
                str(free_port()),
                "--api-port",
                str(free_port()),
                "--data-dir",
                tmp,
            ],
            env={**base_env, "AIBOS_SLACK_WEBHOOK_URL": slack.url},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        channel = grpc.insecure_channel(f"127.0.0.1:{grpc_port}")
        try:
            grpc.channel_ready_future(channel).result(timeout=30)
            export = channel.unary_unary("/opentelemetry.proto.collector.logs.v1.LogsService/Export")
            results: dict[str, list[float]] = {}
            for mode in args.modes.split(","):
                latencies = results[mode] = []
                for i in range(args.trials):
                    service = f"{mode}-{i}"
                    if mode == "otlp":
                        payload = otlp_fatal(service)
                        t0 = time.time()
                        export(payload, timeout=10)
                        latencies.append(slack.wait(service) - t0)
                    else:
                        env = dict(base_env)
                        if mode == "sdk-100ms":
                            env["AIBOS_SCHEDULE_DELAY"] = "0.1"
                        latencies.append(trial_sdk(service, grpc_port, slack, env))
        finally:
            channel.close()
            monitor.terminate()
            monitor.wait(20)
    print(f"\nFATAL log -> fake Slack webhook (default policy, fatal-errors), {args.trials} trials per mode")
    print(f"{'mode':<12} {'p50 (ms)':>9} {'p99 (ms)':>9} {'max (ms)':>9} {'< 1 s':>7}")
    for mode, lat in results.items():
        ms = sorted(x * 1000 for x in lat)
        p99 = ms[min(len(ms) - 1, round(0.99 * (len(ms) - 1)))]
        under = sum(1 for x in ms if x < 1000)
        print(f"{mode:<12} {statistics.median(ms):>9.1f} {p99:>9.1f} {ms[-1]:>9.1f} {under:>4}/{len(ms)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
