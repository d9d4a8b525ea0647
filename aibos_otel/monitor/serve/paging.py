"""Pagination of the list routes (``GET /api/errors``, ``GET /api/alerts``): ``limit`` and an
opaque ``cursor``.

A page is ``limit`` items (default ``DEFAULT_LIMIT``, at most ``MAX_LIMIT``); when more follow,
the answer carries ``next_cursor``, which the next request passes back as ``?cursor=``. The
cursor is the sort key of the page's last item (keyset pagination: no OFFSET scan, and items
added at the top while a client walks the pages do not shift the later pages). Clients treat
it as opaque; its encoding may change.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
MAX_CURSOR_CHARS = 512


class PageError(ValueError):
    """A bad ``limit`` or ``cursor`` (the API answers 400 with this message)."""


def parse_limit(query: Mapping[str, str], default: int = DEFAULT_LIMIT) -> int:
    """``?limit=``: a whole number from 1; above ``MAX_LIMIT`` it is lowered to ``MAX_LIMIT``."""
    raw = query.get("limit")
    if raw is None or raw == "":
        return default
    try:
        limit = int(raw)
    except ValueError:
        raise PageError(f"limit must be a whole number from 1 to {MAX_LIMIT}, not {raw[:40]!r}") from None
    if limit < 1:
        raise PageError(f"limit must be a whole number from 1 to {MAX_LIMIT}, not {limit}")
    return min(limit, MAX_LIMIT)


def encode_cursor(route: str, sort_ns: int, ident: str) -> str:
    """The cursor that continues ``route`` after the item with key ``(sort_ns, ident)``."""
    raw = json.dumps([route, sort_ns, ident], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(route: str, query: Mapping[str, str]) -> tuple[int, str] | None:
    """``?cursor=`` as ``(sort_ns, ident)``, ``None`` when absent; :class:`PageError` when it
    is not a cursor this API handed out for ``route``."""
    text = query.get("cursor")
    if text is None or text == "":
        return None
    problem = f"cursor is not one that GET /api/{route} returned as next_cursor"
    if len(text) > MAX_CURSOR_CHARS:
        raise PageError(problem)
    try:
        value = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    except (binascii.Error, ValueError):
        raise PageError(problem) from None
    if (
        not isinstance(value, list)
        or len(value) != 3
        or value[0] != route
        or isinstance(value[1], bool)
        or not isinstance(value[1], int)
        or not isinstance(value[2], str)
    ):
        raise PageError(problem)
    return value[1], value[2]
