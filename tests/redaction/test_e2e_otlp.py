"""End to end over real OTLP/gRPC: a service process logs secrets in the message, in ``extra``,
in nested dicts, in an exception message and a traceback; the receiver sees none of them."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent import futures
from pathlib import Path
from typing import Any

import grpc
import pytest
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2, logs_service_pb2_grpc

from tests.redaction.e2e_sender import SECRETS

ROOT = Path(__file__).resolve().parents[2]


class _Receiver(logs_service_pb2_grpc.LogsServiceServicer):
    """Records every ExportLogsServiceRequest it is sent."""

    def __init__(self) -> None:
        self.requests: list[logs_service_pb2.ExportLogsServiceRequest] = []
        self._lock = threading.Lock()

    def Export(self, request: Any, context: Any) -> Any:
        with self._lock:
            self.requests.append(request)
        return logs_service_pb2.ExportLogsServiceResponse()


@pytest.fixture
def receiver() -> Iterator[tuple[_Receiver, int]]:
    servicer = _Receiver()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    logs_service_pb2_grpc.add_LogsServiceServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        yield servicer, port
    finally:
        server.stop(grace=None).wait(5)


def _records(servicer: _Receiver) -> list[Any]:
    return [
        record
        for request in servicer.requests
        for resource_logs in request.resource_logs
        for scope_logs in resource_logs.scope_logs
        for record in scope_logs.log_records
    ]


def _attributes(record: Any) -> dict[str, str]:
    return {kv.key: str(kv.value) for kv in record.attributes}


@pytest.mark.slow
def test_no_secret_reaches_the_receiver(receiver: tuple[_Receiver, int]) -> None:
    servicer, port = receiver
    result = subprocess.run(
        [sys.executable, "-m", "tests.redaction.e2e_sender", f"http://127.0.0.1:{port}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "sent" in result.stdout

    records = _records(servicer)
    bodies = [r.body.string_value for r in records]
    assert any(b == "plain line without secrets" for b in bodies)
    assert any("checkout crashed" in b for b in bodies)

    wire = b"".join(request.SerializeToString() for request in servicer.requests)
    for secret in SECRETS:
        assert secret.encode() not in wire, f"{secret!r} reached the receiver"

    # The redactions are visible, named and counted.
    text = wire.decode("utf-8", "replace")
    for marker in (
        "[REDACTED:github-token]",
        "[REDACTED:email]",
        "[REDACTED:credit-card]",
        "[REDACTED:sensitive-key]",
    ):
        assert marker in text
    crashed = next(r for r in records if "checkout crashed" in r.body.string_value)
    attributes = _attributes(crashed)
    assert "[REDACTED:email]" in attributes["exception.message"]
    assert "Traceback" in attributes["exception.stacktrace"]
    assert "aibos.redaction.total" in attributes
    login = next(r for r in records if r.body.string_value.startswith("login by"))
    assert _attributes(login)["aibos.redaction.count.github-token"] == "int_value: 1\n"
