"""What the logging bridge does when a record cannot be translated: report it safely.

Stdlib's ``logging.Handler.handleError`` prints the traceback, the message template and
``Arguments: (...)`` to stderr -- for ``log.info("key %s to %s", secret)`` that is the secret,
unredacted, on the console -- and the record is lost. The bridge instead exports the record
with its template as the body (see :func:`unformatted_body`) and reports the failure here: one
line, never the arguments, passed through the redaction engine when one is configured, and
counted in ``aibos.logs.handler.errors``.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from typing import Protocol

FORMAT_ERROR_KEY = "aibos.format_error"
"""Attribute on a record whose message could not be formatted: ``"<type>: <message>"``."""

UNRENDERABLE = "[aibos:unrenderable]"
"""Stands in for a value whose ``str()`` raised."""

Sanitise = Callable[[str], str]
"""Redacts a line of text (the engine's ``Redactor.redact_text``)."""


class ErrorCounter(Protocol):
    """What the reporter needs from :class:`~aibos_otel.sdk.self_metrics.SelfMetrics`."""

    def count_handler_error(self) -> None:
        """Count one record the handler could not translate or format."""


def unformatted_body(record: logging.LogRecord) -> str:
    """The body of a record whose ``getMessage()`` failed: the template alone.

    The arguments are left out on purpose: they did not fit the template, so there is no
    telling which of them is a secret the redaction rules would recognise in context.
    """
    try:
        return record.msg if isinstance(record.msg, str) else str(record.msg)
    except Exception:
        return UNRENDERABLE


def describe(exc: BaseException | None, sanitise: Sanitise | None) -> str:
    """``"<type>: <message>"``, the message redacted; without a redactor the type alone (the
    message of an arbitrary exception may quote a value)."""
    if exc is None:
        return "unknown error"
    name = type(exc).__qualname__
    if sanitise is None:
        return name
    try:
        return sanitise(f"{name}: {exc}")
    except Exception:
        return name


def report(
    record: logging.LogRecord,
    exc: BaseException | None,
    *,
    sanitise: Sanitise | None,
    counter: ErrorCounter | None,
    outcome: str,
) -> None:
    """Count the failure and, when ``logging.raiseExceptions`` is set (stdlib's switch for
    printing handler errors), write one redacted line to stderr. Never raises."""
    try:
        if counter is not None:
            counter.count_handler_error()
        stream = sys.stderr
        if not logging.raiseExceptions or stream is None:
            return
        where = f"logger {record.name!r} at {record.pathname}:{record.lineno}"
        if sanitise is not None:
            where = sanitise(where)
        line = f"aibos: logging error in {where}: {describe(exc, sanitise)}; arguments not shown; {outcome}"
        stream.write(" ".join(line.split()) + "\n")  # one line, whatever the exception text holds
    except Exception:  # reporting an error must not raise one in the application
        pass
