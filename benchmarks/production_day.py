"""A production day in miniature: the whole chain at volume, with faults on a schedule.

Several service processes log a realistic mix through ``aibos_otel.setup()`` to the real agent
(agent.yaml), which forwards to the real gateway (gateway.yaml); the gateway fans out to a Loki
stand-in, a Datadog stand-in, its file backup and the real monitor (``aibos-otel up``). On a
schedule: Loki answers 503, the gateway is restarted, the monitor is killed (SIGKILL) and started
again, and one service is killed (SIGKILL). Then it reports, per backend: sent, received, lost (by
level), duplicates, p50/p99 end-to-end latency, CPU per component (from /proc), alerts fired against
expected, and planted secrets found raw::

    .venv/bin/python benchmarks/production_day.py                    # 5000 records/s for 10 minutes
    .venv/bin/python benchmarks/production_day.py --short            # 60 s (what CI runs, at --rate 500)

Exit status 1 when an ERROR or FATAL record of a surviving service is lost anywhere, a planted
secret arrives raw, or an expected alert did not fire. The killed service's records logged after its last export are reported
separately: an in-process batch dies with its process (docs/delivery.md).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.production_day_service import LEVELS, PLANTED_CARD, PLANTED_PASSWORD, level_of  # noqa: E402
from tests.collector.conftest import built_binary, gateway_env  # noqa: E402
from tests.collector.harness import (  # noqa: E402
    CONFIG_DIR,
    RECORD_ID,
    Collector,
    DatadogStandIn,
    LokiStandIn,
    stop_process,
)
from tests.support.helpers import free_port, wait_for  # noqa: E402
from tests.support.processes import aibos_up_argv  # noqa: E402

SERVICE_SCRIPT = ROOT / "benchmarks" / "production_day_service.py"

# What the default policy must raise on this mix: errors above the spike threshold, FATAL records,
# and the first occurrence of each exception. logs-silent (the killed service) needs 15 silent
# minutes, longer than a run, so it is not expected.
EXPECTED_ALERTS = ("error-spike", "fatal-errors", "new-error-group")


_PLANTED = (PLANTED_PASSWORD.encode(), PLANTED_CARD.encode())


@dataclass
class Arrivals:
    """Record ids as a backend received them, the latency of each, and planted secrets seen raw.

    Only ids and counts are kept: at 5 000 records/s for 10 minutes, keeping every decoded record
    (as the stand-ins' own stores do) took over 10 GB.
    """

    seen: Counter[str] = field(default_factory=Counter)
    latency_ms: list[float] = field(default_factory=list)
    secrets_raw: int = 0

    def hook(self, stand_in: LokiStandIn | DatadogStandIn) -> None:
        """Replace the stand-in's store intake: every record is timed and searched as it arrives."""
        store = stand_in.state.store

        def timed(request: Any) -> None:
            now = time.time_ns()
            for resource_logs in request.resource_logs:
                for scope_logs in resource_logs.scope_logs:
                    for record in scope_logs.log_records:
                        rid = next(
                            (kv.value.string_value for kv in record.attributes if kv.key == RECORD_ID), ""
                        )
                        if rid:
                            self.seen[rid] += 1
                            self.latency_ms.append((now - record.time_unix_nano) / 1e6)
            # strings travel verbatim in protobuf: a raw secret anywhere in the request shows here
            raw = request.SerializeToString()
            self.secrets_raw += sum(raw.count(secret) for secret in _PLANTED)

        store.add_logs = timed  # type: ignore[method-assign]


def backup_arrivals(path: Path) -> Arrivals:
    """The file backup (OTLP JSON lines, rotated files too) read one line at a time."""
    arrivals = Arrivals()
    for file in sorted(path.parent.glob(f"{path.stem}*{path.suffix}")):
        with file.open(encoding="utf-8") as lines:
            for line in lines:
                if not line.strip():
                    continue
                arrivals.secrets_raw += sum(line.count(secret.decode()) for secret in _PLANTED)
                request = json.loads(line)
                for resource_logs in request.get("resourceLogs", []):
                    for scope_logs in resource_logs.get("scopeLogs", []):
                        for record in scope_logs.get("logRecords", []):
                            for kv in record.get("attributes", []):
                                if kv.get("key") == RECORD_ID:
                                    arrivals.seen[str(kv.get("value", {}).get("stringValue", ""))] += 1
                                    break
    return arrivals


@dataclass
class Monitor:
    """The real monitor on fixed ports and one data directory, so a restart is the same monitor."""

    workdir: Path
    grpc: int = field(default_factory=free_port)
    http: int = field(default_factory=free_port)
    api: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None
    starts: int = 0

    def start(self) -> None:
        self.starts += 1
        log = (self.workdir / f"monitor-{self.starts}.log").open("wb")
        argv = aibos_up_argv(self.grpc, self.http, self.api, self.workdir / "monitor")
        self.proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
        if not wait_for(lambda: _get(f"{self.url}/readyz") is not None, 120):
            raise RuntimeError("the monitor did not become ready")

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait(timeout=30)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.api}"

    def error_occurrences(self, services: set[str]) -> int:
        answer = _get(f"{self.url}/api/errors?limit=500") or {}
        groups = answer.get("errors", [])
        return sum(int(g.get("count", 0)) for g in groups if set(g.get("services", [])) & services)

    def alerts(self) -> list[str]:
        answer = _get(f"{self.url}/api/alerts?state=all&limit=500") or {}
        return sorted(
            {str(a.get("rule") or a.get("labels", {}).get("alertname")) for a in answer.get("alerts", [])}
        )


