"""Overload: 200 000 mixed records flat out against a slow receiver.

What must hold: no ERROR or FATAL record is lost; what is dropped is counted by severity in the
self-metrics, and those counts equal exactly what entered delivery minus what the receiver got;
the lowest severities go first; a periodic WARN summary says what was dropped.
"""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from typing import Any

import pytest

from tests.delivery.conftest import APPS, clean_env, run_python
from tests.delivery.receiver import OtlpReceiver

SEVERITIES = ("trace", "debug", "info", "warn", "error", "fatal")


def _class(severity_number: int) -> str:
    return SEVERITIES[min((severity_number - 1) // 4, 5)]


@pytest.mark.slow
def test_overload_keeps_every_error_and_accounts_for_every_drop() -> None:
    count = int(os.environ.get("AIBOS_TEST_OVERLOAD_RECORDS", "200000"))
    receiver = OtlpReceiver(delay=0.1).start()  # about 5 000 records/s at most, one batch in flight
    try:
        env = clean_env(
            AIBOS_ENDPOINT=receiver.endpoint,
            AIBOS_ENVIRONMENT="staging",
            AIBOS_SERVICE_NAME="overload-test",
            AIBOS_LEVEL="TRACE",
            AIBOS_SPOOL="off",
            AIBOS_CAPTURE_WARNINGS="off",
            AIBOS_DROP_SUMMARY_INTERVAL="1",
            AIBOS_SHUTDOWN_TIMEOUT="10",
        )
        result = run_python(APPS / "spool_app.py", env, "log", str(count), "0", timeout=120)
        assert result.returncode == 0, result.stderr
        logs = receiver.snapshot()
    finally:
        receiver.stop()
    summary: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    entered: dict[str, int] = summary["entered"]
    received = Counter(_class(r["severity_number"]) for r in logs)
    dropped = Counter[str]()
    for key, n in summary["metrics"]["dropped"].items():
        dropped[key.split("/")[1]] += n

    # It really was an overload, and the app logged all it was asked to.
    assert sum(entered.values()) >= count
    assert sum(dropped.values()) > count // 10, summary
    # Zero ERROR/FATAL lost: every one logged arrived, each once.
    rids = Counter(r["attributes"]["rid"] for r in logs if "rid" in r["attributes"])
    assert max(rids.values()) == 1
    for severity in ("error", "fatal"):
        assert dropped[severity] == 0
        assert received[severity] == entered[severity] == count // 100
    # Drops by severity == what the receiver did not get, for every severity.
    for severity in SEVERITIES:
        assert dropped[severity] == entered[severity] - received[severity], (severity, summary)
    # Lowest severities go first: nothing above INFO was evicted, and TRACE lost the most.
    assert dropped["warn"] == 0
    assert dropped["trace"] >= dropped["debug"] >= dropped["info"]
    # The periodic WARN summary names what was dropped.
    summaries = [r for r in logs if r["scope"] == "aibos_otel.delivery"]
    assert summaries
    assert all(r["severity_text"] == "WARN" for r in summaries)
    assert any(re.search(r"dropped \d+ trace", r["body"]) for r in summaries)
    print(
        f"overload: {count} records in {summary['logged_seconds']} s; received {dict(received)}; "
        f"dropped {dict(dropped)}; shutdown {summary['shutdown_seconds']} s"
    )
