"""OTLP over real loopback sockets into the monitor: gRPC and HTTP, good and bad input."""

from __future__ import annotations

import gzip
import json
import time
import urllib.error
import urllib.request

import grpc
import pytest
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsServiceResponse,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from aibos_otel.fingerprint import group_fingerprint
from aibos_otel.monitor.server import Monitor

from .conftest import http_json
from .otlp_builders import exception_attrs, logs_request, record

LOGS_METHOD = "/opentelemetry.proto.collector.logs.v1.LogsService/Export"


def grpc_export(port: int, payload: bytes, metadata: tuple[tuple[str, str], ...] = ()) -> bytes:
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        call = channel.unary_unary(LOGS_METHOD)
        out: bytes = call(payload, timeout=10, metadata=metadata)
        return out


def http_post(port: int, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes, str]:
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=body, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, resp.read(), resp.headers.get("Content-Type", "")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(), exc.headers.get("Content-Type", "")


def test_grpc_error_logs_become_error_groups(monitor: Monitor) -> None:
    assert monitor.grpc_port and monitor.api_port
    stack = 'Traceback (most recent call last):\n  File "/app/shop/pay.py", line 3, in charge\nValueError: bad card'
    records = [
        record(
            "charge failed",
            "error",
            attributes=exception_attrs("ValueError", "bad card", stack),
            trace_id=bytes(range(16)),
        )
        for _ in range(3)
    ] + [record("hello", "info"), record("user 42 missing", "error"), record("user 43 missing", "error")]
    reply = ExportLogsServiceResponse.FromString(
        grpc_export(monitor.grpc_port, logs_request(records).SerializeToString())
    )
    assert not reply.HasField("partial_success")
    status, body = http_json(f"http://127.0.0.1:{monitor.api_port}/api/errors")
    assert status == 200
    groups = {g["type"] or g["message"]: g for g in body["errors"]}
    assert groups["ValueError"]["count"] == 3
    assert groups["ValueError"]["services"] == ["checkout"]
    assert groups["ValueError"]["environments"] == ["test"]
    assert groups["ValueError"]["trace_ids"] == [bytes(range(16)).hex()]
    assert "pay.py" in groups["ValueError"]["stacktrace"]
    # "user 42 missing" and "user 43 missing" differ only by a number: one group
    assert sum(1 for g in body["errors"] if g["type"] == "") == 1
    assert len(body["errors"]) == 2
    fp = groups["ValueError"]["fingerprint"]
    status, one = http_json(f"http://127.0.0.1:{monitor.api_port}/api/errors/{fp}")
    assert status == 200 and one["count"] == 3
    assert http_json(f"http://127.0.0.1:{monitor.api_port}/api/errors/nope")[0] == 404


def test_sdk_fingerprint_attribute_is_used(monitor: Monitor) -> None:
    assert monitor.grpc_port and monitor.api_port
    attrs = {**exception_attrs("KeyError", "x"), "exception.fingerprint": "f" * 32}
    grpc_export(
        monitor.grpc_port, logs_request([record("boom", "error", attributes=attrs)]).SerializeToString()
    )
    # the group's fingerprint is the sender's and the service's (errors.group_by: service)
    group_id = group_fingerprint("f" * 32, "checkout")
    status, group = http_json(f"http://127.0.0.1:{monitor.api_port}/api/errors/{group_id}")
    assert status == 200 and group["type"] == "KeyError" and group["exception_fingerprint"] == "f" * 32


def test_resolve_then_regression(monitor: Monitor) -> None:
    assert monitor.grpc_port and monitor.api_port
    payload = logs_request(
        [record("boom", "error", attributes=exception_attrs("E", "boom"))]
    ).SerializeToString()
    grpc_export(monitor.grpc_port, payload)
    (group,) = http_json(f"http://127.0.0.1:{monitor.api_port}/api/errors")[1]["errors"]
    status, resolved = http_json(
        f"http://127.0.0.1:{monitor.api_port}/api/errors/{group['fingerprint']}/resolve", "POST", {}
    )
    assert status == 200 and resolved["status"] == "resolved"
    grpc_export(monitor.grpc_port, payload)
    group = http_json(f"http://127.0.0.1:{monitor.api_port}/api/errors/{group['fingerprint']}")[1]
    assert group["status"] == "open" and group["regressions"] == 1 and group["count"] == 2


