"""The redaction engine: :class:`Redactor` applies detectors, key rules, allowlists and strategies.

A Redactor is immutable after construction and safe to share between threads. It never raises
on a value it is asked to redact: a detector or validator that fails makes the whole value
masked (``[REDACTED:redaction-error]``) and is counted, so a bug can only over-redact.
"""

from __future__ import annotations

import contextvars
import dataclasses
import hashlib
import hmac
import json
import math
import operator
import os
import re
import threading
import time
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from aibos_otel.redaction.catalogue import all_detectors, detectors_for, key_rules_for
from aibos_otel.redaction.detector import DEFAULT_PROFILES, PROFILES, Detector, KeyRule
from aibos_otel.redaction.keyvalue import KeyValueFinder, key_keywords, trigger_expression
from aibos_otel.redaction.longtext import BUDGET_ID, DEFAULT_BUDGET_S, LONG_TEXT, Span, bounded
from aibos_otel.redaction.scanner import Scanner
from aibos_otel.redaction.validators import digits_of, random_looking
from aibos_otel.redaction.views import needs_views, views

STRATEGIES: tuple[str, ...] = ("mask", "partial", "hash", "drop")
ERROR_ID = "redaction-error"
ERROR_MARKER = f"[REDACTED:{ERROR_ID}]"
PROFILES_ENV = "AIBOS_REDACTION_PROFILES"
HASH_KEY_ENV = "AIBOS_REDACTION_HASH_KEY"
TIME_BUDGET_ENV = "AIBOS_REDACTION_TIME_BUDGET"

_KEY_CACHE_LIMIT = 8192
_CAMEL = re.compile(r"([a-z0-9])([A-Z])")
_NON_ALNUM = re.compile(r"[^a-z0-9]+")
_DROP = object()  # sentinel: the strategy says remove this attribute
BUDGET_MARKER = f"[REDACTED:{BUDGET_ID}]"
# JSON is parsed (and JSON inside its strings, recursively) up to this size; larger documents
# are scanned as text, slice by slice within the time budget (longtext.py), where the key layer
# still sees their "key": "value" pairs and name/value objects. (Parsed, a 128 KB document of
# distinct password=... strings would cost 0.4 s of validators with nothing to bound it.)
_MAX_JSON = LONG_TEXT
# A secret right after a key id and a colon (AKIA...:<secret>, <client id>:<client secret>).
_PAIR_SECRET = re.compile(r":([A-Za-z0-9/+=_\-]{16,256})(?![A-Za-z0-9/+=_\-])")
_KEY_RULE_PRIORITY = 5  # a value detector that matches the same span names it more precisely
_BUDGET_PRIORITY = 1000  # the masked rest of a long text keeps its name when a finding overlaps it
# The deadline that every value redacted in one record shares (start_shared_budget).
_SHARED_DEADLINE: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "aibos_redaction_deadline", default=None
)


class _FromEnv:
    """The default of ``Redactor(time_budget=...)``: ``AIBOS_REDACTION_TIME_BUDGET``, else
    :data:`~aibos_otel.redaction.longtext.DEFAULT_BUDGET_S`."""

    def __repr__(self) -> str:
        return f"${TIME_BUDGET_ENV}"


FROM_ENV = _FromEnv()


def resolve_time_budget(budget: float | _FromEnv | None) -> float | None:
    """Seconds a long text may take (``None``: no limit); from ``AIBOS_REDACTION_TIME_BUDGET``
    (seconds, or ``off``) when not given."""
    if isinstance(budget, _FromEnv):
        env = os.environ.get(TIME_BUDGET_ENV, "").strip()
        if not env:
            return DEFAULT_BUDGET_S
        if env.lower() in ("off", "none"):
            return None
        try:
            seconds = float(env)
        except ValueError:
            seconds = math.nan
        if not math.isfinite(seconds) or seconds <= 0:
            raise ValueError(f"{TIME_BUDGET_ENV}={env!r}: give seconds above 0 (e.g. 0.3), or off")
        return seconds
    if budget is not None and (not math.isfinite(budget) or budget < 0):
        raise ValueError(f"time_budget={budget!r}: give seconds (0 or more), or None for no limit")
    return budget


