"""The one table of levels: OTel severity number (and text) -> the ``level`` everyone uses.

The SDK (queue priority, file backup), the gateway's ``transform/level`` (rendered from this
module by ``collector-config/render_levels.py``, checked by ``--check``), the monitor's
``level`` label and the policy (retention per level, Loki rules on ``{level="..."}``) all
take their level from here, so a Loki rule and a monitor rule on ``warn`` see the same records.

The rule, in order:

1. a severity number 1..24 decides: 1-4 trace, 5-8 debug, 9-12 info, 13-16 warn, 17-20 error,
   21-24 fatal (the OTel data model's blocks of four);
2. otherwise (0 = unspecified, or a number outside the data model) the severity text decides,
   case-insensitively and ignoring surrounding ASCII whitespace, by :data:`TEXT_LEVELS`;
3. otherwise the level is ``unknown``.

Only ASCII whitespace is stripped because the gateway matches the text with RE2's
``[[:space:]]`` (tab, newline, vertical tab, form feed, carriage return, space); stripping more
here would make the two disagree on odd input.
"""

from __future__ import annotations

LEVELS: tuple[str, ...] = ("trace", "debug", "info", "warn", "error", "fatal")
"""The six levels, least severe first."""

UNKNOWN_LEVEL = "unknown"
"""The level of a record whose number and text say nothing."""

ALL_LEVELS: tuple[str, ...] = (*LEVELS, UNKNOWN_LEVEL)
"""Every value the ``level`` label can take."""

MAX_SEVERITY_NUMBER = 24

LEVEL_BY_SEVERITY: tuple[str, ...] = (UNKNOWN_LEVEL, *(lvl for lvl in LEVELS for _ in range(4)))
"""Index by severity number 0..24; index 0 is only the answer when the text says nothing."""

TEXT_LEVELS: dict[str, str] = {
    "trace": "trace",
    "debug": "debug",
    "info": "info",
    "information": "info",
    "notice": "info",
    "warn": "warn",
    "warning": "warn",
    "error": "error",
    "err": "error",
    "fatal": "fatal",
    "critical": "fatal",
    "crit": "fatal",
    "emergency": "fatal",
    "alert": "fatal",
}
"""Severity texts (lower case) understood when the number is unspecified (syslog and stdlib names)."""

TEXT_WHITESPACE = " \t\n\v\f\r"
"""What is stripped around a severity text: exactly RE2's ``[[:space:]]``."""


def level_for(severity_number: int, severity_text: str | None = "") -> str:
    """The level of a record: from the number when it is 1..24, else from the text."""
    if 0 < severity_number <= MAX_SEVERITY_NUMBER:
        return LEVEL_BY_SEVERITY[severity_number]
    if severity_text:
        return TEXT_LEVELS.get(severity_text.strip(TEXT_WHITESPACE).lower(), UNKNOWN_LEVEL)
    return UNKNOWN_LEVEL


def texts_for(level: str) -> tuple[str, ...]:
    """The severity texts that mean ``level`` when the number is unspecified."""
    return tuple(text for text, lvl in TEXT_LEVELS.items() if lvl == level)
