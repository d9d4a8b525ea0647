"""Process-death bridges: uncaught exceptions become FATAL records, and a dying process flushes.

Installed by ``setup()`` (``capture_exceptions``, ``flush_on_sigterm``); each hook chains to the
one it replaced, so Python's own traceback on stderr and any earlier hook still run.

- ``sys.excepthook``: the main thread died. The FATAL record (``exception.*`` attributes, so the
  pipeline fingerprints it) is flushed before the previous hook runs and the interpreter exits.
- ``threading.excepthook``: a thread died; the process lives on, the record is flushed all the same.
- the asyncio loop's *default* exception handler (class-level, so it covers loops created later;
  a loop with its own ``set_exception_handler`` keeps it): an exception nobody retrieved. The
  ``asyncio`` logger's own ERROR line for the same event still reaches the console, but not OTLP,
  so each event is exported once.
- ``SIGTERM`` (only when nothing else handles it, or when a server such as uvicorn hands it back
  by re-raising it after its own graceful stop): shut the pipeline down and flush the global
  tracer and meter providers (spans of instrumentations), in parallel, within the shutdown
  deadline, then die of the same signal as before. A second SIGTERM kills at once.
"""

from __future__ import annotations

import asyncio.base_events
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from types import FrameType, TracebackType
from typing import Any

from opentelemetry._logs import LogRecord, SeverityNumber
from opentelemetry.context import get_current
from opentelemetry.sdk._logs import LoggerProvider

from aibos_otel.sdk.bridge import exception_attributes

SCOPE = "aibos_otel.uncaught"
_FATAL = SeverityNumber.FATAL
_ERROR = SeverityNumber.ERROR
_reentry = threading.local()


class _SkipAsyncioDuplicate(logging.Filter):
    # On the OTel bridge handler only: the asyncio logger's record for an event the hook has
    # already exported as FATAL. Console handlers keep their line.
    def filter(self, record: logging.LogRecord) -> bool:
        # The name first: getattr with a default on a thread-local the hook never set raises
        # and swallows an AttributeError, about 1 us on every log call of every thread.
        return not (record.name == "asyncio" and getattr(_reentry, "asyncio", False))


def _flush_global_providers(timeout: float) -> None:
    # The stock SDK flushes its providers at exit, but death by signal skips atexit.
    from opentelemetry import metrics, trace

    for provider in (trace.get_tracer_provider(), metrics.get_meter_provider()):
        flush = getattr(provider, "force_flush", None)
        if flush is not None:
            try:
                flush(int(timeout * 1000))
            except Exception:
                logging.getLogger(__name__).debug("aibos: flushing %r failed", provider, exc_info=True)