def resolve_profiles(profiles: Iterable[str] | str | None) -> tuple[str, ...]:
    """Profiles as given, else from ``AIBOS_REDACTION_PROFILES`` (comma separated), else the
    default ``secrets, pci, gdpr``. ``"none"`` selects no profile; ``"all"`` selects every one."""
    if profiles is None:
        env = os.environ.get(PROFILES_ENV, "").strip()
        profiles = env if env else DEFAULT_PROFILES
    if isinstance(profiles, str):
        profiles = profiles.split(",")
    names = [p.strip().lower() for p in profiles if p.strip()]
    if names == ["none"]:
        return ()
    if "all" in names:
        return PROFILES
    unknown = [n for n in names if n not in PROFILES]
    if unknown:
        raise ValueError(f"unknown redaction profile(s) {unknown}; known: {', '.join(PROFILES)}")
    return tuple(dict.fromkeys(names))


def normalise_key(key: str) -> str:
    """``X-Api-Key``, ``x.api_key`` and ``xApiKey`` all become ``x_api_key``."""
    return _NON_ALNUM.sub("_", _CAMEL.sub(r"\1_\2", key).lower()).strip("_")


@dataclass
class RedactionResult:
    """A redacted text and the number of redactions per detector (or key rule) id; ``cut``: where
    the time budget stopped a long text (the rest is masked), else ``None``."""

    text: str
    counts: Counter[str] = field(default_factory=Counter)
    failures: int = 0
    drop: bool = False
    cut: int | None = None


class _Allow:
    """Exact strings and regexes (full match) that are never redacted."""

    def __init__(self, entries: Iterable[str | re.Pattern[str]]) -> None:
        self.exact: frozenset[str] = frozenset(e for e in entries if isinstance(e, str))
        self.patterns: tuple[re.Pattern[str], ...] = tuple(e for e in entries if isinstance(e, re.Pattern))

    def __bool__(self) -> bool:
        return bool(self.exact or self.patterns)

    def allows(self, value: str) -> bool:
        return value in self.exact or any(p.fullmatch(value) for p in self.patterns)


