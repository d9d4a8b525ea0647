"""The SDK's redaction stage: redacts one OpenTelemetry ``LogRecord`` in place.

Built once at setup by :func:`build_record_stage`, then called for every record on the logging
thread, so the common case -- a clean message with a few short attributes -- costs one
Hyperscan scan over the joined string values plus a dict lookup per attribute key.

What the stage writes on a record that had redactions:

* ``aibos.redaction.count.<id>`` (int): redactions by detector or key-rule id, never values;
* ``aibos.redaction.total`` (int): their sum;
* ``aibos.redaction.failures`` (int): values masked because redaction itself failed.

And through the meter ``aibos_otel.redaction``: the counter ``aibos.redaction.redactions``
(attribute ``detector``) and the counter ``aibos.redaction.failures``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from aibos_otel.redaction.engine import (
    DROP,
    ERROR_ID,
    ERROR_MARKER,
    Redactor,
    default_redactor,
    resolve_profiles,
)

if TYPE_CHECKING:
    from opentelemetry._logs import LogRecord
    from opentelemetry.metrics import MeterProvider

RecordStage = Callable[["LogRecord"], None]
"""A stage that mutates an API ``LogRecord`` in place (body and attributes)."""

COUNT_PREFIX = "aibos.redaction.count."
TOTAL_KEY = "aibos.redaction.total"
FAILURES_KEY = "aibos.redaction.failures"
METER_NAME = "aibos_otel.redaction"
REDACTIONS_INSTRUMENT = "aibos.redaction.redactions"
FAILURES_INSTRUMENT = "aibos.redaction.failures"

_SIMPLE = (bool, float)
_BIG_INT = 10**11  # shorter integers cannot hold a card, account or national number
_UNSEEN = object()


class _Stage:
    """The callable returned by :func:`build_record_stage`."""

    def __init__(self, redactor: Redactor, meter_provider: MeterProvider | None) -> None:
        from opentelemetry.metrics import get_meter_provider

        self.redactor = redactor
        meter = (meter_provider or get_meter_provider()).get_meter(METER_NAME)
        self._redactions = meter.create_counter(
            REDACTIONS_INSTRUMENT, unit="{redaction}", description="Values redacted, by detector id"
        )
        self._failures = meter.create_counter(
            FAILURES_INSTRUMENT, unit="{failure}", description="Values masked because redaction failed"
        )
        self._candidates = redactor.scanner.candidates
        self._key_rule = redactor.key_rule
        self._key_cache = redactor._key_cache  # read-only fast lookup; key_rule() fills it

    def __call__(self, record: LogRecord) -> None:
        try:
            walk, candidates = self._first_pass(record)
            if walk or candidates:
                self._redact(record, None if candidates is None else candidates)
        except Exception:
            self._fail_closed(record)

    def _first_pass(self, record: LogRecord) -> tuple[bool, list[int] | None]:
        """The fast path: one first pass over every string value joined.

        Returns ``(walk, candidates)``: ``walk`` is True when a key rule fires, so values
        must be visited even without candidates; ``candidates`` are the detectors that may
        match some string value (a superset for each), or None when a structured value, bytes
        or a big integer needs a first pass of its own."""
        walk = False
        body = record.body
        if type(body) is str:
            texts = [body]
        elif body is None or isinstance(body, _SIMPLE):
            texts = []
        else:
            return True, None  # structured body, bytes or int: the full walk
        attributes = record.attributes
        if attributes:
            # BoundedAttributes keeps a plain dict; iterating it directly saves ~2 us a record.
            items: Any = getattr(attributes, "_dict", attributes).items()
            key_cache = self._key_cache
            for key, value in items:
                rule = key_cache.get(key, _UNSEEN)
                if rule is _UNSEEN:
                    rule = self._key_rule(key)
                if rule is not None:
                    walk = True
                    continue  # the whole value is masked: no need to scan it
                kind = type(value)
                if kind is str:
                    texts.append(value)
                elif kind is int:
                    if abs(value) >= _BIG_INT:
                        return True, None
                elif value is not None and kind is not bool and kind is not float:
                    return True, None  # sequences, maps, bytes: the full walk
        if not texts:
            return walk, []
        return walk, self._candidates(texts[0] if len(texts) == 1 else "\n".join(texts))

    def _redact(self, record: LogRecord, candidates: list[int] | None) -> None:
        """Redact every value; ``candidates`` from the joined first pass (a superset for each
        string value) saves a first pass per value."""
        redactor = self.redactor
        counts: Counter[str] = Counter()
        body = record.body
        if body is not None:
            new_body = redactor.redact_value(None, body, counts, candidates=candidates)
            record.body = ERROR_MARKER if new_body is DROP else new_body
        attributes: Any = record.attributes
        if attributes:
            for key in list(attributes):
                value = attributes[key]
                new = redactor.redact_value(key, value, counts, candidates=candidates)
                if new is DROP:
                    del attributes[key]
                elif new is not value and new != value:
                    attributes[key] = new
        if counts:
            self._record_counts(record, counts)

    def _record_counts(self, record: LogRecord, counts: Counter[str]) -> None:
        failures = counts.pop(ERROR_ID, 0)
        attributes: Any = record.attributes
        if attributes is None:
            attributes = record.attributes = {}
        total = 0
        for rule_id, count in counts.items():
            attributes[COUNT_PREFIX + rule_id] = count
            total += count
            self._redactions.add(count, {"detector": rule_id})
        attributes[TOTAL_KEY] = total
        if failures:
            attributes[FAILURES_KEY] = failures
            self._failures.add(failures)

    def _fail_closed(self, record: LogRecord) -> None:
        """Mask the body and every non-numeric attribute; never let an exception out."""
        try:
            record.body = ERROR_MARKER
            attributes: Any = record.attributes
            if attributes:
                for key in list(attributes):
                    if not isinstance(attributes[key], (bool, int, float)):
                        attributes[key] = ERROR_MARKER
                attributes[FAILURES_KEY] = 1
            self._failures.add(1)
        except Exception:  # pragma: no cover - the record object itself is broken
            pass


def build_record_stage(
    profiles: Sequence[str] | None = None,
    *,
    redactor: Redactor | None = None,
    meter_provider: MeterProvider | None = None,
) -> RecordStage:
    """Build the record stage for the SDK pipeline (once, at setup).

    ``profiles`` None means ``AIBOS_REDACTION_PROFILES`` or secrets+pci+gdpr; a ready
    ``redactor`` (e.g. built from the policy file) takes precedence over ``profiles``.
    The returned callable mutates the record in place and never raises.
    """
    if redactor is None:
        shared = default_redactor()
        # The default redactor is shared with resource redaction: build the catalogue once.
        redactor = shared if resolve_profiles(profiles) == shared.profiles else Redactor(profiles)
    return _Stage(redactor, meter_provider)


def redact_resource_attributes(
    attrs: Mapping[str, Any], *, redactor: Redactor | None = None
) -> dict[str, Any]:
    """Redact resource attributes once at start-up (same rules as record attributes)."""
    active = redactor if redactor is not None else default_redactor()
    counts: Counter[str] = Counter()
    out: dict[str, Any] = {}
    for key, value in attrs.items():
        new = active.redact_value(key, value, counts)
        if new is not DROP:
            out[key] = new
    return out