def test_http_protobuf_json_and_gzip(monitor: Monitor) -> None:
    port = monitor.http_port
    assert port and monitor.api_port
    req = logs_request([record("p1", "error", attributes=exception_attrs("P", "p"))])
    status, body, ctype = http_post(
        port, "/v1/logs", req.SerializeToString(), {"Content-Type": "application/x-protobuf"}
    )
    assert status == 200 and ctype == "application/x-protobuf"
    ExportLogsServiceResponse.FromString(body)
    status, _, _ = http_post(
        port,
        "/v1/logs",
        gzip.compress(req.SerializeToString()),
        {"Content-Type": "application/x-protobuf", "Content-Encoding": "gzip"},
    )
    assert status == 200
    trace_hex = "0af7651916cd43dd8448eb211c80319c"
    otlp_json = {
        "resourceLogs": [
            {
                "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "api"}}]},
                "scopeLogs": [
                    {
                        "logRecords": [
                            {
                                "timeUnixNano": str(time.time_ns()),
                                "severityNumber": 17,
                                "severityText": "ERROR",
                                "body": {"stringValue": "json error"},
                                "traceId": trace_hex,
                                "spanId": "b7ad6b7169203331",
                                "attributes": [{"key": "exception.type", "value": {"stringValue": "J"}}],
                            }
                        ]
                    }
                ],
            }
        ]
    }
    status, body, ctype = http_post(
        port, "/v1/logs", json.dumps(otlp_json).encode(), {"Content-Type": "application/json"}
    )
    assert status == 200 and ctype == "application/json", body
    groups = {g["type"]: g for g in http_json(f"http://127.0.0.1:{monitor.api_port}/api/errors")[1]["errors"]}
    assert groups["P"]["count"] == 2
    assert groups["J"]["trace_ids"] == [trace_hex] and groups["J"]["services"] == ["api"]


def test_partial_success_for_bad_trace_ids(monitor: Monitor) -> None:
    assert monitor.grpc_port
    req = logs_request([record("ok", "info"), record("bad id", "info", trace_id=b"\x01\x02")])
    reply = ExportLogsServiceResponse.FromString(grpc_export(monitor.grpc_port, req.SerializeToString()))
    assert reply.partial_success.rejected_log_records == 1
    assert "trace_id" in reply.partial_success.error_message


def test_bad_input_gets_proper_status_and_server_keeps_serving(monitor_factory: object) -> None:
    monitor: Monitor = monitor_factory(max_message_bytes=64 * 1024)  # type: ignore[operator]
    assert monitor.grpc_port and monitor.http_port
    with pytest.raises(grpc.RpcError) as err:
        grpc_export(monitor.grpc_port, b"\xff\xff\xff\xff garbage")
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(grpc.RpcError) as err:
        grpc_export(monitor.grpc_port, b"\x0a" + b"\x00" * (70 * 1024))
    assert err.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    hp = monitor.http_port
    assert (
        http_post(hp, "/v1/logs", b"\xff\xff garbage", {"Content-Type": "application/x-protobuf"})[0] == 400
    )
    assert http_post(hp, "/v1/logs", b"{not json", {"Content-Type": "application/json"})[0] == 400
    assert http_post(hp, "/v1/logs", b"hello", {"Content-Type": "text/plain"})[0] == 415
    assert http_post(hp, "/v1/logs", b"x" * (65 * 1024), {"Content-Type": "application/x-protobuf"})[0] == 413
    bomb = gzip.compress(b"\x00" * (10 * 1024 * 1024))
    assert (
        http_post(
            hp, "/v1/logs", bomb, {"Content-Type": "application/x-protobuf", "Content-Encoding": "gzip"}
        )[0]
        == 413
    )
    assert http_post(hp, "/v1/nothing", b"", {"Content-Type": "application/x-protobuf"})[0] == 404
    # still serving, and the errors were counted
    good = logs_request([record("fine", "info")]).SerializeToString()
    grpc_export(monitor.grpc_port, good)
    assert http_post(hp, "/v1/logs", good, {"Content-Type": "application/x-protobuf"})[0] == 200
    with urllib.request.urlopen(f"http://127.0.0.1:{monitor.api_port}/metrics", timeout=5) as resp:
        metrics = resp.read().decode()
    assert 'aibos_monitor_receiver_errors_total{reason="malformed",transport="grpc"} 1.0' in metrics
    # two oversize bodies: one as sent, the gzip bomb once inflated
    assert 'aibos_monitor_receiver_errors_total{reason="oversize",transport="http"} 2.0' in metrics
    assert 'aibos_monitor_log_records_total{level="info",service_name="checkout"} 2.0' in metrics


