"""What both OTLP receivers share: hand a parsed request to the ingestor, build the answer."""

from __future__ import annotations

from google.protobuf.message import Message
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2 as logs_pb
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2 as metrics_pb
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2 as trace_pb

from aibos_otel.monitor.otlp import Signal
from aibos_otel.monitor.receive.ingest import Ingestor, IngestResult


def export_response(signal: Signal, result: IngestResult) -> Message:
    """The signal's ``Export*ServiceResponse``, with ``partial_success`` when items were rejected."""
    if signal == "logs":
        logs = logs_pb.ExportLogsServiceResponse()
        if result.rejected:
            logs.partial_success.rejected_log_records = result.rejected
            logs.partial_success.error_message = result.message
        return logs
    if signal == "traces":
        return trace_pb.ExportTraceServiceResponse()
    return metrics_pb.ExportMetricsServiceResponse()


def ingest(ingestor: Ingestor, signal: Signal, message: Message, raw: bytes | None = None) -> IngestResult:
    """Dispatch a parsed request to the ingestor (``raw``: its protobuf bytes, when known)."""
    if isinstance(message, logs_pb.ExportLogsServiceRequest):
        return ingestor.ingest_logs(message, raw)
    if isinstance(message, trace_pb.ExportTraceServiceRequest):
        return ingestor.ingest_traces(message)
    assert isinstance(message, metrics_pb.ExportMetricsServiceRequest), signal
    return ingestor.ingest_metrics(message)
