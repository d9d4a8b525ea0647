"""Error tracking and compliance: the monitor's API answers, audit events reach Loki, and Loki
accepts deletion requests (erasure)."""

from __future__ import annotations

import time
import urllib.parse
from typing import Any

from aibos_otel.doctor import probe
from aibos_otel.doctor.model import Check, Status, Targets
from aibos_otel.terminal import escape

AREA = "errors"
AUDIT_WINDOW_NS = 7 * 86_400 * 10**9


def check_monitor_api(targets: Targets) -> Check:
    """``GET /api/stats``: the error-tracking API answers."""
    assert targets.monitor is not None
    headers = {"Authorization": f"Bearer {targets.monitor_token}"} if targets.monitor_token else {}
    try:
        answer = probe.request(probe.join(targets.monitor, "/api/stats"), headers=headers)
        stats = answer.json() if answer.status == 200 else None
    except probe.ProbeError as exc:
        return Check(
            AREA,
            "monitor api",
            Status.FAIL,
            escape(exc),
            "start the monitor or fix --monitor (its API port, 8088)",
        )
    if not isinstance(stats, dict):
        return Check(
            AREA,
            "monitor api",
            Status.FAIL,
            f"/api/stats answered HTTP {answer.status}",
            "set AIBOS_MONITOR_TOKEN to the monitor's API token when it requires one",
        )
    return Check(
        AREA, "monitor api", Status.PASS, f"{escape(stats.get('error_groups', '?'))} error groups tracked"
    )


def check_audit_events(targets: Targets) -> Check:
    """At least one ``aibos.audit`` event in Loki in the last week."""
    assert targets.loki is not None
    now = time.time_ns()
    params = urllib.parse.urlencode(
        {
            "query": '{service_name=~".+"} | event_name="aibos.audit"',
            "start": str(now - AUDIT_WINDOW_NS),
            "end": str(now),
            "limit": "1",
        }
    )
    try:
        answer = probe.request(
            probe.join(targets.loki, "/loki/api/v1/query_range") + "?" + params,
            headers={"X-Scope-OrgID": targets.loki_tenant},
        )
        data = answer.json() if answer.status == 200 else None
    except probe.ProbeError as exc:
        return Check(AREA, "audit trail", Status.FAIL, escape(exc), "check the Loki URL")
    result = data.get("data", {}).get("result") if isinstance(data, dict) else None
    if result:
        return Check(AREA, "audit trail", Status.PASS, "audit events found in Loki in the last 7 days")
    return Check(
        AREA,
        "audit trail",
        Status.WARN,
        "no aibos.audit event in Loki in the last 7 days",
        "call aibos_otel.audit() on the actions the audit trail covers (docs/compliance.md)",
    )


def check_loki_deletion(config: dict[str, Any]) -> Check:
    """Loki's deletion API is on (GDPR erasure through ``aibos-otel erase``)."""
    mode = str((config.get("limits_config") or {}).get("deletion_mode", "disabled"))
    if mode in ("filter-only", "filter-and-delete"):
        return Check(AREA, "loki deletion", Status.PASS, f"deletion_mode {mode}")
    return Check(
        AREA,
        "loki deletion",
        Status.FAIL,
        f"deletion_mode {escape(mode)}: erasure requests are refused",
        "set limits_config.deletion_mode: filter-and-delete (deploy/loki/loki.yaml)",
    )
