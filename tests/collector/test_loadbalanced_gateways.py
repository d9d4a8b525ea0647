"""A load-balanced gateway tier on loopback: one agent (agent-loadbalanced.yaml), two gateways
(gateway.yaml), the real aibos monitor, stand-ins for Loki (one per gateway, so each record's gateway
is known) and Datadog (shared).

Records of 20 services spread over both gateways, each service at one gateway. Then one gateway is
killed with SIGKILL mid-stream and, like its supervisor (a Deployment, systemd) would, started again on
its own queue directory. The static resolver keeps the dead gateway in the ring, so its services wait in
the agent while the other gateway's services keep flowing; after the restart every ERROR and FATAL
record the agent accepted reaches both backends and the monitor. The loss of lower-level records is
counted and printed (``-s``), with the timings of the outage.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import pytest
import yaml
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2, logs_service_pb2_grpc
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord, ResourceLogs, ScopeLogs
from opentelemetry.proto.resource.v1.resource_pb2 import Resource

from tests.collector.conftest import gateway_env
from tests.collector.harness import (
    CONFIG_DIR,
    RECORD_ID,
    Collector,
    DatadogStandIn,
    LokiStandIn,
    record_ids,
    stop_process,
    wait_for,
)
from tests.support.helpers import free_port

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

SERVICES = [f"svc-{i:02d}" for i in range(20)]
# (severity number, text, the `level` the monitor counts it under): the six levels in turn.
LEVELS = [(1, "TRACE", "trace"), (5, "DEBUG", "debug"), (9, "INFO", "info")]
LEVELS += [(13, "WARN", "warn"), (17, "ERROR", "error"), (21, "FATAL", "fatal")]
SEVERE = {"error", "fatal"}
TICK_S = 0.025  # one request with one record per service: up to 800 records/s


def _kv(key: str, value: str) -> KeyValue:
    return KeyValue(key=key, value=AnyValue(string_value=value))


@dataclass
class Stream:
    """Raw OTLP/gRPC to the agent: every tick one request with one record per service. A record counts
    as sent only once the agent answered OK (what a service's exporter would count as delivered)."""

    endpoint: str
    sent: dict[str, tuple[str, str, float]] = field(default_factory=dict)  # id -> service, level, at
    refused: int = 0
    seq: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def send(self, stub: Any, prefix: str, services: list[str]) -> None:
        number, text, level = LEVELS[self.seq % len(LEVELS)]
        now = time.time_ns()
        ids = {s: f"{prefix}-{self.seq:06d}-{s}" for s in services}
        request = logs_service_pb2.ExportLogsServiceRequest(
            resource_logs=[
                ResourceLogs(
                    resource=Resource(
                        attributes=[_kv("service.name", s), _kv("deployment.environment.name", "prod")]
                    ),
                    scope_logs=[
                        ScopeLogs(
                            log_records=[
                                LogRecord(
                                    time_unix_nano=now,
                                    severity_number=number,  # type: ignore[arg-type]
                                    severity_text=text,
                                    body=AnyValue(string_value=f"order {self.seq} processed"),
                                    attributes=[_kv(RECORD_ID, ids[s])],
                                )
                            ]
                        )
                    ],
                )
                for s in services
            ]
        )
        self.seq += 1
        try:
            stub.Export(request, timeout=10)
        except grpc.RpcError:
            self.refused += len(services)
            return
        at = time.monotonic()
        with self.lock:
            self.sent.update({i: (s, level, at) for s, i in ids.items()})

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        with grpc.insecure_channel(self.endpoint) as channel:
            stub = logs_service_pb2_grpc.LogsServiceStub(channel)  # type: ignore[no-untyped-call]
            while not self._stop.wait(TICK_S):
                self.send(stub, "st", SERVICES)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(30)

    def snapshot(self) -> dict[str, tuple[str, str, float]]:
        with self.lock:
            return dict(self.sent)


def send_once(endpoint: str, prefix: str, rounds: int) -> dict[str, tuple[str, str, float]]:
    """``rounds`` requests of one record per service, synchronously; returns what was sent."""
    stream = Stream(endpoint)
    with grpc.insecure_channel(endpoint) as channel:
        stub = logs_service_pb2_grpc.LogsServiceStub(channel)  # type: ignore[no-untyped-call]
        for _ in range(rounds):
            stream.send(stub, prefix, SERVICES)
    assert stream.refused == 0
    return stream.sent


# ---------------------------------------------------------------------------------------------- the monitor


def _api(port: int, path: str) -> Any:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/{path}", timeout=5) as response:
        return json.load(response)


def _api_ok(port: int) -> bool:
    try:
        _api(port, "stats")
        return True
    except OSError:
        return False


@dataclass
class Monitor:
    grpc_port: int
    api_port: int

    def counted(self) -> Counter[str]:
        return Counter(_api(self.api_port, "stats")["records_by_level"])


@pytest.fixture
def monitor_process(tmp_path: Path) -> Iterator[Monitor]:
    """The real aibos monitor (``aibos-otel up``) on loopback ports."""
    grpc_port, http_port, api_port = free_port(), free_port(), free_port()
    log_path = tmp_path / "monitor.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [
                *(sys.executable, "-m", "aibos_otel.cli", "up", f"--grpc-port={grpc_port}"),
                *(f"--http-port={http_port}", f"--api-port={api_port}", f"--data-dir={tmp_path / 'monitor'}"),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        assert wait_for(lambda: _api_ok(api_port), 60), log_path.read_text()
        yield Monitor(grpc_port, api_port)
    finally:
        stop_process(proc)


# ---------------------------------------------------------------------------------------------- the tier


@dataclass
class Tier:
    agent: Collector
    gateways: list[Collector]
    lokis: list[LokiStandIn]
    datadog: DatadogStandIn
    monitor: Monitor

    def where(self) -> list[Counter[str]]:
        """Per gateway (by its Loki stand-in): how many times each record id arrived."""
        return [record_ids(loki.records()) for loki in self.lokis]

    def logs(self) -> str:
        return "\n".join(f"--- {c.name}\n{c.log_tail(25)}" for c in (self.agent, *self.gateways))


@pytest.fixture
def tier(otelcol_binary: Path, tmp_path: Path, monitor_process: Monitor) -> Iterator[Tier]:
    lokis = [LokiStandIn(), LokiStandIn()]
    datadog = DatadogStandIn()
    started: list[Any] = []
    collectors: list[Collector] = []
    try:
        for stand_in in (*lokis, datadog):
            started.append(stand_in.__enter__())
        gateways = [
            Collector(
                otelcol_binary,
                CONFIG_DIR / "gateway.yaml",
                tmp_path,
                gateway_env(loki, datadog, monitor_process.grpc_port),
                name=f"gateway-{i}",
            )
            for i, loki in enumerate(lokis)
        ]
        # The comma form of the list (the config also takes a YAML flow sequence).
        hosts = ",".join(g.grpc_endpoint for g in gateways)
        agent = Collector(
            otelcol_binary,
            CONFIG_DIR / "agent-loadbalanced.yaml",
            tmp_path,
            {"AIBOS_GATEWAYS": hosts},
            "agent",
        )
        for collector in (*gateways, agent):
            collectors.append(collector)
            collector.start()
        yield Tier(agent, gateways, lokis, datadog, monitor_process)
    finally:
        for collector in reversed(collectors):
            collector.stop()
        for stand_in in reversed(started):
            stand_in.__exit__(None, None, None)


# ---------------------------------------------------------------------------------------------- tests


def service_of(record_id: str) -> str:
    return record_id.split("-", 2)[2]  # "<prefix>-<seq>-<service>"


def gateway_of_each_service(tier: Tier, ids: set[str]) -> dict[str, set[int]]:
    """Which gateways carried each service's records among ``ids``."""
    owners: dict[str, set[int]] = {s: set() for s in SERVICES}
    for index, arrived in enumerate(tier.where()):
        for record_id in ids & set(arrived):
            owners[service_of(record_id)].add(index)
    return owners


@pytest.mark.parametrize("listed", ["{a},{b}", "[{a}, {b}]"], ids=["comma list", "flow sequence"])
def test_the_gateway_list_is_a_comma_list_or_a_yaml_sequence(otelcol_binary: Path, listed: str) -> None:
    env = {"PATH": "/usr/bin:/bin", "AIBOS_GATEWAYS": listed.format(a="gw-a:4317", b="gw-b:4317")}
    proc = subprocess.run(
        [str(otelcol_binary), "print-config", f"--config={CONFIG_DIR / 'agent-loadbalanced.yaml'}"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    printed = yaml.safe_load(proc.stdout)
    resolver = printed["exporters"]["load_balancing/gateways"]["resolver"]
    assert resolver["static"]["hostnames"] == ["gw-a:4317", "gw-b:4317"]


def test_records_of_many_services_spread_over_both_gateways_one_gateway_per_service(tier: Tier) -> None:
    sent = send_once(tier.agent.grpc_endpoint, "sp", rounds=6)  # 120 records, every level of every service
    ids = set(sent)
    assert wait_for(lambda: ids <= set().union(*map(set, tier.where())), 60, 0.2), tier.logs()
    owners = gateway_of_each_service(tier, ids)
    assert all(len(g) == 1 for g in owners.values()), owners  # one service, one gateway
    per_gateway = Counter(next(iter(g)) for g in owners.values())
    print(f"\nservices per gateway: {dict(per_gateway)}")
    assert len(per_gateway) == 2 and min(per_gateway.values()) >= 3, per_gateway
    # Each record once, at its gateway's backends and at the one monitor both gateways feed.
    assert sum(sum(c[i] for i in ids) for c in tier.where()) == len(ids)
    assert wait_for(lambda: ids <= set(record_ids(tier.datadog.records())), 30, 0.2)
    expected = Counter(level for _, level, _ in sent.values())
    assert wait_for(lambda: tier.monitor.counted() == expected, 60, 0.2), (tier.monitor.counted(), expected)


@dataclass
class Outage:
    """What happened around the SIGKILL, in seconds from it."""

    victim: int
    victim_services: set[str]
    killed_at: float = 0.0
    survivor_flowing_s: float = 0.0  # first record sent after the kill seen at the surviving gateway
    restarted_s: float = 0.0
    all_severe_s: float = 0.0  # every ERROR/FATAL record delivered (from the kill)


def arrived_after(tier: Tier, stream: Stream, index: int, since: float, services: set[str]) -> int:
    """Records of ``services`` sent after ``since`` that arrived at gateway ``index``."""
    sent = stream.snapshot()
    return sum(
        1 for i in tier.where()[index] if i in sent and sent[i][2] > since and service_of(i) in services
    )


def kill_and_restart(tier: Tier, stream: Stream, outage: Outage) -> None:
    """Mid-stream SIGKILL of one gateway; the survivor keeps flowing; the victim is started again."""
    victim, survivor = tier.gateways[outage.victim], 1 - outage.victim
    others = set(SERVICES) - outage.victim_services
    assert wait_for(lambda: len(tier.where()[outage.victim]) >= 300, 60, 0.2), tier.logs()
    assert victim.proc is not None
    outage.killed_at = kill = time.monotonic()
    victim.proc.kill()
    victim.proc.wait(10)
    victim.proc = None
    assert wait_for(lambda: arrived_after(tier, stream, survivor, kill, others) > 0, 60, 0.1), tier.logs()
    outage.survivor_flowing_s = time.monotonic() - kill
    # A backlog for the victim builds up in the agent while the survivor carries its own services on.
    assert wait_for(lambda: arrived_after(tier, stream, survivor, kill, others) >= 1000, 120, 0.2)
    # The static ring does not re-route: none of the victim's services turned up at the survivor.
    assert arrived_after(tier, stream, survivor, 0.0, outage.victim_services) == 0
    outage.restarted_s = time.monotonic() - kill
    victim.start(timeout=60)
    restart = time.monotonic()
    assert wait_for(
        lambda: arrived_after(tier, stream, outage.victim, restart, outage.victim_services) >= 100, 120, 0.2
    ), tier.logs()


def delivered(tier: Tier) -> set[str]:
    return set().union(*map(set, tier.where()))


def test_a_gateway_killed_mid_stream_loses_no_error_or_fatal_record(tier: Tier) -> None:
    warm = send_once(tier.agent.grpc_endpoint, "wu", rounds=1)
    assert wait_for(lambda: set(warm) <= delivered(tier), 60, 0.2), tier.logs()
    owners = gateway_of_each_service(tier, set(warm))
    outage = Outage(victim=1, victim_services={s for s, g in owners.items() if g == {1}})
    assert outage.victim_services, owners
    stream = Stream(tier.agent.grpc_endpoint)
    stream.start()
    try:
        kill_and_restart(tier, stream, outage)
    finally:
        stream.stop()
    sent = stream.snapshot()
    sent.update(send_once(tier.agent.grpc_endpoint, "mk", rounds=1))  # markers: sent after everything
    severe = {i for i, (_, level, _) in sent.items() if level in SEVERE}
    markers = {i for i in sent if i.startswith("mk-")}
    # Everything the agent still held has been sent once the markers (sent last) are through.
    assert wait_for(lambda: markers <= delivered(tier), 180, 0.5), tier.logs()
    all_severe = wait_for(lambda: severe <= delivered(tier), 30, 0.5)
    outage.all_severe_s = time.monotonic() - outage.killed_at
    settled = _settle(lambda: len(delivered(tier)))
    lost = Counter(sent[i][1] for i in set(sent) - delivered(tier))
    arrivals = tier.where()
    duplicates = sum(c[i] for c in arrivals for i in sent if i in c) - len(delivered(tier) & set(sent))
    sent_by_level = Counter(level for _, level, _ in sent.values())
    figures = {
        "sent": dict(sent_by_level),
        "refused_by_agent": stream.refused,
        "lost": {lvl: lost[lvl] for _, _, lvl in LEVELS},
        "duplicates": duplicates,
        "victim_services": len(outage.victim_services),
        "survivor_flowing_s": round(outage.survivor_flowing_s, 2),
        "victim_down_s": round(outage.restarted_s, 2),
        "all_severe_delivered_s": round(outage.all_severe_s, 2),
        "settled": settled,
    }
    print("\nload-balanced tier, one gateway SIGKILLed:", json.dumps(figures))
    assert stream.refused == 0, figures
    assert all_severe and lost["error"] == lost["fatal"] == 0, figures
    assert wait_for(lambda: severe <= set(record_ids(tier.datadog.records())), 60, 0.5), figures
    # The one monitor both gateways feed counted every ERROR and FATAL record (duplicates count twice).
    assert wait_for(
        lambda: all(tier.monitor.counted()[lvl] >= sent_by_level[lvl] for lvl in SEVERE), 60, 0.5
    ), (tier.monitor.counted(), figures)


def _settle(count: Any, polls: int = 3, interval: float = 1.0, timeout: float = 60.0) -> bool:
    """Wait until ``count()`` has not changed over ``polls`` polls ``interval`` apart (late records)."""
    deadline = time.monotonic() + timeout
    last, same = count(), 0
    while time.monotonic() < deadline and same < polls:
        time.sleep(interval)
        now = count()
        same = same + 1 if now == last else 0
        last = now
    return same >= polls
