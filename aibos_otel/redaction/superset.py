r"""A detector's pattern rewritten as a regex for Rust's ``regex`` crate that matches a superset.

The clean gate (:mod:`aibos_otel.redaction.gate`) runs these in the native extension, with
the GIL held, on short ASCII texts: a text none of them matches is proven clean, and the ones
that match are the first pass's candidates. Python's regex still decides every match, so the
rewrite only has to keep every match (a superset), never to be exact:

* look-arounds and back-references have no Rust form: a look-around becomes nothing (it only
  ever removes matches), a back-reference becomes "anything" -- except at the pattern's edges:
  a look-behind at its start for one character not in a class, ``(?<![A-Za-z0-9])``, becomes
  that character (or the text's start) consumed, ``(?:\A|[^A-Za-z0-9])``, and a look-ahead at
  its end likewise (``(?:[^...]|\z)``); a look-behind for a literal at the start becomes the
  literal. Whether *some* match exists is unchanged by this (nothing else is consumed there),
  and it is what keeps the clean gate's lazy DFAs small: a detector's match can then start only
  at a token's edge, not at each of the 32 positions of a hex trace id;
* counted repeats are loosened as for Hyperscan (:func:`~aibos_otel.redaction.scanner.relax_repeats`
  has the reason): a lower bound above 16 becomes 16, a large upper bound becomes none;
* character classes are written out with ASCII semantics (``re.ASCII``, as the detectors
  compile); non-ASCII members are left out, since the texts judged are ASCII, and a non-ASCII
  literal becomes a class that matches no ASCII byte;
* a detector that needs a context word gets the words in front, then anything.

It works on the parse tree of Python's own ``re`` parser, so what it reads is exactly what
``re`` compiles; a construct it does not know raises :class:`UnsupportedPatternError` and that
detector goes unchecked (its shape gates alone decide), never unguarded.
"""

from __future__ import annotations

import functools
import re
from re import _constants as sre_constants  # type: ignore[attr-defined]
from re import _parser as sre_parse  # type: ignore[attr-defined]
from typing import Any

from aibos_otel.redaction.detector import Detector

MAX_REPEAT_BOUND = 16
_NO_ASCII_BYTE = r"[^\x00-\x7F]"  # the texts judged are ASCII: this never matches
_ANY_BYTE = r"(?s:.)"
_CATEGORIES = {
    sre_constants.CATEGORY_DIGIT: r"0-9",
    sre_constants.CATEGORY_NOT_DIGIT: r"\x00-/:-\xFF",
    sre_constants.CATEGORY_SPACE: r"\t\n\x0B\x0C\r ",
    sre_constants.CATEGORY_NOT_SPACE: r"\x00-\x08\x0E-\x1F!-\xFF",
    sre_constants.CATEGORY_WORD: r"0-9A-Za-z_",
    sre_constants.CATEGORY_NOT_WORD: r"\x00-/:-@\[-\^`\{-\xFF",
}
_ANCHORS = {
    sre_constants.AT_BEGINNING: "^",
    sre_constants.AT_BEGINNING_STRING: r"\A",
    sre_constants.AT_BEGINNING_LINE: "(?m:^)",
    sre_constants.AT_END: "(?m:$)",  # Python's $ also matches before a final newline: a superset
    sre_constants.AT_END_STRING: r"\z",
    sre_constants.AT_END_LINE: "(?m:$)",
    sre_constants.AT_BOUNDARY: r"\b",
    sre_constants.AT_NON_BOUNDARY: r"\B",
}
_REPEATS = (sre_constants.MAX_REPEAT, sre_constants.MIN_REPEAT, sre_constants.POSSESSIVE_REPEAT)


class UnsupportedPatternError(ValueError):
    """The pattern holds a construct this rewrite does not know."""


def superset_pattern(detector: Detector) -> str:
    """The Rust regex (bytes, Unicode off) for ``detector``: matches wherever it can match."""
    # After a context word and "anything", a consumed look-behind character could be the
    # word's own last character: the start stays a plain look-around (nothing) there.
    body = rust_superset(detector.pattern, ignore_case=detector.ignore_case, lead=not detector.context)
    if not detector.context:
        return body
    words = "|".join(_literal(word) for word in detector.context if word.isascii())
    if not words:
        return _NO_ASCII_BYTE
    return f"(?i:{words}){_ANY_BYTE}*(?:{body})"