def test_bearer_token(monitor_factory: object) -> None:
    monitor: Monitor = monitor_factory(bearer_token="s3cret")  # type: ignore[operator]
    assert monitor.grpc_port and monitor.http_port
    good = logs_request([record("fine", "info")]).SerializeToString()
    with pytest.raises(grpc.RpcError) as err:
        grpc_export(monitor.grpc_port, good)
    assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED
    grpc_export(monitor.grpc_port, good, metadata=(("authorization", "Bearer s3cret"),))
    headers = {"Content-Type": "application/x-protobuf"}
    assert http_post(monitor.http_port, "/v1/logs", good, headers)[0] == 401
    assert (
        http_post(monitor.http_port, "/v1/logs", good, {**headers, "Authorization": "Bearer s3cret"})[0]
        == 200
    )


def test_error_spans_feed_error_groups(monitor: Monitor) -> None:
    assert monitor.grpc_port and monitor.api_port
    req = ExportTraceServiceRequest()
    rs = req.resource_spans.add()
    rs.resource.attributes.add(key="service.name").value.string_value = "orders"
    span = rs.scope_spans.add().spans.add(name="GET /orders", trace_id=b"\x01" * 16, span_id=b"\x02" * 8)
    span.status.code = 2  # type: ignore[assignment]
    event = span.events.add(name="exception")
    event.attributes.add(key="exception.type").value.string_value = "TimeoutError"
    event.attributes.add(key="exception.message").value.string_value = "db timed out"
    rs.scope_spans[0].spans.add(name="ok span", trace_id=b"\x03" * 16, span_id=b"\x04" * 8)
    with grpc.insecure_channel(f"127.0.0.1:{monitor.grpc_port}") as channel:
        call = channel.unary_unary("/opentelemetry.proto.collector.trace.v1.TraceService/Export")
        ExportTraceServiceResponse.FromString(call(req.SerializeToString(), timeout=10))
    (group,) = http_json(f"http://127.0.0.1:{monitor.api_port}/api/errors")[1]["errors"]
    assert group["type"] == "TimeoutError" and group["services"] == ["orders"]
    assert group["trace_ids"] == ["01" * 16]


def test_health_and_readiness(monitor: Monitor) -> None:
    assert http_json(f"http://127.0.0.1:{monitor.api_port}/healthz") == (200, {"status": "ok"})
    assert http_json(f"http://127.0.0.1:{monitor.api_port}/readyz") == (200, {"status": "ready"})


