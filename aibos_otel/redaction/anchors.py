"""Where a detector's matches can start: the literal words that begin every one of them.

``secret-keyword-value`` is ``(?i)\\b(?:token|api...|key|secret|...)...``. Python's ``re`` skips
ahead to a possible first character only for a case-sensitive literal start; for this pattern
(case-insensitive, behind ``\\b``) a search tries every position of the text: 6.3 us on a
100-character log line that holds the word "key" once. With the native extension, one
Aho-Corasick pass (``aibos_otel_native.WordStarts``) tells where the words start, and the
detector's regex is tried only there, with ``regex.match(text, position)`` -- which sees the
text before the position as a search does (look-behinds, ``\\b``). The matches, and their
order, are the ones ``finditer`` gives (:meth:`aibos_otel.redaction.scanner.Scanner.find`).
Without the extension every detector keeps its ``finditer``.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from re import _constants as sre_constants  # type: ignore[attr-defined]
from re import _parser as sre_parse  # type: ignore[attr-defined]
from typing import Any, Protocol

from aibos_otel.redaction.detector import Detector

MIN_WORD = 3
"""Shorter leading words occur too often in text to be worth finding first."""

_ZERO_WIDTH = (sre_constants.AT, sre_constants.ASSERT, sre_constants.ASSERT_NOT)


class WordFinder(Protocol):
    """The native word finder (``aibos_otel_native.WordStarts``)."""

    def find(self, text: str) -> list[int]:
        """The sorted offsets at which one of the words starts (ASCII case-insensitively)."""


def word_starts(detector: Detector) -> WordFinder | None:
    """A finder for the words one of which begins every match of ``detector``; ``None`` when
    the pattern does not start with literal words of at least :data:`MIN_WORD` ASCII
    characters, when ``re`` finds its starts quickly itself (a case-sensitive literal first),
    when it is not compiled by ``re``, or without the native extension."""
    if not isinstance(detector.regex, re.Pattern):
        return None  # RE2 (custom detectors): its match(pos) is not documented to see before pos
    words = _words_of(detector.pattern, detector.ignore_case)
    if words is None:
        return None
    try:
        from aibos_otel_native import WordStarts
    except ImportError:
        return None
    finder: WordFinder = WordStarts(list(words))
    return finder


# Every Redactor (each policy file's, each test's) reads the whole catalogue.
@functools.lru_cache(maxsize=2048)
def _words_of(pattern: str, ignore_case: bool) -> tuple[str, ...] | None:
    try:
        parsed = sre_parse.parse(pattern, re.ASCII | (re.IGNORECASE if ignore_case else 0))
    except re.error:
        return None
    items = list(parsed)
    caseless = bool(parsed.state.flags & sre_constants.SRE_FLAG_IGNORECASE)
    if not caseless and items and items[0][0] not in _ZERO_WIDTH:
        return None  # re's own prefix scan already skips to the first literal
    words = _prefixes(items)
    if not words or any(len(word) < MIN_WORD or not word.isascii() for word in words):
        return None
    return tuple(sorted({word.lower() for word in words}))


def _prefixes(items: list[Any]) -> list[str] | None:
    """The literal prefixes of a parsed sequence (one per alternative), ``None`` when some
    alternative starts with anything but a literal."""
    position = 0
    while position < len(items) and items[position][0] in _ZERO_WIDTH:
        position += 1  # assertions consume nothing: the match starts after them
    if position == len(items):
        return None
    op, arg = items[position]
    if op is sre_constants.LITERAL:
        word = ""
        while position < len(items) and items[position][0] is sre_constants.LITERAL:
            word += chr(items[position][1])
            position += 1
        return [word]
    if op is sre_constants.SUBPATTERN:
        return _prefixes(list(arg[3]))
    if op is sre_constants.BRANCH:
        found: list[str] = []
        for branch in arg[1]:
            prefixes = _prefixes(list(branch))
            if prefixes is None:
                return None
            found.extend(prefixes)
        return found
    return None


def matches_at_starts(regex: re.Pattern[str], text: str, starts: list[int]) -> Iterator[re.Match[str]]:
    """What ``regex.finditer(text)`` yields when every match of ``regex`` begins at one of
    ``starts`` (sorted offsets): ``regex`` tried at each, resuming after a match as finditer does."""
    end = 0
    for start in starts:
        if start < end:
            continue
        match = regex.match(text, start)
        if match is not None:
            yield match
            end = max(match.end(), start + 1)
