"""Redaction speed and quality against public baselines, in one run.

Measures, on this machine:
1. engine throughput (MB/s) and µs per line on a mixed log corpus (95 % clean lines built
   from common log shapes, 5 % lines carrying a secret from the public corpus): aibos-otel's
   Redactor (Hyperscan first pass and pure-``re`` fallback), logfire's ``Scrubber`` and
   detect-secrets' ``scan_line``;
2. recall / false-positive rate of each on the labelled public corpus;
3. µs per typical log record through the record stage (clean and with secrets);
4. the whole logging call: stdlib ``logging`` -> OTel ``LoggingHandler`` ->
   ``BatchLogRecordProcessor`` (no-op exporter), plain and with the redaction stage, and the ratio.

    .venv/bin/python benchmarks/redaction_bench.py [--lines 20000] [--quick]
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import random
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from aibos_otel.redaction import Redactor, build_record_stage

_REPO = Path(__file__).resolve().parents[1]
# The public corpus sits beside the checkout (../shared); a worktree at wt/<n> has it two up.
CORPUS = next(
    (
        base / "shared" / "corpus" / "redaction-public.jsonl"
        for base in (_REPO.parent, _REPO.parent.parent)
        if (base / "shared" / "corpus" / "redaction-public.jsonl").exists()
    ),
    _REPO.parent / "shared" / "corpus" / "redaction-public.jsonl",
)

CLEAN_TEMPLATES = (
    "{ts} INFO  [http-nio-8080-exec-{n}] c.a.p.ChargeService - charge completed order_id={d} amount=42.10 EUR in {ms} ms",
    "{ts} DEBUG [worker-{n}] request_id=req-{d} trace_id={h32} span_id={h16} GET /api/v1/orders/{d} 200",
    '{ts} INFO  uvicorn.access lb-internal-{n}:0 - "GET /healthz HTTP/1.1" 200',
    "{ts} WARN  [scheduler] job nightly-export attempt 2/5 failed: timeout after {ms} ms, retrying",
    "{ts} INFO  kafka consumer group payments-v2 partition {n} committed offset {d}",
    "{ts} ERROR [db.pool] connection reset by peer; pool size=20 active=19 waiting={n}",
    "{ts} INFO  app.services.billing invoice {d} rendered (template=monthly, pages={n})",
    "{ts} DEBUG cache miss for key orders:{d}:summary, loading from postgres in {ms} ms",
    "{ts} INFO  deployed commit {h40} to prod-eu-west-1 (canary 10%)",
    "{ts} INFO  user {d} updated profile settings (fields=display_name,locale)",
)


def _hex(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("0123456789abcdef") for _ in range(n))


def mixed_corpus(lines: int, seed: int = 7) -> list[str]:
    """Typical clean log lines with 5 % of lines carrying a secret from the public corpus."""
    rng = random.Random(seed)
    rows = [json.loads(line) for line in CORPUS.read_text(encoding="utf-8").splitlines() if line.strip()]
    dirty = [r["text"] for r in rows if r.get("secret") and "\n" not in r["text"]]
    out: list[str] = []
    for index in range(lines):
        if index % 20 == 0 and dirty:
            out.append(rng.choice(dirty))
            continue
        out.append(
            rng.choice(CLEAN_TEMPLATES).format(
                ts=f"2024-05-{rng.randint(1, 28):02d}T{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:01.123Z",
                n=rng.randint(1, 9),
                d=rng.randint(1000, 999999),
                ms=rng.randint(1, 900),
                h32=_hex(rng, 32),
                h16=_hex(rng, 16),
                h40=_hex(rng, 40),
            )
        )
    return out


# -- engines: each maps a line to its redacted form ----------------------------------------------


def aibos_engine(use_hyperscan: bool) -> Callable[[str], str]:
    return Redactor(use_hyperscan=use_hyperscan).redact_text


def logfire_engine() -> Callable[[str], str] | None:
    try:
        from logfire._internal.scrubbing import Scrubber
    except ImportError:
        return None
    scrubber = Scrubber(None)
    path = ("attributes", "message")

    def scrub(line: str) -> str:
        value, _notes = scrubber.scrub_value(path, line)
        return str(value)

    return scrub


def detect_secrets_engine() -> Callable[[str], str] | None:
    try:
        from detect_secrets.core.scan import scan_line
        from detect_secrets.settings import default_settings
    except ImportError:
        return None

    def scrub(line: str) -> str:
        with default_settings():
            found = {s.secret_value for s in scan_line(line) if s.secret_value and len(s.secret_value) >= 6}
        for value in sorted(found, key=len, reverse=True):
            line = line.replace(value, "[REDACTED]")
        return line

    return scrub


def throughput(engine: Callable[[str], str], lines: Sequence[str]) -> tuple[float, float]:
    """(MB/s, µs per line), best of 3 passes."""
    size = sum(len(line.encode()) for line in lines)
    best = float("inf")
    for _ in range(3):
        gc.collect()
        started = time.perf_counter()
        for line in lines:
            engine(line)
        best = min(best, time.perf_counter() - started)
    return size / best / 1e6, best / len(lines) * 1e6


def typical_versus(
    ours: Callable[[str], str], theirs: Callable[[str], str], lines: Sequence[str], rounds: int = 10
) -> tuple[float, float]:
    """(our µs per line, their µs per line) on the same typical lines, in short alternating
    rounds, the minimum per engine: the two see the same moments of a shared machine's load,
    which separate best-of-3 passes minutes apart do not."""
    chunk = list(lines[:2000])
    best = {"ours": float("inf"), "theirs": float("inf")}
    for index in range(rounds):
        order = (
            (("ours", ours), ("theirs", theirs)) if index % 2 == 0 else (("theirs", theirs), ("ours", ours))
        )
        for name, engine in order:
            gc.collect()
            started = time.perf_counter()
            for line in chunk:
                engine(line)
            best[name] = min(best[name], (time.perf_counter() - started) / len(chunk) * 1e6)
    return best["ours"], best["theirs"]


def quality(engine: Callable[[str], str]) -> tuple[float, float]:
    """(recall, false-positive rate) on the public corpus."""
    rows = [json.loads(line) for line in CORPUS.read_text(encoding="utf-8").splitlines() if line.strip()]
    positives = [r for r in rows if r.get("secret")]
    negatives = [r for r in rows if not r.get("secret")]
    found = sum(r["secret"] not in engine(r["text"]) for r in positives)
    changed = sum(engine(r["text"]) != r["text"] for r in negatives)
    return found / len(positives), changed / len(negatives)


# -- record stage and the whole logging call -----------------------------------------------------


def _record(body: Any, attributes: dict[str, Any]) -> Any:
    from opentelemetry._logs import LogRecord
    from opentelemetry.sdk._logs import ReadWriteLogRecord
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.util.instrumentation import InstrumentationScope

    return ReadWriteLogRecord(
        LogRecord(body=body, attributes=attributes),
        resource=Resource.create({}),
        instrumentation_scope=InstrumentationScope("bench"),
    ).log_record


def stage_cost(records: int) -> dict[str, float]:
    stage = build_record_stage(redactor=Redactor(["secrets", "pci", "gdpr"], use_hyperscan=True))
    clean_attributes = {
        "code.function.name": "update",
        "code.line.number": 42,
        "http.route": "/api/v1/users/{id}",
    }
    shapes = {
        "clean record (~100 B body, 3 attributes)": (
            "user 48213 updated profile settings in 12 ms for tenant acme-prod via web",
            clean_attributes,
        ),
        "record with an email and a password attribute": (
            "password reset requested by bob@example.com from the login page",
            {**clean_attributes, "user.password": "hunter2"},
        ),
    }
    out: dict[str, float] = {}
    for label, (body, attributes) in shapes.items():
        best = float("inf")
        for _ in range(3):  # best of 3: the machine may be shared
            batch = [_record(body, dict(attributes)) for _ in range(records)]
            gc.collect()
            started = time.perf_counter()
            for record in batch:
                stage(record)
            best = min(best, (time.perf_counter() - started) / records * 1e6)
        out[label] = best
    return out


class _NullExporter:
    def export(self, batch: Any) -> Any:
        from opentelemetry.sdk._logs.export import LogRecordExportResult

        return LogRecordExportResult.SUCCESS

    def shutdown(self) -> None:
        pass

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


def logging_call_cost(calls: int) -> dict[str, float]:
    """µs per ``logger.info`` through LoggingHandler + BatchLogRecordProcessor, with and
    without the redaction stage in front of the batch processor."""
    from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler, LogRecordProcessor
    from opentelemetry.sdk._logs.export import BatchLogRecordProcessor

    stage = build_record_stage(redactor=Redactor(["secrets", "pci", "gdpr"], use_hyperscan=True))

    class Redacting(LogRecordProcessor):
        def __init__(self, downstream: LogRecordProcessor) -> None:
            self._downstream = downstream

        def on_emit(self, log_record: Any) -> None:
            stage(log_record.log_record)
            self._downstream.on_emit(log_record)

        def shutdown(self) -> None:
            self._downstream.shutdown()

        def force_flush(self, timeout_millis: int = 30000) -> bool:
            return self._downstream.force_flush(timeout_millis)

    loggers: dict[str, logging.Logger] = {}
    providers: list[Any] = []
    for mode in ("plain", "redacted"):
        provider = LoggerProvider()
        batch = BatchLogRecordProcessor(_NullExporter(), max_queue_size=calls * 4)  # type: ignore[arg-type]
        provider.add_log_record_processor(Redacting(batch) if mode == "redacted" else batch)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            handler = LoggingHandler(logger_provider=provider)
        logger = logging.getLogger(f"bench.{mode}")
        logger.propagate = False
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        loggers[mode] = logger
        providers.append(provider)
    # Short alternating rounds; the minimum per mode is the estimate least disturbed by other
    # processes on a shared machine.
    results: dict[str, list[float]] = {"plain": [], "redacted": []}
    chunk = max(500, calls // 10)
    for _round in range(10):
        for mode in ("plain", "redacted") if _round % 2 == 0 else ("redacted", "plain"):
            logger = loggers[mode]
            gc.collect()
            started = time.perf_counter()
            for index in range(chunk):
                logger.info(
                    "user %s updated profile settings in %d ms", "u-48213", index, extra={"tenant": "acme"}
                )
            results[mode].append((time.perf_counter() - started) / chunk * 1e6)
    for provider in providers:
        provider.shutdown()
    return {mode: min(values) for mode, values in results.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=20000)
    parser.add_argument("--quick", action="store_true", help="fewer lines and records (smoke run)")
    args = parser.parse_args(argv)
    lines = mixed_corpus(2000 if args.quick else args.lines)
    size_mb = sum(len(line.encode()) for line in lines) / 1e6
    print(f"mixed corpus: {len(lines)} lines, {size_mb:.2f} MB, 5% with a secret\n")
    engines: list[tuple[str, Callable[[str], str] | None, int]] = [
        ("aibos-otel Redactor (hyperscan first pass)", aibos_engine(True), len(lines)),
        ("aibos-otel Redactor (pure re fallback)", aibos_engine(False), len(lines)),
        ("logfire Scrubber (keywords only)", logfire_engine(), len(lines)),
        ("detect-secrets scan_line (default plugins)", detect_secrets_engine(), min(len(lines), 1000)),
    ]
    clean = [line for index, line in enumerate(lines) if index % 20]
    print(f"{'engine':46} {'MB/s':>8} {'us/line':>9} {'recall':>8} {'FP rate':>8}")
    typical = aibos_engine(True)
    mbps, per_line = throughput(typical, clean)
    print(f"{'aibos-otel, the 95% typical lines only':46} {mbps:8.1f} {per_line:9.1f} {'':>8} {'':>8}")
    scrubber = logfire_engine()
    if scrubber is not None:
        ours, theirs = typical_versus(typical, scrubber, clean)
        print(
            f"{'typical lines, alternating rounds: aibos-otel':46} {ours:8.2f} us/line vs logfire "
            f"{theirs:.2f} us/line: {theirs / ours:.2f}x (target >= 3x)"
        )
    gated = Redactor(use_hyperscan=True)
    if gated.scanner.wait_ready(300) and gated.scanner.gated:
        ungated = Redactor(use_hyperscan=True, clean_gate=False)
        ungated.scanner.wait_ready(300)
        with_gate, without = typical_versus(gated.redact_text, ungated.redact_text, clean)
        print(
            f"{'typical lines, alternating rounds: clean gate':46} {with_gate:8.2f} us/line vs "
            f"{without:.2f} without it: {with_gate / without:.2f}x"
        )
    for name, engine, count in engines:
        if engine is None:
            print(f"{name:46} {'(not installed)':>18}")
            continue
        mbps, per_line = throughput(engine, lines[:count])
        recall, fp_rate = quality(engine)
        print(f"{name:46} {mbps:8.1f} {per_line:9.1f} {recall:8.3f} {fp_rate:8.3f}")

    print("\nrecord stage (µs per record, hyperscan first pass)")
    for label, cost in stage_cost(2000 if args.quick else 20000).items():
        print(f"  {label:50} {cost:7.2f}")

    calls = 5000 if args.quick else 30000
    costs = logging_call_cost(calls)
    ratio = costs["redacted"] / costs["plain"]
    print(
        "\nwhole logging call: logging -> LoggingHandler -> BatchLogRecordProcessor (null exporter), best of 10"
    )
    print(f"  plain OTel                      {costs['plain']:7.2f} us/call")
    print(
        f"  with the redaction stage        {costs['redacted']:7.2f} us/call   ratio {ratio:.2f}x (target <= 1.30x)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
