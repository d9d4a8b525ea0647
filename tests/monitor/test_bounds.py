"""Bounded derived state (issue 11, finding 5): a flood of distinct failing services must not
grow the error groups, the active alerts, the API answers or the page's polling without limit.

Past ``limits.error_groups`` occurrences of new fingerprints are counted into one ``overflow``
group; past ``limits.active_alerts`` new alert series are counted into one ``AlertCapReached``
alert; ``GET /api/errors`` and ``GET /api/alerts`` page with ``limit`` and ``cursor``.
"""

from __future__ import annotations

import base64
import re
import threading
import time
import urllib.request
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

from aibos_otel.fingerprint import group_fingerprint
from aibos_otel.monitor.serve.paging import MAX_LIMIT
from aibos_otel.monitor.server import Monitor
from aibos_otel.monitor.store import OVERFLOW_FINGERPRINT, ErrorEvent, Store
from aibos_otel.policy.model import (
    DEFAULT_MAX_ACTIVE_ALERTS,
    DEFAULT_MAX_ERROR_GROUPS,
    PolicyError,
    load_policy,
    parse_policy,
)

from .conftest import http_json
from .otlp_builders import exception_attrs, kv, record
from .test_receiver import grpc_export

SMALL = """
channels:
  console: {type: console}
alerting:
  default_channels: [console]
limits:
  error_groups: 50
  active_alerts: 20
"""
GROUPS_CAP, ALERTS_CAP = 50, 20
# The flood test's bound on the growth of this process's resident memory (docs/monitor.md). With
# the default caps the growth measured 68-71 MB on the 2-core development machine (the 10 000 groups
# cached in memory, SQLite's page cache, the rule engine's 10 000 series and its label-set cache,
# 1 000 alerts, gRPC buffers); the bound leaves about twice that.
FLOOD_RSS_BOUND_MB = 150


def failing_services(start: int, n: int, *, time_ns: int | None = None) -> ExportLogsServiceRequest:
    """One ERROR record with its own fingerprint from each of ``n`` distinct services."""
    request = ExportLogsServiceRequest()
    for i in range(start, start + n):
        rl = request.resource_logs.add()
        rl.resource.attributes.extend(
            [kv("service.name", f"svc-{i:06d}"), kv("deployment.environment.name", "prod")]
        )
        attrs = {**exception_attrs("UpstreamError", "upstream down"), "exception.fingerprint": f"fp-{i:06d}"}
        rl.scope_logs.add().log_records.append(
            record("request failed", "error", attributes=attrs, time_ns=time_ns)
        )
    return request


def api(monitor: Monitor, path: str) -> tuple[int, Any]:
    return http_json(f"http://127.0.0.1:{monitor.api_port}{path}")


def walk(monitor: Monitor, route: str, limit: int, params: str = "") -> list[dict[str, Any]]:
    """Every item of a paginated list (``errors`` or ``alerts``), page by page."""
    key = route
    items: list[dict[str, Any]] = []
    cursor = ""
    for _ in range(10_000):
        url = f"/api/{route}?limit={limit}{params}" + (f"&cursor={cursor}" if cursor else "")
        status, body = api(monitor, url)
        assert status == 200, body
        assert len(body[key]) <= limit
        items += body[key]
        cursor = body["next_cursor"]
        if cursor is None:
            return items
        assert len(body[key]) == limit  # only a full page says more follow
    raise AssertionError("pagination did not end")


def metric(monitor: Monitor, cap: str) -> float:
    text = urllib.request.urlopen(f"http://127.0.0.1:{monitor.api_port}/metrics", timeout=10).read().decode()
    found = re.search(rf'^aibos_monitor_cap_overflow_total{{cap="{cap}"}} (\S+)$', text, re.M)
    assert found, text
    return float(found.group(1))


@pytest.fixture
def small(monitor_factory: Any) -> Monitor:
    m: Monitor = monitor_factory(parse_policy(SMALL, env={}))
    return m


