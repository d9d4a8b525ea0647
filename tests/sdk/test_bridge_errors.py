"""The stdlib bridge's error path: a record it cannot handle is reported on one redacted line,
never with its arguments (stdlib's ``handleError`` prints them), counted, and -- when only the
message formatting failed, or one value cannot be rendered -- still exported."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from opentelemetry.sdk._logs import LoggerProvider, LogRecordProcessor, ReadWriteLogRecord

from aibos_otel.redaction import default_redactor
from aibos_otel.sdk.bridge import OTelBridgeHandler
from aibos_otel.sdk.handler_errors import FORMAT_ERROR_KEY, UNRENDERABLE
from aibos_otel.sdk.self_metrics import SelfMetrics

AWS = "AKIAZ7VRSQ5NBFKSLX4Q"
PASSWORD = "hunter2"


class _Collect(LogRecordProcessor):
    def __init__(self) -> None:
        self.records: list[ReadWriteLogRecord] = []

    def on_emit(self, log_record: ReadWriteLogRecord) -> None:
        self.records.append(log_record)

    def shutdown(self) -> None:
        pass

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


@pytest.fixture
def wired() -> Iterator[tuple[OTelBridgeHandler, _Collect, SelfMetrics]]:
    """The handler alone; records are handed to it directly, because pytest's own capture
    handlers (on the root and on non-propagating loggers) raise on a formatting error."""
    provider = LoggerProvider(shutdown_on_exit=False)
    collected = _Collect()
    provider.add_log_record_processor(collected)
    metrics = SelfMetrics()
    handler = OTelBridgeHandler(provider, sanitise=default_redactor().redact_text, metrics=metrics)
    try:
        yield handler, collected, metrics
    finally:
        provider.shutdown()


def _record(msg: str, *args: object, extra: dict[str, object] | None = None) -> logging.LogRecord:
    return logging.getLogger("tests.bridge_errors").makeRecord(
        "tests.bridge_errors", logging.INFO, __file__, 1, msg, args, None, extra=extra
    )


def test_handle_error_prints_one_redacted_line_without_arguments(
    wired: tuple[OTelBridgeHandler, _Collect, SelfMetrics], capsys: pytest.CaptureFixture[str]
) -> None:
    handler, _, metrics = wired
    record = _record("key %s", AWS)
    try:
        raise RuntimeError(f"backend refused password={PASSWORD}")
    except RuntimeError:
        handler.handleError(record)
    stderr = capsys.readouterr().err
    assert stderr.count("\n") == 1 and stderr.startswith("aibos: logging error in logger"), stderr
    assert AWS not in stderr and PASSWORD not in stderr
    assert "Arguments" not in stderr and "Traceback" not in stderr
    assert "RuntimeError: backend refused password=[REDACTED:password-assignment]" in stderr
    assert metrics.snapshot()["handler_errors"] == 1


def test_handle_error_is_silent_when_logging_says_so(
    wired: tuple[OTelBridgeHandler, _Collect, SelfMetrics],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    handler, _, metrics = wired
    monkeypatch.setattr(logging, "raiseExceptions", False)
    record = _record("key %s", AWS)
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        handler.handleError(record)
    assert capsys.readouterr().err == ""
    assert metrics.snapshot()["handler_errors"] == 1  # still counted


def test_a_formatting_failure_still_produces_a_record(
    wired: tuple[OTelBridgeHandler, _Collect, SelfMetrics], capsys: pytest.CaptureFixture[str]
) -> None:
    handler, collected, metrics = wired
    handler.handle(_record("key %s to %s", AWS, extra={"n": 1}))  # an argument missing
    assert len(collected.records) == 1
    record = collected.records[0].log_record
    assert record.body == "key %s to %s"
    attributes = dict(record.attributes or {})
    assert attributes["n"] == 1
    assert attributes[FORMAT_ERROR_KEY] == "TypeError: not enough arguments for format string"
    assert AWS not in repr((record.body, attributes))
    stderr = capsys.readouterr().err
    assert AWS not in stderr and stderr.count("\n") == 1
    assert "exported with the unformatted message" in stderr
    assert metrics.snapshot()["handler_errors"] == 1


def test_a_value_that_cannot_be_rendered_does_not_cost_the_record(
    wired: tuple[OTelBridgeHandler, _Collect, SelfMetrics],
) -> None:
    class Unprintable:
        def __str__(self) -> str:
            raise ValueError(AWS)

    handler, collected, _ = wired
    handler.handle(_record("order placed", extra={"order": Unprintable(), "n": 2}))
    assert len(collected.records) == 1
    attributes = dict(collected.records[0].log_record.attributes or {})
    assert attributes == {"order": UNRENDERABLE, "n": 2}
