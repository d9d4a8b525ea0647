"""``get_logger``: a standard ``logging.Logger`` that also has ``.trace()`` and ``.fatal()``."""

from __future__ import annotations

import logging
import threading
from typing import Any

from aibos_otel.sdk.levels import FATAL, TRACE, install_level_names


class AibosLogger(logging.Logger):
    """A ``logging.Logger`` with the two extra levels of the six-level model."""

    def trace(self, msg: object, *args: object, **kwargs: Any) -> None:
        """Log at TRACE (5), below DEBUG."""
        if self.isEnabledFor(TRACE):
            kwargs["stacklevel"] = kwargs.get("stacklevel", 1) + 1  # skip this frame
            self._log(TRACE, msg, args, **kwargs)

    def fatal(self, msg: object, *args: object, **kwargs: Any) -> None:
        """Log at FATAL (50, the same number as CRITICAL)."""
        if self.isEnabledFor(FATAL):
            kwargs["stacklevel"] = kwargs.get("stacklevel", 1) + 1  # skip this frame
            self._log(FATAL, msg, args, **kwargs)


_direct: tuple[logging.Handler, int] | None = None


def set_direct_handler(handler: logging.Handler | None, level: int = logging.NOTSET) -> None:
    """With ``capture_stdlib=False``: the handler that loggers from :func:`get_logger` get.

    The root logger is left alone then, so only this package's loggers reach the pipeline.
    """
    global _direct
    previous = _direct
    _direct = None if handler is None else (handler, level)
    if previous is not None:
        for existing in list(logging.Logger.manager.loggerDict.values()):
            if isinstance(existing, logging.Logger) and previous[0] in existing.handlers:
                existing.removeHandler(previous[0])


def direct_handler() -> logging.Handler | None:
    """The handler set by :func:`set_direct_handler`, if any."""
    return _direct[0] if _direct is not None else None


_mixins: dict[type[logging.Logger], type[AibosLogger]] = {}
_mixins_lock = threading.Lock()


def _with_levels(cls: type[logging.Logger]) -> type[AibosLogger]:
    if issubclass(cls, AibosLogger):
        return cls
    with _mixins_lock:
        mixed = _mixins.get(cls)
        if mixed is None:
            mixed = type(f"Aibos{cls.__name__}", (AibosLogger, cls), {})
            _mixins[cls] = mixed
    return mixed


def get_logger(name: str | None = None) -> AibosLogger:
    """Return the logger ``name`` (as ``logging.getLogger`` would) with ``.trace()``/``.fatal()``.

    Only the logger asked for gains the methods: the global logger class is not changed, so
    other libraries' loggers stay exactly as they were. A logger of a custom class keeps its
    class's behaviour (the methods are mixed in).
    """
    install_level_names()
    logger = logging.getLogger(name)
    if not isinstance(logger, AibosLogger):
        logger.__class__ = _with_levels(type(logger))
    assert isinstance(logger, AibosLogger)
    direct = _direct
    if direct is not None and direct[0] not in logger.handlers:
        logger.addHandler(direct[0])
        if logger.level == logging.NOTSET or logger.level > direct[1]:
            logger.setLevel(direct[1])
    return logger
