"""Issue 11 finding 1, as an attacker meets the running process.

On the old main one unauthenticated regex silence, ``(a+)+``, and one FATAL record whose
``service.name`` was ``"a" * 29 + "!"`` held the ingest path for 41 s; ``/healthz`` and ordinary
batches timed out for minutes and SIGTERM was ignored. Here the same attack runs against
``aibos-otel up`` as a real process, many times over, while a prober measures ``/healthz`` and an
ordinary client keeps exporting; then SIGTERM must stop the process within its deadline.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
import urllib.request
from pathlib import Path

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceResponse

from aibos_otel.monitor.metrics import DerivedMetrics
from aibos_otel.monitor.receive.ingest import Ingestor
from aibos_otel.monitor.settings import MonitorSettings
from aibos_otel.monitor.store import Store
from tests.support.processes import aibos_up_argv

from .conftest import free_port, http_json
from .otlp_builders import exception_attrs, logs_request, record
from .test_receiver import grpc_export

#: docs/security.md names this bound for the monitor's peak RSS under these attacks.
RSS_BOUND_MB = 400
HEALTHZ_BOUND_S = 1.0
EVIL_SERVICE = "a" * 29 + "!"
ROUNDS = 100


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM in /proc/<pid>/status")


def _wait_ready(api_port: int, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while True:
        assert time.monotonic() < deadline and proc.poll() is None, "the monitor did not get ready"
        try:
            if http_json(f"http://127.0.0.1:{api_port}/readyz")[0] == 200:
                return
        except OSError:
            pass  # not listening yet
        time.sleep(0.05)


class Prober(threading.Thread):
    """Asks ``/healthz`` back to back and keeps the slowest answer."""

    def __init__(self, port: int) -> None:
        super().__init__(daemon=True)
        self.url = f"http://127.0.0.1:{port}/healthz"
        self.stop = threading.Event()
        self.slowest = 0.0
        self.answers = 0
        self.failures: list[str] = []

    def run(self) -> None:
        while not self.stop.is_set():
            start = time.monotonic()
            try:
                with urllib.request.urlopen(self.url, timeout=30) as resp:
                    resp.read()
                    ok = resp.status == 200
            except OSError as exc:
                self.failures.append(repr(exc))
                ok = False
            self.slowest = max(self.slowest, time.monotonic() - start)
            self.answers += ok
            self.stop.wait(0.02)


def test_regex_silence_attack_neither_hangs_nor_outlives_sigterm(tmp_path: Path) -> None:
    grpc_port, http_port, api_port = free_port(), free_port(), free_port()
    proc = subprocess.Popen(
        aibos_up_argv(grpc_port, http_port, api_port, tmp_path / "d"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    prober = Prober(api_port)
    try:
        _wait_ready(api_port, proc)
        status, body = http_json(
            f"http://127.0.0.1:{api_port}/api/silences",
            "POST",
            {"matchers": [{"name": "service_name", "value": "(a+)+", "isRegex": True}]},
        )
        assert status == 200, body
        prober.start()
        evil = logs_request(
            [record(f"boom {i}", "fatal", attributes=exception_attrs("E", f"boom {i}")) for i in range(200)],
            service=EVIL_SERVICE,
        ).SerializeToString()
        ordinary = logs_request([record("ordinary", "info")], service="shop").SerializeToString()
        for round_ in range(ROUNDS):
            reply = ExportLogsServiceResponse.FromString(grpc_export(grpc_port, evil))
            assert not reply.partial_success.rejected_log_records, reply
            # an ordinary client, between attack batches, is served (grpc_export's timeout is 10 s)
            grpc_export(grpc_port, ordinary)
            if round_ % 10 == 0:
                assert proc.poll() is None
        stats = http_json(f"http://127.0.0.1:{api_port}/api/stats")[1]
        assert stats["records_by_level"]["fatal"] == ROUNDS * 200
        assert stats["records_by_level"]["info"] == ROUNDS
        prober.stop.set()
        prober.join(timeout=60)
        assert prober.answers > 0 and not prober.failures, prober.failures[:3]
        assert prober.slowest < HEALTHZ_BOUND_S, f"/healthz took {prober.slowest:.2f} s during the attack"
        peak = _peak_rss_mb(proc.pid)
        print(
            f"attack: slowest /healthz {prober.slowest * 1000:.0f} ms of {prober.answers}, peak RSS {peak:.0f} MB"
        )
        assert peak < RSS_BOUND_MB, f"peak RSS {peak:.0f} MB"
    finally:
        prober.stop.set()
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=60)
        took = time.monotonic() - started
        stderr = proc.stderr.read().decode() if proc.stderr else ""
    assert code == 0, stderr[-2000:]
    assert took < MonitorSettings().shutdown_seconds, f"SIGTERM took {took:.1f} s"


def test_sigterm_deadline_holds_when_stopping_hangs(tmp_path: Path) -> None:
    """If a listener or worker never stops, the watchdog (no GIL needed) still ends the process."""
    script = textwrap.dedent(
        """
        import os, signal, sys, threading, time
        from aibos_otel.monitor.commands import _on_stop_signal
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: _on_stop_signal(stop, 1.0))
        print("ready", flush=True)
        stop.wait()
        while True:  # a stop() that never returns
            time.sleep(0.1)
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert proc.stdout is not None and proc.stdout.readline() == b"ready\n"
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert code == 1
    assert b"Timeout" in (proc.stderr.read() if proc.stderr else b"")  # faulthandler's stack dump


def test_a_batch_past_its_time_budget_is_counted_not_evaluated(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite3")
    metrics = DerivedMetrics()
    try:
        ingestor = Ingestor(store, metrics, budget_seconds=0.0)
        request = logs_request(
            [record("boom", "error", attributes=exception_attrs("E", "boom")) for _ in range(10)]
            + [record("hi", "info")]
        )
        result = ingestor.ingest_logs(request)
        # every record that needed evaluation is refused (the info one too, when the scan could
        # not rule out alert.* attributes on it)
        assert result.rejected in (10, 11) and result.accepted == 11 - result.rejected
        assert f"time budget (0 s) ran out: {result.rejected} records" in result.message
        assert metrics.snapshot()["over_budget"] == {(): float(result.rejected)}
        assert metrics.records_by_level() == {"error": 10, "info": 1}  # still counted
        assert store.error_group_count() == 0
        # with time to spare the same batch is evaluated
        result = Ingestor(store, metrics).ingest_logs(request)
        assert result.rejected == 0 and store.error_group_count() == 1
    finally:
        store.close()
