import logging

import pytest
from opentelemetry._logs import SeverityNumber

import aibos_otel
from aibos_otel.sdk.levels import parse_level, severity_class, severity_for_level


@pytest.mark.parametrize(
    ("level", "number", "text"),
    [
        (aibos_otel.TRACE, SeverityNumber.TRACE, "TRACE"),
        (logging.DEBUG, SeverityNumber.DEBUG, "DEBUG"),
        (logging.INFO, SeverityNumber.INFO, "INFO"),
        (logging.WARNING, SeverityNumber.WARN, "WARN"),
        (logging.ERROR, SeverityNumber.ERROR, "ERROR"),
        (logging.CRITICAL, SeverityNumber.FATAL, "FATAL"),
        (aibos_otel.FATAL, SeverityNumber.FATAL, "FATAL"),
        (25, SeverityNumber.INFO4, "INFO"),
        (1, SeverityNumber.TRACE, "TRACE"),
        (9, SeverityNumber.TRACE4, "TRACE"),
        (55, SeverityNumber.FATAL4, "FATAL"),
        (70, SeverityNumber.FATAL4, "FATAL"),
    ],
)
def test_stdlib_levels_map_to_otel_severities(level: int, number: SeverityNumber, text: str) -> None:
    assert severity_for_level(level) == (number.value, text)


def test_six_level_constants() -> None:
    assert (aibos_otel.TRACE, aibos_otel.FATAL) == (5, 50)
    assert [severity_class(severity_for_level(n)[0]) for n in (5, 10, 20, 30, 40, 50)] == [0, 1, 2, 3, 4, 5]


@pytest.mark.parametrize(
    ("text", "expected"), [("trace", 5), ("WARN", 30), ("warning", 30), ("fatal", 50), ("25", 25)]
)
def test_parse_level_accepts_names_and_numbers(text: str, expected: int) -> None:
    assert parse_level(text) == expected


def test_parse_level_rejects_unknown_names_clearly() -> None:
    with pytest.raises(ValueError, match="unknown log level 'loud'"):
        parse_level("loud")


def test_get_logger_adds_trace_and_fatal_without_touching_other_loggers() -> None:
    other = logging.getLogger("tests.some.library")
    log = aibos_otel.get_logger("tests.levels.app")
    assert isinstance(log, logging.Logger)
    assert log is logging.getLogger("tests.levels.app")
    assert not hasattr(other, "trace")
    assert logging.getLoggerClass() is logging.Logger

    seen: list[tuple[int, str, str]] = []

    class Capture(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append((record.levelno, record.levelname, record.funcName))

    log.addHandler(capture := Capture())
    log.setLevel(aibos_otel.TRACE)
    try:
        log.trace("t")
        log.fatal("f")
    finally:
        log.removeHandler(capture)
    fn = "test_get_logger_adds_trace_and_fatal_without_touching_other_loggers"
    assert seen == [(5, "TRACE", fn), (50, "CRITICAL", fn)]


def test_get_logger_keeps_a_custom_logger_class() -> None:
    class Custom(logging.Logger):
        def custom(self) -> str:
            return "mine"

    manager = logging.Logger.manager
    manager.loggerDict["tests.levels.custom"] = Custom("tests.levels.custom")
    try:
        log = aibos_otel.get_logger("tests.levels.custom")
        assert isinstance(log, Custom)
        assert log.custom() == "mine"  # type: ignore[attr-defined]
        assert callable(log.trace)
    finally:
        del manager.loggerDict["tests.levels.custom"]
