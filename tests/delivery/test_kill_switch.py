"""The rollback switch: AIBOS_SDK_DISABLED (or OTEL_SDK_DISABLED) leaves plain stdlib logging.

docs/operations.md promises that one variable takes the SDK out without a release. Under
OTEL_SDK_DISABLED, OpenTelemetry's own providers hand out no-op loggers: a bridge installed then
would have sent every record into the void, so setup() and the distro must stand aside.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.delivery.conftest import ROOT, clean_env, run_instrumented, run_python
from tests.delivery.receiver import OtlpReceiver

SERVICE = """
import logging, sys, warnings
logging.basicConfig(stream=sys.stdout, format="plain %(levelname)s %(name)s %(message)s")
before = (list(logging.getLogger().handlers), sys.excepthook, warnings.showwarning)
import aibos_otel
handle = aibos_otel.setup(service_name="rollback", environment="production")
after = (list(logging.getLogger().handlers), sys.excepthook, warnings.showwarning)
print("untouched" if before == after else f"changed {before} -> {after}")
logging.getLogger("app").error("payment failed for order %s", 42)
aibos_otel.get_logger("app.direct").warning("through get_logger")
print("flush", handle.force_flush(2000))
handle.shutdown()
"""

INSTRUMENTED = """
import logging, sys
from opentelemetry import trace
logging.basicConfig(stream=sys.stdout, format="plain %(levelname)s %(name)s %(message)s")
logging.getLogger("probe").warning("hello from probe")
with trace.get_tracer("probe").start_as_current_span("work") as span:
    span.set_attribute("db.statement", "UPDATE users SET password=hunter2-Secret")
"""


@pytest.mark.parametrize("variable", ["AIBOS_SDK_DISABLED", "OTEL_SDK_DISABLED"])
def test_setup_switched_off_leaves_stdlib_logging_and_exports_nothing(
    tmp_path: Path, receiver: OtlpReceiver, variable: str
) -> None:
    script = tmp_path / "service.py"
    script.write_text(SERVICE)
    env = clean_env(**{variable: "true", "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint})
    env["AIBOS_FILE_BACKUP"] = str(tmp_path / "backup")
    result = run_python(script, env)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "untouched"  # no handler, excepthook or warnings hook was installed
    assert "plain ERROR app payment failed for order 42" in lines
    assert "plain WARNING app.direct through get_logger" in lines
    assert "flush True" in lines
    # The process has exited (its last flush is behind it): nothing was sent, nothing backed up.
    assert receiver.requests == 0 and not receiver.metric_names
    assert not (tmp_path / "backup").exists()


def test_switch_off_means_on_when_false(tmp_path: Path, receiver: OtlpReceiver) -> None:
    script = tmp_path / "service.py"
    script.write_text(SERVICE)
    env = clean_env(AIBOS_SDK_DISABLED="false", OTEL_EXPORTER_OTLP_ENDPOINT=receiver.endpoint)
    env["AIBOS_FILE_BACKUP"] = "false"
    result = run_python(script, env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0].startswith("changed")
    assert receiver.wait_for(lambda logs: any(r["body"] == "payment failed for order 42" for r in logs))


def test_switch_with_a_typo_is_a_clear_error(tmp_path: Path) -> None:
    script = tmp_path / "service.py"
    script.write_text(SERVICE)
    result = run_python(script, clean_env(AIBOS_SDK_DISABLED="yes please"))
    assert result.returncode != 0
    assert "AIBOS_SDK_DISABLED" in result.stderr


def test_distro_switched_off_configures_no_logs_and_no_spans(tmp_path: Path, receiver: OtlpReceiver) -> None:
    script = tmp_path / "probe.py"
    script.write_text(INSTRUMENTED)
    env = clean_env(
        PYTHONPATH=str(ROOT),
        OTEL_EXPORTER_OTLP_ENDPOINT=receiver.endpoint,
        OTEL_SERVICE_NAME="probe",
        OTEL_PYTHON_DISTRO="aibos",
        OTEL_BSP_SCHEDULE_DELAY="100",
        AIBOS_SDK_DISABLED="true",
    )
    result = run_instrumented(script, env)
    assert result.returncode == 0, result.stderr
    assert "plain WARNING probe hello from probe" in result.stdout.splitlines()
    assert (
        receiver.requests == 0 and receiver.spans == [] and not receiver.metric_names
    )  # no span left the process, raw or not


def test_doctor_fails_a_switched_off_sdk_in_production() -> None:
    from aibos_otel.doctor.checks_service import check_service
    from aibos_otel.doctor.model import Status

    [check] = check_service({"AIBOS_SDK_DISABLED": "1", "AIBOS_ENVIRONMENT": "production"})
    assert check.status is Status.FAIL
    assert "switched off" in check.evidence and "unset AIBOS_SDK_DISABLED" in check.fix
    [check] = check_service({"OTEL_SDK_DISABLED": "true", "AIBOS_ENVIRONMENT": "staging"})
    assert check.status is Status.WARN
