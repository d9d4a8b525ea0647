"""Shared pieces of the erasure tests: a backup written by the real writer, a recording Loki."""

from __future__ import annotations

import functools
import gzip
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

import aibos_otel
from aibos_otel.sdk import file_backup


def write_backup(
    directory: Path, monkeypatch: pytest.MonkeyPatch, *, users: int = 3, per_user: int = 40
) -> None:
    """Log through setup() into a file backup that rotates every ~2 kB, then shut down.

    Records alternate between users u-0 .. u-{users-1} (``per_user`` each); every tenth is a
    warning, so two levels get files; a few records of user u-tail leave both active files non-empty. The writer is the real FileBackupExporter, only its rotation size is smaller.
    """
    monkeypatch.setattr(
        file_backup, "FileBackupExporter", functools.partial(file_backup.FileBackupExporter, max_bytes=2_000)
    )
    monkeypatch.setenv("AIBOS_SCHEDULE_DELAY", "0.01")
    handle = aibos_otel.setup(
        service_name="files", environment="development", console=False, file_backup=directory, redaction=False
    )
    log = aibos_otel.get_logger("tests.erase")
    for n in range(per_user):
        for user in range(users):
            emit = log.warning if n % 10 == 0 else log.info
            emit(
                "order %s placed",
                n,
                extra={"user": {"id": f"u-{user}"}, "order": n, "tags": ["a", f"u-{user}"]},
            )
        if n % 8 == 0:
            assert handle.force_flush(5000)  # several batches, so that files rotate between them
            time.sleep(0.002)  # rotated names carry a microsecond stamp
    assert handle.force_flush(5000)
    # A rotation empties the active files; a few more records, for nobody above, refill them.
    for n in range(20):
        if (directory / "info.jsonl").exists() and (directory / "warn.jsonl").exists():
            break
        (log.info if n % 2 else log.warning)("tail %s", n, extra={"user": {"id": "u-tail"}})
        assert handle.force_flush(5000)
    handle.shutdown()
    assert (directory / "info.jsonl").exists() and (directory / "warn.jsonl").exists()


def log_more(directory: Path, user: str) -> None:
    """One more info and one more warning record for ``user``, through setup() again (the writer
    appends to the active files it finds)."""
    handle = aibos_otel.setup(
        service_name="files", environment="development", console=False, file_backup=directory, redaction=False
    )
    log = aibos_otel.get_logger("tests.erase")
    log.info("late info", extra={"user": {"id": user}})
    log.warning("late warning", extra={"user": {"id": user}})
    assert handle.force_flush(5000)
    handle.shutdown()


def read_records(path: Path, *, lenient: bool = False) -> list[dict[str, Any]]:
    """The records of one backup file; ``lenient`` skips lines that are not JSON."""
    data = gzip.decompress(path.read_bytes()) if path.name.endswith(".gz") else path.read_bytes()
    out = []
    for line in data.splitlines():
        if not line.strip():
            continue
        try:
            out.append(json.loads(line))
        except ValueError:
            if not lenient:
                raise
    return out


def all_files(directory: Path) -> list[Path]:
    """Every file of the backup but its marker (which holds no records)."""
    return sorted(p for p in directory.rglob("*") if p.is_file() and p.name != file_backup.MARKER_NAME)


def snapshot(directory: Path) -> dict[Path, tuple[bytes, int]]:
    """Every file's bytes and modification time."""
    return {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in all_files(directory)}


def user_of(record: dict[str, Any]) -> str | None:
    value = record.get("attributes", {}).get("user.id")
    return None if value is None else str(value)


@dataclass
class LokiCall:
    method: str
    path: str
    params: dict[str, list[str]]
    headers: dict[str, str]


@dataclass
class RecordingLoki:
    """Answers the delete API as Loki does (204, then the list) and records every call."""

    calls: list[LokiCall] = field(default_factory=list)
    stored: list[dict[str, Any]] = field(default_factory=list)
    refuse: tuple[int, str] | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, handler: BaseHTTPRequestHandler) -> LokiCall:
        parts = urlsplit(handler.path)
        call = LokiCall(
            handler.command,
            parts.path,
            parse_qs(parts.query, keep_blank_values=True),
            {k.lower(): v for k, v in handler.headers.items()},
        )
        with self.lock:
            self.calls.append(call)
        return call


def _handler(loki: RecordingLoki) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            call = loki.record(self)
            if call.path != "/loki/api/v1/delete":
                self.send_error(404)
                return
            if loki.refuse is not None:
                self._reply(loki.refuse[0], loki.refuse[1].encode())
                return
            with loki.lock:
                loki.stored.append(
                    {
                        "request_id": f"req{len(loki.stored) + 1}",
                        "start_time": 0,
                        "end_time": 0,
                        "query": call.params["query"][0],
                        "status": "received",
                        "created_at": time.time(),
                    }
                )
            self._reply(204, b"")

        def do_GET(self) -> None:
            call = loki.record(self)
            if call.path != "/loki/api/v1/delete":
                self.send_error(404)
                return
            with loki.lock:
                body = json.dumps(loki.stored).encode()
            self._reply(200, body, "application/json")

        def _reply(self, status: int, body: bytes, kind: str = "text/plain") -> None:
            self.send_response(status)
            if status != 204:
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if status != 204:
                self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


def serve_loki() -> Iterator[tuple[str, RecordingLoki]]:
    loki = RecordingLoki()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(loki))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", loki
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
