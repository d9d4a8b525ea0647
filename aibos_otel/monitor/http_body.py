"""Reading an HTTP/1.1 request body with its size and time bounded while it is read.

Two framings, as RFC 9112 section 6 defines them: ``Content-Length`` and
``Transfer-Encoding: chunked`` (what the collector's own OTLP receiver accepts, and what clients
that stream a body send). Neither is trusted: the cap applies to the bytes as they arrive, before
they are stored, and the whole body must arrive within a deadline, so a client that trickles a
byte every few seconds cannot hold a thread for ever. ``http.server`` reads neither framing by
itself, hence this module.
"""

from __future__ import annotations

import time
from email.message import Message
from io import BufferedIOBase

_PIECE = 64 * 1024  # read in pieces so the deadline is checked while a large body arrives
MAX_CHUNK_LINE = 1024  # "1a2b;ext=..." -- far more than any real chunk-size line
MAX_TRAILER_LINES = 64
BODY_DEADLINE_S = 60.0


class BodyError(Exception):
    """The body cannot be read; ``status`` is the HTTP answer (400, 413, 501) and ``reason`` a
    short counter label."""

    def __init__(self, status: int, reason: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason


class ClientGoneError(Exception):
    """The client closed the connection or stopped sending before the body was complete."""


def read_body(
    headers: Message, stream: BufferedIOBase, limit: int, deadline_s: float = BODY_DEADLINE_S
) -> bytes:
    """The request body under ``limit`` bytes, by ``Transfer-Encoding: chunked`` or
    ``Content-Length``; no framing header means an empty body (RFC 9112 6.3).

    Raises :class:`BodyError` for a framing the server refuses or a body over ``limit`` (413) and
    :class:`ClientGoneError` when the connection ends early or the deadline passes.
    """
    deadline = time.monotonic() + deadline_s
    transfer = headers.get_all("Transfer-Encoding") or []
    lengths = headers.get_all("Content-Length") or []
    if transfer:
        if lengths:
            # Both framings at once is how requests are smuggled past proxies; refuse it.
            raise BodyError(400, "framing", "Transfer-Encoding and Content-Length together")
        codings = [c.strip().lower() for value in transfer for c in value.split(",") if c.strip()]
        if codings != ["chunked"]:
            raise BodyError(
                501, "framing", f"Transfer-Encoding {', '.join(codings)!s} is not supported; use chunked"
            )
        return _read_chunked(stream, limit, deadline)
    if not lengths:
        return b""
    if len(set(lengths)) != 1 or not lengths[0].strip().isdigit():
        raise BodyError(400, "framing", "Content-Length must be one decimal number")
    length = int(lengths[0])
    if length > limit:
        raise BodyError(413, "oversize", f"body larger than {limit} bytes")
    return _read_exactly(stream, length, deadline)


def _read_exactly(stream: BufferedIOBase, length: int, deadline: float) -> bytes:
    parts: list[bytes] = []
    remaining = length
    while remaining:
        if time.monotonic() > deadline:
            raise ClientGoneError("body not complete before the deadline")
        piece = stream.read(min(remaining, _PIECE))
        if not piece:
            raise ClientGoneError("connection closed inside the body")
        parts.append(piece)
        remaining -= len(piece)
    return b"".join(parts)


def _read_line(stream: BufferedIOBase, deadline: float) -> bytes:
    if time.monotonic() > deadline:
        raise ClientGoneError("body not complete before the deadline")
    line = stream.readline(MAX_CHUNK_LINE + 1)
    if not line:
        raise ClientGoneError("connection closed inside the chunked body")
    if len(line) > MAX_CHUNK_LINE or not line.endswith(b"\n"):
        raise BodyError(400, "framing", "chunk-size line too long")
    return line.rstrip(b"\r\n")


def _read_chunked(stream: BufferedIOBase, limit: int, deadline: float) -> bytes:
    parts: list[bytes] = []
    total = 0
    while True:
        size_text = _read_line(stream, deadline).split(b";", 1)[0].strip()
        try:
            if not size_text or not all(c in b"0123456789abcdefABCDEF" for c in size_text):
                raise ValueError
            size = int(size_text, 16)
        except ValueError:
            raise BodyError(400, "framing", "invalid chunk size") from None
        if size == 0:
            break
        total += size
        if total > limit:
            raise BodyError(413, "oversize", f"body larger than {limit} bytes")
        parts.append(_read_exactly(stream, size, deadline))
        if _read_line(stream, deadline):
            raise BodyError(400, "framing", "chunk data longer than its size")
    for _ in range(MAX_TRAILER_LINES):  # trailers are read and ignored, up to the blank line
        if not _read_line(stream, deadline):
            return b"".join(parts)
    raise BodyError(400, "framing", "too many trailer lines")
