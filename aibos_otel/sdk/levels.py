"""The six levels (TRACE..FATAL) and their mapping to OpenTelemetry severities.

Python has no TRACE and calls 50 CRITICAL; OpenTelemetry's stock bridge maps level 5 to
``UNSPECIFIED``. Here every stdlib level number maps to the OTel severity range it falls in,
and the severity text is the OTel short name (TRACE, DEBUG, INFO, WARN, ERROR, FATAL).
"""

from __future__ import annotations

import logging

from aibos_otel.levels import LEVEL_BY_SEVERITY, LEVELS, MAX_SEVERITY_NUMBER, UNKNOWN_LEVEL, level_for

TRACE = 5
"""Finer than DEBUG: per-item detail that is off even in most development runs."""
DEBUG = logging.DEBUG
INFO = logging.INFO
WARNING = logging.WARNING
ERROR = logging.ERROR
FATAL = logging.CRITICAL
"""The process (or a request) cannot continue. Same number as ``logging.CRITICAL``."""

LEVEL_NAMES: dict[str, int] = {
    "TRACE": TRACE,
    "DEBUG": DEBUG,
    "INFO": INFO,
    "WARN": WARNING,
    "WARNING": WARNING,
    "ERROR": ERROR,
    "FATAL": FATAL,
    "CRITICAL": FATAL,
}

SEVERITY_TEXTS = frozenset({"UNSPECIFIED", "TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"})
"""Every severity text :func:`severity_for_level` writes."""

# Short OTel names, lower-case, as Loki's `level` label and the policy file use them: the one
# table in aibos_otel.levels (the gateway's transform is rendered from it).
SEVERITY_CLASSES: tuple[str, ...] = LEVELS
_INFO_CLASS = LEVELS.index("info")
_CLASS_BY_NUMBER: tuple[int, ...] = (_INFO_CLASS, *(LEVELS.index(lvl) for lvl in LEVEL_BY_SEVERITY[1:]))


def _severity_for(levelno: int) -> tuple[int, str]:
    # OTel severities come in blocks of four: TRACE 1-4, DEBUG 5-8, ... FATAL 21-24.
    # Stdlib levels 1-9 land in TRACE (5 -> TRACE), 10-19 DEBUG, ..., 50 and above FATAL.
    if levelno <= 0:
        return 0, "UNSPECIFIED"
    if levelno < DEBUG:
        return min(4, max(1, levelno - 4)), "TRACE"
    block = min(levelno // 10, 5)  # 1 DEBUG .. 5 FATAL
    offset = min(levelno % 10, 3) if levelno < 60 else 3
    return 1 + block * 4 + offset, ("DEBUG", "INFO", "WARN", "ERROR", "FATAL")[block - 1]


_TABLE: tuple[tuple[int, str], ...] = tuple(_severity_for(n) for n in range(61))


def severity_for_level(levelno: int) -> tuple[int, str]:
    """Map a stdlib level number to (OTel severity number 0-24, severity text).

    Plain ints, so that importing this module does not import OpenTelemetry.
    """
    if 0 <= levelno <= 60:
        return _TABLE[levelno]
    return _severity_for(levelno)


def severity_class(severity_number: int, severity_text: str | None = "") -> int:
    """Index into :data:`SEVERITY_CLASSES` (0 trace .. 5 fatal) for an OTel severity.

    The level comes from :func:`aibos_otel.levels.level_for`; a record whose level is
    ``unknown`` counts as info here: neither first to drop nor protected.
    """
    if 0 < severity_number <= MAX_SEVERITY_NUMBER:
        return _CLASS_BY_NUMBER[severity_number]  # the hot path: one index, no text
    level = level_for(severity_number, severity_text)
    return _INFO_CLASS if level == UNKNOWN_LEVEL else LEVELS.index(level)


def parse_level(level: int | str) -> int:
    """Turn a level number or name ("info", "WARN", "trace", "25") into a stdlib level number."""
    if isinstance(level, int):
        return level
    text = level.strip().upper()
    if text.isdigit():
        return int(text)
    try:
        return LEVEL_NAMES[text]
    except KeyError:
        names = ", ".join(n.lower() for n in LEVEL_NAMES)
        raise ValueError(f"unknown log level {level!r}; use a number or one of: {names}") from None


def install_level_names() -> None:
    """Register TRACE with the logging module (idempotent) so ``%(levelname)s`` shows it."""
    if logging.getLevelName(TRACE) != "TRACE":
        logging.addLevelName(TRACE, "TRACE")
