"""Memoised redaction of the short strings that repeat from record to record.

Attribute keys, event names, severity texts and instrumentation scopes are few and recur on
nearly every record, but any of them can carry a secret (``extra={"ctx": {token: 1}}`` becomes
the key ``ctx.<token>``; a logger can be named after a URL with credentials). Scanning them on
every record would double the stage's cost, so each distinct string is redacted through the
engine once and the answer kept in a bounded cache.

The caches are plain dicts cleared when full: a hit is one ``dict.get`` (cheaper than an
``lru_cache`` call on the hot path), and a service with more distinct keys than the bound
pays one scan per key again after a clear, never unbounded memory. Reads and writes of a dict
are atomic in CPython, so threads may share a :class:`NameRedactor` without a lock; two threads
missing at once both compute the same answer.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from aibos_otel.redaction.engine import ERROR_ID, ERROR_MARKER, Redactor

if TYPE_CHECKING:
    from opentelemetry.sdk.util.instrumentation import InstrumentationScope

    from aibos_otel.redaction.detector import KeyRule

Counts = Mapping[str, int]
"""Redactions per detector id; a cached answer's counts are shared, never mutated."""

NameAnswer = tuple[str | None, Counts]
"""``(redacted text, counts)``; the text is None when the input had nothing to redact."""

KeyAnswer = tuple["KeyRule | None", str | None, Counts]
"""``(key rule of the original key, redacted key or None when clean, counts)``."""

CACHE_LIMIT = 4096
"""Distinct strings remembered per cache before it is cleared."""

_CLEAN: NameAnswer = (None, {})
# The texts the SDK's own bridges write, checked before the pattern (the common case).
_COMMON_LEVELS = frozenset(
    {"TRACE", "DEBUG", "INFO", "WARN", "WARNING", "ERROR", "CRITICAL", "FATAL", "UNSPECIFIED"}
)
# Level names as other libraries write them: any case, OTel's numbered variants (INFO2, WARN4).
_LEVEL = re.compile(
    r"(?:TRACE|DEBUG|INFO|WARN|WARNING|ERROR|CRITICAL|FATAL|UNSPECIFIED)[0-9]{0,2}", re.IGNORECASE
)


def is_level_name(text: str) -> bool:
    """True when ``text`` is a severity name (``INFO``, ``warning``, ``FATAL4``...), which a
    severity text may keep as is; anything else is redacted like free text."""
    return text in _COMMON_LEVELS or _LEVEL.fullmatch(text) is not None


class NameRedactor:
    """Redacts short repeated strings through ``redactor``, each distinct string once."""

    def __init__(self, redactor: Redactor, *, limit: int = CACHE_LIMIT) -> None:
        self._redactor = redactor
        self._limit = limit
        self._names: dict[str, NameAnswer] = {}
        self._keys: dict[str, KeyAnswer] = {}
        self._scopes: dict[InstrumentationScope, tuple[InstrumentationScope, Counts]] = {}

    # -- strings -------------------------------------------------------------------------------

    def name(self, text: str) -> NameAnswer:
        """Redact a name (event name, scope name, nested map key)."""
        answer = self._names.get(text)
        if answer is None:
            answer = self._redact(text)
            self._store(self._names, text, answer)
        return answer

    def severity(self, text: str) -> NameAnswer:
        """A severity text: kept when it is a level name, else redacted as a name."""
        if is_level_name(text):
            return _CLEAN
        return self.name(text)

    def key(self, key: str) -> KeyAnswer:
        """An attribute key: the key rule of the key as written (it decides whether the value is
        masked whole) and the redacted key text."""
        answer = self._keys.get(key)
        if answer is None:
            redacted, counts = self.name(key)
            answer = (self._redactor.key_rule(key), redacted, counts)
            self._store(self._keys, key, answer)
        return answer

    # -- structures ----------------------------------------------------------------------------

    def nested_keys(self, value: Any, counts: Counter[str]) -> Any:
        """``value`` with every map key (at any depth, inside lists too) redacted; the same
        object when no key changed. Values are left as they are: the engine redacts those."""
        if isinstance(value, Mapping):
            out: dict[Any, Any] = {}
            changed = False
            for key, item in value.items():
                redacted, found = self.name(key if isinstance(key, str) else str(key))
                new_item = self.nested_keys(item, counts)
                new_key = key
                if redacted is not None:
                    counts.update(found)
                    new_key, changed = redacted, True
                changed = changed or new_item is not item
                out[new_key] = new_item  # two keys redacted alike: the later value wins
            return out if changed else value
        if isinstance(value, (list, tuple)):
            items = [self.nested_keys(item, counts) for item in value]
            if any(new is not old for new, old in zip(items, value, strict=True)):
                return items if isinstance(value, list) else tuple(items)
        return value

    def scope(self, scope: InstrumentationScope) -> tuple[InstrumentationScope, Counts]:
        """The scope with its name, version, schema URL and attributes (values and keys)
        redacted, and the counts; ``scope`` itself when nothing changed."""
        answer = self._scopes.get(scope)
        if answer is None:
            answer = self._redact_scope(scope)
            self._store(self._scopes, scope, answer)
        return answer

    # -- internals -----------------------------------------------------------------------------

    def _redact(self, text: str) -> NameAnswer:
        result = self._redactor.redact(text)  # never raises; a failure comes back masked
        if not result.counts and result.text == text:
            return _CLEAN
        return result.text, dict(result.counts)

    def _redact_scope(self, scope: InstrumentationScope) -> tuple[InstrumentationScope, Counts]:
        from opentelemetry.sdk.util.instrumentation import InstrumentationScope

        counts: Counter[str] = Counter()
        texts: list[str | None] = []
        for text in (scope.name, scope.version, scope.schema_url):
            redacted, found = self.name(text) if text else _CLEAN
            counts.update(found)
            texts.append(text if redacted is None else redacted)
        attributes = scope.attributes
        new_attributes: Any = attributes
        if attributes:
            redacted_values = self._redactor.redact_mapping(attributes, counts)
            new_attributes = self.nested_keys(redacted_values, counts)
            if new_attributes == dict(attributes):
                new_attributes = attributes
        if not counts:
            return scope, {}
        try:
            name, version, schema_url = texts
            return InstrumentationScope(name or "", version, schema_url, new_attributes), dict(counts)
        except Exception:  # fail closed: a scope we cannot rebuild is masked whole
            return InstrumentationScope(ERROR_MARKER), {ERROR_ID: 1}

    def _store(self, cache: dict[Any, Any], key: Any, answer: Any) -> None:
        if len(cache) >= self._limit:
            cache.clear()  # bounded: a flood of distinct strings costs scans, not memory
        cache[key] = answer
