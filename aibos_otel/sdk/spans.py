"""Span redaction: the same engine and profiles as the logs, applied to finished spans.

Spans carry secrets too: ``db.statement``, ``http.url``, exception events, a status description
built from ``str(exc)``. OpenTelemetry Python hands a span processor an *immutable*
``ReadableSpan`` in ``on_end`` (the span's attributes are frozen before the processors run, and the
same object goes to every processor), so redaction cannot happen in place. It happens in
:class:`RedactingSpanExporter`, a wrapper around the real exporter that sends a redacted *copy* of
each span: whatever span processor exports (batch or simple), the exporter below it only ever sees
redacted spans. The work runs on the export thread, not on the request path.

What is redacted: the span name, attribute values and keys, event names and attributes (an
``exception`` event's ``exception.message`` and ``exception.stacktrace``), link attributes, the
status description and the instrumentation scope. A span that had redactions gets the same
metadata attributes as a log record (``aibos.redaction.count.<id>``, ``aibos.redaction.total``).
A span whose redaction fails is exported masked whole (name, texts, attributes), with its ids,
timing, kind and status code kept so the trace stays whole: fail closed.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.trace import Link, Status
from opentelemetry.util.types import Attributes

from aibos_otel.redaction.engine import DROP, ERROR_ID, ERROR_MARKER
from aibos_otel.redaction.stage import COUNT_PREFIX, FAILURES_KEY, TOTAL_KEY

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import SpanProcessor

    from aibos_otel.redaction.stage import RecordRedaction

_internal = logging.getLogger("aibos_otel.sdk.spans")
_BIG_INT = 10**11  # shorter integers cannot hold a card, account or national number (as in stage.py)


class SpanRedaction:
    """Redacts one finished span into a copy; built from the logs' redaction stage (same engine,
    profiles, key rules and meters)."""

    def __init__(self, stage: RecordRedaction) -> None:
        self._stage = stage
        self._redactor = stage.redactor
        self._names = stage.names
        self._candidates = stage.redactor.scanner.candidates

    def __call__(self, span: ReadableSpan) -> ReadableSpan:
        """``span`` itself when it is clean, else a redacted copy; never raises."""
        try:
            if self._clean(span):
                return span
            return self._redacted(span)
        except Exception:
            _internal.debug("aibos: span redaction failed; the span is masked", exc_info=True)
            return self._masked(span)

    # -- the fast path: one first pass over every text of the span -------------------------------
    def _clean(self, span: ReadableSpan) -> bool:
        texts = [span.name]
        description = span.status.description
        if description:
            texts.append(description)
        # The SDK's ReadableSpan wraps its attributes in a MappingProxyType and copies its events
        # and links into tuples on every access (about 4 us of a clean span's 15); its own
        # fields are read when they are there, the public properties otherwise.
        groups: list[Attributes] = [_fields(span, "_attributes", "attributes")]
        for event in _fields(span, "_events", "events") or ():
            texts.append(event.name)
            groups.append(event.attributes)
        groups.extend(link.attributes for link in _fields(span, "_links", "links") or ())
        key = self._names.key
        for attributes in groups:
            if not attributes:
                continue
            # BoundedAttributes keeps a plain dict: iterating it directly skips the Mapping
            # ABC's per-item __getitem__ (as the logs' stage does).
            for name, value in getattr(attributes, "_dict", attributes).items():
                rule, new_key, _ = key(name)
                if rule is not None or new_key is not None:
                    return False
                if type(value) is str:
                    texts.append(value)
                elif type(value) is int:
                    if abs(value) >= _BIG_INT:
                        return False
                elif type(value) is not bool and type(value) is not float:
                    return False  # sequences: the full walk
        scope = span.instrumentation_scope
        if scope is not None and self._names.scope(scope)[0] is not scope:
            return False
        return not self._candidates("\n".join(texts))

    # -- the full walk --------------------------------------------------------------------------
    def _redacted(self, span: ReadableSpan) -> ReadableSpan:
        budget = self._redactor.start_shared_budget()  # every text of the span shares one
        try:
            return self._redacted_within(span)
        finally:
            self._redactor.end_shared_budget(budget)

    def _redacted_within(self, span: ReadableSpan) -> ReadableSpan:
        counts: Counter[str] = Counter()
        name = self._text(span.name, counts)
        attributes = self._attributes(span.attributes, counts)
        events = [
            Event(self._text(e.name, counts), self._attributes(e.attributes, counts), e.timestamp)
            for e in span.events
        ]
        links = [Link(link.context, self._attributes(link.attributes, counts)) for link in span.links]
        status = span.status
        if status.description:
            status = Status(status.status_code, self._text(status.description, counts))
        scope = span.instrumentation_scope
        if scope is not None:
            scope, found = self._names.scope(scope)
            counts.update(found)
        if counts:
            failures = counts.get(ERROR_ID, 0)
            found = {k: n for k, n in counts.items() if k != ERROR_ID}
            for rule_id, count in found.items():
                attributes[COUNT_PREFIX + rule_id] = count
            attributes[TOTAL_KEY] = sum(found.values())
            if failures:
                attributes[FAILURES_KEY] = failures
            self._stage.count(counts)
        return _copy(
            span, name, attributes=attributes, events=events, links=links, status=status, scope=scope
        )

    def _text(self, text: str, counts: Counter[str]) -> str:
        result = self._redactor.redact(text)
        counts.update(result.counts)
        if result.failures:
            counts[ERROR_ID] += result.failures
        return result.text

    def _attributes(self, attributes: Attributes, counts: Counter[str]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if not attributes:
            return out
        for key, value in attributes.items():
            new = self._redactor.redact_value(key, value, counts)
            _, new_key, found = self._names.key(key)
            if new_key is not None:
                counts.update(found)
            if new is DROP:
                continue
            if isinstance(new, list):
                new = tuple(new)  # span attribute values are scalars or homogeneous sequences
            out[key if new_key is None else new_key] = new
        return out

    def _masked(self, span: ReadableSpan) -> ReadableSpan:
        """Everything textual masked, numbers and booleans kept only when short; never raises."""
        try:
            self._stage.count({ERROR_ID: 1})
            events = [Event(ERROR_MARKER, {}, e.timestamp) for e in span.events]
            links = [Link(link.context, {}) for link in span.links]
            status = Status(span.status.status_code, ERROR_MARKER if span.status.description else None)
            return _copy(
                span,
                ERROR_MARKER,
                attributes={FAILURES_KEY: 1},
                events=events,
                links=links,
                status=status,
                scope=None,
            )
        except Exception:  # pragma: no cover - the span object itself is broken
            return ReadableSpan(name=ERROR_MARKER, attributes={FAILURES_KEY: 1})


def _fields(span: ReadableSpan, private: str, public: str) -> Any:
    """``span.<private>`` when the SDK's ReadableSpan has it, else ``span.<public>``."""
    value = getattr(span, private, _MISSING)
    return getattr(span, public) if value is _MISSING else value