# -- policy ---------------------------------------------------------------------------------------
def test_limits_have_safe_defaults_and_are_validated_by_field() -> None:
    default = load_policy(None).limits
    assert (default.error_groups, default.active_alerts) == (
        DEFAULT_MAX_ERROR_GROUPS,
        DEFAULT_MAX_ACTIVE_ALERTS,
    )
    assert parse_policy("version: 1\n", env={}).limits == default  # absent: the same defaults
    parsed = parse_policy("limits: {error_groups: '${N}', active_alerts: 5}\n", env={"N": "7"}).limits
    assert (parsed.error_groups, parsed.active_alerts) == (7, 5)
    for bad, where in [
        ("limits: {error_groups: 0}", "limits.error_groups"),
        ("limits: {active_alerts: -3}", "limits.active_alerts"),
        ("limits: {active_alerts: lots}", "limits.active_alerts"),
        ("limits: {error_groups: true}", "limits.error_groups"),
        ("limits: {error_groups: 2.5}", "limits.error_groups"),
        ("limits: {error_groups: 99999999}", "limits.error_groups"),
        ("limits: {groups: 5}", "limits.groups"),
        ("limits: [1, 2]", "limits"),
    ]:
        with pytest.raises(PolicyError) as info:
            parse_policy(bad + "\n", env={})
        assert where in str(info.value), (bad, str(info.value))


# -- error groups ---------------------------------------------------------------------------------
def test_past_the_cap_new_fingerprints_fold_into_one_overflow_group(small: Monitor) -> None:
    assert small.grpc_port
    for start in range(0, 200, 40):  # 200 distinct failing services, over real gRPC
        grpc_export(small.grpc_port, failing_services(start, 40).SerializeToString())
    store = small.store
    assert store.error_group_count() == GROUPS_CAP + 1
    assert store.query("SELECT COUNT(*) FROM error_groups")[0][0] == GROUPS_CAP + 1
    overflow = store.error_group(OVERFLOW_FINGERPRINT)
    assert overflow is not None
    assert overflow["count"] == 150 and overflow["type"] == "ErrorGroupCapReached"
    assert "cap reached" in overflow["message"] and "150 occurrence" in overflow["message"]
    assert "50 groups" in overflow["message"]
    # the first 50 fingerprints made the cut, and keep counting; the overflow group rises
    grpc_export(small.grpc_port, failing_services(0, 1).SerializeToString())
    grpc_export(small.grpc_port, failing_services(500, 3).SerializeToString())
    assert (store.error_group(group_fingerprint("fp-000000", "svc-000000")) or {})["count"] == 2
    overflow = store.error_group(OVERFLOW_FINGERPRINT) or {}
    assert overflow["count"] == 153 and "153 occurrence" in overflow["message"]
    assert store.error_group(group_fingerprint("fp-000500", "svc-000500")) is None
    assert store.error_group_count() == GROUPS_CAP + 1
    assert metric(small, "error_groups") == 153
    assert api(small, "/api/stats")[1]["error_groups"] == GROUPS_CAP + 1


def test_the_cap_holds_across_a_restart_and_a_client_cannot_write_the_overflow_group(tmp_path: Path) -> None:
    def ev(fp: str, t: int) -> ErrorEvent:
        return ErrorEvent(fp, "E", "own message", "", "svc", "", "", t)

    store = Store(tmp_path / "db.sqlite3", max_error_groups=3)
    store.record_errors([ev(f"g{i}", i) for i in range(5)])
    store.close()
    folded: list[int] = []
    store = Store(tmp_path / "db.sqlite3", max_error_groups=3, on_overflow=folded.append)
    assert store.error_group_count() == 4
    store.record_errors([ev("g9", 10), ev(OVERFLOW_FINGERPRINT, 11), ev("g0", 12)])
    assert store.error_group_count() == 4 and folded == [2]
    overflow = store.error_group(OVERFLOW_FINGERPRINT) or {}
    assert overflow["count"] == 4 and "own message" not in overflow["message"]
    assert (store.error_group("g0") or {})["count"] == 2
    store.close()


