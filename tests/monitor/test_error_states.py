"""Error-group states, releases, ignores, escalation, affected users and the v4 migration (store level)."""

from __future__ import annotations

import json
import logging
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from aibos_otel.lifecycle import audit as sdk_audit
from aibos_otel.monitor import audit_events
from aibos_otel.monitor.groupstate import HOUR_NS, EscalationTracker
from aibos_otel.monitor.releases import compare
from aibos_otel.monitor.store import MIGRATIONS, SCHEMA_VERSION, ErrorEvent, Store
from aibos_otel.monitor.usercount import EXACT_LIMIT, UserCounter, user_hash
from aibos_otel.policy.errors_policy import Errors, Escalation

NOW = 1_800_000_000 * 10**9


def event(release: str = "1.0", *, t: int = NOW, user: str = "", fp: str = "f" * 32) -> ErrorEvent:
    return ErrorEvent(fp, "KeyError", "boom", "stack", "shop", "prod", "", t, fp, release, user)


@pytest.fixture
def store(tmp_path: Path) -> Any:
    transitions: list[dict[str, Any]] = []
    s = Store(tmp_path / "m.db", on_transition=transitions.append)
    s.seen = transitions  # type: ignore[attr-defined]
    try:
        yield s
    finally:
        s.close()


def _state(store: Store) -> str:
    return str((store.error_group("f" * 32) or {})["state"])


def _version_3_database(path: Path) -> None:
    db = sqlite3.connect(path)
    db.create_function("aibos_group_fingerprint", 2, lambda a, b: a, deterministic=True)
    for migration in MIGRATIONS[:3]:
        db.executescript(migration)
    for fp, status, regressions, count in (("a", "open", 0, 5), ("b", "resolved", 1, 7), ("c", "open", 2, 9)):
        db.execute(
            "INSERT INTO error_groups (fingerprint, exc_type, message, stacktrace, count, first_seen_ns, "
            "last_seen_ns, services, environments, trace_ids, status, regressions, exception_fingerprint) "
            "VALUES (?, 'E', 'm', 's', ?, 1, ?, '[\"shop\"]', '[\"prod\"]', '[]', ?, ?, ?)",
            (fp, count, NOW, status, regressions, fp),
        )
    db.execute("PRAGMA user_version=3")
    db.commit()
    db.close()


