"""The gateway's second line leaves what the SDK redacted alone, and still masks what it did not see.

A service logs through ``aibos_otel.setup()`` to the real agent, which forwards to the real gateway;
a raw OTLP client (no SDK) sends through the same agent. The gateway's file backup is what every
backend got (the fan-out happens after the redaction processor).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.collector.conftest import gateway_env
from tests.collector.harness import (
    CONFIG_DIR,
    REPO,
    Collector,
    DatadogStandIn,
    LokiStandIn,
    by_id,
    read_file_backup,
    send_raw_logs,
    wait_for,
)
from tests.support.otlp_receiver import GrpcReceiver

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

MESSAGE = "login failed password=hunter2-Secret card 4111 1111 1111 1111 token: tok-9f8e7d6c5b"
SERVICE = """
import json, sys
import aibos_otel
handle = aibos_otel.setup(service_name="sdk-side", endpoint=sys.argv[1], console=False, file_backup=False,
                          spool=False)
log = aibos_otel.get_logger("login")
log.error(sys.argv[2], extra={"test.record_id": "sdk-1", "db.password": "pw-9", "note": "Bearer abcdefgh12345678"})
ok = handle.force_flush(timeout_millis=20_000)
handle.shutdown()
sys.exit(0 if ok else 1)
"""


def test_markers_and_counts_pass_unchanged_and_raw_secrets_are_still_masked(
    otelcol_binary: Path, tmp_path: Path
) -> None:
    from aibos_otel.redaction.engine import default_redactor

    with LokiStandIn() as loki, DatadogStandIn() as datadog, GrpcReceiver() as monitor:
        env = gateway_env(loki, datadog, monitor)
        with Collector(otelcol_binary, CONFIG_DIR / "gateway.yaml", tmp_path, env, "gateway") as gateway:
            agent_env = {"AIBOS_GATEWAY_ENDPOINT": gateway.grpc_endpoint}
            with Collector(otelcol_binary, CONFIG_DIR / "agent.yaml", tmp_path, agent_env, "agent") as agent:
                script = tmp_path / "service.py"
                script.write_text(SERVICE, encoding="utf-8")
                clean = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "AIBOS_"))}
                proc = subprocess.run(
                    [sys.executable, str(script), f"http://{agent.grpc_endpoint}", MESSAGE],
                    env=clean | {"PYTHONPATH": str(REPO)},
                    capture_output=True,
                    text=True,
                    timeout=60,
                    check=False,
                )
                assert proc.returncode == 0, proc.stderr
                send_raw_logs(agent.grpc_endpoint, "legacy", [("raw-1", MESSAGE, {"db.password": "pw-9"})])
                assert wait_for(
                    lambda: {"sdk-1", "raw-1"} <= set(by_id(read_file_backup(gateway.backup_path))), 20
                ), agent.log_tail() + gateway.log_tail()
                records = by_id(read_file_backup(gateway.backup_path))

    sdk = records["sdk-1"]
    # What the SDK wrote is what the backup holds: the markers were not masked again.
    assert sdk.body == default_redactor().redact_text(MESSAGE)
    assert "password=[REDACTED:" in sdk.body and "[REDACTED:credit-card]" in sdk.body
    assert "****" not in sdk.body
    assert str(sdk.attributes["db.password"]).startswith("[REDACTED:")
    assert sdk.attributes["note"].startswith("Bearer [REDACTED:")
    counts = {k: v for k, v in sdk.attributes.items() if k.startswith("aibos.redaction.count.")}
    assert counts.get("aibos.redaction.count.credit-card") == 1  # an int, not "****"
    assert all(type(v) is int and v > 0 for v in counts.values()), counts
    assert sdk.attributes["aibos.redaction.total"] == sum(counts.values())
    assert "aibos.redaction.collector.total" not in sdk.attributes  # the second line found nothing to do

    raw = records["raw-1"]
    # The raw client's secrets (no SDK) are still masked by the second line.
    for secret in ("hunter2-Secret", "4111 1111 1111 1111", "tok-9f8e7d6c5b"):
        assert secret not in raw.body, raw.body
    assert str(raw.attributes["db.password"]).startswith("[REDACTED:")
    assert raw.attributes["aibos.redaction.collector.total"] >= 1
    print(json.dumps({"sdk_body": sdk.body, "raw_body": raw.body}))
