"""HA alerting: the rendered Alertmanager config in two real Alertmanagers clustered on loopback.

Two Loki ruler replicas evaluate the same rendered rules and both post each firing alert to every
Alertmanager. The Alertmanagers gossip their notification log: the peer at position 0 notifies after
``group_wait``; the peer at position ``n`` waits ``n * --cluster.peer-timeout`` and then finds the
notification in the replicated log and sends nothing. So one notification per alert group, and with
one Alertmanager killed (SIGKILL) the other still notifies on its own.
"""

from __future__ import annotations

import json
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from aibos_otel.policy.model import parse_policy
from aibos_otel.policy.render import alertmanager_config, loki_rules
from tests.monitor.fakes import Recorder
from tests.support.helpers import free_port, metric_sum, wait_for

from .conftest import require
from .test_alertmanager_e2e import post_alerts, ruler_alert

pytestmark = [pytest.mark.e2e]

# A webhook channel for everything, and two rules the ruler would fire. The rendered route groups by
# alertname, so the second alert is of the other rule: a new group, notified after group_wait (a new
# alert in a group already notified would wait for group_interval, 5 min).
POLICY = """
version: 1
channels:
  hook: {type: webhook, url: "{base}/hook"}
alerting:
  group_wait: 0s
  repeat_interval: 4h
  default_channels: [hook]
rules:
  - name: fatal-errors
    expr: 'sum by (service_name) (count_over_time({level="fatal"}[1m])) > 0'
    labels: {severity: critical}
    annotations: {summary: "{{$labels.service_name}} logged {{ $value }} fatal line(s)"}
  - name: error-spike
    expr: sum by (service_name) (rate({level="error"}[5m])) > 0.1
    labels: {severity: warning}
"""
# Long enough for the gossip (every 100 ms) to carry the first peer's log entry to the second;
# short enough to keep the test quick. Production keeps the default 15 s.
PEER_TIMEOUT = "3s"


@dataclass
class Alertmanager:
    url: str
    cluster: str
    proc: subprocess.Popen[bytes]
    log: Path

    def status(self) -> dict[str, Any]:
        with urllib.request.urlopen(f"{self.url}/api/v2/status", timeout=5) as response:
            status: dict[str, Any] = json.load(response)
        return status

    def cluster_ready(self, peers: int) -> bool:
        try:
            cluster = self.status()["cluster"]
        except OSError:
            return False
        return bool(cluster["status"] == "ready" and len(cluster.get("peers") or []) == peers)

    def metric(self, name: str, **labels: str) -> float:
        """Sum of the samples of ``name`` whose labels include ``labels``."""
        return metric_sum(f"{self.url}/metrics", name, **labels)


def start(binary: str, config: Path, workdir: Path, name: str, cluster: str, peer: str) -> Alertmanager:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = workdir / f"{name}.log"  # a file, not a pipe: a full pipe would block it
    with log.open("wb") as log_file:
        proc = subprocess.Popen(
            [
                binary,
                f"--config.file={config}",
                f"--storage.path={workdir / name}",
                f"--web.listen-address=127.0.0.1:{port}",
                f"--web.external-url={url}",
                f"--cluster.listen-address={cluster}",
                f"--cluster.advertise-address={cluster}",
                f"--cluster.peer={peer}",
                f"--cluster.peer-timeout={PEER_TIMEOUT}",
                "--cluster.gossip-interval=100ms",
                "--cluster.pushpull-interval=2s",
                "--cluster.probe-interval=500ms",
                "--cluster.settle-timeout=20s",
            ],
            stdout=subprocess.DEVNULL,
            stderr=log_file,
        )
    return Alertmanager(url, cluster, proc, log)


@pytest.fixture
def cluster(tmp_path: Path, recorder: Recorder) -> Iterator[tuple[list[Alertmanager], dict[str, Any]]]:
    """Two clustered Alertmanagers on the rendered config, each peering with the other; and the
    rendered Loki rules by name."""
    binary = require("prometheus-alertmanager")
    policy = parse_policy(POLICY.replace("{base}", recorder.url), env={})
    config = tmp_path / "alertmanager.yml"
    config.write_text(alertmanager_config(policy).text())
    rules = {r["alert"]: r for r in yaml.safe_load(loki_rules(policy).text())["groups"][0]["rules"]}
    gossip = [f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}"]
    ams: list[Alertmanager] = []
    try:
        for i in (0, 1):
            ams.append(start(binary, config, tmp_path, f"am-{i}", gossip[i], gossip[1 - i]))
        logs = lambda: "\n".join(am.log.read_text(errors="replace")[-1500:] for am in ams)  # noqa: E731
        assert wait_for(lambda: all(am.cluster_ready(peers=2) for am in ams), 60, 0.2), logs()
        yield ams, rules
    finally:
        for am in ams:
            if am.proc.poll() is None:
                am.proc.terminate()
                try:
                    am.proc.wait(10)
                except subprocess.TimeoutExpired:
                    am.proc.kill()
                    am.proc.wait(5)


def hooks(recorder: Recorder, service: str) -> list[Any]:
    return [r for r in recorder.requests if r.path == "/hook" and service in json.dumps(r.body)]


def test_two_clustered_alertmanagers_notify_once_and_one_survives_the_other(
    cluster: tuple[list[Alertmanager], dict[str, Any]], recorder: Recorder
) -> None:
    ams, rules = cluster
    alert = ruler_alert(rules["fatal-errors"], {"service_name": "pay"}, 2)
    for am in ams:  # what two ruler replicas do: each posts the alert to every Alertmanager
        post_alerts(am.url, [alert])
    first = recorder.wait_for(lambda r: r.path == "/hook", timeout=60)[0]
    assert first.body["commonLabels"]["alertname"] == "fatal-errors"
    assert first.body["commonLabels"]["service_name"] == "pay"
    # Both have run their dedup stage (a notification-log query) once the later peer's
    # peer-timeout wait is over; only then is "no second notification" a result.
    assert wait_for(lambda: all(am.metric("alertmanager_nflog_queries_total") >= 1 for am in ams), 60, 0.2)
    sent = [am.metric("alertmanager_notifications_total", integration="webhook") for am in ams]
    assert sorted(sent) == [0, 1], sent  # one of them sent it, the other found it in the gossiped log
    assert len(hooks(recorder, "pay")) == 1

    # The one that notified dies without a goodbye; the other notifies a new alert alone.
    victim = ams[sent.index(1)]
    survivor = ams[1 - sent.index(1)]
    victim.proc.kill()
    victim.proc.wait(10)
    posted = time.monotonic()
    post_alerts(survivor.url, [ruler_alert(rules["error-spike"], {"service_name": "ledger"}, 0.5)])
    recorder.wait_for(lambda r: r.path == "/hook" and "ledger" in json.dumps(r.body), timeout=60)
    took = time.monotonic() - posted
    print(f"\nalertmanager cluster: 1 notification from 2 peers; survivor notified alone in {took:.1f} s")
    assert len(hooks(recorder, "ledger")) == 1
    assert len(hooks(recorder, "pay")) == 1  # and nothing of the first alert again
