"""A real OTLP receiver for tests: gRPC (generated opentelemetry-proto stubs) and HTTP/protobuf.

It decodes every request into plain Python data the tests can assert on. It listens on
127.0.0.1 with a free port and must be stopped (use it as a context manager).
"""

from __future__ import annotations

import gzip
import threading
import time
from collections.abc import Iterable, Iterator
from concurrent import futures
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import grpc
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2, logs_service_pb2_grpc
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2, metrics_service_pb2_grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue


def any_value(value: AnyValue) -> Any:
    kind = value.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return [any_value(v) for v in value.array_value.values]
    if kind == "kvlist_value":
        return {kv.key: any_value(kv.value) for kv in value.kvlist_value.values}
    return getattr(value, kind)


@dataclass
class Record:
    body: Any
    severity_number: int
    severity_text: str
    attributes: dict[str, Any]
    resource: dict[str, Any]
    scope: str
    trace_id: str
    span_id: str
    time_unix_nano: int
    event_name: str = ""


def attributes(pairs: Iterable[KeyValue]) -> dict[str, Any]:
    """OTLP attributes as a plain dict."""
    return {kv.key: any_value(kv.value) for kv in pairs}


def decode_logs(request: logs_service_pb2.ExportLogsServiceRequest) -> list[Record]:
    """Every log record of an export request, in order, as plain data."""
    out = []
    for rl in request.resource_logs:
        resource = attributes(rl.resource.attributes)
        for sl in rl.scope_logs:
            for lr in sl.log_records:
                out.append(
                    Record(
                        body=any_value(lr.body),
                        severity_number=lr.severity_number,
                        severity_text=lr.severity_text,
                        attributes=attributes(lr.attributes),
                        resource=resource,
                        scope=sl.scope.name,
                        trace_id=lr.trace_id.hex(),
                        span_id=lr.span_id.hex(),
                        time_unix_nano=lr.time_unix_nano,
                        event_name=lr.event_name,
                    )
                )
    return out


@dataclass
class SpanEvent:
    name: str
    attributes: dict[str, Any]


@dataclass
class Span:
    name: str
    attributes: dict[str, Any]
    events: list[SpanEvent]
    resource: dict[str, Any]
    scope: str
    trace_id: str
    span_id: str
    status_code: int


def decode_traces(request: trace_service_pb2.ExportTraceServiceRequest) -> list[Span]:
    """Every span of an export request, in order, as plain data."""
    out = []
    for rs in request.resource_spans:
        resource = attributes(rs.resource.attributes)
        for ss in rs.scope_spans:
            for span in ss.spans:
                out.append(
                    Span(
                        name=span.name,
                        attributes=attributes(span.attributes),
                        events=[SpanEvent(e.name, attributes(e.attributes)) for e in span.events],
                        resource=resource,
                        scope=ss.scope.name,
                        trace_id=span.trace_id.hex(),
                        span_id=span.span_id.hex(),
                        status_code=span.status.code,
                    )
                )
    return out


@dataclass
class Store:
    records: list[Record] = field(default_factory=list)
    # Every logs request as received, serialized again: tests that must prove a value reached
    # no field at all search these bytes rather than the decoded records.
    wire: list[bytes] = field(default_factory=list)
    metrics: dict[str, list[tuple[dict[str, Any], Any]]] = field(default_factory=dict)
    spans: list[Span] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    delay: float = 0.0
    fail: bool = False

    def add_logs(self, request: logs_service_pb2.ExportLogsServiceRequest) -> None:
        out = decode_logs(request)
        raw = request.SerializeToString()
        with self.lock:
            self.records.extend(out)
            self.wire.append(raw)

    def add_traces(self, request: trace_service_pb2.ExportTraceServiceRequest) -> None:
        out = decode_traces(request)
        with self.lock:
            self.spans.extend(out)

    def span_snapshot(self) -> list[Span]:
        with self.lock:
            return list(self.spans)

    def add_metrics(self, request: metrics_service_pb2.ExportMetricsServiceRequest) -> None:
        with self.lock:
            for rm in request.resource_metrics:
                for sm in rm.scope_metrics:
                    for metric in sm.metrics:
                        kind = metric.WhichOneof("data")
                        points = getattr(metric, kind).data_points
                        values = []
                        for p in points:
                            attrs = {kv.key: any_value(kv.value) for kv in p.attributes}
                            if kind == "histogram":
                                values.append((attrs, p.count))
                            else:
                                values.append(
                                    (attrs, p.as_int if p.WhichOneof("value") == "as_int" else p.as_double)
                                )
                        self.metrics.setdefault(metric.name, []).append(values)  # type: ignore[arg-type]

    def latest_metric(self, name: str) -> list[tuple[dict[str, Any], Any]]:
        with self.lock:
            series = self.metrics.get(name) or [[]]
            return list(series[-1])  # type: ignore[arg-type]

    def snapshot(self) -> list[Record]:
        with self.lock:
            return list(self.records)

    def wire_bytes(self) -> bytes:
        """Every logs request received so far, serialized, concatenated."""
        with self.lock:
            return b"".join(self.wire)


