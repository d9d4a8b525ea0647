"""Run every check the given targets allow, in the order a record travels."""

from __future__ import annotations

import os
from collections.abc import Mapping

from aibos_otel.doctor import probe
from aibos_otel.doctor.checks_aggregation import check_canary, check_collector, check_datadog
from aibos_otel.doctor.checks_alerting import (
    check_alertmanager,
    check_channels,
    check_dead_mans_switch,
    check_loki_rules,
)
from aibos_otel.doctor.checks_errors import check_audit_events, check_loki_deletion, check_monitor_api
from aibos_otel.doctor.checks_performance import check_prometheus
from aibos_otel.doctor.checks_retention import (
    check_backup_age,
    check_loki_retention,
    check_retention_last_run,
    read_loki_config,
)
from aibos_otel.doctor.checks_service import check_service
from aibos_otel.doctor.model import Check, Report, Status, Targets
from aibos_otel.policy.model import Policy, PolicyError, load_policy
from aibos_otel.terminal import escape


def run_doctor(
    targets: Targets, *, env: Mapping[str, str] | None = None, test_channels: bool = False
) -> Report:
    """Check the deployment ``targets`` name; ``env`` is the service's environment (default: this
    process's). ``test_channels`` test-fires every enabled channel (it notifies people)."""
    environ = os.environ if env is None else env
    checks: list[Check] = list(check_service(environ))
    try:
        loaded = load_policy(targets.policy, env=environ)
        checks.append(Check("alerting", "policy", Status.PASS, f"policy {escape(loaded.origin)} is valid"))
        policy: Policy | None = loaded
    except PolicyError as exc:
        policy = None
        checks.append(
            Check(
                "alerting", "policy", Status.FAIL, escape(exc), "fix the policy (`aibos-otel validate FILE`)"
            )
        )

    if targets.collector:
        checks.append(check_datadog(environ))  # the gateway's settings: run doctor with its environment
        checks.extend(check_canary(targets))
    checks.extend(check_collector(targets))

    if policy is not None:
        checks.append(check_dead_mans_switch(policy))
        if test_channels:
            checks.extend(check_channels(policy))
        if targets.alertmanager:
            checks.append(check_alertmanager(policy, targets))
        if targets.backup:
            checks.append(check_backup_age(policy, targets.backup))
    if targets.loki:
        checks.extend(_loki_checks(policy, targets))
    if targets.prometheus:
        checks.extend(check_prometheus(targets))
    if targets.monitor:
        checks.append(check_monitor_api(targets))
    checks.extend(_skipped(targets))
    return Report(tuple(checks))


def _loki_checks(policy: Policy | None, targets: Targets) -> list[Check]:
    checks: list[Check] = []
    if policy is not None:
        checks.append(check_loki_rules(policy, targets))
    try:
        config = read_loki_config(targets)
    except probe.ProbeError as exc:
        checks.append(
            Check(
                "retention",
                "loki config",
                Status.FAIL,
                escape(exc),
                "check the Loki URL (doctor reads GET /config)",
            )
        )
        return checks
    if policy is not None:
        checks.extend(check_loki_retention(policy, config))
    checks.append(check_retention_last_run(targets))
    checks.append(check_loki_deletion(config))
    checks.append(check_audit_events(targets))
    return checks


def _skipped(targets: Targets) -> list[Check]:
    """One ``skip`` line per target not given, so the report says what it did not look at."""
    missing = {
        "aggregation": ("--collector", targets.collector),
        "retention": ("--loki", targets.loki),
        "performance": ("--prometheus", targets.prometheus),
        "errors": ("--monitor", targets.monitor),
    }
    return [
        Check(area, f"{option} not given", Status.SKIP, f"no {option}: these checks did not run")
        for area, (option, value) in missing.items()
        if not value
    ]
