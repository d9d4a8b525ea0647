"""``benchmarks/production_day.py --short`` in CI: the whole chain for 60 s with faults on a schedule.

The real agent and gateway (aibos-otelcol), the real monitor, four service processes, Loki and
Datadog stand-ins; Loki answers 503, the gateway restarts, the monitor and one service are killed
with SIGKILL. The run must lose no ERROR/FATAL record of a surviving service anywhere, let no
planted secret through raw, and raise the alerts the default policy promises. The 10-minute run at
5 000 records/s is in benchmarks/README.md.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from benchmarks.production_day import EXPECTED_ALERTS

ROOT = Path(__file__).resolve().parents[2]


def test_short_production_day_loses_no_error_and_leaks_no_secret(otelcol_binary: Path) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "production_day.py"),
            "--short",
            "--rate",
            "500",
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    report = json.loads(proc.stdout[proc.stdout.index("{") :])
    assert set(report["backends"]) == {"loki", "datadog", "file backup"}
    for backend, figures in report["backends"].items():
        assert figures["sent"] > 10_000, backend  # the run really ran at volume
        assert figures["lost"]["error"] == figures["lost"]["fatal"] == 0, (backend, figures)
        assert figures["secrets_raw"] == 0, backend
    monitor = report["monitor"]
    assert set(EXPECTED_ALERTS) <= set(monitor["alerts_fired"])
    assert monitor["error_group_occurrences"] >= monitor["error_records_delivered_to_loki"] > 0
