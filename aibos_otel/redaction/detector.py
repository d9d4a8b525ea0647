"""The detector model: one named pattern with its validator, keywords and tested examples.

A :class:`Detector` is plain data, so the policy file, a service or a test can build one and
pass it to :class:`aibos_otel.redaction.Redactor` through ``extra_detectors``. Patterns are
strings in Python ``re`` syntax, compiled lazily (once) with ``re.ASCII``; the secret part of a
match is the named group ``secret`` when the pattern has one, else the whole match.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

PROFILES: tuple[str, ...] = ("secrets", "pci", "gdpr", "hipaa")
"""The redaction profiles; every detector belongs to exactly one (its ``category``)."""

DEFAULT_PROFILES: tuple[str, ...] = ("secrets", "pci", "gdpr")


@dataclass(frozen=True, eq=False)
class Detector:
    """A value detector.

    Attributes:
        id: stable identifier, used in the ``[REDACTED:<id>]`` marker and in metrics.
        category: the profile it belongs to: ``secrets``, ``pci``, ``gdpr`` or ``hipaa``.
        pattern: Python regular expression (ASCII semantics); group ``secret`` marks what to mask.
        description: one line for ``aibos-otel redaction list``.
        group: a sub-heading for the listing (``cloud``, ``vcs``, ``payment`` ...).
        keywords: lower-case literals, at least one of which must occur (case-insensitively)
            in the text for the detector to run -- the cheap prefilter, as in gitleaks.
            Empty means the detector always runs.
        validator: called with the secret text of a candidate; ``False`` rejects it.
        context: words of which one must occur (case-insensitively) within ``context_window``
            characters before the match (for shapes that are ambiguous without context).
        ignore_case: compile the pattern with ``re.IGNORECASE``.
        examples: lines that must be redacted by this detector (checked by the test suite).
        negatives: lines this detector must leave alone (checked by the test suite).
        collector: render it for the collector's second line when its pattern is RE2-safe
            and it needs no validator or context.
        priority: on overlapping matches the higher priority names the redaction.
        min_digits: a match always holds at least this many ASCII digits; texts with fewer
            skip the detector (a cheap gate for the pure-``re`` first pass; must be a true
            lower bound, which the catalogue tests check on every example).
        shrink: when the validator rejects a match, retry it without its last space- or
            dash-separated group (repeatedly): grouped numbers such as IBANs may be followed by
            a word the pattern cannot tell apart ("... 0130 00 bic=...").
    """

    id: str
    category: str
    pattern: str
    description: str
    group: str = "other"
    keywords: tuple[str, ...] = ()
    validator: Callable[[str], bool] | None = None
    context: tuple[str, ...] = ()
    context_window: int = 48
    ignore_case: bool = False
    examples: tuple[str, ...] = ()
    negatives: tuple[str, ...] = ()
    collector: bool = True
    priority: int = 50
    shrink: bool = False
    min_digits: int = 0
    _compiled: list[re.Pattern[str]] = field(default_factory=list, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[a-z0-9][a-z0-9-]*", self.id):
            raise ValueError(f"detector id must be lower-case kebab-case: {self.id!r}")
        if any(k != k.lower() for k in self.keywords):
            raise ValueError(f"detector {self.id}: keywords must be lower-case")

    @property
    def regex(self) -> re.Pattern[str]:
        """The compiled pattern (compiled on first use, then cached on the instance)."""
        if not self._compiled:
            flags = re.ASCII | (re.IGNORECASE if self.ignore_case else 0)
            self._compiled.append(re.compile(self.pattern, flags))
        return self._compiled[0]

    @property
    def secret_group(self) -> str | int:
        """The group whose span is masked."""
        return "secret" if "secret" in self.regex.groupindex else 0


@dataclass(frozen=True)
class KeyRule:
    """A sensitive attribute-key rule: a matching key has its whole value masked.

    ``pattern`` is searched in the normalised key: camelCase split, lower case, and every run of
    other characters turned into ``_``, so ``X-Api-Key``, ``x.api_key`` and ``xApiKey`` are all
    ``x_api_key``.

    ``keywords`` are lower-case literals of which one occurs in every key the rule matches (as
    written in text, before normalisation): the prefilter of the key-aware layer in free text
    (:mod:`aibos_otel.redaction.keyvalue`), checked against the examples by the test suite.
    """

    id: str
    category: str
    pattern: str
    description: str
    examples: tuple[str, ...] = ()
    negatives: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
