"""Acceptance, end to end from the SDK to ``aibos-otel up`` as a real process.

A bug resolved in release 1.2 seen again from 1.1 stays resolved, from 1.3 it regresses and
alerts; ignore-until-100 reopens on the 101st occurrence; a grouping rule merges two exception
types into one group; ``kill -9`` of the monitor keeps every state.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from tests.support.processes import aibos_up_argv

from .conftest import free_port, http_json

ROOT = Path(__file__).resolve().parents[2]
POLICY = """
version: 1
errors:
  grouping:
    - name: db-timeouts
      match: {message: "db timeout", type: "(TimeoutError|OperationalError)$"}
      fingerprint: ["db-timeout"]
"""


class Up:
    """``aibos-otel up`` on fixed ports and a data directory, restartable."""

    def __init__(self, tmp_path: Path) -> None:
        self.ports = (free_port(), free_port(), free_port())
        self.data = tmp_path / "data"
        self.policy = tmp_path / "policy.yaml"
        self.policy.write_text(POLICY)
        self.proc: subprocess.Popen[str] | None = None

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.ports[2]}"

    def start(self) -> None:
        argv = [*aibos_up_argv(*self.ports, self.data), "--policy", str(self.policy)]
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.proc = subprocess.Popen(
            argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True, env=env
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                if http_json(f"{self.api}/readyz")[0] == 200:
                    return
            except OSError:
                pass
            assert self.proc.poll() is None and time.monotonic() < deadline, "the monitor did not start"
            time.sleep(0.1)

    def kill9(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=30)


def send(up: Up, release: str, kind: str, count: int = 1) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "AIBOS_"))}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.monitor.sdk_error_sender",
            f"http://127.0.0.1:{up.ports[0]}",
            release,
            kind,
            str(count),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0 and "sent" in proc.stdout, proc.stderr[-3000:]


def group(up: Up, exc_type: str) -> dict[str, Any]:
    groups = http_json(f"{up.api}/api/errors?status=&limit=100")[1]["errors"]
    found = [g for g in groups if g["type"].endswith(exc_type)]
    assert len(found) == 1, [(g["type"], g["count"]) for g in groups]
    return dict(found[0])


def wait_count(up: Up, exc_type: str, count: int) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while True:
        try:
            g = group(up, exc_type)
            if g["count"] >= count:
                return g
        except AssertionError:
            pass
        assert time.monotonic() < deadline, f"{exc_type} never reached {count}"
        time.sleep(0.1)


def act(up: Up, fp: str, action: str, body: dict[str, Any]) -> dict[str, Any]:
    status, reply = http_json(f"{up.api}/api/errors/{fp}/{action}", "POST", body)
    assert status == 200, reply
    return dict(reply)


def regression_alerts(up: Up, fp: str) -> list[dict[str, Any]]:
    alerts = http_json(f"{up.api}/api/alerts")[1]["alerts"]
    return [a for a in alerts if a["rule"] == "error-regression" and a["labels"]["fingerprint"] == fp]


def test_releases_ignores_grouping_and_kill_9(tmp_path: Path) -> None:
    up = Up(tmp_path)
    up.start()
    try:
        send(up, "1.2", "bug")
        bug = wait_count(up, "KeyError", 1)["fingerprint"]
        assert act(up, bug, "resolve", {"release": "1.2", "actor": "ana"})["state"] == "resolved-in-release"
        send(up, "1.1", "bug")  # an old release still running: not a regression
        g = wait_count(up, "KeyError", 2)
        assert g["state"] == "resolved-in-release" and regression_alerts(up, bug) == []
        send(up, "1.3", "bug")  # the fix did not hold
        g = wait_count(up, "KeyError", 3)
        assert g["state"] == "regressed" and g["releases"] == {"1.2": 1, "1.1": 1, "1.3": 1}
        [alert] = regression_alerts(up, bug)
        assert alert["labels"]["release"] == "1.3"

        send(up, "1.3", "flaky")
        flaky = wait_count(up, "ValueError", 1)["fingerprint"]
        act(up, flaky, "ignore", {"count": 100})
        send(up, "1.3", "flaky", 100)
        assert wait_count(up, "ValueError", 101)["state"] == "ignored"
        send(up, "1.3", "flaky")  # the 101st after the ignore
        g = wait_count(up, "ValueError", 102)
        assert g["state"] == "ongoing" and g["user_count"] == 7

        send(up, "1.3", "timeout")
        send(up, "1.3", "operational")
        db: list[dict[str, Any]] = []
        deadline = time.monotonic() + 60
        while sum(g["count"] for g in db) < 2:  # both occurrences arrived
            assert time.monotonic() < deadline
            time.sleep(0.1)
            groups = http_json(f"{up.api}/api/errors?status=&limit=100")[1]["errors"]
            db = [g for g in groups if "db timeout" in g["message"]]
        assert len(db) == 1 and db[0]["count"] == 2, db  # two exception types, one group
        act(up, db[0]["fingerprint"], "ignore", {"for": "7d"})

        before = {
            g["fingerprint"]: (g["state"], g["count"], g["state_detail"])
            for g in http_json(f"{up.api}/api/errors?status=&limit=100")[1]["errors"]
        }
        up.kill9()
        up.start()
        after = {
            g["fingerprint"]: (g["state"], g["count"], g["state_detail"])
            for g in http_json(f"{up.api}/api/errors?status=&limit=100")[1]["errors"]
        }
        assert after == before
        assert {s for s, _, _ in after.values()} == {"regressed", "ongoing", "ignored"}
        detail = http_json(f"{up.api}/api/errors/{bug}")[1]
        assert [(t["from_state"], t["to_state"], t["actor"]) for t in reversed(detail["transitions"])] == [
            ("new", "resolved-in-release", "ana"),
            ("resolved-in-release", "regressed", "system"),
        ]
        assert json.dumps(detail)  # the detail view still answers after the restart
    finally:
        up.stop()