# Every Redactor (a policy file's, each test's) rewrites the whole catalogue: about 20 ms of
# sre_parse per Redactor without the cache.
@functools.lru_cache(maxsize=2048)
def rust_superset(pattern: str, *, ignore_case: bool = False, lead: bool = True) -> str:
    """``pattern`` (Python syntax, compiled with ``re.ASCII``) as a Rust regex matching a superset;
    ``lead``: its leading look-behinds may consume (false when something precedes it)."""
    try:
        parsed = sre_parse.parse(pattern, re.ASCII | (re.IGNORECASE if ignore_case else 0))
    except re.error as error:
        raise UnsupportedPatternError(str(error)) from error
    flags = parsed.state.flags
    prefix = "(?i)" if flags & sre_constants.SRE_FLAG_IGNORECASE else ""
    return prefix + _edged(list(parsed), flags, lead=lead, trail=True)


def _sequence(items: Any, flags: int) -> str:
    return "".join(_node(op, arg, flags) for op, arg in items)


# -- the pattern's edges: look-arounds that can consume ------------------------------------------


def _edged(items: list[Any], flags: int, *, lead: bool, trail: bool) -> str:
    """``items`` rendered with the look-behinds at its start consumed (``lead``: nothing of the
    match precedes them) and the look-aheads at its end consumed (``trail``: nothing follows)."""
    tail = ""
    if trail:
        ahead: list[str] = []
        while items and items[-1][0] in _LOOK_AROUNDS and items[-1][1][0] == 1:
            ahead.extend(_excluded_chars(items[-1]))
            items = items[:-1]
        tail = f"(?:[^{''.join(ahead)}]|\\z)" if ahead else ""
    head = ""
    if lead:
        count = 0
        while count < len(items) and items[count][0] in _LOOK_AROUNDS and items[count][1][0] == -1:
            count += 1
        head = _consumed_look_behinds(items[:count], flags)
        items = items[count:]
    lead, trail = lead and not head, trail and not tail
    if not items:
        return head + tail
    first = _edged_group(items[0], flags, lead=lead, trail=trail and len(items) == 1)
    if len(items) == 1:
        return head + (first if first is not None else _sequence(items, flags)) + tail
    last = _edged_group(items[-1], flags, lead=False, trail=trail)
    return (
        head
        + (first if first is not None else _sequence(items[:1], flags))
        + _sequence(items[1:-1], flags)
        + (last if last is not None else _sequence(items[-1:], flags))
        + tail
    )


def _consumed_look_behinds(items: list[Any], flags: int) -> str:
    """The look-behinds at a pattern's start as what they see, consumed: ``(?<=/bot)`` alone is
    ``/bot``; negative one-character ones are one character of none of their classes, or the
    text's start. The rest (several characters) only ever remove matches: left out."""
    if len(items) == 1 and items[0][0] is sre_constants.ASSERT:
        body = items[0][1][1]
        if all(op is sre_constants.LITERAL and arg < 128 for op, arg in body):
            return _sequence(body, flags)
        return ""
    excluded = [member for item in items for member in _excluded_chars(item)]
    return f"(?:\\A|[^{''.join(excluded)}])" if excluded else ""


def _edged_group(item: Any, flags: int, *, lead: bool, trail: bool) -> str | None:
    """A lone group or alternation with its edges consumed inside (``None``: not one)."""
    op, arg = item
    if op is sre_constants.BRANCH:
        return "(?:" + "|".join(_edged(list(b), flags, lead=lead, trail=trail) for b in arg[1]) + ")"
    if op is sre_constants.SUBPATTERN and not (arg[1] or arg[2]):  # no flag changes inside
        return "(?:" + _edged(list(arg[3]), flags, lead=lead, trail=trail) + ")"
    return None


_LOOK_AROUNDS = (sre_constants.ASSERT, sre_constants.ASSERT_NOT)


