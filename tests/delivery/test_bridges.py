"""structlog, loguru, warnings and uncaught exceptions, each in a subprocess, over real OTLP."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.delivery.conftest import APPS, clean_env, run_python
from tests.delivery.receiver import OtlpReceiver
from tests.support.helpers import free_port


def _run(mode: str, receiver: OtlpReceiver) -> subprocess.CompletedProcess[str]:
    env = clean_env(
        AIBOS_ENDPOINT=receiver.endpoint,
        AIBOS_ENVIRONMENT="staging",
        AIBOS_SERVICE_NAME=f"bridges-{mode}",
        AIBOS_LEVEL="TRACE",
        AIBOS_SCHEDULE_DELAY="0.1",
    )
    return run_python(APPS / "bridges_app.py", env, mode, timeout=60)


def _trace_id(result: subprocess.CompletedProcess[str]) -> str:
    match = re.search(r"TRACE_ID ([0-9a-f]{32})", result.stdout)
    assert match, result.stdout + result.stderr
    return match.group(1)


def _by_body(logs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {r["body"]: r for r in logs}


def test_structlog_events_arrive_with_attributes_levels_and_trace(receiver: OtlpReceiver) -> None:
    result = _run("structlog", receiver)
    assert result.returncode == 0, result.stderr
    logs = _by_body(receiver.snapshot())
    placed = logs["order placed"]
    assert placed["scope"] == "shop.structlog"
    assert placed["service"] == "bridges-structlog"
    assert (placed["severity_number"], placed["severity_text"]) == (9, "INFO")
    assert placed["attributes"]["order.id"] == 7
    assert placed["attributes"]["order.total"] == 12.5
    assert placed["attributes"]["user"] == "bob"
    assert placed["trace_id"] == _trace_id(result)
    assert logs["stock low"]["severity_text"] == "WARN"
    assert logs["stock low"]["attributes"]["left"] == 2
    failed = logs["lookup failed"]
    assert failed["severity_text"] == "ERROR"
    assert failed["attributes"]["exception.type"] == "KeyError"
    assert failed["attributes"]["exception.fingerprint"]
    assert logs["giving up"]["severity_text"] == "FATAL"
    # structlog's own output is kept
    assert "event='order placed'" in result.stdout


def test_loguru_messages_arrive_with_extra_levels_and_trace(receiver: OtlpReceiver) -> None:
    result = _run("loguru", receiver)
    assert result.returncode == 0, result.stderr
    logs = _by_body(receiver.snapshot())
    placed = logs["order placed"]
    assert placed["attributes"]["order"] == 7
    assert placed["attributes"]["cart.items"] == 3
    assert placed["attributes"]["code.function.name"] == "run_loguru"
    assert placed["trace_id"] == _trace_id(result)
    assert (logs["fine detail"]["severity_number"], logs["fine detail"]["severity_text"]) == (1, "TRACE")
    assert logs["paid"]["severity_text"] == "INFO"  # SUCCESS (25)
    failed = logs["could not split the bill"]
    assert failed["severity_text"] == "ERROR"
    assert failed["attributes"]["exception.type"] == "ZeroDivisionError"
    assert failed["attributes"]["exception.fingerprint"]
    assert logs["giving up"]["severity_text"] == "FATAL"
    assert "order placed" in result.stderr  # loguru's default stderr sink still prints


def _fatal(logs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in logs if r["severity_text"] == "FATAL"]


def test_uncaught_exception_arrives_fatal_with_stack_and_fingerprint(receiver: OtlpReceiver) -> None:
    result = _run("uncaught", receiver)
    assert result.returncode == 1
    assert "Traceback" in result.stderr  # Python's own report still printed
    fatal = _fatal(receiver.snapshot())
    assert len(fatal) == 1
    attributes = fatal[0]["attributes"]
    assert fatal[0]["severity_number"] == 21
    assert attributes["exception.type"] == "RuntimeError"
    assert attributes["exception.message"] == "card processor returned 502 for order 7"
    assert 'raise RuntimeError("card processor' in attributes["exception.stacktrace"]
    assert re.fullmatch(r"[0-9a-f]{16,}", attributes["exception.fingerprint"])
    assert attributes["exception.escaped"] is True


def test_uncaught_exception_with_the_collector_down_exits_within_the_deadline() -> None:
    # The FATAL flush and the shutdown at exit share one deadline.
    deadline = 2.0
    env = clean_env(
        AIBOS_ENDPOINT=f"http://127.0.0.1:{free_port()}",  # nothing listens there
        AIBOS_ENVIRONMENT="staging",
        AIBOS_SHUTDOWN_TIMEOUT=str(deadline),
        AIBOS_SPOOL="off",
    )
    result = run_python(APPS / "bridges_app.py", env, "uncaught", timeout=60)
    exited = time.time()
    assert result.returncode == 1
    assert "Traceback" in result.stderr
    raised = float(re.search(r"RAISING ([0-9.]+)", result.stdout).group(1))  # type: ignore[union-attr]
    # From the raise to the process gone: the deadline plus interpreter teardown, not flush +
    # deadline (4.3 s when they did not share it).
    assert exited - raised < deadline + 1.0, exited - raised


def test_thread_exception_arrives_fatal(receiver: OtlpReceiver) -> None:
    result = _run("thread", receiver)
    assert result.returncode == 0, result.stderr
    fatal = _fatal(receiver.snapshot())
    assert [r["attributes"]["thread.name"] for r in fatal] == ["billing-worker"]
    assert fatal[0]["attributes"]["exception.type"] == "ValueError"
    assert fatal[0]["attributes"]["exception.fingerprint"]
    assert "main thread goes on" in {r["body"] for r in receiver.snapshot()}


def test_asyncio_unretrieved_exception_arrives_fatal_once(receiver: OtlpReceiver) -> None:
    result = _run("asyncio", receiver)
    assert result.returncode == 0, result.stderr
    logs = receiver.snapshot()
    fatal = _fatal(logs)
    assert len(fatal) == 1, logs
    assert fatal[0]["attributes"]["exception.type"] == "LookupError"
    assert fatal[0]["attributes"]["exception.fingerprint"]
    # the asyncio logger's own ERROR for the same event is not exported a second time
    assert not [r for r in logs if r["scope"] == "asyncio" and r["severity_text"] == "ERROR"]


def test_warnings_arrive_as_warn(receiver: OtlpReceiver) -> None:
    result = _run("warnings", receiver)
    assert result.returncode == 0, result.stderr
    assert "UserWarning" in result.stderr  # still shown as Python shows it
    warned = [r for r in receiver.snapshot() if r["scope"] == "py.warnings"]
    assert len(warned) == 1
    assert warned[0]["body"] == "the v1 price API is deprecated, use v2"
    assert warned[0]["severity_text"] == "WARN"
    assert warned[0]["attributes"]["warning.category"] == "UserWarning"
    assert warned[0]["attributes"]["code.file.path"].endswith("bridges_app.py")


@pytest.mark.parametrize("module", ["structlog", "loguru"])
def test_bridges_cost_nothing_unless_used(module: str) -> None:
    probe = "import sys, aibos_otel; aibos_otel.setup(); print(sorted(m for m in ('structlog', 'loguru') if m in sys.modules))"
    result = subprocess.run(
        [sys.executable, "-c", probe],
        env=clean_env(),
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert module not in result.stdout


def test_warnings_are_not_doubled_when_logging_captures_them(tmp_path: Path, receiver: OtlpReceiver) -> None:
    script = tmp_path / "captured.py"
    script.write_text(
        "import logging, warnings, aibos_otel\n"
        "logging.captureWarnings(True)\n"
        "aibos_otel.setup()\n"
        "warnings.warn('old API', UserWarning)\n"
    )
    env = clean_env(AIBOS_ENDPOINT=receiver.endpoint, AIBOS_ENVIRONMENT="staging", AIBOS_SCHEDULE_DELAY="0.1")
    result = run_python(script, env)
    assert result.returncode == 0, result.stderr
    warned = [r for r in receiver.snapshot() if "old API" in r["body"]]
    assert [(r["scope"], r["severity_text"]) for r in warned] == [("py.warnings", "WARN")]
