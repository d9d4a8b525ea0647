"""Zero-code: the built wheel in a fresh venv, a FastAPI app under ``opentelemetry-instrument``.

The app contains no aibos code. One run (module fixture) serves every assertion below; the
records are those a real OTLP/gRPC receiver on 127.0.0.1 got.
"""

from __future__ import annotations

import signal
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.delivery.conftest import APPS, clean_env
from tests.delivery.receiver import OtlpReceiver
from tests.support.helpers import free_port

pytestmark = pytest.mark.slow

SECRET_CARD = "4111 1111 1111 1111"
SECRET_PASSWORD = "hunter2-secret"


def _get(port: int, path: str) -> bytes:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as response:
        body: bytes = response.read()
        return body


def _wait_until_serving(port: int, process: subprocess.Popen[str], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, "the app exited before serving"
        try:
            _get(port, "/docs")
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("the app did not start serving")


@pytest.fixture(scope="module")
def zero_code_run(fresh_venv: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    receiver = OtlpReceiver().start()
    port = free_port()
    backup = tmp_path_factory.mktemp("backup")
    env = clean_env(
        PATH=f"{fresh_venv / 'bin'}:/usr/bin:/bin",
        APP_PORT=str(port),
        AIBOS_SERVICE_NAME="shop",
        AIBOS_SERVICE_VERSION="1.4.2",
        AIBOS_ENVIRONMENT="staging",
        AIBOS_ENDPOINT=receiver.endpoint,
        AIBOS_LEVEL="TRACE",
        AIBOS_SCHEDULE_DELAY="0.2",
        AIBOS_FILE_BACKUP=str(backup),
        OTEL_METRIC_EXPORT_INTERVAL="500",
        OTEL_BSP_SCHEDULE_DELAY="200",
    )
    process = subprocess.Popen(
        [str(fresh_venv / "bin" / "opentelemetry-instrument"), "python", str(APPS / "fastapi_app.py")],
        env=env,
        cwd=str(backup),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        _wait_until_serving(port, process)
        for path in ("/order/1", "/order/2", "/checkout/5", "/fatal", "/boom"):
            _get(port, path)
        # SIGTERM right after the last request: uvicorn re-raises it after its own shutdown, so
        # the records still queued arrive only if the aibos exit flush runs.
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
        receiver.stop()
    return {
        "logs": receiver.snapshot(),
        "spans": list(receiver.spans),
        "metrics": set(receiver.metric_names),
        "output": output,
        "backup": backup,
        "returncode": process.returncode,
    }


def _app_logs(run: dict[str, Any]) -> list[dict[str, Any]]:
    return [r for r in run["logs"] if r["scope"] == "shop.orders"]


def test_every_app_record_arrives_with_the_service_resource(zero_code_run: dict[str, Any]) -> None:
    logs = _app_logs(zero_code_run)
    # 2 x (trace + info) + checkout + stock + fatal + exception
    assert len(logs) == 8, zero_code_run["output"]
    for record in logs:
        resource = record["resource"]
        assert resource["service.name"] == "shop"
        assert resource["service.version"] == "1.4.2"
        assert resource["deployment.environment.name"] == "staging"
        assert resource["telemetry.distro.name"] == "aibos-otel"
        assert resource["telemetry.auto.version"]  # set by opentelemetry-instrument


def test_sigterm_flushes_then_dies_of_the_signal(zero_code_run: dict[str, Any]) -> None:
    # uvicorn re-raises SIGTERM after its graceful stop; the aibos handler flushes, then re-raises
    # it, unless the interpreter finished its own normal exit first (both are a clean stop).
    assert zero_code_run["returncode"] in (0, -signal.SIGTERM)
    assert any(r["body"] == "could not price order" for r in zero_code_run["logs"])


def test_log_trace_ids_are_the_request_spans(zero_code_run: dict[str, Any]) -> None:
    spans = zero_code_run["spans"]
    server_spans = {s["trace_id"] for s in spans if s["name"] == "GET /order/{number}"}
    assert len(server_spans) == 2  # FastAPI instrumentation ran: one trace per request
    assert {s["service"] for s in spans} == {"shop"}  # spans carry the same resource
    placed = [r for r in _app_logs(zero_code_run) if r["attributes"].get("order_number") is not None]
    assert {r["trace_id"] for r in placed} == server_spans
    span_ids = {s["span_id"] for s in spans}
    assert all(r["span_id"] in span_ids for r in placed)


def test_an_outgoing_call_carries_the_trace_to_the_next_service(zero_code_run: dict[str, Any]) -> None:
    # requests instrumentation (client span + traceparent) -> FastAPI server span of /stock:
    # the logs of both handlers share the trace of the /checkout request.
    spans = zero_code_run["spans"]
    checkout = [s for s in spans if s["name"] == "GET /checkout/{number}"]
    client = [s for s in spans if s["name"] == "GET" and s["trace_id"] == checkout[0]["trace_id"]]
    assert len(checkout) == 1 and len(client) == 1
    logs = _app_logs(zero_code_run)
    done = next(r for r in logs if r["attributes"].get("checkout_number") == 5)
    checked = next(r for r in logs if r["attributes"].get("stock_number") == 5)
    assert done["trace_id"] == checked["trace_id"] == checkout[0]["trace_id"]
    assert checked["span_id"] != done["span_id"]  # logged in the downstream request's span


def test_trace_and_fatal_severities(zero_code_run: dict[str, Any]) -> None:
    logs = _app_logs(zero_code_run)
    traces = [r for r in logs if r["body"].startswith("checking stock")]
    assert [(r["severity_number"], r["severity_text"]) for r in traces] == [(1, "TRACE")] * 2
    fatal = [r for r in logs if r["body"].startswith("payment provider")]
    assert [(r["severity_number"], r["severity_text"]) for r in fatal] == [(21, "FATAL")]


def test_exception_records_carry_a_fingerprint(zero_code_run: dict[str, Any]) -> None:
    errors = [r for r in _app_logs(zero_code_run) if r["severity_text"] == "ERROR"]
    assert len(errors) == 1
    attributes = errors[0]["attributes"]
    assert attributes["exception.type"] == "ValueError"
    assert "raise ValueError" in attributes["exception.stacktrace"]
    assert len(attributes["exception.fingerprint"]) >= 16


def test_self_metrics_and_file_backup(zero_code_run: dict[str, Any]) -> None:
    assert "aibos.logs.records" in zero_code_run["metrics"]
    assert "http.server.duration" in zero_code_run["metrics"] or any(
        name.startswith("http.server") for name in zero_code_run["metrics"]
    )
    backed_up = "".join(p.read_text() for p in Path(zero_code_run["backup"]).glob("*.jsonl"))
    assert "payment provider unreachable" in backed_up


def test_secrets_are_redacted(zero_code_run: dict[str, Any]) -> None:
    if "redaction engine unavailable" in zero_code_run["output"]:
        pytest.skip("the redaction engine (aibos_otel.redaction.stage) has not landed yet")
    placed = [r for r in _app_logs(zero_code_run) if r["attributes"].get("order_number") is not None]
    assert placed
    for record in placed:
        assert SECRET_CARD not in record["body"]
        assert "[REDACTED" in record["body"]
        assert SECRET_PASSWORD not in str(record["attributes"])
        assert str(record["attributes"]["password"]).startswith("[REDACTED")
    backed_up = "".join(p.read_text() for p in Path(zero_code_run["backup"]).glob("*.jsonl"))
    assert SECRET_CARD not in backed_up  # the file backup gets the redacted record too