class Redactor:
    """Redacts secrets and personal data from text and structured values.

    Args:
        profiles: which built-in detector sets to use: any of ``secrets``, ``pci``, ``gdpr``,
            ``hipaa`` (``None``: the ``AIBOS_REDACTION_PROFILES`` env var, else secrets+pci+gdpr).
        strategy: ``mask``, ``partial``, ``hash`` or ``drop`` for everything, or a mapping from a
            detector id, key-rule id or category (profile) to a strategy; key ``"*"`` is the
            default. ``partial`` keeps the first 6 and last 4 digits of a card (PCI DSS) and masks
            anything else; ``hash`` writes a keyed HMAC-SHA256 pseudonym; ``drop`` removes the
            attribute (inside free text it masks).
        allow: values that are never redacted: exact strings, or compiled regexes (full match).
        allow_keys: attribute keys never redacted: exact keys, or compiled regexes (full match).
        extra_detectors: more :class:`Detector` s, e.g. from the policy file.
        disable: detector or key-rule ids to leave out.
        hash_key: the secret key for ``hash`` (else ``AIBOS_REDACTION_HASH_KEY``); required
            when any strategy is ``hash``.
        use_hyperscan: ``None`` = use it when installed; ``False`` forces the pure-``re`` path.
        clean_gate: ``False`` turns off the native clean gate before the first pass (results are
            the same either way; for comparisons).
        time_budget: seconds a text longer than 16 KiB may take; past it, the rest of the text
            is masked as ``[REDACTED:redaction-budget]`` (see
            :mod:`aibos_otel.redaction.longtext`). ``None``: no limit. Not given:
            ``AIBOS_REDACTION_TIME_BUDGET`` (seconds, or ``off``), else 0.3.
    """

    def __init__(
        self,
        profiles: Iterable[str] | str | None = None,
        *,
        strategy: str | Mapping[str, str] = "mask",
        allow: Iterable[str | re.Pattern[str]] = (),
        allow_keys: Iterable[str | re.Pattern[str]] = (),
        extra_detectors: Sequence[Detector] = (),
        disable: Iterable[str] = (),
        hash_key: bytes | str | None = None,
        use_hyperscan: bool | None = None,
        max_depth: int = 16,
        clean_gate: bool = True,
        time_budget: float | _FromEnv | None = FROM_ENV,
    ) -> None:
        self.profiles = resolve_profiles(profiles)
        disabled = frozenset(disable)
        detectors = [
            d for d in (*detectors_for(self.profiles), *_safe_custom(extra_detectors)) if d.id not in disabled
        ]
        ids = [d.id for d in detectors]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"duplicate detector ids: {duplicates}")
        self.detectors: tuple[Detector, ...] = tuple(detectors)
        self.key_rules: tuple[KeyRule, ...] = tuple(
            r for r in key_rules_for(self.profiles) if r.id not in disabled
        )
        self._key_res = [(rule, re.compile(rule.pattern)) for rule in self.key_rules]
        self._strategy = {"*": strategy} if isinstance(strategy, str) else {"*": "mask", **dict(strategy)}
        bad = sorted(set(self._strategy.values()) - set(STRATEGIES))
        if bad:
            raise ValueError(f"unknown strategy {bad}; known: {', '.join(STRATEGIES)}")
        key = hash_key if hash_key is not None else os.environ.get(HASH_KEY_ENV)
        if "hash" in self._strategy.values() and not key:
            raise ValueError(f"the hash strategy needs hash_key= or {HASH_KEY_ENV}")
        self._hash_key = key.encode() if isinstance(key, str) else key
        self._allow = _Allow(tuple(allow))
        self._allow_keys = _Allow(tuple(allow_keys))
        self._max_depth = max_depth
        self.time_budget = resolve_time_budget(time_budget)
        self._key_cache: dict[str, KeyRule | None] = {}
        self._keys = KeyValueFinder(
            self.key_rules, self.key_rule, self.key_allowed if self._allow_keys else None
        )
        # Key-rule findings are reported through the same machinery as detector findings.
        self._rule_detectors = {
            rule.id: Detector(
                id=rule.id,
                category=rule.category,
                pattern=r"(?!)",
                description=rule.description,
                collector=False,
                priority=_KEY_RULE_PRIORITY,
            )
            for rule in self.key_rules
        }
        self._budget_detector = Detector(
            id=BUDGET_ID,
            category="redaction",
            pattern=r"(?!)",
            description="the rest of a long text, masked when its time budget ran out",
            collector=False,
            priority=_BUDGET_PRIORITY,
        )
        words = key_keywords(self.key_rules)
        self.scanner = Scanner(
            self.detectors,
            use_hyperscan=use_hyperscan,
            trigger_words=words,
            trigger_expression=trigger_expression(words),
            clean_gate=clean_gate,
        )

    # -- text ------------------------------------------------------------------------------

    def redact_text(self, text: str) -> str:
        """Return ``text`` with every finding replaced (never raises; fails closed)."""
        if type(text) is not str:
            return self.redact(text).text
        try:
            if _past_shared_deadline():
                return BUDGET_MARKER
            if len(text) > LONG_TEXT:
                return self._redact_long(text).text
            candidates = self.scanner.candidates(text)
            if not candidates:
                return text  # the common case: no result object to build
            return self._redact_candidates(text, candidates).text
        except Exception:
            return ERROR_MARKER

    def redact(self, text: str, *, candidates: list[int] | None = None) -> RedactionResult:
        """Redact ``text`` and report counts per detector id. ``candidates`` (from a first pass
        over a text that contains this one) skips this text's own first pass."""
        if not isinstance(text, str):
            return RedactionResult(ERROR_MARKER, Counter({ERROR_ID: 1}), failures=1)
        try:
            if _past_shared_deadline():
                return RedactionResult(BUDGET_MARKER, Counter({BUDGET_ID: 1}), cut=0)
            if len(text) > LONG_TEXT:
                return self._redact_long(text)
            if candidates is None:
                candidates = self.scanner.candidates(text)
            else:
                candidates = self.scanner.keyword_filter(candidates, text)
            if not candidates:
                return RedactionResult(text)
            return self._redact_candidates(text, candidates)
        except Exception:
            return RedactionResult(ERROR_MARKER, Counter({ERROR_ID: 1}), failures=1)

    def _redact_candidates(self, text: str, candidates: list[int]) -> RedactionResult:
        """The work after a first pass that found ``candidates`` (not empty). May raise."""
        if _looks_like_json(text) and len(text) <= _MAX_JSON:
            parsed = self._redact_json(text)
            if parsed is not None:
                return parsed
        return self._apply(text, self._text_findings(text, candidates))

    def _redact_long(self, text: str) -> RedactionResult:
        """A text longer than ``LONG_TEXT``: slice by slice, its rest masked when the time
        budget runs out (longtext.py). May raise."""
        found = bounded(text, self._slice_findings, _within_shared(self.time_budget))
        findings = found.found
        if found.cut is not None:
            findings.append((found.cut, len(text), self._budget_detector))
        result = self._apply(text, findings)
        result.cut = found.cut
        return result

    def _slice_findings(self, text: str) -> list[Span]:
        candidates = self.scanner.candidates(text)
        return self._text_findings(text, candidates) if candidates else []

    def _text_findings(self, text: str, candidates: list[int]) -> list[Span]:
        """Every finding in ``text`` and its views, after a first pass that found ``candidates``."""
        findings = self._find(text, candidates)
        if candidates[-1] == self.scanner.trigger and needs_views(text):
            for view in views(text):
                for start, end, detector in self._find(view.text, self.scanner.candidates(view.text)):
                    raw_start, raw_end = view.span_to_raw(start, end)
                    findings.append((raw_start, raw_end, detector))
        return findings

    def _find(self, text: str, candidates: list[int]) -> list[Span]:
        """Value-detector findings, key-layer findings and credential pairs in ``text``."""
        if not candidates:
            return []
        findings = self.scanner.find_spans(text, candidates=candidates)
        if candidates[-1] == self.scanner.trigger:
            rule_detectors = self._rule_detectors
            findings.extend(
                [(start, end, rule_detectors[rule.id]) for start, end, rule in self._keys.find_spans(text)]
            )
        if findings:
            findings.extend(_pair_secrets(text, findings))
        return findings

    def _apply(self, text: str, findings: Sequence[Span]) -> RedactionResult:
        result = RedactionResult(text)
        if not findings:
            return result
        if self._allow:
            budget = self._budget_detector  # the masked rest of a cut text is never allow-listed
            findings = [f for f in findings if f[2] is budget or not self._allow.allows(text[f[0] : f[1]])]
        merged = _merge(findings)
        pieces: list[str] = []
        position = 0
        # Per detector once per text, not per region (a 1 MB line has 100 000 regions): its
        # strategy, and its replacement when that does not depend on the secret (mask, drop).
        fixed: dict[str, tuple[str, str | None]] = {}
        counts: Counter[str] = Counter()
        for start, end, detector in merged:
            pieces.append(text[position:start])
            known = fixed.get(detector.id)
            if known is None:
                # The budget's region is always masked: hashing or dropping the rest of a text
                # would hide that it was cut.
                strategy = (
                    "mask" if detector.id == BUDGET_ID else self.strategy_for(detector.id, detector.category)
                )
                constant = strategy not in ("partial", "hash")
                replacement = (
                    self._replacement(detector.id, detector.category, "", strategy) if constant else None
                )
                known = fixed[detector.id] = (strategy, replacement)
            strategy, replacement = known
            if replacement is None:
                replacement = self._replacement(detector.id, detector.category, text[start:end], strategy)
            pieces.append(replacement)
            counts[detector.id] += 1
            position = end
        pieces.append(text[position:])
        result.text = "".join(pieces)
        result.counts.update(counts)
        result.drop = any(strategy == "drop" for strategy, _ in fixed.values())
        return result

    def strategy_for(self, rule_id: str, category: str) -> str:
        """The strategy for a detector or key rule: by id, then category, then the default."""
        strategy = self._strategy
        return strategy.get(rule_id) or strategy.get(category) or strategy.get("*") or "mask"

    def _replacement(self, rule_id: str, category: str, secret: str, strategy: str) -> str:
        if strategy == "partial" and category == "pci" and rule_id.startswith("credit-card"):
            digits = digits_of(secret)
            return digits[:6] + "*" * (len(digits) - 10) + digits[-4:]
        if strategy == "hash" and self._hash_key:
            digest = hmac.new(self._hash_key, secret.encode("utf-8"), hashlib.sha256).hexdigest()
            return f"[HMAC:{rule_id}:{digest[:16]}]"
        return f"[REDACTED:{rule_id}]"

    def _redact_json(self, text: str) -> RedactionResult | None:
        try:
            document = json.loads(text)
        except ValueError:
            return None
        if not isinstance(document, (dict, list)):
            return None
        counts: Counter[str] = Counter()
        redacted = self._redact_value(document, counts, 0)
        if not counts:
            return None  # nothing structural: let the text pass decide
        dumped = json.dumps(redacted, ensure_ascii=False)
        return RedactionResult(dumped, counts, failures=counts.get(ERROR_ID, 0))

    # -- keys and structures ---------------------------------------------------------------

    def key_rule(self, key: str) -> KeyRule | None:
        """The key rule that makes ``key`` sensitive, if any (cached per key)."""
        cache = self._key_cache
        try:
            return cache[key]
        except KeyError:
            pass
        normalised = normalise_key(key)
        found = next((rule for rule, pattern in self._key_res if pattern.search(normalised)), None)
        if len(cache) >= _KEY_CACHE_LIMIT:
            cache.clear()
        cache[key] = found
        return found

    def key_allowed(self, key: str) -> bool:
        """True when ``key`` is on the key allowlist."""
        return bool(self._allow_keys) and self._allow_keys.allows(key)

    def start_shared_budget(self) -> contextvars.Token[float | None] | None:
        """From now until :meth:`end_shared_budget`, every value redacted in this context (a
        record's body and attributes) shares one time budget; past it, values are masked as
        ``[REDACTED:redaction-budget]``. Nested calls keep the outer budget."""
        if self.time_budget is None or _SHARED_DEADLINE.get() is not None:
            return None
        return _SHARED_DEADLINE.set(time.perf_counter() + self.time_budget)

    def end_shared_budget(self, token: contextvars.Token[float | None] | None) -> None:
        """End the budget :meth:`start_shared_budget` started (``None``: it started none)."""
        if token is not None:
            _SHARED_DEADLINE.reset(token)

    def redact_attributes(self, attributes: Mapping[str, Any]) -> dict[str, Any]:
        """Return a redacted copy of a mapping: key rules, nested values, lists, JSON strings."""
        counts: Counter[str] = Counter()
        return self.redact_mapping(attributes, counts)

    def redact_mapping(self, attributes: Mapping[str, Any], counts: Counter[str]) -> dict[str, Any]:
        """Like :meth:`redact_attributes`, adding to ``counts``."""
        result = self._redact_value(dict(attributes), counts, 0)
        return result if isinstance(result, dict) else {}

    def redact_value(
        self, key: str | None, value: Any, counts: Counter[str], *, candidates: list[int] | None = None
    ) -> Any:
        """Redact one attribute value under ``key``; returns the new value, or
        :data:`DROP` when the strategy removes the attribute. Never raises."""
        try:
            if key is not None:
                if self.key_allowed(key):
                    return value
                rule = self.key_rule(key)
                if rule is not None and value is not None and value != "":
                    return self._mask_by_key(rule, value, counts)
            return self._redact_value(value, counts, 0 if key is None else 1, candidates)
        except Exception:
            counts[ERROR_ID] += 1
            return ERROR_MARKER

    def _named_pair_rule(self, mapping: Mapping[Any, Any]) -> KeyRule | None:
        """The key rule of a name/value pair object (``{"name": "password", "value": ...}``,
        as in property lists and form fields), if its name is sensitive."""
        if "value" not in mapping:
            return None
        for field_name in ("name", "key", "Name", "Key"):
            name = mapping.get(field_name)
            if isinstance(name, str) and name and not self.key_allowed(name):
                return self.key_rule(name)
        return None

    def _mask_by_key(self, rule: KeyRule, value: Any, counts: Counter[str]) -> Any:
        strategy = self.strategy_for(rule.id, rule.category)
        counts[rule.id] += 1
        if strategy == "drop":
            return _DROP
        text = value if isinstance(value, str) else json.dumps(value, default=str, sort_keys=True)
        return self._replacement(rule.id, rule.category, text, strategy)

    def _redact_value(
        self,
        value: Any,
        counts: Counter[str],
        depth: int,
        candidates: list[int] | None = None,
        deadline: float | None = None,
    ) -> Any:
        """``deadline``: set by the first mapping or sequence of a walk, so a structure of many
        strings shares one time budget; past it, its remaining values are masked."""
        if value is None or isinstance(value, (bool, float)):
            return value
        if depth > self._max_depth:
            counts[ERROR_ID] += 1
            return ERROR_MARKER
        if isinstance(value, (Mapping, list, tuple)):
            if deadline is None:
                budget = _within_shared(self.time_budget)
                deadline = None if budget is None else time.perf_counter() + budget
            return self._redact_container(value, counts, depth, candidates, deadline)
        if isinstance(value, int) and abs(value) < 10**11:
            return value  # too short to be a card, account or national number
        if deadline is not None and time.perf_counter() > deadline:
            counts[BUDGET_ID] += 1
            return BUDGET_MARKER
        if isinstance(value, str):
            result = self.redact(value, candidates=candidates)
            counts.update(result.counts)
            return _DROP if result.drop and depth > 0 else result.text
        if isinstance(value, int):
            result = self.redact(str(value))
            counts.update(result.counts)
            return result.text if result.counts else value
        if isinstance(value, (bytes, bytearray)):
            decoded = bytes(value).decode("utf-8", "replace")
            result = self.redact(decoded)
            counts.update(result.counts)
            return result.text if result.counts else value
        # Any other object: judge its text form; an unrenderable object is masked (fail closed).
        result = self.redact(str(value))
        counts.update(result.counts)
        return result.text if result.counts else value

    def _redact_container(
        self,
        value: Mapping[Any, Any] | list[Any] | tuple[Any, ...],
        counts: Counter[str],
        depth: int,
        candidates: list[int] | None,
        deadline: float | None,
    ) -> Any:
        if isinstance(value, Mapping):
            out: dict[Any, Any] = {}
            named = self._named_pair_rule(value)
            for key, item in value.items():
                if named is not None and key == "value" and item is not None and item != "":
                    out[key] = self._mask_by_key(named, item, counts)
                    continue
                skey = str(key)
                if self.key_allowed(skey):
                    out[key] = item
                    continue
                rule = self.key_rule(skey)
                if rule is not None and item is not None and item != "":
                    new = self._mask_by_key(rule, item, counts)
                else:
                    new = self._redact_value(item, counts, depth + 1, candidates, deadline)
                if new is not _DROP:
                    out[key] = new
            return out
        items = [self._redact_value(item, counts, depth + 1, candidates, deadline) for item in value]
        return [ERROR_MARKER if item is _DROP else item for item in items]


