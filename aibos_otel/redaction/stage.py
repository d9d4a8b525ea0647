"""The SDK's redaction stage: redacts one OpenTelemetry ``LogRecord`` in place.

Built once at setup by :func:`build_record_stage`, then called for every record on the logging
thread, so the common case -- a clean message with a few short attributes -- costs one
Hyperscan scan over the joined string values plus a dict lookup per attribute key.

Every field a record carries to OTLP is redacted: the body, attribute values *and keys*
(nested map keys too), ``event_name``, ``severity_text`` (kept when it is a level name), and,
through :meth:`RecordRedaction.scope`, the instrumentation scope. Keys, names and scopes repeat,
so each distinct one goes through the engine once (:mod:`aibos_otel.redaction.names`).

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
from aibos_otel.redaction.longtext import LONG_TEXT
from aibos_otel.redaction.names import NameRedactor, is_level_name

if TYPE_CHECKING:
    from opentelemetry._logs import LogRecord
    from opentelemetry.metrics import MeterProvider
    from opentelemetry.sdk.util.instrumentation import InstrumentationScope

RecordStage = Callable[["LogRecord"], None]
"""A stage that mutates an API ``LogRecord`` in place (body and attributes)."""

COUNT_PREFIX = "aibos.redaction.count."
TOTAL_KEY = "aibos.redaction.total"
FAILURES_KEY = "aibos.redaction.failures"
METER_NAME = "aibos_otel.redaction"
REDACTIONS_INSTRUMENT = "aibos.redaction.redactions"
FAILURES_INSTRUMENT = "aibos.redaction.failures"

_SIMPLE = (bool, float)
_STRUCTURED = (Mapping, list, tuple)
_BIG_INT = 10**11  # shorter integers cannot hold a card, account or national number
# Clean-value cache: attribute values and bodies repeat ("pro", "eu-west-1", a constant
# message), and one whose first pass came back empty is returned unchanged by the engine (a
# pure function of the string and the redactor's configuration), so it need not be scanned
# again. Bounded in entries and in the length of a remembered string.
CLEAN_CACHE_LIMIT = 4096
CLEAN_CACHE_MAX_CHARS = 256


class RecordRedaction:
    """The callable returned by :func:`build_record_stage`: ``stage(record)`` redacts a record
    in place; :meth:`scope` redacts the record's instrumentation scope."""

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
        self._names = NameRedactor(redactor)
        # The key cache is read directly on the hot path (one dict.get per key).
        self._key_cache = self._names._keys
        self._key = self._names.key
        self._clean: dict[str, None] = {}
        self._clean_scope: InstrumentationScope | None = None

    def __call__(self, record: LogRecord) -> None:
        """Redact ``record`` in place; never raises (a failure masks the record, fail closed)."""
        try:
            walk, candidates = self._first_pass(record)
            if walk or candidates:
                self._redact(record, None if candidates is None else candidates)
        except Exception:
            self._fail_closed(record)

    def count(self, counts: Mapping[str, int]) -> None:
        """Add redactions (by detector id; :data:`ERROR_ID` counts failures) to this stage's
        meters: other signals redacted with the same engine (spans) share the instruments."""
        for rule_id, count in counts.items():
            if rule_id == ERROR_ID:
                self._failures.add(count)
            else:
                self._redactions.add(count, {"detector": rule_id})

    @property
    def names(self) -> NameRedactor:
        """The memoised redaction of keys and names this stage uses (shared with other signals)."""
        return self._names

    def scope(self, scope: InstrumentationScope) -> InstrumentationScope:
        """``scope`` redacted (name, version, schema URL, attributes), memoised per scope; the
        same object when it is clean. Never raises."""
        if scope is self._clean_scope:
            return scope  # the logger's own scope object, found clean last time: no hashing
        try:
            redacted, counts = self._names.scope(scope)
        except Exception:
            from opentelemetry.sdk.util.instrumentation import InstrumentationScope

            self._failures.add(1)
            return InstrumentationScope(ERROR_MARKER)
        if redacted is scope:
            self._clean_scope = scope
        else:
            # Counted each time a record carries it: the meter shows how often it leaks.
            for rule_id, count in counts.items():
                if rule_id == ERROR_ID:
                    self._failures.add(count)
                else:
                    self._redactions.add(count, {"detector": rule_id})
        return redacted

    def _first_pass(self, record: LogRecord) -> tuple[bool, list[int] | None]:
        """The fast path: one first pass over every string value joined.

        Returns ``(walk, candidates)``: ``walk`` is True when a key rule fires, so values
        must be visited even without candidates; ``candidates`` are the detectors that may
        match some string value (a superset for each), or None when a structured value, bytes
        or a big integer needs a first pass of its own."""
        walk = False
        event_name = record.event_name
        if event_name and self._names.name(event_name)[0] is not None:
            walk = True
        severity_text = record.severity_text
        if severity_text and self._names.severity(severity_text)[0] is not None:
            walk = True
        clean = self._clean
        body = record.body
        if type(body) is str:
            texts = [] if body in clean else [body]
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
                answer = key_cache.get(key)
                if answer is None:
                    answer = self._key(key)
                rule, new_key, _ = answer
                if new_key is not None:
                    walk = True  # the key itself holds something to redact
                if rule is not None:
                    walk = True
                    continue  # the whole value is masked: no need to scan it
                kind = type(value)
                if kind is str:
                    if value not in clean:
                        texts.append(value)
                elif kind is int:
                    if abs(value) >= _BIG_INT:
                        return True, None
                elif value is not None and kind is not bool and kind is not float:
                    return True, None  # sequences, maps, bytes: the full walk
        if not texts:
            return walk, []
        # Joined with a newline, which no token class takes: the joined first pass is a
        # superset of each value's, so an empty one proves every value clean.
        joined = texts[0] if len(texts) == 1 else "\n".join(texts)
        if len(joined) > LONG_TEXT:
            # A long value is redacted slice by slice, each slice with its own first pass
            # (longtext.py): one over the whole of it here would be 30-40 ms per MB for nothing.
            return True, None
        candidates = self._candidates(joined)
        if not candidates:
            self._remember_clean(texts)
        return walk, candidates

    def _remember_clean(self, texts: list[str]) -> None:
        clean = self._clean
        if len(clean) + len(texts) > CLEAN_CACHE_LIMIT:
            clean.clear()  # bounded: a flood of distinct values costs scans, not memory
        for text in texts:
            if len(text) <= CLEAN_CACHE_MAX_CHARS:
                clean[text] = None

    def _redact(self, record: LogRecord, candidates: list[int] | None) -> None:
        """Redact every value; ``candidates`` from the joined first pass (a superset for each
        string value) saves a first pass per value."""
        redactor = self.redactor
        budget = redactor.start_shared_budget()  # the body and every attribute share one
        try:
            self._redact_values(record, candidates)
        finally:
            redactor.end_shared_budget(budget)

    def _redact_values(self, record: LogRecord, candidates: list[int] | None) -> None:
        redactor = self.redactor
        names = self._names
        counts: Counter[str] = Counter()
        body = record.body
        if body is not None:
            new_body = self._clean_or_redact(None, body, counts, candidates)
            if isinstance(new_body, _STRUCTURED):
                new_body = names.nested_keys(new_body, counts)
            record.body = ERROR_MARKER if new_body is DROP else new_body
        if record.event_name:
            self._replace(record, "event_name", names.name(record.event_name), counts)
        if record.severity_text:
            self._replace(record, "severity_text", names.severity(record.severity_text), counts)
        attributes: Any = record.attributes
        if attributes:
            for key in list(attributes):
                value = attributes[key]
                rule, new_key, found = names.key(key)
                if rule is None and not redactor.key_allowed(key):
                    new = self._clean_or_redact(key, value, counts, candidates)
                else:
                    new = redactor.redact_value(key, value, counts, candidates=candidates)
                if isinstance(new, _STRUCTURED):
                    new = names.nested_keys(new, counts)
                if new_key is not None:
                    counts.update(found)
                    del attributes[key]  # renamed: two keys redacted alike keep the later value
                    if new is not DROP:
                        attributes[new_key] = new
                elif new is DROP:
                    del attributes[key]
                elif new is not value and new != value:
                    attributes[key] = new
        if counts:
            self._record_counts(record, counts)

    def _clean_or_redact(
        self, key: str | None, value: Any, counts: Counter[str], candidates: list[int] | None
    ) -> Any:
        """A value under no key rule: a string known clean as it is, else the engine's answer
        (remembered when it left the string as it was)."""
        if type(value) is not str:
            return self.redactor.redact_value(key, value, counts, candidates=candidates)
        if value in self._clean:
            return value
        new = self.redactor.redact_value(key, value, counts, candidates=candidates)
        if new is value:
            self._remember_clean([value])
        return new

    @staticmethod
    def _replace(
        record: LogRecord, field: str, answer: tuple[str | None, Mapping[str, int]], counts: Counter[str]
    ) -> None:
        redacted, found = answer
        if redacted is not None:
            setattr(record, field, redacted)
            counts.update(found)

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
        """Mask the body, the event name, a severity text that is no level name, every value
        but short numbers, and every key the name cache cannot vouch for; never raise."""
        try:
            record.body = ERROR_MARKER
            if record.event_name:
                record.event_name = ERROR_MARKER
            if record.severity_text and not is_level_name(record.severity_text):
                record.severity_text = ERROR_MARKER
            attributes: Any = record.attributes
            if attributes:
                for index, key in enumerate(list(attributes)):
                    value = attributes.pop(key)
                    keep = isinstance(value, (bool, float)) or (type(value) is int and abs(value) < _BIG_INT)
                    attributes[self._safe_key(key, index)] = value if keep else ERROR_MARKER
                attributes[FAILURES_KEY] = 1
            self._failures.add(1)
        except Exception:  # pragma: no cover - the record object itself is broken
            pass

    def _safe_key(self, key: str, index: int) -> str:
        try:
            new_key = self._names.key(key)[1]
        except Exception:
            return f"{ERROR_MARKER}.{index}"  # even the key cannot be judged: mask it, keep it unique
        return key if new_key is None else new_key