def test_otel_sdk_exporter_grpc_and_http(monitor: Monitor) -> None:
    """The stock OpenTelemetry SDK exporters (a real client) talk to the receiver."""
    from opentelemetry._logs import LogRecord, SeverityNumber
    from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter as GrpcExporter
    from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter as HttpExporter
    from opentelemetry.sdk._logs import LoggerProvider
    from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor
    from opentelemetry.sdk.resources import Resource

    for name, exporter in (
        ("grpc-svc", GrpcExporter(endpoint=f"127.0.0.1:{monitor.grpc_port}", insecure=True)),
        ("http-svc", HttpExporter(endpoint=f"http://127.0.0.1:{monitor.http_port}/v1/logs")),
    ):
        provider = LoggerProvider(resource=Resource.create({"service.name": name}), shutdown_on_exit=False)
        provider.add_log_record_processor(SimpleLogRecordProcessor(exporter))
        try:
            provider.get_logger("test").emit(
                LogRecord(
                    severity_number=SeverityNumber.ERROR,
                    severity_text="ERROR",
                    body="it broke",
                    attributes={"exception.type": "RuntimeError", "exception.message": "kaput"},
                )
            )
        finally:
            provider.shutdown()
    # same type and message, no stack: one exception fingerprint, one group in each service
    groups = http_json(f"http://127.0.0.1:{monitor.api_port}/api/errors")[1]["errors"]
    assert sorted(g["services"] for g in groups) == [["grpc-svc"], ["http-svc"]]
    assert len({g["exception_fingerprint"] for g in groups}) == 1
    assert all(g["type"] == "RuntimeError" and g["count"] == 1 for g in groups)


def test_api_changes_need_the_token_when_one_is_set(monitor_factory: object) -> None:
    monitor: Monitor = monitor_factory(bearer_token="s3cret")  # type: ignore[operator]
    base = f"http://127.0.0.1:{monitor.api_port}"
    body = {"matchers": {"alertname": "x"}, "duration": "1h"}
    assert http_json(f"{base}/api/silences", "POST", body)[0] == 401
    assert http_json(f"{base}/api/silences")[0] == 200
    req = urllib.request.Request(
        f"{base}/api/silences",
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Content-Type": "application/json", "Authorization": "Bearer s3cret"},
    )
    with urllib.request.urlopen(req, timeout=10) as resp:
        assert resp.status == 200


def test_secrets_are_redacted_in_groups_and_alerts(monitor: Monitor) -> None:
    """Defence in depth: what a non-SDK client sends unredacted is masked before it is kept or sent."""
    assert monitor.grpc_port and monitor.api_port
    secret = "card 4111 1111 1111 1111 declined for bob@example.com"
    grpc_export(
        monitor.grpc_port,
        logs_request(
            [record(secret, "fatal", attributes=exception_attrs("PaymentError", secret))]
        ).SerializeToString(),
    )
    (group,) = http_json(f"http://127.0.0.1:{monitor.api_port}/api/errors")[1]["errors"]
    assert "4111" not in group["message"] and "bob@example.com" not in group["message"]
    assert group["message"].startswith("card ")  # masked, not dropped
    alerts = http_json(f"http://127.0.0.1:{monitor.api_port}/api/alerts")[1]["alerts"]
    summaries = [a["annotations"].get("summary", "") for a in alerts]
    assert any("PaymentError" in s for s in summaries)
    assert not any("4111" in s or "bob@example.com" in s for s in summaries)


def test_severity_from_text_only(monitor: Monitor) -> None:
    """Records with severity_number 0 get their level from the text (WARNING, CRITICAL...)."""
    assert monitor.grpc_port and monitor.api_port
    recs = [record("a", "info"), record("b", "info"), record("c", "info")]
    for rec, text in zip(recs, ["WARNING", "CRITICAL", "chatty"], strict=True):
        rec.severity_number = 0  # type: ignore[assignment]
        rec.severity_text = text
    grpc_export(monitor.grpc_port, logs_request(recs).SerializeToString())
    stats = http_json(f"http://127.0.0.1:{monitor.api_port}/api/stats")[1]
    assert stats["records_by_level"] == {"warn": 1, "fatal": 1, "unknown": 1}
    (group,) = http_json(f"http://127.0.0.1:{monitor.api_port}/api/errors")[1]["errors"]
    assert group["message"] == "b"
