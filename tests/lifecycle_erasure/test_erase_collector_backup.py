"""aibos-otel erase --collector-backup over what the real aibos-otelcol gateway wrote.

Services log through setup() to the real gateway (collector-config/gateway.yaml, with the
recording stand-ins of tests/collector for Loki, Datadog and the monitor); its file/backup
exporter writes OTLP-JSON requests, several records a line. The erasure must leave every line
a valid ExportLogsServiceRequest (decoded here with the protobuf JSON parser).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import aibos_otel
from aibos_otel.cli import main
from aibos_otel.lifecycle.collector_backup import erase_collector_backup, otlp_json_line
from aibos_otel.lifecycle.erasure import Match, Window
from tests.collector.conftest import built_binary, gateway_env
from tests.collector.harness import CONFIG_DIR, Collector, DatadogStandIn, LokiStandIn, read_file_backup
from tests.support.helpers import wait_for
from tests.support.otlp_receiver import GrpcReceiver, Record

USERS = ("u-1", "u-2")
PER_USER = 30


@pytest.fixture
def gateway(tmp_path: Path) -> Iterator[Collector]:
    binary = built_binary()
    with LokiStandIn() as loki, DatadogStandIn() as datadog, GrpcReceiver() as monitor:
        collector = Collector(
            binary, CONFIG_DIR / "gateway.yaml", tmp_path, gateway_env(loki, datadog, monitor), "gw"
        )
        try:
            collector.start()
            yield collector
        finally:
            collector.stop()


def _log_through(collector: Collector, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIBOS_SCHEDULE_DELAY", "0.01")
    handle = aibos_otel.setup(
        service_name="checkout",
        environment="staging",
        endpoint=f"http://{collector.grpc_endpoint}",
        console=False,
    )
    log = aibos_otel.get_logger("tests.erase.collector")
    for n in range(PER_USER):
        for user in USERS:
            (log.warning if n % 5 == 0 else log.info)("order %s", n, extra={"user.id": user, "order": n})
        if n % 10 == 9:
            assert handle.force_flush(5000)  # several export requests, so several lines
            time.sleep(0.3)  # past the gateway's batch timeout in tests (100 ms)
    assert handle.force_flush(5000)
    handle.shutdown()


def _users(records: list[Record]) -> list[str]:
    return [str(r.attributes.get("user.id")) for r in records if r.scope == "tests.erase.collector"]


def test_erase_from_the_collector_backup_keeps_every_line_valid_otlp_json(
    gateway: Collector, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _log_through(gateway, monkeypatch)
    path = gateway.backup_path
    assert wait_for(lambda: len(_users(read_file_backup(path))) == PER_USER * len(USERS), timeout=20)
    lines = [line for line in path.read_bytes().splitlines() if line.strip()]
    assert len(lines) >= 3  # several requests, each with several records

    # While the collector runs it holds logs.jsonl open: the file is reported, not replaced.
    report = erase_collector_backup(path, [Match("user.id", "u-1")], include_active=True)
    (result,) = report.files
    assert result.matched == PER_USER and result.skipped == "active file held open by a running process"
    assert not result.rewritten

    gateway.stop()
    before = read_file_backup(path)
    code = main(
        [
            "erase",
            "--no-backup",
            "--collector-backup",
            str(path),
            "--match",
            "user.id=u-1",
            "--include-active",
            "--dry-run",
        ]
    )
    assert code == 0 and f"would erase {PER_USER} of " in capsys.readouterr().out
    assert read_file_backup(path) == before

    monkeypatch.setenv(
        "AIBOS_ENDPOINT", ""
    )  # no audit destination in this test: the event is said to go nowhere
    code = main(
        [
            "erase",
            "--no-backup",
            "--collector-backup",
            str(path),
            "--match",
            "user.id=u-1",
            "--include-active",
        ]
    )
    out = capsys.readouterr()
    assert f"erased  {PER_USER} of {len(before)} record(s) in {path}" in out.out
    assert "the audit event went nowhere" in out.err and code == 1
    after = read_file_backup(path)  # parses every line as an ExportLogsServiceRequest
    assert _users(after) == ["u-2"] * PER_USER
    kept_before = [
        (r.body, r.attributes, r.resource, r.time_unix_nano)
        for r in before
        if r.attributes.get("user.id") != "u-1"
    ]
    assert [(r.body, r.attributes, r.resource, r.time_unix_nano) for r in after] == kept_before


def test_a_request_line_loses_only_its_matching_records() -> None:
    def record(user: str, nanos: int) -> dict[str, object]:
        return {
            "timeUnixNano": str(nanos),
            "body": {"stringValue": "hi"},
            "attributes": [
                {"key": "user.id", "value": {"stringValue": user}},
                {"key": "n", "value": {"intValue": "42"}},
            ],
        }

    request = {
        "resourceLogs": [
            {
                "resource": {"attributes": []},
                "scopeLogs": [{"scope": {"name": "a"}, "logRecords": [record("u-1", 1)]}],
            },
            {
                "resource": {"attributes": []},
                "scopeLogs": [{"scope": {"name": "b"}, "logRecords": [record("u-1", 2), record("u-2", 3)]}],
            },
        ]
    }
    line = json.dumps(request).encode()
    result = otlp_json_line(line, [Match("user.id", "u-1")], Window())
    assert result is not None and (result.records, result.matched) == (3, 2)
    assert result.replacement is not None
    left = json.loads(result.replacement)
    assert len(left["resourceLogs"]) == 1  # the resource whose only record went is gone
    assert [r["timeUnixNano"] for r in left["resourceLogs"][0]["scopeLogs"][0]["logRecords"]] == ["3"]
    assert otlp_json_line(line, [Match("n", "42.0"), Match("user.id", "u-2")], Window()).matched == 1  # type: ignore[union-attr]
    untouched = otlp_json_line(line, [Match("user.id", "u-9")], Window())
    assert untouched is not None and untouched.replacement is None and untouched.records == 3
    everything = otlp_json_line(line, [Match("n", "42")], Window())
    assert everything is not None and everything.replacement == b""  # the whole line goes
    assert otlp_json_line(b"not json", [Match("n", "42")], Window()) is None