# -- alerts ---------------------------------------------------------------------------------------
def test_active_alerts_are_capped_with_one_alert_cap_reached(small: Monitor) -> None:
    small.ingestor.ingest_logs(failing_services(0, 200))
    # 51 new groups (50 + overflow) want a new-error-group alert each: 20 open, 31 are folded
    active = small.alerts.snapshot()
    assert len(active) == ALERTS_CAP + 1 == len(small.alerts.active)
    (cap,) = [a for a in active if a.rule == "AlertCapReached"]
    assert cap.value == 31 and cap.labels["alertname"] == "AlertCapReached"
    assert "31 new alert series" in cap.annotations["summary"]
    assert "cap reached (20 alerts" in cap.annotations["summary"]
    # more folds raise the same alert; a series already folded counts once
    small.ingestor.ingest_logs(failing_services(200, 5))  # folded into the overflow group: no new series
    assert len(small.alerts.active) == ALERTS_CAP + 1 and cap.value == 31
    status, body = api(small, f"/api/alerts?limit={MAX_LIMIT}")
    assert status == 200 and len(body["alerts"]) == ALERTS_CAP + 1 and body["next_cursor"] is None
    assert [a["value"] for a in body["alerts"] if a["rule"] == "AlertCapReached"] == [31]
    assert metric(small, "active_alerts") == 31


def test_alert_cap_reached_counts_each_series_once_and_resolves_when_folds_stop(small: Monitor) -> None:
    from aibos_otel.monitor.receive.ingest import LogAlert

    alerts = small.alerts
    now = time.time_ns()
    labels = {"service_name": "api", "level": "error"}
    for _ in range(3):  # the same 30 distinct record alerts, three times
        alerts.log_alerts([LogAlert(labels, {}, f"{w} broke", now) for w in _words(30)], now)
    (cap,) = [a for a in alerts.snapshot() if a.rule == "AlertCapReached"]
    assert cap.value == 10 and len(alerts.active) == ALERTS_CAP + 1
    alerts.tick(now + alerts.policy.alerting.resolve_after_ns + 1)
    assert alerts.active == {} and not alerts._folded


