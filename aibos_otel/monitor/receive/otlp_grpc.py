"""OTLP/gRPC receiver: the logs, traces and metrics ``Export`` methods.

Requests are registered as raw bytes (no stub deserializer) so that a malformed message gets
``INVALID_ARGUMENT`` from us rather than grpcio's generic ``INTERNAL``; oversize messages are
refused by grpcio itself with ``RESOURCE_EXHAUSTED`` (``grpc.max_receive_message_length``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent import futures

import grpc
from google.protobuf.message import Message

from aibos_otel.monitor.access import bearer_ok
from aibos_otel.monitor.metrics import DerivedMetrics
from aibos_otel.monitor.otlp import REQUEST_TYPES, OtlpDecodeError, Signal, parse_protobuf
from aibos_otel.monitor.receive.dispatch import export_response, ingest
from aibos_otel.monitor.receive.ingest import Ingestor
from aibos_otel.monitor.settings import MonitorSettings

log = logging.getLogger(__name__)

_SERVICES: dict[Signal, str] = {
    "logs": "opentelemetry.proto.collector.logs.v1.LogsService",
    "traces": "opentelemetry.proto.collector.trace.v1.TraceService",
    "metrics": "opentelemetry.proto.collector.metrics.v1.MetricsService",
}


class GrpcReceiver:
    """A ``grpc.Server`` with the three OTLP services."""

    def __init__(self, settings: MonitorSettings, ingestor: Ingestor, metrics: DerivedMetrics) -> None:
        self._settings = settings
        self._ingestor = ingestor
        self._metrics = metrics
        self._server = grpc.server(
            futures.ThreadPoolExecutor(max_workers=settings.grpc_workers, thread_name_prefix="otlp-grpc"),
            options=[
                ("grpc.max_receive_message_length", settings.max_message_bytes),
                ("grpc.so_reuseport", 0),
            ],
        )
        for signal, service in _SERVICES.items():
            handler: grpc.RpcMethodHandler[bytes, Message] = grpc.unary_unary_rpc_method_handler(
                self._handler(signal), response_serializer=lambda m: m.SerializeToString()
            )
            self._server.add_generic_rpc_handlers(
                (grpc.method_handlers_generic_handler(service, {"Export": handler}),)
            )
        address = f"{settings.host}:{settings.grpc_port or 0}"
        if settings.tls_cert and settings.tls_key:
            creds = grpc.ssl_server_credentials(
                [(settings.tls_key.read_bytes(), settings.tls_cert.read_bytes())]
            )
            self.port = self._server.add_secure_port(address, creds)
        else:
            self.port = self._server.add_insecure_port(address)
        if not self.port:
            raise OSError(f"cannot listen for OTLP/gRPC on {address}")

    def _handler(self, signal: Signal) -> Callable[[bytes, grpc.ServicerContext], Message]:
        request_type = REQUEST_TYPES[signal]

        def export(data: bytes, context: grpc.ServicerContext) -> Message:
            metadata = dict(context.invocation_metadata())
            auth = metadata.get("authorization")
            if not bearer_ok(self._settings.bearer_token, auth if isinstance(auth, str) else None):
                self._metrics.count_receiver_error("grpc", "unauthenticated")
                context.abort(grpc.StatusCode.UNAUTHENTICATED, "missing or wrong bearer token")
            try:
                message = parse_protobuf(request_type, data)
            except OtlpDecodeError as exc:
                self._metrics.count_receiver_error("grpc", "malformed")
                context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(exc))
            try:
                result = ingest(self._ingestor, signal, message, data)
            except Exception:  # the server must keep serving; the client will retry
                log.exception("ingest failed")
                self._metrics.count_receiver_error("grpc", "internal")
                context.abort(grpc.StatusCode.UNAVAILABLE, "the monitor could not store this batch; retry")
            self._metrics.count_request("grpc", signal, result.accepted)
            return export_response(signal, result)

        return export

    def start(self) -> None:
        """Start serving."""
        self._server.start()

    def stop(self, grace: float = 2.0) -> None:
        """Stop, letting in-flight calls finish for up to ``grace`` seconds."""
        self._server.stop(grace).wait()
