"""Optional: push the derived metrics as OTLP/gRPC (``--metrics-otlp-endpoint``).

Uses the OpenTelemetry metrics SDK with observable instruments that read the same counters
``/metrics`` shows, on a periodic reader. The latency histogram stays on ``/metrics`` only
(the SDK has no observable histogram). Loaded only when enabled.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from aibos_otel.monitor.metrics import DerivedMetrics


def start_push(metrics: DerivedMetrics, endpoint: str, interval_s: float = 15.0) -> Callable[[], None]:
    """Start pushing; returns the function that stops it (flushing once)."""
    from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
    from opentelemetry.metrics import CallbackOptions, Observation
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
    from opentelemetry.sdk.resources import Resource

    insecure = not endpoint.startswith("https://")
    target = endpoint.removeprefix("http://").removeprefix("https://")
    reader = PeriodicExportingMetricReader(
        OTLPMetricExporter(endpoint=target, insecure=insecure), export_interval_millis=int(interval_s * 1000)
    )
    provider = MeterProvider(
        metric_readers=[reader],
        resource=Resource.create({"service.name": "aibos-monitor"}),
        shutdown_on_exit=False,
    )
    meter = provider.get_meter("aibos_otel.monitor")

    def observe(kind: str, names: tuple[str, ...]) -> Callable[[CallbackOptions], Iterable[Observation]]:
        def callback(_options: CallbackOptions) -> Iterable[Observation]:
            return [
                Observation(value, dict(zip(names, key, strict=True)))
                for key, value in metrics.snapshot()[kind].items()
            ]

        return callback

    meter.create_observable_counter(
        "aibos.monitor.log_records", [observe("records", ("service_name", "level"))], unit="{record}"
    )
    meter.create_observable_counter(
        "aibos.monitor.notifications",
        [observe("notifications", ("channel", "outcome"))],
        unit="{notification}",
    )
    meter.create_observable_counter(
        "aibos.monitor.receiver_errors",
        [observe("receiver_errors", ("transport", "reason"))],
        unit="{request}",
    )
    meter.create_observable_counter(
        "aibos.monitor.records_over_budget", [observe("over_budget", ())], unit="{record}"
    )
    meter.create_observable_counter(
        "aibos.monitor.cap_overflow", [observe("cap_overflow", ("cap",))], unit="{item}"
    )
    meter.create_observable_gauge(
        "aibos.monitor.throughput", [observe("throughput", ("service_name",))], unit="{record}/s"
    )
    meter.create_observable_gauge(
        "aibos.monitor.error_ratio", [observe("error_ratio", ("service_name",))], unit="1"
    )
    meter.create_observable_gauge("aibos.monitor.state", [observe("gauges", ("name",))])

    def stop() -> None:
        provider.shutdown()

    return stop
