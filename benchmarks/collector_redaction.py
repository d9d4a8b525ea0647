"""Gateway cost per record: the full gateway.yaml pipeline vs the same without second-line redaction,
and vs the same with the contrib ``redaction`` processor (the catalogue's RE2 subset) in its place.

Runs the real aibos-otelcol (gateway.yaml, every exporter with its persistent queue) against the
recording stand-ins on 127.0.0.1, sends ``--records`` realistic log records (no secrets: the common
case) over OTLP/gRPC in requests of ``--batch``, and measures the collector's CPU time (user+system from
/proc) until Loki's stand-in has every record. The baseline is the same config in the same run, with
``aibosredaction/second_line`` (and, in a third row, also transform/groupbyattrs) taken out of the
pipeline; the fourth row runs the contrib processor as gateway.yaml configured it before issue 17
(``aibos-otel redaction render-collector`` plus the collector-only patterns) on the same records.
The processor's own worst-value figures are Go benchmarks (``go test -bench .`` in
collector-components/aibosredactionprocessor).

    .venv/bin/python benchmarks/collector_redaction.py [--records 40000] [--batch 500] [--repeat 2]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.collector.conftest import built_binary, gateway_env  # noqa: E402
from tests.collector.harness import (  # noqa: E402
    CONFIG_DIR,
    Collector,
    DatadogStandIn,
    LokiStandIn,
    record_ids,
    send_raw_logs,
    wait_for,
)
from tests.support.otlp_receiver import GrpcReceiver  # noqa: E402

OURS = "aibosredaction/second_line"
CONTRIB = "redaction/contrib"
# gateway.yaml batches in the exporters' persistent queues (sending_queue.batch), not in a processor.
FULL = ["memory_limiter", OURS, "transform/level", "groupbyattrs/level"]
VARIANTS = {
    "gateway.yaml (full, aibosredaction)": FULL,
    "without redaction": [p for p in FULL if p != OURS],
    "without redaction, level": ["memory_limiter"],
    "contrib redaction instead": [CONTRIB if p == OURS else p for p in FULL],
}
# The patterns the contrib processor's block carried besides the catalogue's RE2 subset (Luhn-less
# card shapes, bearer tokens, authorization headers, JWTs, PEM blocks, password assignments).
CONTRIB_EXTRAS = (
    r"\b4[0-9]{3}(?:[ -]?[0-9]{4}){3}\b",
    r"\b5[1-5][0-9]{2}(?:[ -]?[0-9]{4}){3}\b",
    r"\b3[47][0-9]{2}[ -]?[0-9]{6}[ -]?[0-9]{5}\b",
    r"\b6(?:011|5[0-9]{2})(?:[ -]?[0-9]{4}){3}\b",
    r"(?i)\bbearer\s+[A-Za-z0-9._~+/-]{8,}=*",
    r"(?i)\b(?:proxy-)?authorization[\"']?\s*[:=]\s*[\"']?"
    r"(?:basic|bearer|token|digest|negotiate|apikey|bot|ssws)\s+[^\s\"',;]{4,}",
    r"\bey[A-Za-z0-9_-]{15,}\.ey[A-Za-z0-9_-]{10,}(?:\.[A-Za-z0-9_-]*)?",
    r"(?i)\b(?:password|passwd|pwd|secret|api[_-]?key|token)\s*[=:]\s*[^\s&,;\"']+",
)


def contrib_settings() -> dict[str, Any]:
    """The contrib redaction processor as gateway.yaml configured it before issue 17."""
    from aibos_otel.redaction.render import render_collector_redaction

    settings = render_collector_redaction()
    settings["blocked_values"] = [*settings["blocked_values"], *CONTRIB_EXTRAS]
    return settings


def variant_config(processors: list[str], path: Path) -> Path:
    config: dict[str, Any] = yaml.safe_load((CONFIG_DIR / "gateway.yaml").read_text(encoding="utf-8"))
    config["processors"][CONTRIB] = contrib_settings()
    config["service"]["pipelines"]["logs"]["processors"] = processors
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def record(i: int, run: str) -> tuple[str, str, dict[str, str]]:
    body = (
        f"checkout completed for cart {i * 7919 % 100000} in {i % 250} ms (items={i % 9}, region=eu-west-1)"
    )
    attributes = {
        "http.route": "/api/v1/checkout",
        "http.response.status_code": str(200 if i % 50 else 500),
        "user.id": f"u-{i % 5000}",
        "order.id": f"o-{i}",
        "code.function": "complete_checkout",
        "request.id": f"r-{run}-{i:08d}",
    }
    return (f"{run}-{i}", body, attributes)


def measure(
    binary: Path, processors: list[str], records: int, batch: int, workdir: Path
) -> tuple[float, float]:
    """(collector CPU microseconds per record, wall seconds until Loki had everything)."""
    config = variant_config(processors, workdir / "gateway.yaml")
    with LokiStandIn() as loki, DatadogStandIn() as datadog, GrpcReceiver() as monitor:
        collector = Collector(binary, config, workdir, gateway_env(loki, datadog, monitor), "gateway")
        with collector:
            assert collector.proc is not None
            pid = collector.proc.pid
            run = f"b{time.monotonic_ns()}"
            payload = [record(i, run) for i in range(records)]
            cpu_before = cpu_seconds(pid)
            started = time.monotonic()
            for offset in range(0, records, batch):
                send_raw_logs(collector.grpc_endpoint, "bench", payload[offset : offset + batch])
            ok = wait_for(lambda: len(record_ids(loki.records())) >= records, 300, 0.2)
            wall = time.monotonic() - started
            cpu = cpu_seconds(pid) - cpu_before
            if not ok:
                raise RuntimeError(
                    f"only {len(loki.records())} of {records} arrived:\n{collector.log_tail()}"
                )
    return cpu / records * 1e6, wall


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--records", type=int, default=40_000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=2, help="runs per variant; the best is reported")
    args = parser.parse_args()
    binary = built_binary()
    results: dict[str, tuple[float, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for round_ in range(args.repeat):  # interleaved, so load changes hit every variant alike
            for name, processors in VARIANTS.items():
                workdir = Path(tmp) / f"{round_}-{len(results)}-{abs(hash(name))}"
                workdir.mkdir()
                cpu_us, wall = measure(binary, processors, args.records, args.batch, workdir)
                best = results.get(name)
                results[name] = (min(cpu_us, best[0]), min(wall, best[1])) if best else (cpu_us, wall)
    print(f"aibos-otelcol gateway, {args.records} records in requests of {args.batch}, best of {args.repeat}")
    print(f"load average at the end: {os.getloadavg()[0]:.1f} (2 cores)")
    print()
    print(
        "| pipeline | collector CPU per record | vs full | vs without redaction | records/s per core |"
        " wall time to Loki stand-in |"
    )
    print("| --- | --- | --- | --- | --- | --- |")
    bare_cpu = results["without redaction"][0]
    full_cpu = results["gateway.yaml (full, aibosredaction)"][0]
    for name, (cpu_us, wall) in results.items():
        print(
            f"| {name} | {cpu_us:.1f} us | {cpu_us / full_cpu:.2f}x | {cpu_us / bare_cpu:.2f}x"
            f" | {1e6 / cpu_us:,.0f} | {wall:.1f} s |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
