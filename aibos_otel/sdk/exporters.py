"""The OTLP exporters ``setup()`` builds from its settings: logs, and the self-metrics reader.

gRPC or HTTP/protobuf per ``settings.protocol``; each exporter module is imported only when its
protocol is chosen (the gRPC stack is heavy).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aibos_otel.sdk.settings import Settings

if TYPE_CHECKING:
    from opentelemetry.sdk._logs.export import LogRecordExporter
    from opentelemetry.sdk.metrics.export import MetricReader


def otlp_log_exporter(settings: Settings) -> LogRecordExporter:
    """The OTLP log exporter for ``settings.logs_endpoint``."""
    timeout = settings.export_timeout
    if settings.protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter as GrpcExporter

        compression = None
        if settings.compression:
            import grpc

            compression = (
                grpc.Compression.Gzip if settings.compression == "gzip" else grpc.Compression.NoCompression
            )
        endpoint = settings.logs_endpoint or ""
        return GrpcExporter(
            endpoint=endpoint,
            insecure=endpoint.startswith("http://") or None,
            headers=dict(settings.headers) if settings.headers else None,
            timeout=timeout,
            compression=compression,
        )
    from opentelemetry.exporter.otlp.proto.http import Compression
    from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter as HttpExporter

    return HttpExporter(
        endpoint=settings.logs_endpoint,
        headers=dict(settings.headers) if settings.headers else None,
        timeout=timeout,
        compression=Compression(settings.compression) if settings.compression else None,
    )


def otlp_metric_reader(settings: Settings) -> MetricReader:
    """A periodic reader exporting the self-metrics to ``settings.metrics_endpoint``."""
    from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader

    exporter: Any
    if settings.protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter as GrpcMetrics

        endpoint = settings.metrics_endpoint or ""
        exporter = GrpcMetrics(
            endpoint=endpoint,
            insecure=endpoint.startswith("http://") or None,
            headers=dict(settings.headers) if settings.headers else None,
            timeout=settings.export_timeout,
        )
    else:
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter as HttpMetrics

        exporter = HttpMetrics(
            endpoint=settings.metrics_endpoint,
            headers=dict(settings.headers) if settings.headers else None,
            timeout=settings.export_timeout,
        )
    return PeriodicExportingMetricReader(exporter, export_interval_millis=settings.metrics_interval * 1000)
