"""Helpers that build OTLP requests for the monitor's tests (plain protobuf, no SDK)."""

from __future__ import annotations

import time
from collections.abc import Mapping

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord

SEVERITY = {"trace": 1, "debug": 5, "info": 9, "warn": 13, "error": 17, "fatal": 21}


def kv(key: str, value: object) -> KeyValue:
    if isinstance(value, bool):
        return KeyValue(key=key, value=AnyValue(bool_value=value))
    if isinstance(value, int):
        return KeyValue(key=key, value=AnyValue(int_value=value))
    if isinstance(value, float):
        return KeyValue(key=key, value=AnyValue(double_value=value))
    return KeyValue(key=key, value=AnyValue(string_value=str(value)))


def record(
    body: str,
    level: str = "info",
    *,
    attributes: Mapping[str, object] | None = None,
    time_ns: int | None = None,
    trace_id: bytes = b"",
) -> LogRecord:
    return LogRecord(
        time_unix_nano=time_ns if time_ns is not None else time.time_ns(),
        severity_number=SEVERITY[level],  # type: ignore[arg-type]
        severity_text=level.upper(),
        body=AnyValue(string_value=body),
        attributes=[kv(k, v) for k, v in (attributes or {}).items()],
        trace_id=trace_id,
    )


def logs_request(
    records: list[LogRecord],
    service: str = "checkout",
    environment: str = "test",
    extra_resource: Mapping[str, object] | None = None,
) -> ExportLogsServiceRequest:
    request = ExportLogsServiceRequest()
    rl = request.resource_logs.add()
    rl.resource.attributes.extend(
        [kv("service.name", service), kv("deployment.environment.name", environment)]
        + [kv(k, v) for k, v in (extra_resource or {}).items()]
    )
    rl.scope_logs.add().log_records.extend(records)
    return request


def exception_attrs(exc_type: str, message: str, stack: str = "") -> dict[str, object]:
    return {"exception.type": exc_type, "exception.message": message, "exception.stacktrace": stack}
