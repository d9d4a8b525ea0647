"""Canonical views of a text, scanned besides the raw text, with spans mapped back to it.

A secret written in an unusual form keeps its shape in a canonical form: a card with NBSPs or
en dashes between its groups, an e-mail address percent-encoded in a query string
(``alice%40example.com``), a key split by a zero-width space or a soft hyphen, full-width
digits. The engine scans each view with the same detectors and key rules, maps every finding
back to the raw span it came from, and masks that.

Views, each built only when a cheap check says the text contains something it changes (most
log lines are ASCII without ``%``, and cost nothing here):

* **percent** -- ``%XX`` runs decoded (UTF-8; bytes that are not UTF-8 stay escaped), twice at
  most (``%253D`` is ``%3D`` is ``=``);
  check: ``"%"`` in the text, then one regex search;
* **unicode** -- format characters that render as nothing (zero-width space / joiners, word
  joiner, BOM, soft hyphen) removed, then every other non-ASCII character folded to one ASCII
  character: space separators to ``" "``, dashes to ``"-"``, full-width forms and other digits
  to ASCII, accented letters to their base letter, any other letter to ``"x"`` (so an
  internationalised e-mail address keeps an e-mail address's shape); check: ``not isascii()``.

The fold is one-to-one (``str.translate``, C speed); only removals and decodings move offsets,
recorded as a short list of edits and mapped with a binary search.
"""

from __future__ import annotations

import codecs
import re
import unicodedata
from bisect import bisect_left, bisect_right
from collections.abc import Iterator
from urllib.parse import unquote_to_bytes

_PERCENT_RUN = re.compile(r"(?:%[0-9A-Fa-f]{2})+")
# Characters that render as nothing; a secret split by them reads as one token to a person.
_INVISIBLE = re.compile(
    "[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180e\u200b-\u200f\u202a-\u202e"
    "\u2060-\u2064\u2066-\u206f\ufeff]+"
)
_MAX_FOLD_TABLE = 65536


class View:
    """A transformed text and the map from its offsets back to the text it came from."""

    __slots__ = ("_parent", "_raw_ends", "_raw_starts", "_view_ends", "_view_starts", "text")

    def __init__(self, text: str, edits: list[tuple[int, int, int, int]], parent: View | None = None) -> None:
        """``edits``: (view_start, view_end, raw_start, raw_end) of every changed run, in order;
        outside them the view and the raw text advance together."""
        self.text = text
        self._view_starts = [e[0] for e in edits]
        self._view_ends = [e[1] for e in edits]
        self._raw_starts = [e[2] for e in edits]
        self._raw_ends = [e[3] for e in edits]
        self._parent = parent

    def span_to_raw(self, start: int, end: int) -> tuple[int, int]:
        """The raw span a view span ``[start, end)`` came from (widened to whole edits)."""
        raw_start, raw_end = self._start_to_raw(start), self._end_to_raw(end)
        if self._parent is not None:
            return self._parent.span_to_raw(raw_start, raw_end)
        return raw_start, raw_end

    def _start_to_raw(self, position: int) -> int:
        index = bisect_right(self._view_starts, position) - 1
        if index < 0:
            return position
        if position < self._view_ends[index]:
            return self._raw_starts[index]
        return self._raw_ends[index] + position - self._view_ends[index]

    def _end_to_raw(self, position: int) -> int:
        index = bisect_left(self._view_starts, position) - 1
        if index < 0:
            return position
        if position <= self._view_ends[index]:
            return self._raw_ends[index]
        return self._raw_ends[index] + position - self._view_ends[index]


def _rewrite(text: str, pattern: re.Pattern[str], replace: object, parent: View | None) -> View | None:
    """A view replacing every match of ``pattern`` (``replace``: a string or a function of the
    match text); ``None`` when nothing changes."""
    if isinstance(replace, str):
        return _rewrite_constant(text, pattern, replace, parent)
    pieces: list[str] = []
    edits: list[tuple[int, int, int, int]] = []
    position = 0
    length = 0  # length of the view built so far
    for match in pattern.finditer(text):
        start, end = match.span()
        pieces.append(text[position:start])
        length += start - position
        new = replace if isinstance(replace, str) else replace(match.group())  # type: ignore[operator]
        if new == match.group():
            pieces.append(new)
            length += len(new)
            position = end
            continue
        pieces.append(new)
        edits.append((length, length + len(new), start, end))
        length += len(new)
        position = end
    if not edits:
        return None
    pieces.append(text[position:])
    return View("".join(pieces), edits, parent)


