"""The ``warnings`` bridge: every warning Python shows also becomes a WARN record.

It wraps ``warnings.showwarning``, so the warning filters decide as usual what is shown (a
warning filtered out or already shown once is not exported either), and the previous
``showwarning`` still prints it. Unlike ``logging.captureWarnings`` this keeps the category,
file and line as attributes instead of folding them into the message text.
"""

from __future__ import annotations

import contextlib
import time
import warnings
from typing import Any, TextIO

from opentelemetry._logs import LogRecord, SeverityNumber
from opentelemetry.context import get_current
from opentelemetry.sdk._logs import LoggerProvider

SCOPE = "py.warnings"


class WarningsBridge:
    """Installs itself as ``warnings.showwarning``; :meth:`uninstall` restores the previous one."""

    def __init__(self, logger_provider: LoggerProvider, *, keep_output: bool = True) -> None:
        self._logger = logger_provider.get_logger(SCOPE)
        self._keep_output = keep_output
        self._previous: Any = None

    def showwarning(  # noqa: PLR0917 - the signature of warnings.showwarning
        self,
        message: Warning | str,
        category: type[Warning],
        filename: str,
        lineno: int,
        file: TextIO | None = None,
        line: str | None = None,
    ) -> None:
        """Emit the warning as a WARN record, then show it as before."""
        # A warning must never turn into an error in the caller.
        with contextlib.suppress(Exception):
            self._logger.emit(
                LogRecord(
                    timestamp=time.time_ns(),
                    context=get_current(),
                    severity_number=SeverityNumber.WARN,
                    severity_text="WARN",
                    body=str(message),
                    attributes={
                        "warning.category": category.__qualname__,
                        "code.file.path": filename,
                        "code.line.number": lineno,
                    },
                )
            )
        if self._keep_output and self._previous is not None:
            self._previous(message, category, filename, lineno, file, line)

    def install(self) -> None:
        """Replace ``warnings.showwarning``, unless ``logging.captureWarnings(True)`` is active:
        then warnings already reach the stdlib bridge through the ``py.warnings`` logger, and
        a second record per warning would be a duplicate."""
        if getattr(warnings.showwarning, "__module__", None) == "logging":
            return
        self._previous = warnings.showwarning
        warnings.showwarning = self.showwarning

    def uninstall(self) -> None:
        """Restore the previous ``showwarning`` if this bridge is still the installed one."""
        if self._previous is not None and warnings.showwarning == self.showwarning:
            warnings.showwarning = self._previous
