"""The loguru bridge: a sink that emits each message as an OTel log record.

    from loguru import logger
    from aibos_otel.sdk.bridges.loguru import install

    install(logger)                     # logger.add(OTelSink(), level="TRACE"); returns the id
    logger.bind(order=7).info("order placed")

The message becomes the body, ``extra`` (``bind()``/``contextualize()``) the attributes, and the
call site ``code.*`` attributes; an exception (``logger.exception``/``opt(exception=...)``) gives
``exception.*`` attributes, so it is fingerprinted. loguru's SUCCESS (25) maps to INFO. The sink
runs on the logging thread, so records carry the caller's trace context; with
``enqueue=True`` loguru calls sinks from its own thread, which loses that context.
"""

from __future__ import annotations

from typing import Any

from opentelemetry._logs import LoggerProvider

from aibos_otel.sdk.bridges._emit import Emitter


class OTelSink:
    """A loguru sink (any callable taking the message) that exports into the aibos pipeline."""

    def __init__(self, logger_provider: LoggerProvider | None = None) -> None:
        self._emitter = Emitter(logger_provider)

    def __call__(self, message: Any) -> None:
        """Emit one loguru message."""
        record = message.record
        fields: dict[str, Any] = dict(record["extra"])
        fields["code.function.name"] = record["function"]
        fields["code.line.number"] = record["line"]
        fields["code.file.path"] = record["file"].path
        exception = record["exception"]
        self._emitter.emit(
            record["name"] or "loguru",
            record["level"].no,
            record["message"],
            fields,
            timestamp=int(record["time"].timestamp() * 1e9),
            exception=exception.value if exception is not None else None,
        )


def install(logger: Any = None, *, level: str | int = "TRACE", **options: Any) -> int:
    """Add an :class:`OTelSink` to ``logger`` (loguru's global one by default); returns its id."""
    if logger is None:
        from loguru import logger as default_logger

        logger = default_logger
    handler_id: int = logger.add(OTelSink(), level=level, format="{message}", **options)
    return handler_id
