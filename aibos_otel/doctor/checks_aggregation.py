"""Aggregation checks: the collector is up, its exporters deliver, and a canary record sent the
way services send arrives in Loki, the file backup and the monitor, with nothing planted raw."""

from __future__ import annotations

import os
import re
import time
import urllib.parse
from collections.abc import Callable, Mapping
from pathlib import Path

from aibos_otel.doctor import probe
from aibos_otel.doctor.canary import CANARY_SERVICE, Canary, new_canary
from aibos_otel.doctor.collector_metrics import read_collector_metrics
from aibos_otel.doctor.model import Check, Status, Targets
from aibos_otel.terminal import escape

AREA = "aggregation"
BACKUP_TAIL_BYTES = 16 * 1024 * 1024  # the canary is among the newest lines; never read a whole 100 MB file
POLL_INTERVAL_S = 0.5
DATADOG_SITES = (
    "datadoghq.com",
    "us3.datadoghq.com",
    "us5.datadoghq.com",
    "datadoghq.eu",
    "ap1.datadoghq.com",
    "ap2.datadoghq.com",
    "ddog-gov.com",
)
_DD_KEY = re.compile(r"[0-9a-f]{32}")
_MONITOR_RECORDS = re.compile(
    r'^aibos_monitor_log_records_total\{(?=[^}]*service_name="'
    + re.escape(CANARY_SERVICE)
    + r'")[^}]*\}\s+(\S+)',
    re.MULTILINE,
)


def check_collector(targets: Targets) -> list[Check]:
    """The health endpoint, then what the collector's own counters say about its exporters."""
    checks: list[Check] = []
    if targets.collector_health:
        checks.append(_health(targets.collector_health))
    if targets.collector_metrics:
        checks.extend(_exporters(targets.collector_metrics))
    return checks


def _health(url: str) -> Check:
    try:
        answer = probe.request(url)
    except probe.ProbeError as exc:
        return Check(
            AREA,
            "collector health",
            Status.FAIL,
            escape(exc),
            "start the collector, or fix --collector-health",
        )
    if answer.status == 200:
        return Check(AREA, "collector health", Status.PASS, f"{escape(url)} answered 200")
    return Check(
        AREA,
        "collector health",
        Status.FAIL,
        f"{escape(url)} answered HTTP {answer.status}",
        "read the collector's log: a pipeline failed to start",
    )


def _exporters(url: str) -> list[Check]:
    try:
        metrics = read_collector_metrics(url)
    except probe.ProbeError as exc:
        return [
            Check(
                AREA,
                "collector exporters",
                Status.FAIL,
                escape(exc),
                "check service.telemetry.metrics in the collector config",
            )
        ]
    checks = []
    for exporter in sorted(set(metrics.sent) | set(metrics.failed)):
        sent, failed = metrics.sent.get(exporter, 0.0), metrics.failed.get(exporter, 0.0)
        evidence = f"{escape(exporter)}: {sent:.0f} sent, {failed:.0f} failed"
        if failed:
            checks.append(
                Check(
                    AREA,
                    f"exporter {escape(exporter)}",
                    Status.WARN,
                    evidence,
                    "the backend refused or was down: see the collector's log for the status",
                )
            )
        else:
            checks.append(Check(AREA, f"exporter {escape(exporter)}", Status.PASS, evidence))
    for exporter, size in sorted(metrics.queue_size.items()):
        capacity = metrics.queue_capacity.get(exporter)
        if capacity and size >= 0.8 * capacity:
            checks.append(
                Check(
                    AREA,
                    f"queue {escape(exporter)}",
                    Status.WARN,
                    f"{size:.0f} of {capacity:.0f} batches queued",
                    "the backend is slow or down; records are dropped when the queue is full",
                )
            )
    if not checks:
        checks.append(
            Check(
                AREA,
                "collector exporters",
                Status.WARN,
                "no log exporter has sent anything yet",
                "send a record (doctor --collector does) and run doctor again",
            )
        )
    return checks


def check_datadog(env: Mapping[str, str]) -> Check:
    """Datadog in either supported mode: Datadog's OTLP logs intake (needs the API key and a
    known site), or a Datadog Agent's OTLP receiver (the Agent holds the key)."""
    endpoint = env.get("DD_LOGS_ENDPOINT") or "https://otlp.datadoghq.com/v1/logs"
    host = urllib.parse.urlsplit(endpoint).hostname or ""
    if not host.startswith("otlp."):
        return Check(
            AREA,
            "datadog",
            Status.PASS,
            f"Datadog Agent mode: {escape(endpoint)} (the Agent holds the API key)",
        )
    site = host.removeprefix("otlp.")
    if site not in DATADOG_SITES:
        return Check(
            AREA,
            "datadog",
            Status.FAIL,
            f"DD_LOGS_ENDPOINT {escape(endpoint)}: {escape(site)} is not a Datadog site",
            f"use https://otlp.<site>/v1/logs with one of: {', '.join(DATADOG_SITES)}",
        )
    key = env.get("DD_API_KEY", "")
    if not key:
        return Check(
            AREA,
            "datadog",
            Status.FAIL,
            "DD_API_KEY is not set: Datadog's intake answers 403",
            "set DD_API_KEY from a Secret (docs/collector.md)",
        )
    if not _DD_KEY.fullmatch(key):
        return Check(
            AREA,
            "datadog",
            Status.FAIL,
            f"DD_API_KEY has {len(key)} characters, not 32 hex digits",
            "copy the API key (not the application key) from Datadog",
        )
    return Check(AREA, "datadog", Status.PASS, f"OTLP intake mode, site {site}, API key set")


