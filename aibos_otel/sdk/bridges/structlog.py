"""The structlog bridge: a processor that emits each event as an OTel log record.

    import structlog
    from aibos_otel.sdk.bridges.structlog import OTelProcessor

    structlog.configure(processors=[
        structlog.processors.add_log_level,
        OTelProcessor(),                       # before the renderer: it needs the event dict
        structlog.dev.ConsoleRenderer(),       # structlog's own output is kept
    ])

The event (``event`` key) becomes the body, every other key an attribute (nested values are
flattened as ``extra=`` values are); ``exc_info`` becomes ``exception.*`` attributes, so errors
are fingerprinted. The trace context is the caller's, so records correlate with spans.
Do not use it when structlog already renders *through* stdlib logging
(``structlog.stdlib.ProcessorFormatter``): the stdlib bridge exports those records already.
"""

from __future__ import annotations

import sys
import time
from collections.abc import MutableMapping
from typing import Any

from opentelemetry._logs import LoggerProvider

from aibos_otel.sdk.bridges._emit import Emitter
from aibos_otel.sdk.levels import DEBUG, ERROR, FATAL, INFO, TRACE, WARNING, parse_level

_METHOD_LEVELS = {
    "trace": TRACE,
    "debug": DEBUG,
    "info": INFO,
    "msg": INFO,
    "log": INFO,
    "warning": WARNING,
    "warn": WARNING,
    "error": ERROR,
    "exception": ERROR,
    "err": ERROR,
    "critical": FATAL,
    "fatal": FATAL,
}
# Keys that structlog's own processors add and that the record already carries elsewhere.
_NOT_ATTRIBUTES = frozenset({"event", "level", "exc_info", "timestamp", "logger_name"})


def _level(method_name: str, event_dict: MutableMapping[str, Any]) -> int:
    level = event_dict.get("level")
    if isinstance(level, str):
        try:
            return parse_level(level)
        except ValueError:
            pass
    elif isinstance(level, int):
        return level
    return _METHOD_LEVELS.get(method_name, INFO)


def _exception(exc_info: Any) -> BaseException | None:
    if isinstance(exc_info, BaseException):
        return exc_info
    if isinstance(exc_info, tuple) and len(exc_info) == 3 and isinstance(exc_info[1], BaseException):
        return exc_info[1]
    if exc_info is True:
        return sys.exc_info()[1]
    return None


class OTelProcessor:
    """A structlog processor that exports the event and passes it on unchanged.

    ``keep_output=False`` ends the chain here (raises ``structlog.DropEvent``) for services that
    want OTLP only. ``scope`` names the OTel instrumentation scope when the event has no
    ``logger``/``logger_name`` key.
    """

    def __init__(
        self,
        logger_provider: LoggerProvider | None = None,
        *,
        keep_output: bool = True,
        scope: str = "structlog",
    ) -> None:
        self._emitter = Emitter(logger_provider)
        self._keep_output = keep_output
        self._scope = scope

    def __call__(
        self, logger: Any, method_name: str, event_dict: MutableMapping[str, Any]
    ) -> MutableMapping[str, Any]:
        """Emit ``event_dict`` as an OTel record; return it for the next processor."""
        scope = event_dict.get("logger_name") or event_dict.get("logger")
        fields = {k: v for k, v in event_dict.items() if k not in _NOT_ATTRIBUTES}
        if isinstance(scope, str):
            fields.pop("logger", None)
        else:
            scope = self._scope
        exception = _exception(event_dict.get("exc_info"))
        event = event_dict.get("event")
        self._emitter.emit(
            scope,
            _level(method_name, event_dict),
            event if isinstance(event, str) or event is None else str(event),
            fields,
            timestamp=time.time_ns(),
            exception=exception,
        )
        if not self._keep_output:
            import structlog

            raise structlog.DropEvent
        return event_dict