class _Logs(logs_service_pb2_grpc.LogsServiceServicer):
    def __init__(self, store: Store) -> None:
        self.store = store

    def Export(self, request: Any, context: Any) -> Any:
        if self.store.delay:
            time.sleep(self.store.delay)
        if self.store.fail:
            context.abort(grpc.StatusCode.UNAVAILABLE, "test receiver is failing on purpose")
        self.store.add_logs(request)
        return logs_service_pb2.ExportLogsServiceResponse()


class _Metrics(metrics_service_pb2_grpc.MetricsServiceServicer):
    def __init__(self, store: Store) -> None:
        self.store = store

    def Export(self, request: Any, context: Any) -> Any:
        self.store.add_metrics(request)
        return metrics_service_pb2.ExportMetricsServiceResponse()


class GrpcReceiver:
    """OTLP/gRPC logs+metrics receiver on 127.0.0.1:<free port>."""

    def __init__(self, port: int = 0) -> None:
        self.store = Store()
        self._server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        logs_service_pb2_grpc.add_LogsServiceServicer_to_server(_Logs(self.store), self._server)
        metrics_service_pb2_grpc.add_MetricsServiceServicer_to_server(_Metrics(self.store), self._server)
        self.port = self._server.add_insecure_port(f"127.0.0.1:{port}")

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> GrpcReceiver:
        self._server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.stop(grace=None).wait(5)


class HttpReceiver:
    """OTLP/HTTP (protobuf) logs+metrics receiver on 127.0.0.1:<free port>."""

    def __init__(self) -> None:
        self.store = store = Store()
        self.requests: list[dict[str, str]] = []
        requests = self.requests

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                requests.append({k.lower(): v for k, v in self.headers.items()})
                length = int(self.headers.get("Content-Length", "0"))
                data = self.rfile.read(length)
                if self.headers.get("Content-Encoding") == "gzip":
                    data = gzip.decompress(data)
                if self.path == "/v1/logs":
                    request: Any = logs_service_pb2.ExportLogsServiceRequest()
                    request.ParseFromString(data)
                    store.add_logs(request)
                    reply: Any = logs_service_pb2.ExportLogsServiceResponse()
                elif self.path == "/v1/metrics":
                    request = metrics_service_pb2.ExportMetricsServiceRequest()
                    request.ParseFromString(data)
                    store.add_metrics(request)
                    reply = metrics_service_pb2.ExportMetricsServiceResponse()
                else:
                    self.send_error(404)
                    return
                payload = reply.SerializeToString()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> HttpReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)


def records_with(store: Store, key: str) -> Iterator[Record]:
    return (r for r in store.snapshot() if key in r.attributes)


def setup_to(receiver: GrpcReceiver, service_name: str = "checkout", **settings: Any) -> Any:
    """``aibos_otel.setup()`` exporting over gRPC to ``receiver`` only: no console, file backup
    or spool, level info, unless ``settings`` say otherwise (returns the Handle)."""
    import aibos_otel

    chosen: dict[str, Any] = {
        "environment": "staging",
        "protocol": "grpc",
        "console": False,
        "file_backup": False,
        "spool": False,
        "level": "info",
        **settings,
    }
    return aibos_otel.setup(service_name=service_name, endpoint=receiver.endpoint, **chosen)