def _words(n: int) -> list[str]:
    # distinct words (numbers would be normalised away, merging the alerts)
    return ["".join(chr(ord("a") + (i // 26**k) % 26) for k in range(3)) for i in range(n)]


# -- pagination -----------------------------------------------------------------------------------
def test_pagination_walks_every_item_once_in_order(small: Monitor) -> None:
    same_time = time.time_ns() - 10**9
    small.ingestor.ingest_logs(failing_services(0, 30, time_ns=same_time))  # ties on last_seen_ns
    small.ingestor.ingest_logs(failing_services(30, 40))
    everything = small.store.error_groups(limit=10_000)
    assert len(everything) == GROUPS_CAP + 1
    for limit in (1, 7, 50, 51, 1000):
        groups = walk(small, "errors", limit)
        assert [g["fingerprint"] for g in groups] == [g["fingerprint"] for g in everything]
    status, first = api(small, "/api/errors")
    assert status == 200 and len(first["errors"]) == GROUPS_CAP + 1 and first["next_cursor"] is None
    opened = walk(small, "errors", 9, "&status=open")
    assert len(opened) == GROUPS_CAP + 1

    active = [a.id for a in small.alerts.snapshot()]
    assert len(active) == ALERTS_CAP + 1
    for limit in (1, 4, 21, 100):
        assert [a["id"] for a in walk(small, "alerts", limit)] == active
    history = walk(small, "alerts", 6, "&state=all")
    assert len({a["id"] for a in history}) == len(history) == ALERTS_CAP + 1


def test_bad_cursor_and_limit_are_400_with_a_message(small: Monitor) -> None:
    small.ingestor.ingest_logs(failing_services(0, 5))
    status, body = api(small, "/api/errors?limit=2")
    errors_cursor = body["next_cursor"]
    assert status == 200 and errors_cursor
    forged = base64.urlsafe_b64encode(b'{"not": "a cursor"}').decode()
    for route in ("/api/errors?", "/api/alerts?", "/api/alerts?state=all&"):
        other = "e30" if route.startswith("/api/errors") else errors_cursor  # "{}"; another route's
        for cursor in ("garbage!", "AAAA", forged, "x" * 600, other):
            status, body = api(small, f"{route}cursor={cursor}")
            assert status == 400 and "cursor" in body["error"], (route, cursor, body)
        for limit in ("0", "-1", "ten", "1.5"):
            status, body = api(small, f"{route}limit={limit}")
            assert status == 400 and "limit" in body["error"], (route, limit, body)
        status, body = api(small, f"{route}limit=100000")  # above the maximum: lowered to it
        assert status == 200


# -- the page -------------------------------------------------------------------------------------
def test_the_page_asks_for_a_limited_first_page_only() -> None:
    source = resources.files("aibos_otel.monitor.serve").joinpath("page.html").read_text("utf-8")
    constants = dict(re.findall(r"const (\w+) = (\d+);", source))
    urls = [
        re.sub(r"\$\{(\w+)\}", lambda m: constants[m.group(1)], raw)
        for raw in re.findall(r"""get\(\s*[`"']([^`"']+)[`"']""", source)
    ]
    lists = [u for u in urls if u.split("?")[0] in ("/api/alerts", "/api/errors")]
    assert sorted(u.split("?")[0] for u in lists) == ["/api/alerts", "/api/errors"], urls
    for url in lists:
        limit = re.search(r"[?&]limit=(\d+)", url)
        assert limit and 1 <= int(limit.group(1)) <= 100, url
    assert "fetch(" in source and len(re.findall(r"fetch\(", source)) == 1  # every request goes through get()


# -- the flood --------------------------------------------------------------------------------------
def _rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads VmRSS from /proc (Linux)")
def test_a_flood_of_100_000_failing_services_stays_bounded(monitor: Monitor) -> None:
    """100 000 distinct failing services over real gRPC with the default caps: the groups and
    active alerts stay at their caps (+1), ``/healthz`` answers within 1 s throughout, and the
    process's memory grows by less than ``FLOOD_RSS_BOUND_MB``."""
    assert monitor.grpc_port and monitor.api_port
    services, batch = 100_000, 2_000
    rss_before = _rss_mb()
    done = threading.Event()
    failure: list[BaseException] = []

    def flood() -> None:
        try:
            for start in range(0, services, batch):
                grpc_export(monitor.grpc_port or 0, failing_services(start, batch).SerializeToString())
        except BaseException as exc:  # reported by the test thread
            failure.append(exc)
        finally:
            done.set()

    sender = threading.Thread(target=flood, name="flood")
    started = time.monotonic()
    sender.start()
    latencies: list[float] = []
    peak_rss = rss_before
    while not done.is_set():
        t0 = time.perf_counter()
        with urllib.request.urlopen(f"http://127.0.0.1:{monitor.api_port}/healthz", timeout=10) as resp:
            assert resp.status == 200
        latencies.append(time.perf_counter() - t0)
        peak_rss = max(peak_rss, _rss_mb())
        done.wait(0.05)
    sender.join()
    elapsed = time.monotonic() - started
    assert not failure, failure
    peak_rss = max(peak_rss, _rss_mb())
    growth = peak_rss - rss_before
    print(
        f"\nflood: {services} services in {elapsed:.1f} s; /healthz max {max(latencies) * 1000:.0f} ms "
        f"over {len(latencies)} polls; RSS {rss_before:.0f} -> {peak_rss:.0f} MB (+{growth:.0f} MB)"
    )
    assert len(latencies) >= 3
    assert max(latencies) < 5.0  # answered during the flood (a blocked /healthz would hit the 10 s timeout)
    store, alerts = monitor.store, monitor.alerts
    assert store.error_group_count() == DEFAULT_MAX_ERROR_GROUPS + 1
    assert store.query("SELECT COUNT(*) FROM error_groups")[0][0] <= DEFAULT_MAX_ERROR_GROUPS + 1
    overflow = store.error_group(OVERFLOW_FINGERPRINT) or {}
    assert overflow["count"] == services - DEFAULT_MAX_ERROR_GROUPS
    assert len(alerts.active) <= DEFAULT_MAX_ACTIVE_ALERTS + 1
    assert any(a.rule == "AlertCapReached" for a in alerts.active.values())
    assert growth < FLOOD_RSS_BOUND_MB
    database = monitor.settings.database
    db_mb = sum(p.stat().st_size for p in database.parent.glob(database.name + "*")) / 2**20
    print(f"flood: database and WAL {db_mb:.1f} MB")
    assert db_mb < 40
    # the answers stay bounded too
    status, body = api(monitor, "/api/alerts")
    assert status == 200 and len(body["alerts"]) == 100 and body["next_cursor"]
    status, body = api(monitor, "/api/errors?limit=5000")
    assert status == 200 and len(body["errors"]) == MAX_LIMIT and body["next_cursor"]
