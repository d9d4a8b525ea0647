"""Issue 12, "every field", end to end: ``setup()`` to a real OTLP/gRPC receiver on loopback.

Each test puts fake secrets (ones the current engine detects) into a field other than the body
and attribute values -- OTLP ``event_name``, ``severity_text``, the scope name, attribute keys,
resource attributes -- and then searches the *serialized* requests the receiver got, so a
secret in any field of the protobuf fails the test.
"""

from __future__ import annotations

import logging

import pytest
from opentelemetry._logs import SeverityNumber

from aibos_otel.sdk.bridges.structlog import OTelProcessor
from tests.support.helpers import wait_for
from tests.support.otlp_receiver import GrpcReceiver, Record, setup_to

AWS = "AKIAZ7VRSQ5NBFKSLX4Q"
JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0"
    ".dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"
)
CARD = "4111111111111111"
PASSWORD = "hunter2"
DB_PASSWORD = "s3cretpw"
SECRETS = (AWS, JWT, CARD, PASSWORD, DB_PASSWORD)


@pytest.fixture
def receiver(monkeypatch: pytest.MonkeyPatch) -> GrpcReceiver:
    monkeypatch.setenv("AIBOS_METRICS_INTERVAL", "3600")
    monkeypatch.setenv("AIBOS_SCHEDULE_DELAY", "0.05")
    monkeypatch.delenv("AIBOS_REDACTION_PROFILES", raising=False)
    monkeypatch.setenv(
        "OTEL_RESOURCE_ATTRIBUTES",
        f"db.url=postgres://app:{DB_PASSWORD}@db:5432/app,aws.{AWS}=1,team=payments",
    )
    return GrpcReceiver()


def _bodies(receiver: GrpcReceiver) -> dict[str, Record]:
    return {str(r.body): r for r in receiver.store.snapshot()}


def _assert_no_secret_on_the_wire(receiver: GrpcReceiver) -> None:
    wire = receiver.store.wire_bytes()
    assert wire, "nothing was received"
    for secret in SECRETS:
        assert secret.encode() not in wire, f"{secret!r} reached the receiver"


def test_no_field_carries_a_secret_to_the_receiver(receiver: GrpcReceiver) -> None:
    with receiver:
        handle = setup_to(receiver)
        logging.getLogger(f"svc.{AWS}").warning(
            "stdlib line",
            extra={
                "event.name": f"signup.{JWT}",
                "ctx": {AWS: 1, "nested": {f"card {CARD}": True}},
                f"password={PASSWORD}": "x",
            },
        )
        OTelProcessor()(None, "info", {"event": "structlog line", "logger_name": f"jobs.{JWT}"})
        handle.logger_provider.get_logger(f"direct.{AWS}", f"1+{JWT}").emit(
            severity_number=SeverityNumber.INFO,
            severity_text=f"password={PASSWORD}",
            body="direct line",
            event_name=f"direct card={CARD}",
            attributes={"map": {JWT: {"card": CARD}}},
        )
        assert handle.force_flush(5000)
        assert wait_for(lambda: {"stdlib line", "structlog line", "direct line"} <= set(_bodies(receiver)))
        handle.shutdown()

    _assert_no_secret_on_the_wire(receiver)
    records = _bodies(receiver)
    stdlib = records["stdlib line"]
    assert stdlib.scope == "svc.[REDACTED:aws-access-key-id]"
    assert stdlib.event_name == "signup.[REDACTED:jwt]"
    assert stdlib.severity_text == "WARN"  # a level name is kept
    assert stdlib.attributes["ctx.[REDACTED:aws-access-key-id]"] == 1
    assert stdlib.attributes["ctx.nested.card [REDACTED:credit-card]"] is True
    assert stdlib.attributes["password=[REDACTED:password-assignment]"] == "x"
    assert records["structlog line"].scope == "jobs.[REDACTED:jwt]"
    direct = records["direct line"]
    assert direct.severity_text == "password=[REDACTED:password-assignment]"
    assert direct.event_name == "direct card=[REDACTED:credit-card]"
    assert direct.attributes["map"] == {"[REDACTED:jwt]": {"card": "[REDACTED:credit-card]"}}
    resource = stdlib.resource
    assert resource["db.url"] == "postgres://app:[REDACTED:url-credentials]@db:5432/app"
    assert resource["aws.[REDACTED:aws-access-key-id]"] == "1"
    assert resource["team"] == "payments"


def test_a_formatting_failure_is_exported_masked_and_reported_on_one_line(
    receiver: GrpcReceiver, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``log.info("key %s to %s", secret)``: stdlib's handleError would print the arguments to
    stderr and the record would be lost."""
    with receiver:
        handle = setup_to(receiver)
        # The root as a service has it: pytest's capture handlers raise on a formatting error.
        monkeypatch.setattr(logging.getLogger(), "handlers", [handle.handler])
        log = logging.getLogger("tests.format")
        log.info("key %s to %s", AWS)  # noqa: PLE1206 - the bug under test
        log.info("after the failure")
        assert handle.force_flush(5000)
        assert wait_for(lambda: {"key %s to %s", "after the failure"} <= set(_bodies(receiver)))
        handle.shutdown()

    _assert_no_secret_on_the_wire(receiver)
    failed = _bodies(receiver)["key %s to %s"]
    assert failed.severity_text == "INFO"
    assert failed.attributes["aibos.format_error"] == "TypeError: not enough arguments for format string"
    stderr = capsys.readouterr().err
    assert AWS not in stderr
    assert "Arguments" not in stderr and "Traceback" not in stderr
    lines = [line for line in stderr.splitlines() if line.startswith("aibos:")]
    assert len(lines) == 1, stderr
    assert "tests.format" in lines[0] and "TypeError" in lines[0]
    assert handle.metrics.snapshot()["handler_errors"] == 1
