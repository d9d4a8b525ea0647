"""Performance-monitoring checks: Prometheus scrapes every target and has the collector's record
counts and the monitor's metrics."""

from __future__ import annotations

import urllib.parse

from aibos_otel.doctor import probe
from aibos_otel.doctor.model import Check, Status, Targets
from aibos_otel.terminal import escape

AREA = "performance"
# (what, the series Prometheus must have, who exports it)
SERIES = (
    (
        "collector record counts",
        "aibos_log_records_total",
        "the gateway's prometheus/derived exporter (:8889)",
    ),
    ("collector telemetry", "otelcol_process_uptime", "the collectors' telemetry (:8888)"),
    ("monitor metrics", "aibos_monitor_error_groups", "the monitor's /metrics (:8088)"),
)


def check_prometheus(targets: Targets) -> list[Check]:
    """Target health, then one query per series the dashboards and alerts need."""
    assert targets.prometheus is not None
    try:
        answer = probe.request(probe.join(targets.prometheus, "/api/v1/targets?state=active"))
        data = answer.json() if answer.status == 200 else None
    except probe.ProbeError as exc:
        return [Check(AREA, "prometheus", Status.FAIL, escape(exc), "check the Prometheus URL")]
    if not isinstance(data, dict):
        return [
            Check(
                AREA,
                "prometheus",
                Status.FAIL,
                f"targets answered HTTP {answer.status}",
                "check the Prometheus URL",
            )
        ]
    active = data.get("data", {}).get("activeTargets") or []
    down = [
        f"{t.get('labels', {}).get('job', '?')} {t.get('scrapeUrl', '')}: {t.get('lastError', '')}"
        for t in active
        if t.get("health") != "up"
    ]
    checks = []
    if not active:
        checks.append(
            Check(
                AREA,
                "prometheus targets",
                Status.FAIL,
                "Prometheus has no active scrape target",
                "add the scrape jobs of deploy/prometheus/prometheus.yml",
            )
        )
    elif down:
        checks.append(
            Check(
                AREA,
                "prometheus targets",
                Status.FAIL,
                f"{len(down)} of {len(active)} down: " + "; ".join(escape(d) for d in down[:5]),
                "fix the scrape addresses in prometheus.yml or start the target",
            )
        )
    else:
        checks.append(Check(AREA, "prometheus targets", Status.PASS, f"{len(active)} targets up"))
    for what, series, exporter in SERIES:
        checks.append(_series(targets.prometheus, what, series, exporter))
    return checks


def _series(base: str, what: str, series: str, exporter: str) -> Check:
    query = urllib.parse.urlencode({"query": f"count({series})"})
    try:
        answer = probe.request(probe.join(base, "/api/v1/query") + "?" + query)
        data = answer.json() if answer.status == 200 else {}
    except probe.ProbeError as exc:
        return Check(AREA, what, Status.FAIL, escape(exc), "check the Prometheus URL")
    result = data.get("data", {}).get("result") if isinstance(data, dict) else None
    if result:
        return Check(
            AREA, what, Status.PASS, f"{series}: {escape(result[0].get('value', ['', '?'])[1])} series"
        )
    return Check(
        AREA,
        what,
        Status.FAIL,
        f"Prometheus has no {series}",
        f"add a scrape job for {exporter} (deploy/prometheus/prometheus.yml)",
    )
