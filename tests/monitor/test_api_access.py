"""Issue 11 findings 2 and 3: who may change things through the API, and what the monitor prints.

Finding 2: a cross-origin ``text/plain`` POST silenced every alert, an empty-body POST resolved
an error group, ``OPTIONS`` answered 501, a re-pointed DNS name (``Host: evil.example``) was
served. Finding 3: the API stayed plain HTTP under ``--tls-cert``, the start-up line printed
``http://`` for gRPC, and ``bearer`` in lower case was refused.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import ssl
import subprocess
import sys
from pathlib import Path
from typing import Any

import grpc
import pytest

from aibos_otel.monitor.access import bearer_ok
from aibos_otel.monitor.server import Monitor
from aibos_otel.monitor.settings import MonitorSettings
from tests.support.processes import aibos_up_argv

from .conftest import free_port, http_json
from .otlp_builders import exception_attrs, logs_request, record
from .test_receiver import LOGS_METHOD, grpc_export, http_post

SILENCE = json.dumps({"matchers": [{"name": "alertname", "value": ".+", "isRegex": True}]}).encode()


def raw(
    port: int,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    context: ssl.SSLContext | None = None,
) -> tuple[int, dict[str, str], bytes]:
    """One request with exactly these headers (``Host`` included when given)."""
    conn: http.client.HTTPConnection = (
        http.client.HTTPSConnection("127.0.0.1", port, timeout=10, context=context)
        if context
        else http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    )
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def _error_group(monitor: Monitor) -> str:
    assert monitor.grpc_port and monitor.api_port
    grpc_export(
        monitor.grpc_port,
        logs_request([record("boom", "error", attributes=exception_attrs("E", "boom"))]).SerializeToString(),
    )
    groups = http_json(f"http://127.0.0.1:{monitor.api_port}/api/errors")[1]["errors"]
    fingerprint: str = groups[0]["fingerprint"]
    return fingerprint


def _silences(monitor: Monitor) -> list[Any]:
    found: list[Any] = http_json(f"http://127.0.0.1:{monitor.api_port}/api/silences")[1]["silences"]
    return found


# -- finding 2 -----------------------------------------------------------------------------------
def test_cross_origin_text_plain_post_cannot_silence(monitor: Monitor) -> None:
    assert monitor.api_port
    port = monitor.api_port
    status, _, body = raw(
        port,
        "POST",
        "/api/silences",
        SILENCE,
        {"Host": f"127.0.0.1:{port}", "Origin": "http://evil.example", "Content-Type": "text/plain"},
    )
    assert status == 403, body
    assert b"cross-origin" in body
    # the same body as JSON from the evil origin: still refused (a browser would have preflighted)
    status, _, _ = raw(
        port,
        "POST",
        "/api/silences",
        SILENCE,
        {"Host": f"127.0.0.1:{port}", "Origin": "http://evil.example", "Content-Type": "application/json"},
    )
    assert status == 403
    # text/plain without an Origin (an old browser, a form): refused on the content type
    status, _, _ = raw(port, "POST", "/api/silences", SILENCE, {"Content-Type": "text/plain"})
    assert status == 415
    assert _silences(monitor) == []
    # what the page or curl sends is accepted, from either loopback name
    for host in (f"127.0.0.1:{port}", f"localhost:{port}"):
        status, _, body = raw(
            port,
            "POST",
            "/api/silences",
            SILENCE,
            {"Host": host, "Origin": f"http://{host}", "Content-Type": "application/json"},
        )
        assert status == 200, body
    assert len(_silences(monitor)) == 2
    metrics = raw(port, "GET", "/metrics")[2].decode()
    assert 'aibos_monitor_receiver_errors_total{reason="cross_origin",transport="api"} 2.0' in metrics
    assert 'aibos_monitor_receiver_errors_total{reason="content_type",transport="api"} 1.0' in metrics


def test_empty_body_resolve_needs_json_and_same_origin(monitor: Monitor) -> None:
    assert monitor.api_port
    port = monitor.api_port
    fingerprint = _error_group(monitor)
    path = f"/api/errors/{fingerprint}/resolve"
    assert raw(port, "POST", path, b"", {"Content-Length": "0"})[0] == 415
    assert raw(port, "POST", path, b"", {"Origin": "null", "Content-Type": "application/json"})[0] == 403
    group = http_json(f"http://127.0.0.1:{port}/api/errors/{fingerprint}")[1]
    assert group["status"] == "open"
    status, _, body = raw(port, "POST", path, b"", {"Content-Type": "application/json"})
    assert status == 200 and json.loads(body)["status"] == "resolved"


def test_dns_rebinding_host_is_refused(monitor: Monitor) -> None:
    assert monitor.api_port
    port = monitor.api_port
    for method, path, body in (("GET", "/api/errors", None), ("POST", "/api/silences", SILENCE)):
        status, _, reply = raw(
            port, method, path, body, {"Host": f"evil.example:{port}", "Content-Type": "application/json"}
        )
        assert status == 421, reply
        assert b"does not name this monitor" in reply
    # another port on loopback is another origin
    status, _, _ = raw(port, "GET", "/api/errors", None, {"Host": f"127.0.0.1:{port + 1}"})
    assert status == 421
    assert _silences(monitor) == []


def test_preflight_is_answered_and_denied(monitor: Monitor) -> None:
    assert monitor.api_port
    status, headers, body = raw(
        monitor.api_port,
        "OPTIONS",
        "/api/silences",
        None,
        {
            "Origin": "http://evil.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert status == 403, body
    assert not any(k.startswith("access-control-allow") for k in headers)
    assert raw(monitor.api_port, "PUT", "/api/silences", b"{}")[0] == 405


def test_refuses_to_listen_beyond_loopback_without_a_token(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"refusing to listen on 0\.0\.0\.0 without a bearer token"):
        Monitor(MonitorSettings(host="0.0.0.0", data_dir=tmp_path / "a"))
    # the operator may say so explicitly, or set a token (nothing is bound: start() is not called)
    Monitor(
        MonitorSettings(host="0.0.0.0", data_dir=tmp_path / "b", allow_unauthenticated=True)
    ).store.close()
    Monitor(MonitorSettings(host="0.0.0.0", data_dir=tmp_path / "c", bearer_token="t")).store.close()
    Monitor(MonitorSettings(host="::1", data_dir=tmp_path / "d")).store.close()
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "aibos_otel.cli",
            "up",
            "--host",
            "0.0.0.0",
            "--data-dir",
            str(tmp_path / "e"),
        ],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "--token" in result.stderr and "Traceback" not in result.stderr


def test_with_a_token_changes_need_it_from_anywhere(monitor_factory: Any) -> None:
    monitor: Monitor = monitor_factory(bearer_token="s3cret")
    assert monitor.api_port
    port = monitor.api_port
    headers = {"Content-Type": "application/json"}
    assert raw(port, "POST", "/api/silences", SILENCE, headers)[0] == 401
    for scheme in ("Bearer", "bearer", "BEARER"):
        status, _, body = raw(
            port, "POST", "/api/silences", SILENCE, {**headers, "Authorization": f"{scheme} s3cret"}
        )
        assert status == 200, (scheme, body)
    assert raw(port, "POST", "/api/silences", SILENCE, {**headers, "Authorization": "Basic s3cret"})[0] == 401


# -- finding 3 -----------------------------------------------------------------------------------
def test_bearer_scheme_is_case_insensitive() -> None:
    assert (
        bearer_ok("t0k", "bearer t0k") and bearer_ok("t0k", "BEARER  t0k ") and bearer_ok("t0k", "Bearer t0k")
    )
    assert (
        not bearer_ok("t0k", "bearer T0K") and not bearer_ok("t0k", "Bearert0k") and not bearer_ok("t0k", "")
    )
    assert not bearer_ok("t0k", None) and bearer_ok(None, None)


def test_lower_case_bearer_on_both_receivers(monitor_factory: Any) -> None:
    monitor: Monitor = monitor_factory(bearer_token="s3cret")
    assert monitor.grpc_port and monitor.http_port
    payload = logs_request([record("hi")]).SerializeToString()
    grpc_export(monitor.grpc_port, payload, (("authorization", "bearer s3cret"),))
    status = http_post(
        monitor.http_port,
        "/v1/logs",
        payload,
        {"Content-Type": "application/x-protobuf", "Authorization": "bearer s3cret"},
    )[0]
    assert status == 200


def test_startup_line_shows_the_real_schemes(tmp_path: Path, tls_cert: tuple[Path, Path]) -> None:
    cert, key = tls_cert
    grpc_port, http_port, api_port = free_port(), free_port(), free_port()
    argv = [
        *aibos_up_argv(grpc_port, http_port, api_port, tmp_path / "d"),
        "--tls-cert",
        str(cert),
        "--tls-key",
        str(key),
    ]
    proc = subprocess.Popen(
        argv,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline() for _ in range(10)]
        text = "".join(lines)
        assert f"https://127.0.0.1:{grpc_port}" in text, text
        assert f"https://127.0.0.1:{api_port}/" in text and f"https://127.0.0.1:{api_port}/metrics" in text
        assert f'endpoint="https://127.0.0.1:{grpc_port}"' in text
        assert "http://" not in text
        context = ssl.create_default_context(cafile=str(cert))
        status, _, body = raw(api_port, "GET", "/healthz", context=context)
        assert status == 200 and json.loads(body) == {"status": "ok"}
        creds = grpc.ssl_channel_credentials(root_certificates=cert.read_bytes())
        with grpc.secure_channel(f"127.0.0.1:{grpc_port}", creds) as channel:
            channel.unary_unary(LOGS_METHOD)(logs_request([record("tls")]).SerializeToString(), timeout=10)
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0


def test_a_silent_tls_client_does_not_block_the_api(
    monitor_factory: Any, tls_cert: tuple[Path, Path]
) -> None:
    """A client that connects and never says hello holds only its own connection."""
    import socket

    cert, key = tls_cert
    monitor: Monitor = monitor_factory(tls_cert=cert, tls_key=key)
    assert monitor.api_port
    context = ssl.create_default_context(cafile=str(cert))
    with socket.create_connection(("127.0.0.1", monitor.api_port), timeout=10):
        status, _, _ = raw(monitor.api_port, "GET", "/healthz", context=context)
        assert status == 200