_MISSING = object()


def _copy(
    span: ReadableSpan,
    name: str,
    *,
    attributes: Mapping[str, Any],
    events: Sequence[Event],
    links: Sequence[Link],
    status: Status,
    scope: Any,
) -> ReadableSpan:
    return ReadableSpan(
        name=name,
        context=span.context,
        parent=span.parent,
        resource=span.resource,
        attributes=dict(attributes),
        events=tuple(events),
        links=tuple(links),
        kind=span.kind,
        status=status,
        start_time=span.start_time,
        end_time=span.end_time,
        instrumentation_scope=scope,
    )


class RedactingSpanExporter(SpanExporter):
    """Wraps a span exporter: every span is redacted (a copy) before ``exporter`` sees it."""

    def __init__(self, exporter: SpanExporter, redaction: Callable[[ReadableSpan], ReadableSpan]) -> None:
        self.exporter = exporter
        self._redact = redaction

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        """Export redacted copies of ``spans`` (clean spans go as they are)."""
        redact = self._redact
        result: SpanExportResult = self.exporter.export([redact(span) for span in spans])
        return result

    def shutdown(self) -> None:
        """Shut the wrapped exporter down."""
        self.exporter.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """Flush the wrapped exporter."""
        flushed: bool = self.exporter.force_flush(timeout_millis)
        return flushed


def redacting_export_processor(
    redaction: Callable[[ReadableSpan], ReadableSpan] | None,
) -> Callable[..., SpanProcessor]:
    """A factory for the stock configurator's ``export_span_processor``: a batch processor whose
    exporter is wrapped in :class:`RedactingSpanExporter` (``redaction`` None: redaction off)."""
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    def make(exporter: SpanExporter, *args: Any, **kwargs: Any) -> SpanProcessor:
        wrapped = exporter if redaction is None else RedactingSpanExporter(exporter, redaction)
        return BatchSpanProcessor(wrapped, *args, **kwargs)

    return make
