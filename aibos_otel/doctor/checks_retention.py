"""Retention checks: Loki keeps each level as long as the policy says, its compactor applies
retention and last ran recently, and the local backup holds nothing older than the policy."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path
from typing import Any

from aibos_otel.doctor import probe
from aibos_otel.doctor.checks_alerting import safe_yaml
from aibos_otel.doctor.model import Check, Status, Targets
from aibos_otel.policy.logql import format_duration, parse_duration
from aibos_otel.policy.model import Policy
from aibos_otel.terminal import escape

AREA = "retention"
LAST_RUN_METRIC = "loki_compactor_apply_retention_last_successful_run_timestamp_seconds"
STALE_RUN_S = 2 * 86_400  # the compactor runs retention every compaction_interval (10m by default)
_LEVEL_SELECTOR = re.compile(r'^\{\s*level\s*=\s*"([a-z]+)"\s*\}$')
_LAST_RUN = re.compile(r"^" + LAST_RUN_METRIC + r"(?:\{[^}]*\})?\s+(\S+)", re.MULTILINE)


def read_loki_config(targets: Targets) -> dict[str, Any]:
    """Loki's running configuration (``GET /config``, YAML)."""
    assert targets.loki is not None
    answer = probe.request(probe.join(targets.loki, "/config"))
    if answer.status != 200:
        raise probe.ProbeError(f"/config answered HTTP {answer.status}")
    config = safe_yaml(answer.text())
    if not isinstance(config, dict):
        raise probe.ProbeError("/config is not a YAML mapping")
    return config


def _ns(value: Any) -> int | None:
    try:
        return parse_duration(str(value))
    except ValueError:
        return None


def check_loki_retention(policy: Policy, config: dict[str, Any]) -> list[Check]:
    """Per-level ``retention_stream`` periods and ``retention_enabled`` against the policy."""
    checks = []
    compactor = config.get("compactor") or {}
    if compactor.get("retention_enabled") is True:
        checks.append(
            Check(AREA, "loki compactor retention", Status.PASS, "compactor.retention_enabled: true")
        )
    else:
        checks.append(
            Check(
                AREA,
                "loki compactor retention",
                Status.FAIL,
                "compactor.retention_enabled is not true: nothing is ever deleted",
                "set compactor.retention_enabled: true (deploy/loki/loki.yaml)",
            )
        )
    limits = config.get("limits_config") or {}
    have: dict[str, int | None] = {}
    for stream in limits.get("retention_stream") or []:
        m = _LEVEL_SELECTOR.match(str(stream.get("selector", "")).strip())
        if m:
            have[m.group(1)] = _ns(stream.get("period"))
    wrong = []
    for level, want in policy.retention_ns.items():
        got = have.get(level)
        if got is None and level == "info":
            got = _ns(limits.get("retention_period"))  # info may be the default period
        if got != want:
            shown = "missing" if got is None else format_duration(got)
            wrong.append(f"{level} {shown} (policy {format_duration(want)})")
    if wrong:
        checks.append(
            Check(
                AREA,
                "loki retention per level",
                Status.FAIL,
                "differs from the policy: " + "; ".join(wrong),
                "set limits_config.retention_stream per level from the policy (deploy/loki/loki.yaml)",
            )
        )
    else:
        checks.append(
            Check(
                AREA,
                "loki retention per level",
                Status.PASS,
                f"{len(policy.retention_ns)} levels equal the policy",
            )
        )
    return checks


def check_retention_last_run(targets: Targets) -> Check:
    """When Loki's compactor last applied retention (its own metric)."""
    assert targets.loki is not None
    try:
        answer = probe.request(probe.join(targets.loki, "/metrics"))
    except probe.ProbeError as exc:
        return Check(AREA, "retention last run", Status.WARN, escape(exc), "expose Loki's /metrics to doctor")
    found = _LAST_RUN.findall(answer.text()) if answer.status == 200 else []
    values = [float(v) for v in found if v.replace(".", "", 1).replace("e+", "", 1).isdigit()]
    if not values or max(values) <= 0:
        return Check(
            AREA,
            "retention last run",
            Status.WARN,
            "Loki reports no successful retention run",
            "check the compactor's log (it runs on the instance with -target=compactor or all)",
        )
    age = time.time() - max(values)
    evidence = f"last successful run {age / 3600:.1f} h ago"
    if age > STALE_RUN_S:
        return Check(
            AREA,
            "retention last run",
            Status.WARN,
            evidence,
            "the compactor has not applied retention for two days: check its log",
        )
    return Check(AREA, "retention last run", Status.PASS, evidence)


def check_backup_age(policy: Policy, backup: Path) -> Check:
    """No file in the backup's directory older than the longest retention of the policy."""
    limit_s = max(policy.retention_ns.values()) / 1e9
    directory = backup.parent
    now, oldest = time.time(), 0.0
    try:
        with os.scandir(directory) as entries:
            for entry in entries:
                if entry.is_file(follow_symlinks=False) and entry.name.startswith(backup.stem):
                    oldest = max(oldest, now - entry.stat(follow_symlinks=False).st_mtime)
    except OSError as exc:
        return Check(
            AREA,
            "backup age",
            Status.FAIL,
            f"cannot read {escape(directory)}: {exc.strerror}",
            "check --backup",
        )
    evidence = f"oldest backup file {oldest / 86_400:.1f} days (limit {format_duration(int(limit_s * 1e9))})"
    if oldest > limit_s:
        return Check(
            AREA,
            "backup age",
            Status.FAIL,
            evidence,
            "run `aibos-otel retention enforce` on a schedule (docs/compliance.md)",
        )
    return Check(AREA, "backup age", Status.PASS, evidence)
