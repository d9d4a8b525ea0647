"""A real OTLP/gRPC receiver on 127.0.0.1 for the delivery tests (logs, traces, metrics).

It records every log record and span it is sent, can be made slow (a sleep per request) to
create back-pressure, and can be stopped and started again on the same port to simulate a
collector outage.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent import futures
from typing import Any

import grpc
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2, logs_service_pb2_grpc
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2, metrics_service_pb2_grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc

from tests.support.helpers import free_port, wait_for
from tests.support.otlp_receiver import attributes, decode_logs


def _rows(request: logs_service_pb2.ExportLogsServiceRequest) -> list[dict[str, Any]]:
    """The shared decoding (tests/support/otlp_receiver.py), as dicts with the service name."""
    # vars(), not asdict(): no deep copy of every attribute dict inside the gRPC handler
    return [{**vars(r), "service": r.resource.get("service.name")} for r in decode_logs(request)]


class _Recording:
    """What both receivers share: the records received so far, and waiting for them."""

    lock: threading.Lock
    logs: list[dict[str, Any]]

    def snapshot(self) -> list[dict[str, Any]]:
        with self.lock:
            return list(self.logs)

    def wait_for(self, predicate: Callable[[list[dict[str, Any]]], bool], timeout: float = 15.0) -> bool:
        """Poll until ``predicate(logs)`` holds; True if it did within ``timeout``."""
        return wait_for(lambda: predicate(self.snapshot()), timeout)


class OtlpReceiver(_Recording):
    """Logs, traces and metrics services on one gRPC port; records what arrives."""

    def __init__(self, port: int | None = None, *, delay: float = 0.0, workers: int = 4) -> None:
        self.port = port or free_port()
        self.delay = delay
        self._workers = workers
        self.lock = threading.Lock()
        self.logs: list[dict[str, Any]] = []
        self.spans: list[dict[str, Any]] = []
        self.metric_names: set[str] = set()
        self.requests = 0
        #: Per logs request: the record ids it held, and whether the client had already given up on
        #: the call (deadline passed, call cancelled) when the handler accepted it: the client then
        #: saw DEADLINE_EXCEEDED and treats the batch as failed although it was accepted here, a
        #: cut acknowledgement.
        self.answered_late: list[tuple[list[Any], bool]] = []
        #: Logs requests still to be held until the client has given up on them (each is then
        #: recorded and answered, too late): a deterministic cut acknowledgement.
        self.hold_past_deadline = 0
        self._server: grpc.Server | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # -- services -------------------------------------------------------------------------------
    def _export_logs(self, request: Any, context: Any) -> Any:
        if self.delay:
            time.sleep(self.delay)
        with self.lock:
            hold = self.hold_past_deadline > 0
            self.hold_past_deadline -= hold
        if hold:
            # Wait for the condition (the client has given up: its deadline passed and it cancelled
            # the call, so the RPC is no longer active), not for a fixed time. The server's own
            # time_remaining() is not the client's clock: answering at its zero was still in time.
            while context.is_active():
                time.sleep(0.01)
        received = _rows(request)
        with self.lock:
            self.logs.extend(received)
            self.requests += 1
            late = not context.is_active()
            self.answered_late.append(([r["attributes"].get("rid") for r in received], late))
        return logs_service_pb2.ExportLogsServiceResponse()

    def _export_traces(self, request: Any, context: Any) -> Any:
        received = []
        for rs in request.resource_spans:
            resource = attributes(rs.resource.attributes)
            for ss in rs.scope_spans:
                for span in ss.spans:
                    received.append(
                        {
                            "service": resource.get("service.name"),
                            "name": span.name,
                            "trace_id": span.trace_id.hex(),
                            "span_id": span.span_id.hex(),
                            "attributes": attributes(span.attributes),
                        }
                    )
        with self.lock:
            self.spans.extend(received)
        return trace_service_pb2.ExportTraceServiceResponse()

    def _export_metrics(self, request: Any, context: Any) -> Any:
        with self.lock:
            for rm in request.resource_metrics:
                for sm in rm.scope_metrics:
                    self.metric_names.update(m.name for m in sm.metrics)
        return metrics_service_pb2.ExportMetricsServiceResponse()

    # -- control --------------------------------------------------------------------------------
    def start(self) -> OtlpReceiver:
        server = grpc.server(
            futures.ThreadPoolExecutor(max_workers=self._workers),
            options=[("grpc.max_receive_message_length", 64 * 1024 * 1024)],
        )
        logs_servicer = logs_service_pb2_grpc.LogsServiceServicer()
        logs_servicer.Export = self._export_logs  # type: ignore[method-assign]
        trace_servicer = trace_service_pb2_grpc.TraceServiceServicer()
        trace_servicer.Export = self._export_traces  # type: ignore[method-assign]
        metrics_servicer = metrics_service_pb2_grpc.MetricsServiceServicer()
        metrics_servicer.Export = self._export_metrics  # type: ignore[method-assign]
        logs_service_pb2_grpc.add_LogsServiceServicer_to_server(logs_servicer, server)
        trace_service_pb2_grpc.add_TraceServiceServicer_to_server(trace_servicer, server)
        metrics_service_pb2_grpc.add_MetricsServiceServicer_to_server(metrics_servicer, server)
        bound = server.add_insecure_port(f"127.0.0.1:{self.port}")
        if bound != self.port:
            server.stop(None)
            raise OSError(f"could not bind 127.0.0.1:{self.port}")
        server.start()
        self._server = server
        return self

    def stop(self, grace: float | None = None) -> None:
        """Stop serving. With ``grace``, calls in progress finish (their acknowledgement reaches
        the client) and new ones are refused, as a collector that shuts down cleanly does;
        without it they are cut, and an accepted batch can lose its acknowledgement."""
        if self._server is not None:
            self._server.stop(grace=grace).wait(5 + (grace or 0))
            self._server = None


class HttpOtlpReceiver(_Recording):
    """OTLP/HTTP (protobuf) logs on ``/v1/logs``, restartable on the same port like :class:`OtlpReceiver`."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.lock = threading.Lock()
        self.logs: list[dict[str, Any]] = []
        self._server: Any = None
        self._thread: threading.Thread | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> HttpOtlpReceiver:
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                if self.path != "/v1/logs":
                    self.send_response(200)
                    self.end_headers()
                    return
                received = _rows(logs_service_pb2.ExportLogsServiceRequest.FromString(body))
                with receiver.lock:
                    receiver.logs.extend(received)
                payload = logs_service_pb2.ExportLogsServiceResponse().SerializeToString()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        ThreadingHTTPServer.allow_reuse_address = True
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self, grace: float | None = None) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None
