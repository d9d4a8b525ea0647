"""Every Prometheus query of the shipped dashboards, run by the real Prometheus against a real monitor.

A real aibos monitor receives OTLP logs from two services; the real Prometheus (Debian package)
scrapes its /metrics every second. Each dashboard query, with its template variables set to a
concrete selection and to "All", must be accepted and evaluated by Prometheus' /api/v1/query; the
panels the sent logs must fill are checked for the values the logs imply.
"""

from __future__ import annotations

import json
import math
import re
import shutil
import subprocess
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from aibos_otel.monitor.server import Monitor
from aibos_otel.monitor.settings import MonitorSettings
from tests.collector.harness import stop_process
from tests.monitor.otlp_builders import logs_request, record
from tests.support.helpers import free_port, wait_for

from .dashboards import Target, all_targets, all_values, dashboard_by_uid, interpolate, legend_labels

pytestmark = [pytest.mark.e2e, pytest.mark.slow]  # about 8 s: Prometheus start and three scrapes

PROM_TARGETS = all_targets("prometheus")
SERVICES = ("checkout", "billing")
# per service and batch; the error share is 2 / 10
BATCH = {"info": 6, "warn": 2, "error": 2}
ERROR_RATIO = BATCH["error"] / sum(BATCH.values())
# Stands in for $__rate_interval / $__interval. Longer than the whole module takes, so the second
# batch's increase stays inside the window however slowly a loaded CI machine runs the tests.
WINDOW = "5m"

# Panels the sent logs must fill (refId -> why). The others (notifications, alerts) depend on the
# policy's rules and channels, so only their evaluation is checked.
MUST_POPULATE = {
    "aibos-monitor/1/A": "throughput gauge of the services that sent",
    "aibos-monitor/2/A": "error ratio gauge, weighted by throughput",
    "aibos-monitor/4/A": "error groups gauge (read at scrape time)",
    "aibos-monitor/5/A": "records by level",
    "aibos-monitor/6/A": "records by service",
    "aibos-monitor/7/A": "error ratio from the counters",
    "aibos-monitor/8/A": "latency p50",
    "aibos-monitor/8/B": "latency p90",
    "aibos-monitor/8/C": "latency p99",
    "aibos-monitor/8/D": "latency mean",
    "aibos-monitor/10/A": "receiver errors (a malformed request is sent)",
    "aibos-monitor/11/A": "accepted export requests",
}


@dataclass
class Scraped:
    """A monitor that has received two batches, and a Prometheus that scraped it before and after."""

    prometheus_url: str
    instance: str  # the monitor's API address, whose /metrics Prometheus scrapes

    def api(self, path: str, params: list[tuple[str, str]]) -> Any:
        url = f"{self.prometheus_url}/api/v1/{path}?" + urllib.parse.urlencode(params)
        try:
            with urllib.request.urlopen(url, timeout=10) as response:
                body = response.read()
        except urllib.error.HTTPError as exc:  # 400 for a query that does not parse
            body = exc.read()
        return json.loads(body)

    def query(self, promql: str) -> dict[str, Any]:
        """The whole /api/v1/query reply (status, data or error)."""
        reply: dict[str, Any] = self.api("query", [("query", promql)])
        return reply

    def vector(self, promql: str) -> list[dict[str, Any]]:
        reply = self.query(promql)
        assert reply["status"] == "success", (promql, reply)
        return list(reply["data"]["result"])


def grafana(expr: str, values: dict[str, str]) -> str:
    """The query as Grafana would send it for this selection."""
    return interpolate(expr, values, WINDOW)


def _send_batch(port: int) -> None:
    for service in SERVICES:
        records = [record(f"{level} {i}", level) for level, n in BATCH.items() for i in range(n)]
        body = logs_request(records, service=service, environment="production").SerializeToString()
        _post(port, body, expect=200)
    _post(port, b"\xff\xfe not protobuf", expect=400)  # counted as a receiver error


def _post(port: int, body: bytes, expect: int) -> None:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/v1/logs", data=body, headers={"Content-Type": "application/x-protobuf"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            status = int(response.status)
    except urllib.error.HTTPError as exc:
        status = exc.code
    assert status == expect


