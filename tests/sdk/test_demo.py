import json
import subprocess
import sys
from pathlib import Path

from tests.support.otlp_receiver import GrpcReceiver


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
