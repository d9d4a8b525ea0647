"""The OTLP/HTTP receiver's body framing, as clients and attackers send it, over raw loopback sockets.

Chunked bodies are accepted (the collector's own receiver accepts them) with the size cap applied
while reading; a body that inflates past the cap is a 413, as docs/monitor.md promises; a client
that resets its connection is one debug line, not a traceback.
"""

from __future__ import annotations

import gzip
import io
import logging
import socket
import struct
from email.message import Message

import pytest

from aibos_otel.monitor.http_body import BodyError, ClientGoneError, read_body
from aibos_otel.monitor.server import Monitor
from tests.support.helpers import wait_for

from .otlp_builders import logs_request, record

PROTOBUF = "application/x-protobuf"


def _exchange(port: int, head: str, body: bytes = b"") -> tuple[int, bytes]:
    """Send a raw request; the status and the rest of the reply (until the server closes or 10 s)."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(head.replace("\n", "\r\n").encode() + b"\r\n" + body)
        reply = b""
        while b"\r\n\r\n" not in reply:
            piece = sock.recv(65536)
            if not piece:
                break
            reply += piece
        header, _, rest = reply.partition(b"\r\n\r\n")
        length = next(
            (
                int(line.split(b":", 1)[1])
                for line in header.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            ),
            0,
        )
        while len(rest) < length:
            piece = sock.recv(65536)
            if not piece:
                break
            rest += piece
    status = int(header.split(b" ", 2)[1]) if header.startswith(b"HTTP/") else 0
    return status, rest


def _chunked(data: bytes, size: int = 1000) -> bytes:
    pieces = [data[i : i + size] for i in range(0, len(data), size)]
    return b"".join(f"{len(p):x}\r\n".encode() + p + b"\r\n" for p in pieces) + b"0\r\n\r\n"


def _records_counted(monitor: Monitor) -> int:
    return sum(monitor.metrics.records_by_level().values())


def test_a_chunked_export_is_accepted_and_counted(monitor: Monitor) -> None:
    assert monitor.http_port
    body = logs_request([record(f"chunked {i}", "info") for i in range(50)]).SerializeToString()
    head = f"POST /v1/logs HTTP/1.1\nHost: 127.0.0.1\nContent-Type: {PROTOBUF}\nTransfer-Encoding: chunked\n"
    status, _ = _exchange(monitor.http_port, head, _chunked(body))
    assert status == 200
    assert wait_for(lambda: _records_counted(monitor) == 50, 30)


def test_a_chunked_gzip_export_with_trailers_and_extensions(monitor: Monitor) -> None:
    assert monitor.http_port
    body = gzip.compress(logs_request([record("zipped", "warn")]).SerializeToString())
    framed = f"{len(body):x};name=value\r\n".encode() + body + b"\r\n0\r\nX-Trailer: yes\r\n\r\n"
    head = (
        f"POST /v1/logs HTTP/1.1\nHost: 127.0.0.1\nContent-Type: {PROTOBUF}\n"
        "Content-Encoding: gzip\nTransfer-Encoding: chunked\n"
    )
    assert _exchange(monitor.http_port, head, framed)[0] == 200
    assert wait_for(lambda: monitor.metrics.records_by_level().get("warn") == 1, 30)


def test_a_chunked_body_over_the_cap_is_a_413_before_it_is_stored(monitor_factory: object) -> None:
    monitor: Monitor = monitor_factory(max_message_bytes=64 * 1024)  # type: ignore[operator]
    assert monitor.http_port
    head = f"POST /v1/logs HTTP/1.1\nHost: 127.0.0.1\nContent-Type: {PROTOBUF}\nTransfer-Encoding: chunked\n"
    # Chunk sizes announce 1 GiB in total; the server stops at the first chunk past the cap.
    status, reply = _exchange(monitor.http_port, head, b"4000\r\n" + b"\x00" * 0x4000 + b"\r\n40000000\r\n")
    assert status == 413 and b"65536" in reply
    assert _exchange(monitor.http_port, head, _chunked(b""))[0] == 200  # still serving


def test_a_200_mb_gzip_bomb_is_a_413(monitor: Monitor) -> None:
    assert monitor.http_port
    bomb = gzip.compress(b"\x00" * (200 * 1024 * 1024), compresslevel=9)
    assert len(bomb) < monitor.settings.max_message_bytes  # small as sent: the cap bites on inflating
    head = (
        f"POST /v1/logs HTTP/1.1\nHost: 127.0.0.1\nContent-Type: {PROTOBUF}\nContent-Encoding: gzip\n"
        f"Content-Length: {len(bomb)}\n"
    )
    status, reply = _exchange(monitor.http_port, head, bomb)
    assert status == 413 and b"decompressed body exceeds" in reply


@pytest.mark.parametrize(
    ("framing", "status"),
    [
        ("Transfer-Encoding: chunked\nContent-Length: 5\n", 400),  # smuggling shape: refused
        ("Transfer-Encoding: gzip, chunked\n", 501),
        ("Content-Length: 5\nContent-Length: 6\n", 400),
        ("Content-Length: +5\n", 400),
    ],
)
def test_ambiguous_or_unsupported_framing_is_refused(monitor: Monitor, framing: str, status: int) -> None:
    assert monitor.http_port
    head = f"POST /v1/logs HTTP/1.1\nHost: 127.0.0.1\nContent-Type: {PROTOBUF}\n{framing}"
    assert _exchange(monitor.http_port, head, b"0\r\n\r\n")[0] == status


def test_a_bad_chunk_size_is_a_400(monitor: Monitor) -> None:
    assert monitor.http_port
    head = f"POST /v1/logs HTTP/1.1\nHost: 127.0.0.1\nContent-Type: {PROTOBUF}\nTransfer-Encoding: chunked\n"
    assert _exchange(monitor.http_port, head, b"zz\r\nhello\r\n0\r\n\r\n")[0] == 400
    assert _exchange(monitor.http_port, head, b"-5\r\nhello\r\n0\r\n\r\n")[0] == 400
    assert _exchange(monitor.http_port, head, b"1" * 5000 + b"\r\n")[0] == 400


def test_no_framing_header_is_an_empty_export(monitor: Monitor) -> None:
    assert monitor.http_port
    head = f"POST /v1/logs HTTP/1.1\nHost: 127.0.0.1\nContent-Type: {PROTOBUF}\n"
    assert _exchange(monitor.http_port, head)[0] == 200  # RFC 9112 6.3: the body is empty


def test_a_client_reset_is_one_debug_line(monitor: Monitor, caplog: pytest.LogCaptureFixture) -> None:
    assert monitor.http_port
    caplog.set_level(logging.DEBUG, logger="aibos_otel.monitor")
    with socket.create_connection(("127.0.0.1", monitor.http_port), timeout=30) as sock:
        head = (
            f"POST /v1/logs HTTP/1.1\r\nHost: x\r\nContent-Type: {PROTOBUF}\r\nContent-Length: 100000\r\n\r\n"
        )
        sock.sendall(head.encode() + b"\x0a" * 100)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # close = RST
    assert wait_for(lambda: any("went away" in r.getMessage() for r in caplog.records), 30)
    mine = [r for r in caplog.records if r.name.startswith("aibos_otel.monitor")]
    assert not [r for r in mine if r.levelno >= logging.WARNING or r.exc_info], [r.getMessage() for r in mine]
    assert len([r for r in mine if "went away" in r.getMessage()]) == 1
    assert _records_counted(monitor) == 0  # nothing half-read was stored


# --------------------------------------------------------------------------- read_body on its own


def _headers(**values: str) -> Message:
    message = Message()
    for name, value in values.items():
        message[name.replace("_", "-")] = value
    return message


def test_read_body_stops_at_the_deadline() -> None:
    with pytest.raises(ClientGoneError):
        read_body(_headers(Content_Length="5"), io.BufferedReader(io.BytesIO(b"hello")), 100, deadline_s=-1)


def test_read_body_counts_chunk_data_against_the_cap_before_reading_it() -> None:
    stream = io.BufferedReader(io.BytesIO(b"ffffff\r\n"))  # 16 MiB announced, nothing sent
    with pytest.raises(BodyError) as caught:
        read_body(_headers(Transfer_Encoding="chunked"), stream, 1024)
    assert caught.value.status == 413


def test_read_body_reads_chunks_and_ignores_trailers() -> None:
    stream = io.BufferedReader(io.BytesIO(b"5\r\nhello\r\n6\r\n world\r\n0\r\nA: b\r\n\r\nNEXT"))
    assert read_body(_headers(Transfer_Encoding="Chunked"), stream, 1024) == b"hello world"
    assert stream.read() == b"NEXT"  # the next request on the connection is untouched