def _get(url: str) -> Any:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return json.loads(response.read() or b"null")
    except (OSError, ValueError):
        return None


def cpu_seconds(pid: int) -> float:
    """User plus system CPU of a live process, from /proc/<pid>/stat."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class CpuMeter:
    """CPU seconds per component, summed over its processes (a restart is a new process)."""

    last: dict[tuple[str, int], float] = field(default_factory=dict)

    def sample(self, component: str, proc: subprocess.Popen[bytes] | None) -> None:
        if proc is not None and proc.poll() is None:
            self.last[(component, proc.pid)] = max(
                self.last.get((component, proc.pid), 0.0), cpu_seconds(proc.pid)
            )

    def totals(self) -> dict[str, float]:
        out: Counter[str] = Counter()
        for (component, _pid), seconds in self.last.items():
            out[component] += seconds
        return {k: round(v, 1) for k, v in sorted(out.items())}


@dataclass
class Schedule:
    """When each fault happens, in seconds from the start, for a run of ``duration`` seconds."""

    duration: float

    def faults(self) -> list[tuple[float, str]]:
        d = self.duration
        return [
            (0.15 * d, "loki-503"),
            (0.35 * d, "gateway-restart"),
            (0.55 * d, "monitor-kill"),
            (0.75 * d, "service-kill"),
        ]

    def loki_outage_s(self) -> float:
        return min(60.0, 0.1 * self.duration)


def _sent_ids(service: str, journal: Path) -> list[str]:
    count = int((journal.read_text() or "0").strip()) if journal.exists() else 0
    return [f"{service}-{n}" for n in range(count)]


def _level(rid: str) -> str:
    return level_of(int(rid.rsplit("-", 1)[1]))


def _lost_by_level(sent: list[str], seen: Counter[str]) -> dict[str, int]:
    lost = Counter(_level(rid) for rid in sent if not seen[rid])
    return {level: lost[level] for level in LEVELS}


def run(rate: float, duration: float, services: int, workdir: Path) -> dict[str, Any]:
    binary = built_binary()
    names = [f"svc-{i}" for i in range(services)]
    victim = names[-1]
    journals = {name: workdir / f"{name}.journal" for name in names}
    loki_in, datadog_in = Arrivals(), Arrivals()
    schedule = Schedule(duration)
    monitor = Monitor(workdir)
    cpu = CpuMeter()
    with LokiStandIn() as loki, DatadogStandIn() as datadog:
        loki_in.hook(loki)
        datadog_in.hook(datadog)
        monitor.start()
        gateway = Collector(
            binary,
            CONFIG_DIR / "gateway.yaml",
            workdir,
            {
                **gateway_env(loki, datadog, monitor.grpc),
                # room for the whole run (~0.6 KB per record in OTLP JSON, x2 for headroom): the
                # default cap would rotate the oldest records of a long run away, by design
                "AIBOS_BACKUP_MAX_MEGABYTES": "100",
                "AIBOS_BACKUP_MAX_BACKUPS": str(max(10, int(rate * duration * 1.2 / 1e5) + 1)),
            },
            "gateway",
        )
        agent = Collector(
            binary,
            CONFIG_DIR / "agent.yaml",
            workdir,
            {"AIBOS_GATEWAY_ENDPOINT": gateway.grpc_endpoint},
            "agent",
        )
        procs: dict[str, subprocess.Popen[bytes]] = {}
        try:
            gateway.start()
            agent.start()
            clean = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "AIBOS_"))}
            for name in names:
                procs[name] = subprocess.Popen(
                    [
                        sys.executable,
                        str(SERVICE_SCRIPT),
                        name,
                        f"http://{agent.grpc_endpoint}",
                        str(rate / services),
                        str(duration),
                        str(journals[name]),
                    ],
                    env=clean | {"PYTHONPATH": str(ROOT)},
                    stderr=(workdir / f"{name}.log").open("wb"),
                )
            started = time.monotonic()
            pending = schedule.faults()

            def sample() -> None:
                for proc in procs.values():
                    cpu.sample("services", proc)
                cpu.sample("agent", agent.proc)
                cpu.sample("gateway", gateway.proc)
                cpu.sample("monitor", monitor.proc)

            while any(p.poll() is None for p in procs.values()):
                sample()
                elapsed = time.monotonic() - started
                while pending and pending[0][0] <= elapsed:
                    _, fault = pending.pop(0)
                    sample()
                    _inject(fault, loki, gateway, monitor, procs[victim], schedule)
                    print(f"  t={elapsed:5.1f}s  {fault}", file=sys.stderr)
                time.sleep(0.2)
            _drain(names, victim, journals, loki_in, datadog_in, gateway, duration)
            sample()
            backup = backup_arrivals(gateway.backup_path)
            return _report(
                rate,
                duration,
                names,
                victim,
                journals,
                loki_in,
                datadog_in,
                backup,
                monitor,
                cpu,
            )
        finally:
            for proc in procs.values():
                if proc.poll() is None:
                    proc.kill()
                    proc.wait(timeout=30)
            agent.stop()
            gateway.stop()
            if monitor.proc is not None:
                stop_process(monitor.proc)


def _inject(
    fault: str,
    loki: LokiStandIn,
    gateway: Collector,
    monitor: Monitor,
    victim: subprocess.Popen[bytes],
    schedule: Schedule,
) -> None:
    if fault == "loki-503":
        loki.fail_for(schedule.loki_outage_s())
    elif fault == "gateway-restart":
        gateway.restart()
    elif fault == "monitor-kill":
        monitor.kill()
        monitor.start()
    elif fault == "service-kill":
        victim.kill()
        victim.wait(timeout=30)


def _drain(
    names: list[str],
    victim: str,
    journals: dict[str, Path],
    loki_in: Arrivals,
    datadog_in: Arrivals,
    gateway: Collector,
    duration: float,
) -> None:
    """Wait until every surviving service's record reached Loki, Datadog and the backup (or time out)."""
    wanted = {rid for name in names if name != victim for rid in _sent_ids(name, journals[name])}

    def arrived(seen: Callable[[], Counter[str]]) -> Callable[[], bool]:
        return lambda: not (wanted - set(seen()))

    deadline = max(120.0, duration)
    wait_for(arrived(lambda: loki_in.seen), deadline, 1.0)
    wait_for(arrived(lambda: datadog_in.seen), 60, 1.0)
    wait_for(
        lambda: not (wanted - set(backup_arrivals(gateway.backup_path).seen)),
        60,
        10.0,  # a read of the whole backup (gigabytes after a long run) takes seconds
    )


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    return statistics.quantiles(values, n=100)[int(q) - 1] if len(values) > 1 else values[0]


