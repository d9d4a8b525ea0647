"""Span redaction: real OTel SDK spans through RedactingSpanExporter with the engine setup() built."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Status, StatusCode

from aibos_otel.sdk.setup import active_handle, setup
from aibos_otel.sdk.spans import RedactingSpanExporter, SpanRedaction, redacting_export_processor

CARD = "4111 1111 1111 1111"
PASSWORD = "hunter2-Secret"
AWS_KEY = "AKIAZ3MSJV4WWNKWW5GQ"  # the AWS docs example key is allowlisted


@pytest.fixture
def exported() -> Iterator[tuple[TracerProvider, InMemorySpanExporter]]:
    handle = setup(service_name="spans", endpoint=None, console=False, file_backup=False, spool=False)
    assert handle.span_redaction is not None
    memory = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(RedactingSpanExporter(memory, handle.span_redaction)))
    yield provider, memory
    provider.shutdown()


def _texts(span: ReadableSpan) -> str:
    parts = [span.name, span.status.description or ""]
    parts += [f"{k}={v}" for k, v in (span.attributes or {}).items()]
    for event in span.events:
        parts.append(event.name)
        parts += [f"{k}={v}" for k, v in (event.attributes or {}).items()]
    for link in span.links:
        parts += [f"{k}={v}" for k, v in (link.attributes or {}).items()]
    return "\n".join(parts)


def test_name_attributes_events_and_status_are_redacted(
    exported: tuple[TracerProvider, InMemorySpanExporter],
) -> None:
    provider, memory = exported
    tracer = provider.get_tracer("tests.spans")
    with pytest.raises(ValueError), tracer.start_as_current_span(f"charge {CARD}") as span:
        span.set_attribute("db.statement", f"UPDATE users SET password={PASSWORD}")
        span.set_attribute("http.url", f"https://s3.example.com/?key={AWS_KEY}")
        span.set_attribute("db.password", "pw-9")
        span.set_attribute("http.response.status_code", 502)
        span.set_attribute("tags", ("plain", f"card {CARD}"))
        raise ValueError(f"card {CARD} declined for password={PASSWORD}")
    [out] = memory.get_finished_spans()
    text = _texts(out)
    for secret in (CARD, PASSWORD, AWS_KEY, "pw-9"):
        assert secret not in text, secret
    assert "[REDACTED:" in out.name
    attributes = dict(out.attributes or {})
    assert attributes["http.response.status_code"] == 502
    assert attributes["tags"][0] == "plain" and "[REDACTED:" in attributes["tags"][1]
    [event] = out.events
    assert event.name == "exception"
    assert "[REDACTED:" in str((event.attributes or {})["exception.message"])
    assert (event.attributes or {})["exception.type"] == "ValueError"
    assert out.status.status_code is StatusCode.ERROR
    # The same metadata as a log record: counts by detector, never values.
    counts = {k: v for k, v in attributes.items() if k.startswith("aibos.redaction.count.")}
    assert counts and all(isinstance(v, int) and v > 0 for v in counts.values())
    assert attributes["aibos.redaction.total"] == sum(counts.values())
    # Ids and timing survive: the trace stays whole.
    assert out.context is not None and out.context.trace_id != 0
    assert out.start_time is not None and out.end_time is not None and out.end_time >= out.start_time


def test_status_description_and_link_attributes_are_redacted(
    exported: tuple[TracerProvider, InMemorySpanExporter],
) -> None:
    from opentelemetry.trace import Link

    provider, memory = exported
    tracer = provider.get_tracer("tests.spans")
    with tracer.start_as_current_span("parent") as parent:
        context = parent.get_span_context()
    with tracer.start_as_current_span(
        "linked", links=[Link(context, {"note": f"password={PASSWORD}"})]
    ) as span:
        span.set_status(Status(StatusCode.ERROR, f"login failed: password={PASSWORD}"))
    linked = next(s for s in memory.get_finished_spans() if s.name == "linked")
    assert PASSWORD not in _texts(linked)
    assert "[REDACTED:" in (linked.status.description or "")


def test_a_clean_span_is_exported_as_it_is(exported: tuple[TracerProvider, InMemorySpanExporter]) -> None:
    provider, memory = exported
    handle = active_handle()
    assert handle is not None and handle.span_redaction is not None
    with provider.get_tracer("tests.spans").start_as_current_span("GET /orders") as span:
        span.set_attribute("http.route", "/orders/{id}")
        span.set_attribute("http.response.status_code", 200)
    [out] = memory.get_finished_spans()
    assert handle.span_redaction(out) is out  # no copy for a span with nothing to redact
    assert dict(out.attributes or {}) == {"http.route": "/orders/{id}", "http.response.status_code": 200}


def test_redaction_failure_masks_the_span_and_keeps_its_ids(
    exported: tuple[TracerProvider, InMemorySpanExporter], monkeypatch: pytest.MonkeyPatch
) -> None:
    provider, memory = exported

    def broken(self: SpanRedaction, span: ReadableSpan) -> bool:
        raise RuntimeError("engine broke")

    monkeypatch.setattr(SpanRedaction, "_clean", broken)
    with provider.get_tracer("tests.spans").start_as_current_span(f"pay {CARD}") as span:
        span.set_attribute("note", f"password={PASSWORD}")
        span.add_event("step", {"detail": CARD})
    [out] = memory.get_finished_spans()
    assert CARD not in _texts(out) and PASSWORD not in _texts(out)
    assert out.name == "[REDACTED:redaction-error]"
    assert dict(out.attributes or {}) == {"aibos.redaction.failures": 1}
    assert [e.name for e in out.events] == ["[REDACTED:redaction-error]"]
    assert out.context is not None and out.context.span_id == span.get_span_context().span_id


def test_redaction_off_exports_spans_unwrapped() -> None:
    handle = setup(service_name="spans", endpoint=None, console=False, file_backup=False, redaction=False)
    assert handle.span_redaction is None
    memory = InMemorySpanExporter()
    processor = redacting_export_processor(handle.span_redaction)(memory)
    assert processor.span_exporter is memory  # type: ignore[attr-defined]
    processor.shutdown()