def _excluded_chars(item: Any) -> list[str]:
    """For a negative look-around, the class members (Rust syntax) of its one-character
    alternatives: the next (or previous) character is none of them. ``[]`` otherwise."""
    op, (_direction, body) = item
    if op is not sre_constants.ASSERT_NOT:
        return []
    branches = body[0][1][1] if len(body) == 1 and body[0][0] is sre_constants.BRANCH else [body]
    members: list[str] = []
    for branch in branches:
        if len(branch) != 1:
            continue  # several characters: only their whole sequence is excluded
        kind, value = branch[0]
        if kind is sre_constants.LITERAL and value < 128:
            members.append(_byte(value))
        elif kind is sre_constants.IN and value and value[0][0] is not sre_constants.NEGATE:
            rendered = _class(value)
            if rendered.startswith("[") and not rendered.startswith("[^"):
                members.append(rendered[1:-1])
        elif kind is sre_constants.CATEGORY and value in _POSITIVE_CATEGORIES:
            members.append(_CATEGORIES[value])
    return members


_POSITIVE_CATEGORIES = (
    sre_constants.CATEGORY_DIGIT,
    sre_constants.CATEGORY_SPACE,
    sre_constants.CATEGORY_WORD,
)


def _byte(code: int) -> str:
    char = chr(code)
    return char if char.isascii() and char.isalnum() else f"\\x{code:02X}"


def _literal(text: str) -> str:
    return "".join(_byte(ord(char)) for char in text)


def _class(items: Any) -> str:
    negate = False
    members: list[str] = []
    for op, arg in items:
        if op is sre_constants.NEGATE:
            negate = True
        elif op is sre_constants.LITERAL:
            if arg < 128:
                members.append(_byte(arg))
        elif op is sre_constants.RANGE:
            low, high = arg
            if low < 128:
                members.append(f"{_byte(low)}-{_byte(min(high, 127))}")
        elif op is sre_constants.CATEGORY:
            members.append(_CATEGORIES[arg])
        else:
            raise UnsupportedPatternError(f"class member {op}")
    if not members:  # only non-ASCII members: no ASCII byte, or (negated) every byte
        return _ANY_BYTE if negate else _NO_ASCII_BYTE
    return "[" + ("^" if negate else "") + "".join(members) + "]"


def _repeat(arg: Any, flags: int) -> str:
    low, high, sub = arg
    body = f"(?:{_sequence(sub, flags)})"
    relaxed = min(low, MAX_REPEAT_BOUND)
    if high is sre_constants.MAXREPEAT or high > MAX_REPEAT_BOUND or relaxed != low:
        return f"{body}{{{relaxed},}}"
    return f"{body}{{{low},{high}}}"


def _group(arg: Any, flags: int) -> str:
    _number, add, remove, sub = arg
    inner_flags = (flags | add) & ~remove
    inner = _sequence(sub, inner_flags)
    if (add | remove) & sre_constants.SRE_FLAG_IGNORECASE:
        case = "i" if inner_flags & sre_constants.SRE_FLAG_IGNORECASE else "-i"
        return f"(?{case}:{inner})"
    return f"(?:{inner})"


def _node(op: Any, arg: Any, flags: int) -> str:
    if op is sre_constants.LITERAL:
        return _byte(arg) if arg < 128 else _NO_ASCII_BYTE
    if op is sre_constants.NOT_LITERAL:
        return f"[^{_byte(arg)}]" if arg < 128 else _ANY_BYTE
    if op is sre_constants.ANY:
        return _ANY_BYTE if flags & sre_constants.SRE_FLAG_DOTALL else r"[^\n]"
    if op is sre_constants.IN:
        return _class(arg)
    if op is sre_constants.CATEGORY:
        return f"[{_CATEGORIES[arg]}]"
    if op in _REPEATS:
        return _repeat(arg, flags)
    if op is sre_constants.SUBPATTERN:
        return _group(arg, flags)
    if op is sre_constants.ATOMIC_GROUP:
        return f"(?:{_sequence(arg, flags)})"
    if op is sre_constants.BRANCH:
        return "(?:" + "|".join(_sequence(branch, flags) for branch in arg[1]) + ")"
    if op in (sre_constants.ASSERT, sre_constants.ASSERT_NOT):
        return ""  # a look-around only removes matches
    if op is sre_constants.AT:
        return _ANCHORS[arg]
    if op is sre_constants.GROUPREF:
        return f"{_ANY_BYTE}*"
    if op is sre_constants.GROUPREF_EXISTS:
        _group_number, yes, no = arg
        return f"(?:{_sequence(yes, flags)}|{_sequence(no, flags) if no else ''})"
    raise UnsupportedPatternError(f"construct {op}")
