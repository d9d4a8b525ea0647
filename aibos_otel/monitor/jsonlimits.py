"""JSON from outside the process, parsed with bounds on nesting depth and number size.

``json.loads`` on its own is not safe for hostile input: 100 000 nested brackets raise
``RecursionError``, a 5000-digit integer raises ``ValueError`` (Python's integer-string limit),
and neither is a ``JSONDecodeError``, so a handler that catches only that drops the connection
with a traceback. :func:`loads_bounded` turns every such body into one :class:`JsonLimitError`
whose message a 400 answer can carry.

Depth is checked before parsing, without recursion: strings are blanked out, the brackets left
are summed (+1 open, -1 close) and the running maximum compared with the limit. That is linear
in the body and runs in C except for one pass over the brackets.
"""

from __future__ import annotations

import json
import re
from array import array
from itertools import accumulate
from typing import Any

#: OTLP/JSON nests about four levels per level of an attribute map; 128 leaves room for 30.
OTLP_MAX_DEPTH = 128
#: API bodies (silences, resolves) are flat objects with one list of matchers.
API_MAX_DEPTH = 16
#: Longest integer or float literal accepted: OTLP's largest integers are 64-bit (20 digits).
MAX_NUMBER_CHARS = 64

_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)  # unrolled: no per-character alternation
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
# "[" and "{" become +1, "]" and "}" -1 (0xFF read as a signed byte).
_STEP = bytes.maketrans(b"[{]}", b"\x01\x01\xff\xff")


class JsonLimitError(ValueError):
    """The body is not JSON, or is JSON past a limit; the message says which."""


def nesting_depth(data: bytes) -> int:
    """The deepest bracket nesting in ``data``, ignoring brackets inside strings."""
    brackets = _STRING.sub(b'""', data).translate(None, _NOT_BRACKETS)
    if not brackets:
        return 0
    deepest = max(accumulate(array("b", brackets.translate(_STEP))))
    return max(deepest, 0)


def _number(kind: type[int] | type[float]) -> Any:
    def parse(text: str) -> int | float:
        if len(text) > MAX_NUMBER_CHARS:
            raise JsonLimitError(f"a number of {len(text)} characters; the limit is {MAX_NUMBER_CHARS}")
        return kind(text)

    return parse


def _no_constant(name: str) -> Any:
    raise JsonLimitError(f"{name} is not JSON")


_PARSE_INT = _number(int)
_PARSE_FLOAT = _number(float)


def loads_bounded(data: bytes | str, *, max_depth: int) -> Any:
    """Parse ``data`` as JSON; :class:`JsonLimitError` when it is malformed or past a limit."""
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    depth = nesting_depth(raw)
    if depth > max_depth:
        raise JsonLimitError(f"JSON nested {depth} levels deep; the limit is {max_depth}")
    try:
        return json.loads(raw, parse_int=_PARSE_INT, parse_float=_PARSE_FLOAT, parse_constant=_no_constant)
    except JsonLimitError:
        raise
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise JsonLimitError(f"malformed JSON: {exc}") from None
    except (RecursionError, ValueError) as exc:  # belt and braces behind the checks above
        raise JsonLimitError(f"JSON refused: {exc}") from None
