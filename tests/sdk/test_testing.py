"""``aibos_otel.testing``: records as the aibos stages leave them, nothing sent, state restored."""

from __future__ import annotations

import logging
import tomllib
from pathlib import Path

import pytest

import aibos_otel
from aibos_otel.sdk.setup import active_handle
from aibos_otel.testing import CapturedRecord, capture_logs

ROOT = Path(__file__).resolve().parents[2]


def test_records_carry_context_fingerprint_alert_and_redaction() -> None:
    log = aibos_otel.get_logger("tests.testing")
    with capture_logs(service_name="shop") as records, aibos_otel.bind(order={"id": 7}):
        try:
            raise KeyError("bob@example.com")
        except KeyError:
            log.exception("lookup failed", extra={"alert": {"severity": "critical", "channels": "slack"}})
    [record] = [r for r in records if r["logger"] == "tests.testing"]
    attributes = record["attributes"]
    assert attributes["order.id"] == 7
    assert len(attributes["exception.fingerprint"]) == 32
    assert attributes["alert.channels"] == ["slack"]  # normalised by the alert stage; tuples as lists
    assert "bob@example.com" not in repr(record) and attributes["aibos.redaction.count.email"] >= 1
    assert record["severity_text"] == "ERROR" and record["severity_number"] == 17
    assert record["resource"]["service.name"] == "shop"


def test_nothing_is_exported_without_an_explicit_endpoint_and_state_is_restored(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AIBOS_ENDPOINT", "http://127.0.0.1:9")  # a port nobody listens on
    monkeypatch.setenv("AIBOS_ENVIRONMENT", "production")  # file backup and spool by default
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    with capture_logs() as records:
        handle = active_handle()
        assert handle is not None
        assert handle.deliveries == ()  # no OTLP, no file backup
        assert handle.settings.spool_dir is None
        logging.getLogger("tests.testing").info("hello")
    assert [r["body"] for r in records if r["logger"] == "tests.testing"] == ["hello"]
    assert active_handle() is None
    assert root.handlers == handlers and root.level == level


def test_the_fixture_captures_the_tests_records(aibos_logs: list[CapturedRecord]) -> None:
    logging.getLogger("tests.testing").warning("card 4111 1111 1111 1111")
    assert [r["body"] for r in aibos_logs if r["logger"] == "tests.testing"] == [
        "card [REDACTED:credit-card]"
    ]


def test_the_fixture_is_declared_as_a_pytest11_entry_point() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["entry-points"]["pytest11"] == {"aibos_otel": "aibos_otel.testing.pytest_plugin"}
