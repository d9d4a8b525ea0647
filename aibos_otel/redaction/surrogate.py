"""An ASCII stand-in for a non-ASCII text, so the Hyperscan first pass can take it too.

Why: Hyperscan scans bytes and the prefilter database is ASCII; a text with one non-ASCII
character went to the pure-``re`` first pass over every detector's keywords, and then every
keyword-less detector ran its regex (1 MB of card digits split by NBSPs: 0.5 s, issue 12).

The stand-in replaces every non-ASCII character by NUL, one for one (offsets unchanged). The
detectors compile with ``re.ASCII``: a non-ASCII character is then no digit, word or space
character, no case variant of an ASCII letter, and no line break, so it is matched only by
``.``, negated classes and ``\\D \\W \\S`` -- exactly like NUL, unless the pattern names NUL
itself (a literal, or a range from ``\\x00``). For every other detector a match in the text is
a match at the same offsets in the stand-in, which is ASCII: the Hyperscan prefilter (a
superset of the Python regex on ASCII text) reports it. Detectors that name NUL, or do not
compile with ``re.ASCII`` (custom ones on RE2), are candidates on every non-ASCII text.

The keyword rule still looks at the lower-cased text itself. A context word (ASCII) found in
it sits on ASCII characters of the text -- unless a character lower-cases to ASCII (KELVIN
SIGN) or changes length (U+0130), so texts with those keep the pure-``re`` first pass.
"""

from __future__ import annotations

import functools
import re
from re import _constants as sre_constants  # type: ignore[attr-defined]
from re import _parser as sre_parse  # type: ignore[attr-defined]
from typing import Any

from aibos_otel.redaction.detector import Detector

# Every non-ASCII character whose lower case is ASCII or has another length (checked over all
# of Unicode by tests/redaction/test_fast_paths_unicode.py).
LOWER_CASE_SURPRISES = "\u0130\u212a"
_NON_ASCII = re.compile(r"[^\x00-\x7f]")


def stand_in(text: str) -> bytes:
    """``text`` as ASCII bytes with each non-ASCII character replaced by NUL."""
    if "?" not in text:
        # C speed: the codec's own "replace" writes one "?" per character, and no "?" was there.
        return text.encode("ascii", "replace").replace(b"?", b"\0")
    return _NON_ASCII.sub("\0", text).encode("ascii")


def lower_case_safe(text: str) -> bool:
    """Whether the keyword and context checks on ``text.lower()`` see the stand-in's offsets."""
    return not any(char in text for char in LOWER_CASE_SURPRISES)


def nul_blind(detector: Detector) -> bool:
    """True when ``detector``'s regex treats NUL exactly as any non-ASCII character (see the
    module docstring); False means it must run on every non-ASCII text the keywords allow."""
    regex: Any = detector.regex
    if not isinstance(regex, re.Pattern) or not regex.flags & re.ASCII or not detector.pattern.isascii():
        return False
    return _blind(regex.pattern, regex.flags)


@functools.lru_cache(maxsize=1024)
def _blind(pattern: str, flags: int) -> bool:
    try:
        parsed = sre_parse.parse(pattern, flags)
    except Exception:  # compiled fine above, so this is not expected; stay safe
        return False
    return not _names_nul(parsed)


def _names_nul(node: Any) -> bool:
    """Whether a parsed (sub)pattern names NUL, or turns on the UNICODE flag locally."""
    if isinstance(node, sre_parse.SubPattern):
        node = node.data
    if not isinstance(node, (list, tuple)):
        return False
    for item in node:
        if isinstance(item, sre_parse.SubPattern):
            if _names_nul(item):
                return True
            continue
        if not (
            isinstance(item, tuple)
            and len(item) == 2
            and isinstance(item[0], sre_constants._NamedIntConstant)
        ):
            if isinstance(item, (list, tuple)) and _names_nul(item):
                return True
            continue
        op, arg = item
        if op in (sre_constants.LITERAL, sre_constants.NOT_LITERAL) and arg == 0:
            return True
        if op is sre_constants.RANGE and arg[0] == 0:
            return True
        if op is sre_constants.SUBPATTERN and arg[1] & sre_constants.SRE_FLAG_UNICODE:
            return True
        if isinstance(arg, (list, tuple, sre_parse.SubPattern)) and _names_nul(arg):
            return True
    return False
