"""Spans and metrics through the real agent and gateway: Datadog's OTLP intake, an OTLP trace backend
(traces-otlp.yaml) and spanmetrics on the gateway's Prometheus endpoint.

The spans come from the stock OpenTelemetry SDK, without the aibos span redaction, so the secrets
they carry reach the gateway and only its second line of redaction stands between them and the
backends.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from tests.collector.conftest import gateway_env
from tests.collector.harness import (
    CONFIG_DIR,
    DD_API_KEY,
    Collector,
    DatadogStandIn,
    LokiStandIn,
    TraceBackendStandIn,
    wait_for,
)
from tests.support.otlp_receiver import GrpcReceiver, Span

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

OVERLAY = CONFIG_DIR / "traces-otlp.yaml"
SERVICE = "checkout-spans"
# Raw secrets in span attributes and in an exception event; none of them may reach a backend.
# Not AWS's documented AKIAIOSFODNN7EXAMPLE: both engines leave that allow-listed example alone.
AWS_KEY = "AKIAZ3MHPLQ7RX4TYBWE"
CARD = "4111 1111 1111 1111"
PASSWORD = "hunter2-Secret"
SECRETS = (AWS_KEY, CARD, PASSWORD, "pw-9")


@dataclass
class Chain:
    agent: Collector
    gateway: Collector
    datadog: DatadogStandIn
    backend: TraceBackendStandIn


@pytest.fixture(scope="module")
def chain(otelcol_binary: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chain]:
    workdir = tmp_path_factory.mktemp("traces")
    with (
        LokiStandIn() as loki,
        DatadogStandIn() as datadog,
        GrpcReceiver() as monitor,
        TraceBackendStandIn() as backend,
    ):
        env = gateway_env(loki, datadog, monitor) | {
            "AIBOS_TRACES_OTLP_ENDPOINT": backend.base_url,
            "AIBOS_SPANMETRICS_FLUSH_INTERVAL": "500ms",
        }
        with Collector(
            otelcol_binary, CONFIG_DIR / "gateway.yaml", workdir, env, "gateway", extra_configs=(OVERLAY,)
        ) as gateway:
            agent_env = {"AIBOS_GATEWAY_ENDPOINT": gateway.grpc_endpoint}
            with Collector(otelcol_binary, CONFIG_DIR / "agent.yaml", workdir, agent_env, "agent") as agent:
                yield Chain(agent, gateway, datadog, backend)


def _export_spans_and_a_metric(endpoint: str) -> None:
    """The stock SDK (no aibos redaction) over OTLP/gRPC: one server span with secrets, one error span."""
    from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.trace import SpanKind, Status, StatusCode

    resource = Resource.create({"service.name": SERVICE})
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(endpoint=endpoint, insecure=True)))
    tracer = provider.get_tracer("tests.traces")
    with tracer.start_as_current_span("GET /orders", kind=SpanKind.SERVER) as span:
        span.set_attribute("db.statement", f"UPDATE users SET password={PASSWORD} WHERE id=7")
        span.set_attribute("http.url", f"https://api.example.com/v1?key={AWS_KEY}")
        span.set_attribute("db.password", "pw-9")
        span.set_attribute("http.response.status_code", 200)
        span.add_event("exception", {"exception.message": f"card {CARD} declined"})
    with tracer.start_as_current_span("POST /pay", kind=SpanKind.SERVER) as failing:
        failing.set_status(Status(StatusCode.ERROR))
    provider.shutdown()

    reader = PeriodicExportingMetricReader(OTLPMetricExporter(endpoint=endpoint, insecure=True))
    meters = MeterProvider(metric_readers=[reader], resource=resource)
    meters.get_meter("tests.traces").create_counter("checkout.orders").add(3)
    meters.shutdown()


def _by_name(spans: list[Span]) -> dict[str, Span]:
    return {s.name: s for s in spans if s.resource.get("service.name") == SERVICE}


def _has_both(spans: list[Span]) -> bool:
    return {"GET /orders", "POST /pay"} <= set(_by_name(spans))


def _assert_redacted(span: Span) -> None:
    values = [str(v) for v in span.attributes.values()]
    values += [str(v) for event in span.events for v in event.attributes.values()]
    for secret in SECRETS:
        assert not any(secret in value for value in values), (secret, span)
    assert span.attributes["db.password"] == "[REDACTED:sensitive-key]"  # masked whole by its key
    assert "[REDACTED:" in span.attributes["db.statement"]
    assert "[REDACTED:" in span.attributes["http.url"]
    assert span.events[0].name == "exception"
    assert "[REDACTED:" in span.events[0].attributes["exception.message"]
    assert span.attributes["http.response.status_code"] == 200  # ints are not secrets


def _span_calls(text: str) -> dict[tuple[str, str], float]:
    out: dict[tuple[str, str], float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "traces_span_metrics_calls_total":
                key = (sample.labels.get("span_name", ""), sample.labels.get("status_code", ""))
                if sample.labels.get("service_name") == SERVICE:
                    out[key] = sample.value
    return out


def test_span_through_agent_reaches_every_traces_exporter_redacted(chain: Chain) -> None:
    _export_spans_and_a_metric(chain.agent.grpc_endpoint)
    log_tails = lambda: chain.agent.log_tail() + chain.gateway.log_tail()  # noqa: E731

    assert wait_for(lambda: _has_both(chain.datadog.spans()), 20), log_tails()
    assert wait_for(lambda: _has_both(chain.backend.spans()), 20), log_tails()
    for spans in (chain.datadog.spans(), chain.backend.spans()):
        _assert_redacted(_by_name(spans)["GET /orders"])
    # Datadog's intake got them with the API key, as http/protobuf, on its traces path.
    traces_requests = [r for r in chain.datadog.requests() if r.path == "/v1/traces"]
    assert traces_requests and all(r.status == 202 for r in traces_requests)

    # The service's own metric took the metrics pipeline to Datadog's metrics intake.
    assert wait_for(lambda: "checkout.orders" in chain.datadog.state.store.metrics, 20), log_tails()
    assert chain.datadog.state.store.latest_metric("checkout.orders")[0][1] == 3

    # spanmetrics: one call per span, by span name and status, on the gateway's Prometheus endpoint.
    expected = {("GET /orders", "STATUS_CODE_UNSET"): 1.0, ("POST /pay", "STATUS_CODE_ERROR"): 1.0}
    assert wait_for(lambda: _span_calls(chain.gateway.metrics_text()) == expected, 20), (
        chain.gateway.metrics_text()
    )
    text = chain.gateway.metrics_text()
    assert "traces_span_metrics_duration_seconds_bucket" in text
    for secret in SECRETS:
        assert secret not in text


def test_overlay_repeats_the_traces_processors_of_gateway_yaml() -> None:
    # traces/otlp must redact exactly like traces: the lists are written twice, so compare them.
    gateway = yaml.safe_load((CONFIG_DIR / "gateway.yaml").read_text(encoding="utf-8"))
    overlay = yaml.safe_load(OVERLAY.read_text(encoding="utf-8"))
    ours = overlay["service"]["pipelines"]["traces/otlp"]
    theirs = gateway["service"]["pipelines"]["traces"]
    assert ours["processors"] == theirs["processors"]
    assert ours["receivers"] == theirs["receivers"]


def test_otlp_traces_exporter_is_off_without_the_overlay_and_refused_without_its_variable(
    otelcol_binary: Path,
) -> None:
    gateway = yaml.safe_load((CONFIG_DIR / "gateway.yaml").read_text(encoding="utf-8"))
    assert "otlp_http/traces" not in gateway["exporters"]

    def validate(*configs: Path, **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(otelcol_binary), "validate", *(f"--config={c}" for c in configs)],
            env={"PATH": "/usr/bin:/bin", "DD_API_KEY": DD_API_KEY, **env},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    refused = validate(CONFIG_DIR / "gateway.yaml", OVERLAY)
    assert refused.returncode != 0
    assert "otlp_http/traces" in refused.stderr
    accepted = validate(CONFIG_DIR / "gateway.yaml", OVERLAY, AIBOS_TRACES_OTLP_ENDPOINT="http://tempo:4318")
    assert accepted.returncode == 0, accepted.stderr