def build_record_stage(
    profiles: Sequence[str] | None = None,
    *,
    redactor: Redactor | None = None,
    meter_provider: MeterProvider | None = None,
) -> RecordRedaction:
    """Build the record stage for the SDK pipeline (once, at setup).

    ``profiles`` None means ``AIBOS_REDACTION_PROFILES`` or secrets+pci+gdpr; a ready
    ``redactor`` (e.g. built from the policy file) takes precedence over ``profiles``.
    The returned callable mutates the record in place and never raises; its
    :meth:`~RecordRedaction.scope` redacts instrumentation scopes.
    """
    if redactor is None:
        shared = default_redactor()
        # The default redactor is shared with resource redaction: build the catalogue once.
        redactor = shared if resolve_profiles(profiles) == shared.profiles else Redactor(profiles)
    return RecordRedaction(redactor, meter_provider)


def redact_resource_attributes(
    attrs: Mapping[str, Any], *, redactor: Redactor | None = None
) -> dict[str, Any]:
    """Redact resource attributes once at start-up (same rules as record attributes: values,
    keys and nested map keys)."""
    active = redactor if redactor is not None else default_redactor()
    names = NameRedactor(active)
    counts: Counter[str] = Counter()
    out: dict[str, Any] = {}
    for key, value in attrs.items():
        new = active.redact_value(key, value, counts)
        if new is DROP:
            continue
        if isinstance(new, _STRUCTURED):
            new = names.nested_keys(new, counts)
        new_key = names.key(key)[1]
        out[key if new_key is None else new_key] = new
    return out
