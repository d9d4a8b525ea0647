import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.helpers import free_port, wait_for
from tests.support.otlp_receiver import GrpcReceiver
from tests.support.processes import aibos_up_argv


def test_demo_logs_through_the_pipeline_to_file_backup_and_otlp(tmp_path: Path) -> None:
    with GrpcReceiver() as receiver:
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "aibos_otel.cli",
                "demo",
                "--quiet",
                "--requests",
                "3",
                "--endpoint",
                receiver.endpoint,
                "--file-dir",
                str(tmp_path),
            ],
            check=False,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 0, result.stderr
    assert "delivered: yes" in result.stdout
    levels = {p.name.removesuffix(".jsonl") for p in tmp_path.glob("*.jsonl")}
    assert levels == {"trace", "debug", "info", "warn", "error", "fatal"}
    errors = [json.loads(line) for line in (tmp_path / "error.jsonl").read_text().splitlines()]
    payment = [e for e in errors if e["message"] == "payment failed"]
    assert len(payment) == 3
    assert len({e["attributes"]["exception.fingerprint"] for e in payment}) == 1
    received = receiver.store.snapshot()
    assert len(received) == sum(1 for p in tmp_path.glob("*.jsonl") for _ in p.read_text().splitlines())
    assert {r.resource["service.name"] for r in received} == {"aibos-demo"}
    assert any(r.attributes.get("alert.severity") == "critical" for r in received)


def test_demo_against_the_monitor_shows_alerts_firing_and_an_error_group(tmp_path: Path) -> None:
    grpc_port, http_port, api_port = free_port(), free_port(), free_port()
    monitor = subprocess.Popen(
        aibos_up_argv(grpc_port, http_port, api_port, tmp_path / "data"),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert wait_for(lambda: _listening(api_port), timeout=20)
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "aibos_otel.cli",
                "demo",
                "--quiet",
                "--endpoint",
                f"http://127.0.0.1:{grpc_port}",
                "--file-dir",
                str(tmp_path / "files"),
                "--monitor-api",
                f"http://127.0.0.1:{api_port}",
            ],
            check=False,
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        monitor.terminate()
        monitor.wait(10)
    assert result.returncode == 0, result.stderr
    assert "alert firing   fatal-errors" in result.stdout
    assert "error x3" in result.stdout and "ConnectionError: payment gateway timeout" in result.stdout


def _listening(port: int) -> bool:
    import socket

    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


def test_demo_summary_escapes_what_senders_wrote_and_counts_every_group(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from aibos_otel.sdk import commands

    answers = {
        "/api/alerts?limit=20": {
            "alerts": [
                {"state": "firing", "rule": "r\x1b[2J", "annotations": {"summary": "s\x1b]0;pwned\x07"}}
            ],
            "next_cursor": "c",
        },
        "/api/errors?limit=5": {
            "errors": [
                {"type": "E\x1b[31m", "message": "m\nforged line", "count": 2, "fingerprint": "f" * 16}
            ]
        },
        "/api/stats": {"error_groups": 4321},
    }
    monkeypatch.setattr(commands, "_get_json", lambda url: answers[url.removeprefix("http://m")])
    commands._show_monitor("http://m")
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\x07" not in out
    assert "1+ active alert(s), 4321 error group(s)" in out
    assert len(out.splitlines()) == 3  # the newline in the message forged no line
