"""setup() against a real OTLP receiver on 127.0.0.1, over gRPC and over HTTP/protobuf."""

from __future__ import annotations

import logging
import socket

import pytest
from opentelemetry.sdk.trace import TracerProvider

import aibos_otel
from tests.support.helpers import wait_for
from tests.support.otlp_receiver import GrpcReceiver, HttpReceiver, Record


def _by_body(records: list[Record]) -> dict[str, Record]:
    return {str(r.body): r for r in records}


@pytest.mark.parametrize("protocol", ["grpc", "http/protobuf"])
def test_everything_a_service_logs_arrives_decoded(protocol: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIBOS_METRICS_INTERVAL", "0.2")
    monkeypatch.setenv("AIBOS_SCHEDULE_DELAY", "0.05")
    monkeypatch.setenv("OTEL_RESOURCE_ATTRIBUTES", "team=payments,service.namespace=shop")
    receiver = GrpcReceiver() if protocol == "grpc" else HttpReceiver()
    with receiver:
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint)
        handle = aibos_otel.setup(
            service_name="checkout",
            service_version="1.2.3",
            environment="staging",
            level="trace",
            protocol=protocol,
            redaction=False,
        )
        std = logging.getLogger("tests.e2e.stdlib")
        std.info(
            "stdlib %s", "hello", extra={"order": {"id": 7, "total": 12.5}, "tags": ["a", "b"], "ok": True}
        )
        log = aibos_otel.get_logger("tests.e2e.app")
        log.trace("a trace line")
        log.fatal("a fatal line")
        with aibos_otel.bind(request_id="r-1", user={"id": 42}):
            log.warning("inside bind")
        tracer = TracerProvider().get_tracer("tests")
        with tracer.start_as_current_span("checkout") as span:
            log.info("inside span")
            span_context = span.get_span_context()
        try:
            int("not a number")
        except ValueError:
            log.exception(
                "parse failed",
                extra={
                    "alert": {
                        "severity": "critical",
                        "channels": ["slack", "pagerduty"],
                        "escalation": "immediate",
                    }
                },
            )
        assert handle.force_flush(5000)
        assert wait_for(lambda: len(receiver.store.snapshot()) >= 6)
        assert wait_for(lambda: sum(v for _, v in receiver.store.latest_metric("aibos.logs.records")) >= 6)
        handle.shutdown()

    records = _by_body(receiver.store.snapshot())
    assert set(records) == {
        "stdlib hello",
        "a trace line",
        "a fatal line",
        "inside bind",
        "inside span",
        "parse failed",
    }

    resource = records["stdlib hello"].resource
    assert resource["service.name"] == "checkout"
    assert resource["service.version"] == "1.2.3"
    assert resource["deployment.environment.name"] == "staging"
    assert resource["service.namespace"] == "shop" and resource["team"] == "payments"
    assert resource["host.name"] == socket.gethostname()
    assert isinstance(resource["process.pid"], int)
    assert resource["telemetry.sdk.language"] == "python"

    stdlib = records["stdlib hello"]
    assert (stdlib.severity_number, stdlib.severity_text, stdlib.scope) == (9, "INFO", "tests.e2e.stdlib")
    assert stdlib.attributes == {"order.id": 7, "order.total": 12.5, "tags": ["a", "b"], "ok": True}
    assert (records["a trace line"].severity_number, records["a trace line"].severity_text) == (1, "TRACE")
    assert (records["a fatal line"].severity_number, records["a fatal line"].severity_text) == (21, "FATAL")
    assert records["inside bind"].attributes == {"request_id": "r-1", "user.id": 42}
    assert records["inside bind"].severity_text == "WARN"
    assert "request_id" not in records["inside span"].attributes

    in_span = records["inside span"]
    assert in_span.trace_id == f"{span_context.trace_id:032x}"
    assert in_span.span_id == f"{span_context.span_id:016x}"
    assert records["stdlib hello"].trace_id == ""

    failed = records["parse failed"].attributes
    assert failed["exception.type"] == "ValueError"
    assert "invalid literal for int()" in failed["exception.message"]
    assert 'int("not a number")' in failed["exception.stacktrace"]
    assert len(failed["exception.fingerprint"]) == 32
    assert failed["alert.severity"] == "critical"
    assert failed["alert.channels"] == ["slack", "pagerduty"]
    assert failed["alert.escalation"] == "immediate"

    by_level = dict((a["level"], v) for a, v in receiver.store.latest_metric("aibos.logs.records"))
    assert by_level["trace"] == 1 and by_level["fatal"] == 1 and by_level["warn"] == 1
    assert by_level["info"] == 2 and by_level["error"] == 1
    assert receiver.store.metrics.get("aibos.logs.pipeline.duration") is not None


def test_calling_setup_twice_does_not_duplicate_handlers_or_records() -> None:
    from opentelemetry._logs import SeverityNumber, get_logger_provider

    with GrpcReceiver() as receiver:
        aibos_otel.setup(
            service_name="first",
            service_version="1.0",
            endpoint=receiver.endpoint,
            environment="staging",
            redaction=False,
        )
        # An instrumentation that took its OTel logger under the first setup() keeps it.
        api_logger = get_logger_provider().get_logger("tests.instrumentation")
        handle = aibos_otel.setup(
            service_name="second", endpoint=receiver.endpoint, environment="staging", redaction=False
        )
        api_logger.emit(body="via the OTel API", severity_number=SeverityNumber.INFO)
        from aibos_otel.sdk.bridge import OTelBridgeHandler

        assert sum(isinstance(h, OTelBridgeHandler) for h in logging.getLogger().handlers) == 1
        logging.getLogger("tests.twice").warning("only once")
        assert handle.force_flush(5000)
        handle.shutdown()
    matching = [r for r in receiver.store.snapshot() if r.body == "only once"]
    assert len(matching) == 1
    assert matching[0].resource["service.name"] == "second"
    assert "service.version" not in matching[0].resource  # nothing left over from the first
    via_api = [r for r in receiver.store.snapshot() if r.body == "via the OTel API"]
    assert len(via_api) == 1 and via_api[0].resource["service.name"] == "second"


def test_fingerprints_of_a_repeated_error_match_over_the_wire() -> None:
    with GrpcReceiver() as receiver:
        handle = aibos_otel.setup(
            service_name="fp", endpoint=receiver.endpoint, environment="staging", redaction=False
        )
        log = aibos_otel.get_logger("tests.fp")
        for i in range(5):
            try:
                raise KeyError(f"item-{i}")
            except KeyError:
                log.exception("lookup %d failed", i)
        assert handle.force_flush(5000)
        handle.shutdown()
    fingerprints = {r.attributes["exception.fingerprint"] for r in receiver.store.snapshot()}
    assert len(fingerprints) == 1
