"""What the structlog and loguru bridges share: find the active pipeline and emit into it."""

from __future__ import annotations

import sys
import threading
from typing import Any

from opentelemetry._logs import Logger, LoggerProvider, LogRecord, SeverityNumber, get_logger_provider
from opentelemetry.context import get_current

from aibos_otel.sdk.attributes import flatten_into
from aibos_otel.sdk.levels import severity_for_level

_SEVERITIES = {n: SeverityNumber(n) for n in range(25)}


class Emitter:
    """Emits records into the pipeline of the current ``setup()`` (or a given provider).

    The provider is looked up at each call, not at construction, so a bridge configured before
    ``setup()`` (or kept across a second ``setup()``) always reaches the live pipeline, and
    records below the active ``setup()`` level are skipped as the stdlib bridge skips them.
    """

    def __init__(self, logger_provider: LoggerProvider | None = None) -> None:
        self._fixed = logger_provider
        self._loggers: dict[tuple[int, str], Logger] = {}
        self._lock = threading.Lock()

    def _target(self) -> tuple[LoggerProvider, int]:
        if self._fixed is not None:
            return self._fixed, 0
        # Only look at setup() if it was imported: a bridge must not pull in the SDK wiring.
        setup_module = sys.modules.get("aibos_otel.sdk.setup")
        handle = setup_module.active_handle() if setup_module is not None else None
        if handle is not None:
            return handle.logger_provider, handle.settings.level
        return get_logger_provider(), 0

    def _logger(self, provider: LoggerProvider, scope: str) -> Logger:
        key = (id(provider), scope)
        logger = self._loggers.get(key)
        if logger is None:
            with self._lock:
                logger = self._loggers.setdefault(key, provider.get_logger(scope))
        return logger

    def emit(
        self,
        scope: str,
        levelno: int,
        body: Any,
        fields: dict[str, Any],
        *,
        timestamp: int | None = None,
        exception: BaseException | None = None,
    ) -> None:
        """Emit one record at stdlib level number ``levelno`` with ``fields`` as attributes."""
        provider, threshold = self._target()
        if levelno < threshold:
            return
        attributes: dict[str, Any] = {}
        for key, value in fields.items():
            flatten_into(attributes, key, value)
        if exception is not None:
            from aibos_otel.sdk.bridge import exception_attributes

            attributes.update(exception_attributes(exception))
        number, text = severity_for_level(levelno)
        record = LogRecord(
            timestamp=timestamp,
            context=get_current(),
            severity_number=_SEVERITIES[number],
            severity_text=text,
            body=body,
            attributes=attributes,
        )
        self._logger(provider, scope).emit(record)