def _rewrite_constant(text: str, pattern: re.Pattern[str], replace: str, parent: View | None) -> View | None:
    """:func:`_rewrite` for a constant replacement: ``pattern.sub`` builds the text in C and
    the edits come from the match spans alone (1 MB of zero-width-split text is 80 000
    matches: a Python loop per match was 0.2 s)."""
    spans = [match.span() for match in pattern.finditer(text)]
    if replace:
        spans = [(start, end) for start, end in spans if text[start:end] != replace]
    if not spans:
        return None
    size = len(replace)
    edits: list[tuple[int, int, int, int]] = []
    shift = 0  # view offset minus raw offset so far
    for start, end in spans:
        view_start = start + shift
        edits.append((view_start, view_start + size, start, end))
        shift += size - (end - start)
    return View(pattern.sub(replace, text), edits, parent)


def _keep_escaped(error: UnicodeError) -> tuple[str, int]:
    """Bytes that are not UTF-8 stay as the ``%XX`` they were written as (not U+FFFD): the view
    stays ASCII unless real UTF-8 was encoded, so the Hyperscan first pass can take it. With
    U+FFFD, 1 MB of random text gave a non-ASCII view and a first pass over every detector's
    keywords instead (2.7 s, issue 12)."""
    assert isinstance(error, UnicodeDecodeError)
    bad = error.object[error.start : error.end]
    return "".join(f"%{byte:02X}" for byte in bad), error.end


codecs.register_error("aibos-keep-percent", _keep_escaped)


def _decode(run: str) -> str:
    return unquote_to_bytes(run).decode("utf-8", errors="aibos-keep-percent")


def percent_view(text: str, parent: View | None = None) -> View | None:
    """``text`` with its ``%XX`` runs decoded, or ``None`` when it has none."""
    if "%" not in text or _PERCENT_RUN.search(text) is None:
        return None
    return _rewrite(text, _PERCENT_RUN, _decode, parent)


class _FoldTable(dict[int, str]):
    """``str.translate`` table filled on demand: each non-ASCII character to one ASCII one."""

    def __missing__(self, code: int) -> str:
        folded = fold_char(chr(code))
        if len(self) < _MAX_FOLD_TABLE:
            self[code] = folded
        return folded


def fold_char(char: str) -> str:
    """One ASCII character standing for ``char`` (which is not ASCII) in the unicode view."""
    category = unicodedata.category(char)
    if category == "Zs":
        return " "
    if category == "Pd" or char == "\u2212":  # dashes, minus sign
        return "-"
    if 0xFF01 <= ord(char) <= 0xFF5E:  # full-width ASCII forms
        return chr(ord(char) - 0xFEE0)
    digit = unicodedata.digit(char, None)
    if digit is not None and category == "Nd":
        return str(digit)
    if category.startswith("L"):
        base = unicodedata.normalize("NFKD", char)[:1]
        return base if base.isascii() and base.isalpha() else "x"
    if category in ("Cc", "Zl", "Zp"):
        return " "
    return "~"  # symbols and punctuation: a character no detector treats as part of a token


_FOLD = _FoldTable({code: chr(code) for code in range(128)})  # ASCII maps to itself


def unicode_view(text: str) -> View | None:
    """``text`` without invisible characters and folded to ASCII, or ``None`` when ASCII."""
    if text.isascii():
        return None
    stripped = _rewrite(text, _INVISIBLE, "", None)
    base = stripped.text if stripped is not None else text
    folded = base.translate(_FOLD)
    if stripped is None:
        return View(folded, [])
    stripped.text = folded  # one-to-one: the stripped view's offsets still hold
    return stripped


def views(text: str) -> Iterator[View]:
    """Every view of ``text`` that differs from it (none for plain ASCII without ``%``)."""
    decoded = percent_view(text)
    if decoded is not None:
        yield decoded
        twice = percent_view(decoded.text, decoded)
        if twice is not None:
            yield twice
        if not decoded.text.isascii():
            folded = unicode_view(decoded.text)
            if folded is not None:
                yield View(folded.text, _edits_of(folded), decoded)
    folded = unicode_view(text)
    if folded is not None:
        yield folded


def needs_views(text: str) -> bool:
    """The cheap check: could any view differ from ``text``?"""
    return not text.isascii() or "%" in text


def _edits_of(view: View) -> list[tuple[int, int, int, int]]:
    return list(zip(view._view_starts, view._view_ends, view._raw_starts, view._raw_ends, strict=True))
