"""Error groups per service (the default), fleet-wide by policy, and the migration that keeps old groups.

Sentry (per project) and Datadog Error Tracking (per service) group per service: the same
exception in two services is two problems, owned by two teams, each worth its own
``new-error-group`` alert.
"""

from __future__ import annotations

import json
import sqlite3
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from aibos_otel.fingerprint import group_fingerprint
from aibos_otel.monitor.server import Monitor
from aibos_otel.monitor.store import MIGRATIONS, SCHEMA_VERSION, ErrorEvent, Store
from aibos_otel.policy.model import PolicyError, default_policy_text, parse_policy
from tests.support.helpers import wait_for

from .otlp_builders import exception_attrs, logs_request, record
from .test_receiver import grpc_export

STACK = (
    "Traceback (most recent call last):\n"
    '  File "/app/shop/payments.py", line 41, in charge\n'
    "    gateway.capture(card)\n"
    "ValueError: card declined"
)


def _raise_in(monitor: Monitor, service: str) -> None:
    assert monitor.grpc_port
    attrs = exception_attrs("ValueError", "card declined", STACK)
    request = logs_request([record("payment failed", "error", attributes=attrs)], service=service)
    grpc_export(monitor.grpc_port, request.SerializeToString())


def _get(monitor: Monitor, path: str) -> Any:
    with urllib.request.urlopen(f"http://127.0.0.1:{monitor.api_port}{path}", timeout=10) as response:
        return json.load(response)


def _new_group_alerts(monitor: Monitor) -> list[dict[str, Any]]:
    alerts: list[dict[str, Any]] = _get(monitor, "/api/alerts")["alerts"]
    return [a for a in alerts if a["rule"] == "new-error-group"]


def test_two_services_raising_the_same_exception_get_two_groups_and_two_alerts(monitor: Monitor) -> None:
    for service in ("checkout", "billing", "checkout"):
        _raise_in(monitor, service)
    groups = _get(monitor, "/api/errors")["errors"]
    by_service = {tuple(g["services"]): g for g in groups}
    assert set(by_service) == {("checkout",), ("billing",)}
    assert by_service[("checkout",)]["count"] == 2 and by_service[("billing",)]["count"] == 1
    # one bug, so one exception fingerprint; two groups, so two group fingerprints
    assert len({g["exception_fingerprint"] for g in groups}) == 1
    assert len({g["fingerprint"] for g in groups}) == 2
    assert wait_for(lambda: len(_new_group_alerts(monitor)) == 2, 30), _new_group_alerts(monitor)
    assert sorted(a["labels"]["service_name"] for a in _new_group_alerts(monitor)) == ["billing", "checkout"]


def test_fleet_grouping_is_one_group_and_one_alert(monitor_factory: Any) -> None:
    policy = parse_policy(default_policy_text().replace("group_by: service", "group_by: fleet"))
    assert policy.errors.group_by == "fleet"
    monitor: Monitor = monitor_factory(policy)
    for service in ("checkout", "billing"):
        _raise_in(monitor, service)
    (group,) = _get(monitor, "/api/errors")["errors"]
    assert sorted(group["services"]) == ["billing", "checkout"] and group["count"] == 2
    assert group["fingerprint"] == group["exception_fingerprint"]
    assert wait_for(lambda: len(_new_group_alerts(monitor)) == 1, 30)


def test_an_unknown_grouping_is_a_policy_error() -> None:
    with pytest.raises(PolicyError) as caught:
        parse_policy(default_policy_text().replace("group_by: service", "group_by: team"))
    assert "errors.group_by" in str(caught.value) and "service, fleet" in str(caught.value)


def _version_2_database(path: Path) -> None:
    """A data directory as the monitor before per-service groups left it."""
    db = sqlite3.connect(path)
    for migration in MIGRATIONS[:2]:
        db.executescript(migration)
    rows = [
        ("a" * 32, ["checkout"], 5),  # one service: becomes that service's group
        ("b" * 32, ["billing", "checkout"], 7),  # several: keeps its key and its counts
        ("overflow", ["svc-1"], 3),  # the overflow group stays the overflow group
    ]
    for fingerprint, services, count in rows:
        db.execute(
            "INSERT INTO error_groups (fingerprint, exc_type, message, stacktrace, count, first_seen_ns, "
            "last_seen_ns, services, environments, trace_ids) VALUES (?, 'E', 'm', '', ?, 1, 2, ?, '[]', '[]')",
            (fingerprint, count, json.dumps(services)),
        )
    db.execute("PRAGMA user_version=2")
    db.commit()
    db.close()


def test_the_migration_keeps_every_group_and_continues_single_service_ones(tmp_path: Path) -> None:
    path = tmp_path / "monitor.db"
    _version_2_database(path)
    store = Store(path)
    try:
        assert store.schema_version() == SCHEMA_VERSION
        rows = {r["exception_fingerprint"]: dict(r) for r in store.query("SELECT * FROM error_groups")}
        assert {k: r["count"] for k, r in rows.items()} == {"a" * 32: 5, "b" * 32: 7, "overflow": 3}
        assert rows["a" * 32]["fingerprint"] == group_fingerprint("a" * 32, "checkout")
        assert rows["b" * 32]["fingerprint"] == "b" * 32
        assert rows["overflow"]["fingerprint"] == "overflow"
        # The next occurrence in checkout counts into the migrated group: no "new group" alert.
        event = ErrorEvent(
            group_fingerprint("a" * 32, "checkout"), "E", "m", "", "checkout", "prod", "", 3, "a" * 32
        )
        assert store.record_errors([event]) == []
        assert (store.error_group(group_fingerprint("a" * 32, "checkout")) or {})["count"] == 6
    finally:
        store.close()
    reopened = Store(path)  # a second start migrates nothing twice
    try:
        assert reopened.query("SELECT COUNT(*) FROM error_groups")[0][0] == 3
    finally:
        reopened.close()