DROP = _DROP
"""Returned by :meth:`Redactor.redact_value` when the attribute must be removed."""


def _past_shared_deadline() -> bool:
    deadline = _SHARED_DEADLINE.get()
    return deadline is not None and time.perf_counter() > deadline


def _within_shared(budget: float | None) -> float | None:
    """``budget`` seconds, or fewer when the shared deadline comes first."""
    deadline = _SHARED_DEADLINE.get()
    if deadline is None:
        return budget
    left = max(0.0, deadline - time.perf_counter())
    return left if budget is None else min(budget, left)


def _safe_custom(detectors: Sequence[Detector]) -> list[Detector]:
    """Detectors from outside the catalogue, each on a linear-time RE2 copy of its pattern: a
    user-registered pattern such as ``(a+)+$`` must not be able to stall the logging thread.
    A pattern RE2 refuses (back-references, look-around) is refused here, at registration,
    with :class:`aibos_otel.saferegex.UnsafePatternError` (a ``ValueError``) naming it."""
    if not detectors:
        return []
    from aibos_otel.saferegex import compile_external

    builtin = {id(d) for d in all_detectors()}
    out: list[Detector] = []
    for detector in detectors:
        if id(detector) in builtin:
            out.append(detector)  # the reviewed catalogue itself (tests register it one by one)
            continue
        compiled = compile_external(
            detector.pattern,
            what=f"custom redaction detector {detector.id!r}",
            ignore_case=detector.ignore_case,
        )
        copy = dataclasses.replace(detector)
        copy._compiled.append(compiled)  # type: ignore[arg-type]  # RE2 offers the re.Pattern API used here
        out.append(copy)
    return out


