"""Error groups in the store: merges across batches, resolve/regression and prune, also after reopen."""

from __future__ import annotations

from pathlib import Path

from aibos_otel.monitor.store import ErrorEvent, Store

SECOND = 10**9


def event(time_s: int, *, service: str = "api", trace: str = "", message: str = "boom") -> ErrorEvent:
    return ErrorEvent("fp-1", "ValueError", message, "stack", service, "prod", trace, time_s * SECOND)


def test_batches_merge_into_one_row(tmp_path: Path) -> None:
    store = Store(tmp_path / "db.sqlite3")
    assert [c.kind for c in store.record_errors([event(10, trace="aa")])] == ["new"]
    assert store.record_errors([event(12, service="web", trace="bb"), event(11, trace="aa")]) == []
    group = store.error_group("fp-1")
    assert group is not None
    assert group["count"] == 3
    assert (group["first_seen_ns"], group["last_seen_ns"]) == (10 * SECOND, 12 * SECOND)
    assert group["services"] == ["api", "web"] and group["environments"] == ["prod"]
    assert group["trace_ids"] == ["aa", "bb"]
    store.close()
    reopened = Store(tmp_path / "db.sqlite3")  # what was merged was written, not only cached
    assert reopened.record_errors([event(13, message="newest")]) == []
    group = reopened.error_group("fp-1")
    assert group is not None and group["count"] == 4 and group["message"] == "newest"
    assert group["services"] == ["api", "web"]


def test_resolve_then_regression_then_prune(tmp_path: Path) -> None:
    store = Store(tmp_path / "db.sqlite3")
    store.record_errors([event(10)])
    assert store.resolve_error_group("fp-1", 11 * SECOND)
    assert [c.kind for c in store.record_errors([event(12)])] == ["regression"]
    group = store.error_group("fp-1")
    assert group is not None and group["status"] == "open" and group["regressions"] == 1
    assert store.prune(100 * SECOND, keep_ns=SECOND, error_groups_keep_ns=50 * SECOND) >= 1
    assert store.error_group("fp-1") is None
    assert [c.kind for c in store.record_errors([event(101)])] == ["new"]
    group = store.error_group("fp-1")
    assert group is not None and group["count"] == 1


def test_a_failed_write_leaves_no_cached_row_ahead_of_the_database(tmp_path: Path) -> None:
    store = Store(tmp_path / "db.sqlite3")
    store.record_errors([event(10)])
    store.record_errors([event(11)])  # the group is now cached
    store.query(
        "CREATE TRIGGER refuse BEFORE UPDATE ON error_groups BEGIN SELECT RAISE(ABORT, 'disk full'); END"
    )
    try:
        store.record_errors([event(12, service="ghost", trace="dead")])
    except Exception as exc:
        assert "disk full" in str(exc)
    else:
        raise AssertionError("the write should have failed")
    store.query("DROP TRIGGER refuse")
    store.record_errors([event(13)])
    group = store.error_group("fp-1")
    assert group is not None and group["count"] == 3  # 10, 11 and 13: the refused batch is not counted
    assert group["last_seen_ns"] == 13 * SECOND
    assert group["services"] == ["api"] and "dead" not in group["trace_ids"]