def check_canary(targets: Targets) -> list[Check]:
    """Send one canary to the collector; look for it in every place the targets name."""
    assert targets.collector is not None
    canary = new_canary()
    before = _monitor_count(targets) if targets.monitor else None
    try:
        answer = probe.post_json(probe.join(targets.collector, "/v1/logs"), canary.otlp_json())
    except probe.ProbeError as exc:
        return [
            Check(
                AREA,
                "canary sent",
                Status.FAIL,
                escape(exc),
                "point --collector at the agent's OTLP/HTTP port (4318)",
            )
        ]
    if answer.status != 200:
        return [
            Check(
                AREA,
                "canary sent",
                Status.FAIL,
                f"the collector answered HTTP {answer.status}: {escape(answer.text()[:200])}",
                "check the collector's otlp receiver (protocols.http)",
            )
        ]
    checks = [
        Check(
            AREA,
            "canary sent",
            Status.PASS,
            f"canary {canary.canary_id} accepted by {escape(targets.collector)}",
        )
    ]
    deadline = time.monotonic() + targets.timeout_s
    if targets.loki:
        checks.extend(
            _found(
                "Loki",
                canary,
                lambda: _loki_text(targets, canary),
                deadline,
                "check LOKI_ENDPOINT in the gateway and the Loki URL given to doctor",
            )
        )
    if targets.backup:
        backup = targets.backup
        checks.extend(
            _found(
                "file backup",
                canary,
                lambda: _backup_text(backup, canary),
                deadline,
                "check AIBOS_BACKUP_PATH in the gateway and --backup",
            )
        )
    if targets.monitor and before is not None:
        checks.append(_monitor_arrival(targets, before, deadline))
    return checks


def _found(
    where: str, canary: Canary, read: Callable[[], str | None], deadline: float, fix: str
) -> list[Check]:
    text, error = _poll(read, deadline)
    if text is None:
        evidence = f"canary {canary.canary_id} not found in {where}" + (
            f" ({escape(error)})" if error else ""
        )
        return [Check(AREA, f"canary in {where}", Status.FAIL, evidence, fix)]
    raw = canary.raw_secrets_in(text)
    found = Check(AREA, f"canary in {where}", Status.PASS, f"canary {canary.canary_id} found")
    if raw:
        return [
            found,
            Check(
                "redaction",
                f"redacted in {where}",
                Status.FAIL,
                f"planted fake secrets arrived raw: {', '.join(raw)}",
                "turn on the gateway's second line (redaction processor) and the SDK's redaction profiles",
            ),
        ]
    return [found, Check("redaction", f"redacted in {where}", Status.PASS, "no planted secret arrived raw")]


def _poll(read: Callable[[], str | None], deadline: float) -> tuple[str | None, str]:
    error = ""
    while True:
        try:
            text = read()
        except probe.ProbeError as exc:
            text, error = None, str(exc)
        if text is not None or time.monotonic() >= deadline:
            return text, error
        time.sleep(POLL_INTERVAL_S)


def _loki_text(targets: Targets, canary: Canary) -> str | None:
    assert targets.loki is not None
    query = f'{{service_name="{CANARY_SERVICE}"}} |= "{canary.canary_id}"'
    params = urllib.parse.urlencode(
        {
            "query": query,
            "start": str(canary.time_ns - 60_000_000_000),
            "end": str(time.time_ns() + 60_000_000_000),
            "limit": "10",
        }
    )
    answer = probe.request(
        probe.join(targets.loki, "/loki/api/v1/query_range") + "?" + params,
        headers={"X-Scope-OrgID": targets.loki_tenant},
    )
    if answer.status != 200:
        raise probe.ProbeError(f"query_range answered HTTP {answer.status}")
    data = answer.json()
    result = data.get("data", {}).get("result", []) if isinstance(data, dict) else []
    return answer.text() if result and canary.canary_id in answer.text() else None


def _backup_text(path: Path, canary: Canary) -> str | None:
    """The backup's lines that hold the canary id (read from the file's tail, no symlinks)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError as exc:
        raise probe.ProbeError(f"cannot open {path}: {exc.strerror}") from None
    with os.fdopen(fd, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        f.seek(max(0, size - BACKUP_TAIL_BYTES))
        tail = f.read(BACKUP_TAIL_BYTES)
    lines = [line for line in tail.decode("utf-8", "replace").splitlines() if canary.canary_id in line]
    return "\n".join(lines) if lines else None


def _monitor_count(targets: Targets) -> float | None:
    assert targets.monitor is not None
    headers = {"Authorization": f"Bearer {targets.monitor_token}"} if targets.monitor_token else {}
    try:
        answer = probe.request(probe.join(targets.monitor, "/metrics"), headers=headers)
    except probe.ProbeError:
        return None
    if answer.status != 200:
        return None
    return sum(float(v) for v in _MONITOR_RECORDS.findall(answer.text()))


def _monitor_arrival(targets: Targets, before: float, deadline: float) -> Check:
    while True:
        now = _monitor_count(targets)
        if now is not None and now > before:
            return Check(
                AREA,
                "canary at the monitor",
                Status.PASS,
                f"{CANARY_SERVICE} records at the monitor: {before:.0f} -> {now:.0f}",
            )
        if time.monotonic() >= deadline:
            return Check(
                AREA,
                "canary at the monitor",
                Status.FAIL,
                f"the monitor counted no new {CANARY_SERVICE} record within the wait",
                "check AIBOS_MONITOR_ENDPOINT in the gateway (the monitor's OTLP/gRPC port)",
            )
        time.sleep(POLL_INTERVAL_S)
