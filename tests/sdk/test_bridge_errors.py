"""The stdlib bridge's error path: a record it cannot handle is reported on one redacted line,
never with its arguments (stdlib's ``handleError`` prints them), counted, and -- when only the
message formatting failed, or one value cannot be rendered -- still exported."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from aibos_otel.sdk.bridge import OTelBridgeHandler
from aibos_otel.sdk.handler_errors import FORMAT_ERROR_KEY, UNRENDERABLE
from aibos_otel.sdk.self_metrics import SelfMetrics
from aibos_otel.sdk.setup import active_handle
from aibos_otel.testing import CapturedRecord, capture_logs

AWS = "AKIAZ7VRSQ5NBFKSLX4Q"
PASSWORD = "hunter2"


Wired = tuple[OTelBridgeHandler, list[CapturedRecord], SelfMetrics]


@pytest.fixture
def wired() -> Iterator[Wired]:
    """The handler of a ``capture_logs()`` pipeline; records are handed to it directly, because
    pytest's own capture handlers (on the root and on non-propagating loggers) raise on a
    formatting error."""
    with capture_logs() as records:
        handle = active_handle()
        assert handle is not None
        yield handle.handler, records, handle.metrics


def _record(msg: str, *args: object, extra: dict[str, object] | None = None) -> logging.LogRecord:
    return logging.getLogger("tests.bridge_errors").makeRecord(
        "tests.bridge_errors", logging.INFO, __file__, 1, msg, args, None, extra=extra
    )


def test_handle_error_prints_one_redacted_line_without_arguments(
    wired: Wired, capsys: pytest.CaptureFixture[str]
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
    wired: Wired,
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
    wired: Wired, capsys: pytest.CaptureFixture[str]
) -> None:
    handler, collected, metrics = wired
    handler.handle(_record("key %s to %s", AWS, extra={"n": 1}))  # an argument missing
    [record] = collected
    assert record["body"] == "key %s to %s"
    attributes = record["attributes"]
    assert attributes["n"] == 1
    assert attributes[FORMAT_ERROR_KEY] == "TypeError: not enough arguments for format string"
    # nothing reached the pipeline that its redaction had to mask: the arguments were dropped
    assert AWS not in repr(record) and "aibos.redaction.total" not in attributes
    stderr = capsys.readouterr().err
    assert AWS not in stderr and stderr.count("\n") == 1
    assert "exported with the unformatted message" in stderr
    assert metrics.snapshot()["handler_errors"] == 1


def test_a_value_that_cannot_be_rendered_does_not_cost_the_record(
    wired: Wired,
) -> None:
    class Unprintable:
        def __str__(self) -> str:
            raise ValueError(AWS)

    handler, collected, _ = wired
    handler.handle(_record("order placed", extra={"order": Unprintable(), "n": 2}))
    [record] = collected
    assert record["attributes"] == {"order": UNRENDERABLE, "n": 2}
