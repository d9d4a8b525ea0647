"""``aibos-otel up`` as a real process: prints where it listens, serves, stops on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import grpc

from aibos_otel.monitor.receive.scan import native_available
from tests.support.processes import aibos_up_argv

from .conftest import free_port, http_json
from .otlp_builders import exception_attrs, logs_request, record
from .test_receiver import grpc_export


def test_up_starts_serves_and_stops(tmp_path: Path) -> None:
    grpc_port, http_port, api_port = free_port(), free_port(), free_port()
    proc = subprocess.Popen(
        aibos_up_argv(grpc_port, http_port, api_port, tmp_path / "d"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline() for _ in range(9)]  # header, 5 addresses, rules, channels, ingest
        text = "".join(lines)
        expected_scan = "Rust scan" if native_available() else "pure-Python scan"
        assert lines[8].split()[:1] == ["ingest"] and expected_scan in lines[8], lines
        assert f"127.0.0.1:{grpc_port}" in text and f"http://127.0.0.1:{http_port}/v1/logs" in text
        assert f"http://127.0.0.1:{api_port}/" in text
        deadline = time.monotonic() + 10
        while http_json(f"http://127.0.0.1:{api_port}/readyz")[0] != 200:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        grpc_export(
            grpc_port,
            logs_request([record("x", "error", attributes=exception_attrs("E", "x"))]).SerializeToString(),
        )
        assert http_json(f"http://127.0.0.1:{api_port}/api/errors")[1]["errors"][0]["count"] == 1
        out = subprocess.run(
            [sys.executable, "-m", "aibos_otel.cli", "errors", "--data-dir", str(tmp_path / "d")],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        ).stdout
        assert "FINGERPRINT" in out and "E" in out.splitlines()[1]
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
    # the ports are free again
    try:
        grpc_export(grpc_port, b"")
        raise AssertionError("the gRPC port still answers")
    except grpc.RpcError as exc:
        assert exc.code() == grpc.StatusCode.UNAVAILABLE


def test_up_reports_a_taken_port(tmp_path: Path) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        taken = s.getsockname()[1]
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "aibos_otel.cli",
                "up",
                "--grpc-port",
                str(free_port()),
                "--http-port",
                str(taken),
                "--api-port",
                str(free_port()),
                "--data-dir",
                str(tmp_path / "d"),
            ],
            check=False,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 1
    assert "Address already in use" in result.stderr or "in use" in result.stderr
