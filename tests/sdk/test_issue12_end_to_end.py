"""Issue 12's acceptance, first line: every example in the issue, logged through ``setup()`` to a
real OTLP/gRPC receiver on loopback, arrives masked. The search runs over the serialized requests
the receiver got, so a secret in any field fails the test."""

from __future__ import annotations

import logging

import pytest

from tests.redaction.test_issue12 import JSON_UNDER_KEYS, KEYED_SYNTAXES, PERCENT, UNICODE, URL_USERINFO
from tests.support.helpers import wait_for
from tests.support.otlp_receiver import GrpcReceiver, setup_to

CASES = {**URL_USERINFO, **JSON_UNDER_KEYS, **PERCENT, **UNICODE, **KEYED_SYNTAXES}
RESOURCE_SECRETS = ("Summer6276!Qx", "S3cr3tPassw0rdQ9", "Kx9!mQ2")


def test_every_issue12_example_is_masked_on_the_wire(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AIBOS_METRICS_INTERVAL", "3600")
    monkeypatch.setenv("AIBOS_SCHEDULE_DELAY", "0.05")
    monkeypatch.delenv("AIBOS_REDACTION_PROFILES", raising=False)
    # URL credentials in OTEL_RESOURCE_ATTRIBUTES (values are percent-decoded by the SDK)
    monkeypatch.setenv(
        "OTEL_RESOURCE_ATTRIBUTES",
        "db.url=postgres://app:Summer6276!Qx@db:5432/x,cache.url=redis://:S3cr3tPassw0rdQ9@cache:6379/0,"
        "mq.url=amqp://guest:Kx9!mQ2@mq",
    )
    receiver = GrpcReceiver()
    with receiver:
        handle = setup_to(receiver, "issue12")
        monkeypatch.setattr(logging.getLogger(), "handlers", [handle.handler])
        log = logging.getLogger("tests.issue12")
        for name, (text, _) in CASES.items():
            log.info("%s %s", name, text)  # in the body
            log.info("attr %s", name, extra={"detail": text})  # in an attribute value
        log.info("key %s to %s", "AKIAIOSFODNN7EXAMPLQ")  # noqa: PLE1206 - an argument missing
        assert handle.force_flush(10_000)
        expected = 2 * len(CASES) + 1
        assert wait_for(lambda: len(receiver.store.snapshot()) >= expected, timeout=60)
        handle.shutdown()

    wire = receiver.store.wire_bytes()
    leaked = [name for name, (_, secret) in CASES.items() if secret.encode() in wire]
    assert not leaked, f"reached the receiver raw: {leaked}"
    assert not [s for s in RESOURCE_SECRETS if s.encode() in wire]
    assert b"AKIAIOSFODNN7EXAMPLQ" not in wire
    assert "AKIAIOSFODNN7EXAMPLQ" not in capsys.readouterr().err
    bodies = {str(r.body) for r in receiver.store.snapshot()}
    assert len(bodies) >= len(CASES)  # the records arrived, masked, not dropped


def test_a_megabyte_line_of_distinct_secrets_arrives_masked(monkeypatch: pytest.MonkeyPatch) -> None:
    """A 1 MB line of ``password=<value>`` pairs, every value different (about 3 s of work
    unbounded): the time budget masks what it could not reach; nothing arrives raw."""
    monkeypatch.setenv("AIBOS_METRICS_INTERVAL", "3600")
    monkeypatch.setenv("AIBOS_SCHEDULE_DELAY", "0.05")
    monkeypatch.delenv("AIBOS_REDACTION_PROFILES", raising=False)
    values = [f"Qx{1_234_567 + index * 7919}z" for index in range(40_000)]
    line = " ".join(f"password={value} token=T{value}" for value in values)
    assert len(line) > 1_000_000
    receiver = GrpcReceiver()
    with receiver:
        handle = setup_to(receiver, "issue12-long")
        monkeypatch.setattr(logging.getLogger(), "handlers", [handle.handler])
        logging.getLogger("tests.issue12.long").info(line)
        assert handle.force_flush(30_000)
        assert wait_for(lambda: len(receiver.store.snapshot()) >= 1, timeout=60)
        handle.shutdown()

    wire = receiver.store.wire_bytes()
    assert b"password=[REDACTED" in wire
    assert [value for value in values if value.encode() in wire] == []
