"""aibos_otel.audit(): an audit event through the real pipeline to a real OTLP receiver."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

import aibos_otel
from aibos_otel.lifecycle.audit import AUDIT_LOGGER
from tests.support.helpers import wait_for
from tests.support.otlp_receiver import GrpcReceiver, Record, setup_to

# A GitHub token shape the secrets profile detects by value, whatever the key is called.
TOKEN = "ghp_" + "aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3zA5"


@pytest.fixture
def receiver(monkeypatch: pytest.MonkeyPatch) -> Iterator[GrpcReceiver]:
    monkeypatch.setenv("AIBOS_SCHEDULE_DELAY", "0.05")
    with GrpcReceiver() as running:
        try:
            yield running
        finally:
            # Shut the pipeline down while its receiver still answers: a quick, clean exit.
            from aibos_otel.sdk.setup import active_handle

            handle = active_handle()
            if handle is not None:
                handle.shutdown(timeout=2)


@pytest.fixture(autouse=True)
def fresh_audit_logger() -> Iterator[None]:
    """Each test sees the audit logger as a fresh process would (no level, no handlers)."""
    logger = logging.getLogger(AUDIT_LOGGER)
    logger.setLevel(logging.NOTSET)
    handlers = list(logger.handlers)
    yield
    logger.setLevel(logging.NOTSET)
    logger.handlers[:] = handlers


def _audit_records(receiver: GrpcReceiver, count: int = 1) -> list[Record]:
    def found() -> list[Record]:
        return [r for r in receiver.store.snapshot() if r.scope == AUDIT_LOGGER]

    assert wait_for(lambda: len(found()) >= count, timeout=10)
    return found()


def test_audit_event_arrives_with_identity_fields_and_masked_secrets(receiver: GrpcReceiver) -> None:
    handle = aibos_otel.setup(
        service_name="auditee", environment="staging", endpoint=receiver.endpoint, console=False
    )
    result = aibos_otel.audit(  # type: ignore[func-returns-value]
        "user.export",
        actor="svc-billing",
        target="user:42",
        rows=120,
        request={"id": "r-9", "region": "eu"},
        password="hunter2-hunter2",
        note=f"used {TOKEN}",
    )
    assert result is None
    assert handle.force_flush(5000)
    (record,) = _audit_records(receiver)
    attributes = record.attributes
    assert record.severity_number == 9 and record.severity_text == "INFO"
    assert record.body == "audit user.export success"
    assert attributes["event.name"] == "aibos.audit"
    assert record.event_name == "aibos.audit"  # OTLP's own event_name field too
    assert attributes["audit.action"] == "user.export"
    assert attributes["audit.actor"] == "svc-billing"
    assert attributes["audit.target"] == "user:42"
    assert attributes["audit.outcome"] == "success"
    assert attributes["rows"] == 120
    assert attributes["request.id"] == "r-9" and attributes["request.region"] == "eu"
    assert record.resource["service.name"] == "auditee"
    # Redaction ran on the details: the key rule and the value detector both fired.
    assert "hunter2" not in str(attributes["password"])
    assert TOKEN not in str(attributes["note"]) and str(attributes["note"]).startswith("used ")
    assert attributes["aibos.redaction.total"] >= 2


def test_an_identity_value_that_is_personal_data_is_masked_like_any_value(receiver: GrpcReceiver) -> None:
    # Why the docs say "opaque ids for actors": redaction does not exempt audit.* values.
    handle = aibos_otel.setup(service_name="s", environment="staging", endpoint=receiver.endpoint)
    aibos_otel.audit("login", actor="alice@example.com", target="user:42")
    assert handle.force_flush(5000)
    (record,) = _audit_records(receiver)
    assert "alice@example.com" not in str(record.attributes["audit.actor"])
    assert record.attributes["audit.target"] == "user:42"
    assert record.attributes["audit.action"] == "login"


def test_audit_is_not_filtered_by_the_service_level_nor_needs_the_root_logger(
    receiver: GrpcReceiver,
) -> None:
    handle = setup_to(receiver, "quiet", environment="production", level="error", capture_stdlib=False)
    aibos_otel.get_logger("tests.audit.app").info("not exported: below the service level")
    aibos_otel.audit("login", actor="user-7", outcome="denied", reason="mfa")
    assert handle.force_flush(5000)
    (record,) = _audit_records(receiver)
    assert record.attributes["audit.outcome"] == "denied"
    assert record.attributes["reason"] == "mfa"
    assert "audit.target" not in record.attributes  # no target given
    assert not [r for r in receiver.store.snapshot() if r.body == "not exported: below the service level"]


def test_an_explicit_level_on_the_audit_logger_is_respected(receiver: GrpcReceiver) -> None:
    logging.getLogger(AUDIT_LOGGER).setLevel(logging.WARNING)
    handle = aibos_otel.setup(service_name="s", environment="staging", endpoint=receiver.endpoint)
    aibos_otel.audit("login", actor="user-7")
    logging.getLogger("tests.audit.marker").warning("marker")
    assert handle.force_flush(5000)
    assert wait_for(lambda: any(r.body == "marker" for r in receiver.store.snapshot()))
    assert not [r for r in receiver.store.snapshot() if r.scope == AUDIT_LOGGER]


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def test_before_setup_it_goes_where_stdlib_logging_goes() -> None:
    collect = _Collect()
    root = logging.getLogger()
    root.addHandler(collect)
    try:
        aibos_otel.audit("config.change", actor="admin-1", target="flag:beta", outcome="failure", old=1)
    finally:
        root.removeHandler(collect)
    (record,) = [r for r in collect.records if r.name == AUDIT_LOGGER]
    assert record.levelno == logging.INFO
    assert record.getMessage() == "audit config.change failure"
    fields = record.__dict__
    assert fields["audit.action"] == "config.change"
    assert fields["audit.actor"] == "admin-1"
    assert fields["audit.target"] == "flag:beta"
    assert fields["audit.outcome"] == "failure"
    assert fields["event.name"] == "aibos.audit"
    assert fields["old"] == 1
    assert record.pathname == __file__  # the caller's frame, not audit()'s


@pytest.mark.parametrize(
    ("kwargs", "error", "text"),
    [
        ({"actor": ""}, ValueError, "actor"),
        ({"actor": "a", "outcome": " "}, ValueError, "outcome"),
        ({"actor": "a", "filename": "x.csv"}, TypeError, "filename"),
        ({"actor": "a", "audit": {"actor": "someone-else"}}, TypeError, "audit.actor"),
    ],
)
def test_bad_calls_fail_loudly_and_emit_nothing(kwargs: dict[str, object], error: type, text: str) -> None:
    collect = _Collect()
    logging.getLogger(AUDIT_LOGGER).addHandler(collect)
    with pytest.raises(error, match=text):
        aibos_otel.audit("act", **kwargs)  # type: ignore[arg-type]
    assert collect.records == []


def test_audit_is_in_the_public_api() -> None:
    assert "audit" in aibos_otel.__all__
    from aibos_otel.lifecycle.audit import audit

    assert aibos_otel.audit is audit