def _report(
    rate: float,
    duration: float,
    names: list[str],
    victim: str,
    journals: dict[str, Path],
    loki_in: Arrivals,
    datadog_in: Arrivals,
    backup: Arrivals,
    monitor: Monitor,
    cpu: CpuMeter,
) -> dict[str, Any]:
    survivors = [rid for name in names if name != victim for rid in _sent_ids(name, journals[name])]
    victim_ids = _sent_ids(victim, journals[victim])
    backends: dict[str, dict[str, Any]] = {}
    for backend, arrivals in (("loki", loki_in), ("datadog", datadog_in), ("file backup", backup)):
        seen, latency = arrivals.seen, arrivals.latency_ms
        backends[backend] = {
            "sent": len(survivors),
            "received": sum(1 for rid in survivors if seen[rid]),
            "lost": _lost_by_level(survivors, seen),
            "duplicates": sum(n - 1 for n in seen.values() if n > 1),
            "p50_ms": round(_percentile(latency, 50), 1),
            "p99_ms": round(_percentile(latency, 99), 1),
            "secrets_raw": arrivals.secrets_raw,
            "killed_service_lost": _lost_by_level(victim_ids, seen),
        }
    errors_sent = sum(
        1 for rid in survivors + victim_ids if _level(rid) in ("error", "fatal") and loki_in.seen[rid]
    )
    return {
        "rate": rate,
        "duration_s": duration,
        "services": len(names),
        "backends": backends,
        "monitor": {
            "error_records_delivered_to_loki": errors_sent,
            "error_group_occurrences": monitor.error_occurrences(set(names)),
            "alerts_fired": monitor.alerts(),
            "alerts_expected": list(EXPECTED_ALERTS),
        },
        "cpu_seconds": cpu.totals(),
    }