def test_migration_to_v4_keeps_every_group_and_count(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    _version_3_database(path)
    store = Store(path)
    try:
        assert store.schema_version() == SCHEMA_VERSION == 4
        groups = {g["fingerprint"]: g for g in store.error_groups(limit=10)}
        assert {k: g["count"] for k, g in groups.items()} == {"a": 5, "b": 7, "c": 9}
        assert {k: g["state"] for k, g in groups.items()} == {
            "a": "ongoing",
            "b": "resolved",
            "c": "regressed",
        }
        assert groups["b"]["status"] == "resolved" and groups["a"]["status"] == "open"
        # a migrated resolved group regresses on its next occurrence
        store.record_errors([event(fp="b")])
        assert (store.error_group("b") or {})["state"] == "regressed"
        assert (store.error_group("b") or {})["count"] == 8
    finally:
        store.close()


def test_resolved_in_release_regresses_only_from_that_release_or_newer(store: Store) -> None:
    store.record_errors([event("1.1")])
    assert _state(store) == "new"
    store.change_state(
        "f" * 32,
        "resolved-in-release",
        detail={"mode": "release", "release": "1.2"},
        actor="ana",
        reason="r",
        now_ns=NOW,
    )
    assert store.record_errors([event("1.1", t=NOW + 1)]) == []
    assert _state(store) == "resolved-in-release"
    changes = store.record_errors([event("1.3", t=NOW + 2)])
    assert [(c.kind, c.release) for c in changes] == [("regression", "1.3")]
    group = store.error_group("f" * 32) or {}
    assert group["state"] == "regressed" and group["releases"] == {"1.1": 2, "1.3": 1}
    assert (group["first_release"], group["last_release"]) == ("1.1", "1.3")
    states = [(t["from_state"], t["to_state"], t["actor"]) for t in reversed(group["transitions"])]
    assert states == [("new", "resolved-in-release", "ana"), ("resolved-in-release", "regressed", "system")]
    assert [t["to_state"] for t in store.seen] == ["resolved-in-release", "regressed"]  # type: ignore[attr-defined]


def test_resolved_in_the_next_release(store: Store) -> None:
    store.record_errors([event("2.0"), event("1.9")])
    store.change_state(
        "f" * 32,
        "resolved-in-release",
        detail={"mode": "next", "after": store.newest_release("f" * 32)},
        actor="a",
        reason="r",
        now_ns=NOW,
    )
    assert store.record_errors([event("2.0", t=NOW + 1)]) == []  # still the release it was resolved in
    assert [c.kind for c in store.record_errors([event("2.1", t=NOW + 2)])] == ["regression"]


def test_plain_resolve_regresses_on_any_occurrence(store: Store) -> None:
    store.record_errors([event()])
    store.resolve_error_group("f" * 32, NOW)
    assert [c.kind for c in store.record_errors([event("0.1", t=NOW + 1)])] == ["regression"]


def test_ignore_until_n_reopens_on_the_n_plus_first(store: Store) -> None:
    store.record_errors([event()])
    store.change_state(
        "f" * 32,
        "ignored",
        detail={"mode": "count", "count": 3, "until_count": 4},
        actor="a",
        reason="r",
        now_ns=NOW,
    )
    for i in range(3):
        store.record_errors([event(t=NOW + i + 1)])
        assert _state(store) == "ignored"
    store.record_errors([event(t=NOW + 10)])
    assert _state(store) == "ongoing"


def test_ignore_for_a_duration_reopens_after_it(store: Store) -> None:
    store.record_errors([event()])
    store.change_state(
        "f" * 32,
        "ignored",
        detail={"mode": "duration", "until_ns": NOW + 100},
        actor="a",
        reason="r",
        now_ns=NOW,
    )
    store.record_errors([event(t=NOW + 50)])
    assert _state(store) == "ignored"
    store.record_errors([event(t=NOW + 150)])
    assert _state(store) == "ongoing"


def test_ignore_forever_stays_ignored_and_counts(store: Store) -> None:
    store.record_errors([event()])
    store.change_state("f" * 32, "ignored", detail={"mode": "forever"}, actor="a", reason="r", now_ns=NOW)
    store.record_errors([event(t=NOW + i) for i in range(1, 50)])
    assert _state(store) == "ignored" and (store.error_group("f" * 32) or {})["count"] == 50


def test_escalation_reopens_a_group_ignored_until_it_escalates(tmp_path: Path) -> None:
    esc = Escalation(factor=5, window_ns=600 * 10**9, min_events=10, baseline_ns=24 * HOUR_NS)
    store = Store(tmp_path / "m.db", errors=Errors(escalation=esc))
    try:
        start = NOW - 20 * HOUR_NS
        # a steady trickle: one an hour for 20 hours (baseline about 0.17 per 10 minutes)
        for h in range(20):
            store.record_errors([event(t=start + h * HOUR_NS)])
        store.change_state(
            "f" * 32, "ignored", detail={"mode": "escalating"}, actor="a", reason="r", now_ns=NOW
        )
        assert store.record_errors([event(t=NOW + i) for i in range(5)]) == []  # below min_events
        changes = store.record_errors([event(t=NOW + 10 + i) for i in range(10)])
        assert [c.kind for c in changes] == ["escalation"]
        assert _state(store) == "ongoing"
        assert store.record_errors([event(t=NOW + 100 + i) for i in range(10)]) == []  # once per window
    finally:
        store.close()


def test_escalation_needs_rate_above_its_own_baseline() -> None:
    tracker = EscalationTracker(5, 600 * 10**9, 10, 24 * HOUR_NS)
    first = NOW - 24 * HOUR_NS
    busy = {h: 600 for h in range(first // HOUR_NS, NOW // HOUR_NS + 1)}  # 100 per 10 minutes
    assert not tracker.observe("g", 120, NOW, first, lambda: busy)  # 120 < 5 x 100
    quiet = {h: 6 for h in range(first // HOUR_NS, NOW // HOUR_NS + 1)}
    quiet[NOW // HOUR_NS] += 120
    assert tracker.observe("h", 120, NOW, first, lambda: quiet)


def test_user_count_exact_up_to_the_bound_then_within_two_percent_at_100k(store: Store) -> None:
    batch = [event(user=f"user-{i}", t=NOW + i) for i in range(EXACT_LIMIT)]
    store.record_errors(batch)
    assert (store.error_group("f" * 32) or {})["user_count"] == EXACT_LIMIT
    store.record_errors([event(user="user-5", t=NOW + 10**6)])  # a known user does not count twice
    assert (store.error_group("f" * 32) or {})["user_count"] == EXACT_LIMIT
    truth = 100_000
    for start in range(EXACT_LIMIT, truth, 5000):
        store.record_errors(
            [event(user=f"user-{i}", t=NOW + i) for i in range(start, min(start + 5000, truth))]
        )
    counted = (store.error_group("f" * 32) or {})["user_count"]
    assert abs(counted - truth) / truth < 0.02, counted
    blob = store.query("SELECT users FROM error_group_users")[0][0]
    assert len(blob) <= 16385 and b"user-" not in blob  # bounded, and hashes, not ids


def test_user_counter_round_trips() -> None:
    c = UserCounter()
    c.add({user_hash(str(i)) for i in range(3000)})
    assert UserCounter.from_bytes(c.to_bytes()).count() == c.count()
    assert abs(c.count() - 3000) < 60


def test_release_order_pep440_and_fallback() -> None:
    assert compare("1.10", "1.9") == 1 and compare("1.2", "1.2.0") == 0 and compare("1.2rc1", "1.2") == -1
    assert compare("build-10", "build-9") == 1 and compare("2024.06-hotfix", "2024.05-hotfix") == 1


def test_merge_and_unmerge(store: Store) -> None:
    store.record_errors([event(fp="a" * 32), event(fp="a" * 32), event(fp="b" * 32)])
    assert store.merge_groups("a" * 32, ["b" * 32, "zzz"], "ana", NOW) == ["b" * 32]
    assert [g["fingerprint"] for g in store.error_groups()] == ["a" * 32]
    assert (store.error_group("a" * 32) or {})["count"] == 3
    store.record_errors([event(fp="b" * 32, t=NOW + 5)])  # counts into the target now
    assert (store.error_group("a" * 32) or {})["count"] == 4
    assert store.unmerge_group("b" * 32, "ana", NOW) == "a" * 32
    assert {g["fingerprint"]: g["count"] for g in store.error_groups()} == {"a" * 32: 3, "b" * 32: 1}


def test_merges_survive_a_restart(tmp_path: Path) -> None:
    s = Store(tmp_path / "m.db")
    s.record_errors([event(fp="a" * 32), event(fp="b" * 32)])
    s.merge_groups("a" * 32, ["b" * 32], "ana", NOW)
    s.close()
    s = Store(tmp_path / "m.db")
    try:
        s.record_errors([event(fp="b" * 32, t=NOW + 1)])
        assert {g["fingerprint"]: g["count"] for g in s.error_groups()} == {"a" * 32: 3}
    finally:
        s.close()


def test_histogram_buckets_by_hour(store: Store) -> None:
    store.record_errors([event(t=NOW - 2 * HOUR_NS), event(t=NOW - 2 * HOUR_NS + 1)])
    store.record_errors([event(t=NOW)])
    hist = (store.error_group("f" * 32) or {})["histogram"]
    assert [h["count"] for h in hist] == [2, 1]


def test_audit_events_use_the_sdk_contract(caplog: pytest.LogCaptureFixture) -> None:
    assert (
        audit_events.AUDIT_LOGGER == sdk_audit.AUDIT_LOGGER
        and audit_events.EVENT_NAME == sdk_audit.EVENT_NAME
    )
    assert set(audit_events.KEYS.values()) == {
        sdk_audit.EVENT_NAME_KEY,
        sdk_audit.ACTION_KEY,
        sdk_audit.ACTOR_KEY,
        sdk_audit.TARGET_KEY,
        sdk_audit.OUTCOME_KEY,
    }
    with caplog.at_level(logging.INFO, logger="aibos.audit"):
        audit_events.emit_transition(
            {"fingerprint": "x", "from_state": "new", "to_state": "resolved", "actor": "ana", "reason": "r"}
        )
    [rec] = [r for r in caplog.records if r.name == "aibos.audit"]
    assert rec.__dict__["audit.action"] == "error_group.resolved" and rec.__dict__["audit.actor"] == "ana"
    assert json.dumps(
        audit_events.audit_attributes(
            {"fingerprint": "x", "from_state": "a", "to_state": "b", "actor": "", "reason": ""}
        )
    )


def test_time_driven_transitions_without_an_occurrence(tmp_path: Path) -> None:
    store = Store(tmp_path / "m.db", errors=Errors(new_for_ns=1000))
    try:
        store.record_errors([event(fp="a" * 32), event(fp="b" * 32, t=NOW + 5000)])
        store.change_state(
            "a" * 32,
            "ignored",
            detail={"mode": "duration", "until_ns": NOW + 100},
            actor="x",
            reason="r",
            now_ns=NOW,
        )
        assert store.age_groups(NOW + 50) == 0
        assert store.age_groups(NOW + 200) == 1
        assert (store.error_group("a" * 32) or {})["state"] == "ongoing"
        assert store.age_groups(NOW + 6000) == 1  # b: new for longer than new_for
        assert (store.error_group("b" * 32) or {})["state"] == "ongoing"
    finally:
        store.close()