class ProcessHooks:
    """Owns the installed hooks of one ``setup()``; :meth:`uninstall` restores the previous ones."""

    def __init__(
        self,
        logger_provider: LoggerProvider,
        *,
        flush: Callable[[float], object],
        shutdown: Callable[[], None],
        flush_timeout: float,
        shutdown_timeout: float = 5.0,
        bridge_handler: logging.Handler | None = None,
        on_process_death: Callable[[], None] | None = None,
    ) -> None:
        self._logger = logger_provider.get_logger(SCOPE)
        self._flush = flush
        self._shutdown = shutdown
        self._flush_timeout = flush_timeout
        self._shutdown_timeout = shutdown_timeout
        self._bridge_handler = bridge_handler
        self._on_process_death = on_process_death
        self._asyncio_filter = _SkipAsyncioDuplicate()
        self._previous_excepthook: Callable[..., Any] | None = None
        self._previous_thread_hook: Callable[[threading.ExceptHookArgs], Any] | None = None
        self._previous_asyncio: Callable[..., Any] | None = None
        self._sigterm_installed = False

    # -- emitting -------------------------------------------------------------------------------
    def emit(self, exc: BaseException | None, body: str, extra: dict[str, Any] | None = None) -> None:
        """Emit one FATAL (ERROR without an exception) record and flush it, within the timeout."""
        attributes: dict[str, Any] = dict(extra or {})
        if exc is not None:
            attributes.update(exception_attributes(exc))
            attributes["exception.escaped"] = True
        try:
            self._logger.emit(
                LogRecord(
                    timestamp=time.time_ns(),
                    context=get_current(),
                    severity_number=_FATAL if exc is not None else _ERROR,
                    severity_text="FATAL" if exc is not None else "ERROR",
                    body=body,
                    attributes=attributes,
                )
            )
            self._flush(self._flush_timeout)
        except Exception:  # a hook must never hide the original failure
            pass

    # -- hooks ----------------------------------------------------------------------------------
    def _excepthook(
        self, exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None
    ) -> None:
        # An interactive session calls the hook for every error and lives on.
        interactive = hasattr(sys, "ps1") or sys.flags.interactive
        if self._on_process_death is not None and not interactive:
            self._on_process_death()
        if not issubclass(exc_type, KeyboardInterrupt):
            self.emit(exc, f"uncaught {exc_type.__qualname__}: {exc}", {"thread.name": "MainThread"})
        previous = self._previous_excepthook or sys.__excepthook__
        previous(exc_type, exc, tb)

    def _thread_hook(self, args: threading.ExceptHookArgs) -> None:
        if args.exc_value is not None and not issubclass(args.exc_type, SystemExit):
            name = args.thread.name if args.thread is not None else "unknown"
            self.emit(
                args.exc_value,
                f"uncaught {args.exc_type.__qualname__} in thread {name}: {args.exc_value}",
                {"thread.name": name},
            )
        previous = self._previous_thread_hook or threading.__excepthook__
        previous(args)

    def _asyncio_handler(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        exc = context.get("exception")
        message = str(context.get("message") or "unhandled exception in event loop")
        self.emit(exc if isinstance(exc, BaseException) else None, message, {"asyncio.message": message})
        previous = self._previous_asyncio
        if previous is None:
            return
        _reentry.asyncio = True
        try:
            previous(loop, context)
        finally:
            _reentry.asyncio = False

    def _on_sigterm(self, signum: int, frame: FrameType | None) -> None:
        # A second SIGTERM kills at once. The work runs on a thread: the signal may have
        # interrupted this (main) thread while it held a pipeline lock.
        signal.signal(signal.SIGTERM, signal.SIG_DFL)

        def finish() -> None:
            deadline = time.monotonic() + self._shutdown_timeout
            others = threading.Thread(
                target=_flush_global_providers, args=(self._shutdown_timeout,), daemon=True
            )
            others.start()
            try:
                self._shutdown()
            finally:
                others.join(max(0.0, deadline - time.monotonic()))
                os.kill(os.getpid(), signal.SIGTERM)

        threading.Thread(target=finish, name="aibos-sigterm", daemon=True).start()

    # -- install / uninstall --------------------------------------------------------------------
    def install(self, *, exceptions: bool, sigterm: bool) -> None:
        """Install the exception hooks and/or the SIGTERM flush."""
        if exceptions:
            self._previous_excepthook = sys.excepthook
            sys.excepthook = self._excepthook
            self._previous_thread_hook = threading.excepthook
            threading.excepthook = self._thread_hook
            loop_class = asyncio.base_events.BaseEventLoop
            self._previous_asyncio = loop_class.default_exception_handler
            hook = self._asyncio_handler

            def default_exception_handler(loop: Any, context: dict[str, Any]) -> None:
                hook(loop, context)

            default_exception_handler.__aibos__ = True  # type: ignore[attr-defined]
            loop_class.default_exception_handler = default_exception_handler  # type: ignore[method-assign,assignment]
            if self._bridge_handler is not None:
                self._bridge_handler.addFilter(self._asyncio_filter)
        if (
            sigterm
            and threading.current_thread() is threading.main_thread()
            and signal.getsignal(signal.SIGTERM) == signal.SIG_DFL
        ):
            signal.signal(signal.SIGTERM, self._on_sigterm)
            self._sigterm_installed = True

    def uninstall(self) -> None:
        """Put back what :meth:`install` replaced (where nobody replaced it since)."""
        if self._previous_excepthook is not None and sys.excepthook == self._excepthook:
            sys.excepthook = self._previous_excepthook
        if self._previous_thread_hook is not None and threading.excepthook == self._thread_hook:
            threading.excepthook = self._previous_thread_hook
        loop_class = asyncio.base_events.BaseEventLoop
        current = loop_class.default_exception_handler
        if self._previous_asyncio is not None and getattr(current, "__aibos__", False):
            loop_class.default_exception_handler = self._previous_asyncio  # type: ignore[method-assign]
        if self._bridge_handler is not None:
            self._bridge_handler.removeFilter(self._asyncio_filter)
        if (
            self._sigterm_installed
            and threading.current_thread() is threading.main_thread()
            and signal.getsignal(signal.SIGTERM) == self._on_sigterm
        ):
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
        self._sigterm_installed = False