def _pair_secrets(text: str, findings: Sequence[Span]) -> list[Span]:
    """A random-looking secret written right after a found key id and a colon: the second half
    of a credential pair (``AKIA...:<secret access key>``)."""
    out: list[Span] = []
    for _, end, detector in findings:
        if end < len(text) and text[end] == ":" and detector.category == "secrets":
            match = _PAIR_SECRET.match(text, end)
            if match and random_looking(match.group(1)):
                out.append((match.start(1), match.end(1), detector))
    return out


def _looks_like_json(text: str) -> bool:
    stripped = text.strip()
    return len(stripped) > 1 and stripped[0] in "{[" and stripped[-1] in "}]"


def _merge(findings: Sequence[Span]) -> list[Span]:
    """Union of overlapping spans; each region is named by its highest-priority detector."""
    # By start, longest first: two stable sorts on C key functions (a Python key function per
    # finding was 35 ms of a keyword-dense 1 MB line's merge).
    ordered = sorted(findings, key=_END, reverse=True)
    ordered.sort(key=_START)
    merged: list[Span] = []
    last_end = -1
    for start, end, detector in ordered:
        if start < last_end:
            region_start, region_end, best = merged[-1]
            if (detector.priority, end - start) > (best.priority, region_end - region_start):
                best = detector
            last_end = max(region_end, end)
            merged[-1] = (region_start, last_end, best)
        else:
            last_end = end
            merged.append((start, end, detector))
    return merged


_START = operator.itemgetter(0)
_END = operator.itemgetter(1)


_DEFAULT: dict[tuple[str, ...], Redactor] = {}
_DEFAULT_LOCK = threading.Lock()


def default_redactor() -> Redactor:
    """The process-wide Redactor for the default profiles (``AIBOS_REDACTION_PROFILES``, else
    secrets+pci+gdpr), built once on first call and shared."""
    profiles = resolve_profiles(None)
    with _DEFAULT_LOCK:
        redactor = _DEFAULT.get(profiles)
        if redactor is None:
            redactor = _DEFAULT[profiles] = Redactor(profiles)
        return redactor
