"""Stand-ins that record what they receive: vendor webhooks (HTTP) and a real SMTP server.

The HTTP recorder answers as the vendors document: Slack 200 ``ok``, PagerDuty 202 with a
JSON status, anything else 200. ``fail_next[prefix] = n`` makes the next n requests under a
path prefix get 503 (to exercise retries). The SMTP server is aiosmtpd with STARTTLS
required, on a self-signed certificate made with ``openssl``.
"""

from __future__ import annotations

import json
import ssl
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: Any
    at: float


class Recorder:
    def __init__(self) -> None:
        self.requests: list[Received] = []
        self.fail_next: dict[str, int] = {}
        self._cond = threading.Condition()
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                at = time.time()
                try:
                    body: Any = json.loads(raw)
                except ValueError:
                    body = raw
                status, reply, ctype = 200, b"ok", "text/plain"
                with recorder._cond:
                    for prefix, n in recorder.fail_next.items():
                        if self.path.startswith(prefix) and n > 0:
                            recorder.fail_next[prefix] = n - 1
                            status, reply = 503, b"try later"
                            break
                    else:
                        recorder.requests.append(Received(self.path, dict(self.headers), body, at))
                        recorder._cond.notify_all()
                if status == 200 and self.path.startswith("/pd"):
                    status, ctype = 202, "application/json"
                    reply = json.dumps(
                        {
                            "status": "success",
                            "message": "Event processed",
                            "dedup_key": body.get("dedup_key"),
                        }
                    ).encode()
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def wait_for(
        self, pred: Callable[[Received], bool], count: int = 1, timeout: float = 10
    ) -> list[Received]:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                hits = [r for r in self.requests if pred(r)]
                if len(hits) >= count:
                    return hits
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"only {len(hits)} of {count} expected requests; got {[r.path for r in self.requests]}"
                    )
                self._cond.wait(left)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(5)


def make_cert(directory: Path) -> tuple[Path, Path]:
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


@dataclass
class Mail:
    message: Message
    rcpt: list[str]
    tls: bool
    at: float


class SmtpSink:
    """aiosmtpd with STARTTLS required; collects messages."""

    def __init__(self, cert: Path, key: Path, port: int) -> None:
        self.mails: list[Mail] = []
        self._cond = threading.Condition()
        sink = self

        class Handler:
            async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
                content = envelope.original_content or b""
                with sink._cond:
                    sink.mails.append(
                        Mail(
                            message_from_bytes(content),
                            list(envelope.rcpt_tos),
                            session.ssl is not None,
                            time.time(),
                        )
                    )
                    sink._cond.notify_all()
                return "250 OK"

        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(str(cert), str(key))
        self.controller = Controller(
            Handler(), hostname="127.0.0.1", port=port, tls_context=context, require_starttls=True
        )
        self.controller.start()
        self.port = port

    def wait_for(self, pred: Callable[[Mail], bool], timeout: float = 10) -> Mail:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for m in self.mails:
                    if pred(m):
                        return m
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"no matching mail; got {[m.message['Subject'] for m in self.mails]}"
                    )
                self._cond.wait(left)

    def stop(self) -> None:
        self.controller.stop()


def iter_json(requests: list[Received]) -> Iterator[Any]:
    for r in requests:
        yield r.body