def _start_prometheus(workdir: Path, target: str) -> tuple[subprocess.Popen[bytes], str]:
    binary = shutil.which("prometheus")
    if binary is None:
        pytest.fail("prometheus is not installed (scripts/install-debian-packages.sh installs it)")
    config = workdir / "prometheus.yml"
    # deploy/prometheus/prometheus.yml has no job for the monitor, so the test writes its own
    config.write_text(
        "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
        "scrape_configs:\n"
        f"  - {{job_name: aibos-monitor, static_configs: [{{targets: ['{target}']}}]}}\n",
        encoding="utf-8",
    )
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with (workdir / "prometheus.log").open("wb") as log:
        proc = subprocess.Popen(
            [
                binary,
                f"--config.file={config}",
                f"--storage.tsdb.path={workdir / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    if not wait_for(lambda: _ready(url), 20):
        stop_process(proc)
        pytest.fail("prometheus did not become ready; see " + str(workdir / "prometheus.log"))
    return proc, url


def _ready(url: str) -> bool:
    # /api/v1/query answers 503 "Service Unavailable" (not JSON) until the TSDB is open
    try:
        with urllib.request.urlopen(f"{url}/-/ready", timeout=1) as response:
            return int(response.status) == 200
    except OSError:
        return False


@pytest.fixture(scope="module")
def scraped(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scraped]:
    workdir = tmp_path_factory.mktemp("grafana-prometheus")  # kept by pytest: prometheus.log
    monitor = Monitor(MonitorSettings(grpc_port=None, http_port=0, api_port=0, data_dir=workdir / "monitor"))
    proc: subprocess.Popen[bytes] | None = None
    try:
        monitor.start()
        assert monitor.http_port and monitor.api_port
        instance = f"127.0.0.1:{monitor.api_port}"
        _send_batch(monitor.http_port)
        proc, url = _start_prometheus(workdir, instance)
        run = Scraped(url, instance)

        def ok(promql: str) -> bool:
            try:
                return bool(run.vector(promql))
            except (OSError, AssertionError):
                return False

        series = len(SERVICES) * len(BATCH)
        # Two scrapes of the first batch, so that the second one shows up as an increase
        assert wait_for(
            lambda: ok(f"count(count_over_time(aibos_monitor_log_records_total[1m]) >= 2) == {series}"), 30
        )
        _send_batch(monitor.http_port)
        assert wait_for(
            lambda: ok(f"count(increase(aibos_monitor_log_records_total[1m]) > 0) == {series}"), 30
        )
        yield run
    finally:
        if proc is not None:
            stop_process(proc)
        monitor.stop()


def _selections(target: Target, instance: str) -> dict[str, dict[str, str]]:
    dashboard = dashboard_by_uid(target.dashboard)
    return {"all": all_values(dashboard), "one": {"instance": instance, "service": "checkout"}}


@pytest.mark.parametrize("target", PROM_TARGETS, ids=lambda t: t.key)
def test_query_evaluates(scraped: Scraped, target: Target) -> None:
    for selection, values in _selections(target, scraped.instance).items():
        reply = scraped.query(grafana(target.expr, values))
        assert reply["status"] == "success", (selection, reply)
        assert reply["data"]["resultType"] == "vector"
        if target.key in MUST_POPULATE:
            result = reply["data"]["result"]
            assert result, f"{target.key} ({MUST_POPULATE[target.key]}) is empty with {selection}"
            for sample in result:
                assert math.isfinite(float(sample["value"][1])), (target.key, sample)
                # the legend names labels the query keeps, or every series would be called ""
                assert legend_labels(target.legend) <= set(sample["metric"]), (target.key, sample)


def test_must_populate_names_existing_targets() -> None:
    assert set(MUST_POPULATE) <= {t.key for t in PROM_TARGETS}


def _panel(key: str) -> Target:
    return next(t for t in PROM_TARGETS if t.key == key)


def test_records_by_level_show_every_level_sent(scraped: Scraped) -> None:
    result = scraped.vector(grafana(_panel("aibos-monitor/5/A").expr, {"instance": ".+", "service": ".+"}))
    assert {r["metric"]["level"] for r in result} == set(BATCH)
    assert all(float(r["value"][1]) > 0 for r in result)


def test_service_variable_narrows_the_records_by_service(scraped: Scraped) -> None:
    expr = _panel("aibos-monitor/6/A").expr
    every = scraped.vector(grafana(expr, {"instance": scraped.instance, "service": ".+"}))
    assert {r["metric"]["service_name"] for r in every} == set(SERVICES)
    one = scraped.vector(grafana(expr, {"instance": scraped.instance, "service": "checkout"}))
    assert [r["metric"]["service_name"] for r in one] == ["checkout"]
    none = scraped.vector(grafana(expr, {"instance": "127.0.0.1:1", "service": ".+"}))
    assert none == []


def test_error_ratio_panels_show_the_share_of_errors_sent(scraped: Scraped) -> None:
    values = {"instance": scraped.instance, "service": ".+"}
    by_service = scraped.vector(grafana(_panel("aibos-monitor/7/A").expr, values))
    assert {r["metric"]["service_name"] for r in by_service} == set(SERVICES)
    for r in by_service:
        # both series gained BATCH between the same two scrapes, so rate() extrapolates them alike
        assert float(r["value"][1]) == pytest.approx(ERROR_RATIO, abs=0.02), r
    (overall,) = scraped.vector(grafana(_panel("aibos-monitor/2/A").expr, values))
    assert float(overall["value"][1]) == pytest.approx(ERROR_RATIO, abs=1e-9)  # same share in every batch


def test_receiver_errors_panel_names_the_refused_request(scraped: Scraped) -> None:
    result = scraped.vector(grafana(_panel("aibos-monitor/10/A").expr, {"instance": scraped.instance}))
    assert [(r["metric"]["transport"], r["metric"]["reason"]) for r in result] == [("http", "malformed")]
    assert float(result[0]["value"][1]) > 0


def test_latency_quantiles_are_ordered(scraped: Scraped) -> None:
    values = {"instance": scraped.instance}
    quantiles = [
        float(scraped.vector(grafana(_panel(f"aibos-monitor/8/{ref}").expr, values))[0]["value"][1])
        for ref in "ABC"
    ]
    assert 0 <= quantiles[0] <= quantiles[1] <= quantiles[2] <= 300  # the histogram's last finite bound


def test_a_query_prometheus_rejects_is_reported(scraped: Scraped) -> None:
    # The checks above would be worthless if a broken expression also came back as success
    reply = scraped.query('sum by (level) (rate(aibos_monitor_log_records_total{level=~"$level"}[1m])')
    assert reply["status"] == "error" and reply["errorType"] == "bad_data"


def test_every_metric_a_panel_names_is_one_the_monitor_exposes(scraped: Scraped) -> None:
    # Catches a renamed metric even where a panel may rightly be empty (notifications, alerts):
    # the exposition lists every family, also those without samples yet.
    with urllib.request.urlopen(f"http://{scraped.instance}/metrics", timeout=10) as response:
        text = response.read().decode()
    exposed: set[str] = set()
    for family in text_string_to_metric_families(text):
        suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count")}.get(
            family.type, ("",)
        )
        exposed |= {family.name + suffix for suffix in suffixes}
    named = {name for t in PROM_TARGETS for name in re.findall(r"\baibos_monitor_\w+", t.expr)}
    assert named and named <= exposed, named - exposed


def test_variable_queries_list_the_monitor_and_its_services(scraped: Scraped) -> None:
    dashboard = dashboard_by_uid("aibos-monitor")
    found: dict[str, set[str]] = {}
    for var in dashboard["templating"]["list"]:
        # Grafana's label_values(series selector, label) is /api/v1/label/<label>/values?match[]=...
        inner = var["query"].removeprefix("label_values(").removesuffix(")")
        selector, _, label = inner.rpartition(",")
        selector = grafana(selector.strip(), {"instance": ".+"})
        reply = scraped.api(f"label/{label.strip()}/values", [("match[]", selector)])
        assert reply["status"] == "success", reply
        found[var["name"]] = set(reply["data"])
    assert found == {"instance": {scraped.instance}, "service": set(SERVICES)}