def verdict(report: dict[str, Any]) -> list[str]:
    """What makes the run fail: surviving services' ERROR/FATAL lost, a planted secret raw."""
    problems = []
    for backend, figures in report["backends"].items():
        lost = figures["lost"]["error"] + figures["lost"]["fatal"]
        if lost:
            problems.append(f"{backend}: {lost} ERROR/FATAL records lost")
        if figures["secrets_raw"]:
            problems.append(f"{backend}: {figures['secrets_raw']} planted secrets arrived raw")
    monitor = report["monitor"]
    missing = [name for name in monitor["alerts_expected"] if name not in monitor["alerts_fired"]]
    if missing:
        problems.append(f"monitor: expected alerts did not fire: {', '.join(missing)}")
    if monitor["error_group_occurrences"] < monitor["error_records_delivered_to_loki"]:
        problems.append(
            f"monitor: {monitor['error_group_occurrences']} error occurrences for "
            f"{monitor['error_records_delivered_to_loki']} ERROR/FATAL records delivered"
        )
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--rate", type=float, default=5000.0, help="records/s over all services (default 5000)"
    )
    parser.add_argument("--duration", type=float, default=600.0, help="seconds of logging (default 600)")
    parser.add_argument("--short", action="store_true", help="60 s instead of --duration")
    parser.add_argument(
        "--services", type=int, default=4, help="service processes (default 4; the last is killed)"
    )
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args()
    duration = 60.0 if args.short else args.duration
    with tempfile.TemporaryDirectory(prefix="aibos-day-") as tmp:
        report = run(args.rate, duration, max(2, args.services), Path(tmp))
    if args.json:
        print(json.dumps(report, indent=1))
    else:
        _print_table(report)
    problems = verdict(report)
    for problem in problems:
        print(f"FAIL {problem}", file=sys.stderr)
    return 1 if problems else 0


def _print_table(report: dict[str, Any]) -> None:
    print(
        f"production_day: {report['rate']:.0f} records/s, {report['duration_s']:.0f} s, {report['services']} services"
    )
    print(
        "| backend | sent | received | lost (fatal/error/warn/info) | duplicates | p50 ms | p99 ms | secrets raw | killed service lost |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for backend, f in report["backends"].items():
        lost = "/".join(str(f["lost"][level]) for level in LEVELS)
        killed = "/".join(str(f["killed_service_lost"][level]) for level in LEVELS)
        print(
            f"| {backend} | {f['sent']} | {f['received']} | {lost} | {f['duplicates']} | {f['p50_ms']} | "
            f"{f['p99_ms']} | {f['secrets_raw']} | {killed} |"
        )
    m = report["monitor"]
    print(
        f"monitor: {m['error_group_occurrences']} error occurrences for {m['error_records_delivered_to_loki']} "
        f"ERROR/FATAL delivered; alerts fired {m['alerts_fired']} (expected {m['alerts_expected']})"
    )
    print("CPU seconds: " + ", ".join(f"{k} {v}" for k, v in report["cpu_seconds"].items()))


if __name__ == "__main__":
    sys.exit(main())
