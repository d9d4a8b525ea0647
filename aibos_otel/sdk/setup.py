"""``setup()``: one call that wires Python logging into the aibos pipeline and OTLP.

This module is the entry point and the :class:`Handle`; the parts live beside it: the settings
table (``settings.py``), the pipeline and its slot on the one LoggerProvider (``pipeline.py``,
``provider.py``), the console/file/OTLP outputs (``outputs.py``, ``exporters.py``) and the
redaction pieces (``redaction_stage.py``).
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from opentelemetry._logs import SeverityNumber
from opentelemetry.sdk._logs import LoggerProvider, LogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.resources import Resource

from aibos_otel.sdk import logger as logger_module
from aibos_otel.sdk.bridge import OTelBridgeHandler
from aibos_otel.sdk.delivery import DeliveryProcessor
from aibos_otel.sdk.export_failures import ExportFailureReporter, configured_endpoints
from aibos_otel.sdk.exporters import otlp_metric_reader
from aibos_otel.sdk.levels import install_level_names
from aibos_otel.sdk.outputs import build_outputs
from aibos_otel.sdk.pipeline import PipelineProcessor
from aibos_otel.sdk.provider import ProcessLogs
from aibos_otel.sdk.redaction_stage import redacted_resource, redaction_for
from aibos_otel.sdk.resource import build_resource
from aibos_otel.sdk.self_metrics import SelfMetrics
from aibos_otel.sdk.settings import Settings, resolve

if TYPE_CHECKING:
    from opentelemetry.sdk.metrics.export import MetricReader

_internal = logging.getLogger("aibos_otel.sdk.setup")


class Handle:
    """What ``setup()`` returns: flush and shut down the pipeline it built.

    ``shutdown()`` is also registered to run at interpreter exit; it returns within
    ``settings.shutdown_timeout`` seconds even when the collector is unreachable.
    """

    span_redaction: Callable[[Any], Any] | None = None
    """Redacts a finished span into a copy with the logs' engine and profiles (None: redaction
    off); wrap a span exporter in it with ``aibos_otel.sdk.spans.RedactingSpanExporter``."""

    def __init__(
        self,
        settings: Settings,
        *,
        logger_provider: LoggerProvider,
        meter_provider: MeterProvider,
        pipeline: PipelineProcessor,
        deliveries: Sequence[DeliveryProcessor],
        handler: OTelBridgeHandler,
        metrics: SelfMetrics,
        attached_to: logging.Logger | None,
    ) -> None:
        self.settings = settings
        self.logger_provider = logger_provider
        self.meter_provider = meter_provider
        self.pipeline = pipeline
        self.deliveries = tuple(deliveries)
        self.handler = handler
        self.metrics = metrics
        self._attached_to = attached_to
        self._closed = False
        self._done = threading.Event()
        self._lock = threading.Lock()
        self._on_shutdown: list[Callable[[], None]] = []
        self._dying_since: float | None = None
        atexit.register(self._at_exit)

    @property
    def resource(self) -> Resource:
        """The resource every record carries."""
        resource: Resource = self.logger_provider.resource
        return resource

    def force_flush(self, timeout_millis: int = 10_000) -> bool:
        """Export everything logged so far; True when it all went out within the timeout."""
        deadline = time.monotonic() + timeout_millis / 1000
        ok = self.pipeline.force_flush(timeout_millis)
        remaining = max(0, int((deadline - time.monotonic()) * 1000))
        try:
            metrics_ok: bool = self.meter_provider.force_flush(remaining)
        except Exception:  # the SDK raises when a reader fails or time ran out: report, don't crash
            _internal.warning("aibos: self-metrics could not be flushed", exc_info=True)
            metrics_ok = False
        return metrics_ok and ok

    def shutdown(self, timeout: float | None = None) -> None:
        """Detach from logging, export what the deadline allows, and stop every worker.

        A second call (say, at interpreter exit while a SIGTERM flush is running) waits for the
        first one, within the same deadline, instead of returning while records are in flight.
        """
        budget = self.settings.shutdown_timeout if timeout is None else timeout
        with self._lock:
            first = not self._closed
            self._closed = True
        if not first:
            self._done.wait(budget)
            return
        try:
            self._shutdown(budget)
        finally:
            self._done.set()

    def _shutdown(self, budget: float) -> None:
        atexit.unregister(self._at_exit)
        deadline = time.monotonic() + budget
        for undo in self._on_shutdown:
            try:
                undo()
            except Exception:
                _internal.exception("aibos: could not remove a hook")
        STATE.logs.slot.detach(self.pipeline)
        if self._attached_to is not None:
            self._attached_to.removeHandler(self.handler)
        if logger_module.direct_handler() is self.handler:
            logger_module.set_direct_handler(None)
        # Stop every worker in parallel so that one dead backend cannot eat the others' time.
        stoppers: list[threading.Thread] = []
        for delivery in self.deliveries:
            stoppers.append(_daemon(lambda d=delivery: d.shutdown_within(budget)))  # type: ignore[misc]
        stoppers.append(_daemon(lambda: self.meter_provider.shutdown(timeout_millis=budget * 1000)))
        for stopper in stoppers:
            stopper.join(max(0.0, deadline - time.monotonic()))
        self.pipeline.shutdown()

    def _start_exit_clock(self) -> None:
        # The process is dying (uncaught exception): the flush that follows and the shutdown at
        # exit share one deadline, so exit never takes longer than ``shutdown_timeout``.
        if self._dying_since is None:
            self._dying_since = time.monotonic()

    def _at_exit(self) -> None:
        budget = self.settings.shutdown_timeout
        if self._dying_since is not None:
            budget = max(0.1, budget - (time.monotonic() - self._dying_since))
        self.shutdown(budget)


def _daemon(target: Callable[[], object]) -> threading.Thread:
    thread = threading.Thread(target=target, daemon=True, name="aibos-shutdown")
    thread.start()
    return thread


def _install_bridges(handle: Handle) -> None:
    """The warnings and process-death bridges the settings ask for; undone by ``shutdown()``."""
    settings = handle.settings
    if settings.capture_warnings:
        from aibos_otel.sdk.bridges.warnings import WarningsBridge

        warnings_bridge = WarningsBridge(handle.logger_provider)
        warnings_bridge.install()
        handle._on_shutdown.append(warnings_bridge.uninstall)
    if settings.capture_exceptions or settings.flush_on_sigterm:
        from aibos_otel.sdk.bridges.process import ProcessHooks

        # A dying process gets at most the shutdown deadline (capped) to flush its last record.
        flush_timeout = min(settings.shutdown_timeout, 3.0)
        hooks = ProcessHooks(
            handle.logger_provider,
            flush=lambda seconds: handle.force_flush(int(seconds * 1000)),
            shutdown=handle.shutdown,
            on_process_death=handle._start_exit_clock,
            flush_timeout=flush_timeout,
            shutdown_timeout=settings.shutdown_timeout,
            bridge_handler=handle.handler,
        )
        hooks.install(exceptions=settings.capture_exceptions, sigterm=settings.flush_on_sigterm)
        handle._on_shutdown.append(hooks.uninstall)


def setup(
    *,
    service_name: str | None = None,
    service_version: str | None = None,
    environment: str | None = None,
    level: int | str | None = None,
    endpoint: str | None = None,
    protocol: str | None = None,
    console: bool | None = None,
    capture_stdlib: bool | None = None,
    file_backup: str | os.PathLike[str] | bool | None = None,
    redaction: Sequence[str] | bool | None = None,
    headers: Mapping[str, str] | None = None,
    compression: str | None = None,
    shutdown_timeout: float | None = None,
    resource_attributes: Mapping[str, str] | None = None,
    capture_exceptions: bool | None = None,
    capture_warnings: bool | None = None,
    flush_on_sigterm: bool | None = None,
    spool: str | os.PathLike[str] | bool | None = None,
    metric_readers: Sequence[MetricReader] = (),
    extra_processors: Sequence[LogRecordProcessor] = (),
) -> Handle:
    """Configure logging for this service and return a :class:`Handle`.

    Every keyword but the last two is a setting; when it is None, its ``AIBOS_*`` and then its
    ``OTEL_*`` variables decide, else the environment preset. The one list of settings, their
    variables and presets is the table ``aibos_otel.sdk.settings.SETTINGS`` (rendered in
    docs/sdk.md). Uncaught exceptions become FATAL records flushed before the process dies,
    warnings become WARN records, and an unhandled SIGTERM first shuts the pipeline down within
    its deadline; ``spool`` keeps batches the collector refused on disk and re-sends them.
    Calling it again replaces the previous configuration (no duplicate handlers).
    ``metric_readers`` and ``extra_processors`` (run after the stages, beside the exporters)
    are for tests and advanced wiring.
    """
    # The keywords are spelled out for users and their tools; what each means and which
    # variables stand in for it is the settings table (aibos_otel.sdk.settings.SETTINGS).
    settings = resolve(
        service_name=service_name,
        service_version=service_version,
        environment=environment,
        level=level,
        endpoint=endpoint,
        protocol=protocol,
        console=console,
        capture_stdlib=capture_stdlib,
        file_backup=file_backup,
        redaction=redaction,
        headers=headers,
        compression=compression,
        shutdown_timeout=shutdown_timeout,
        resource_attributes=resource_attributes,
        capture_exceptions=capture_exceptions,
        capture_warnings=capture_warnings,
        flush_on_sigterm=flush_on_sigterm,
        spool=spool,
    )
    return start(settings, metric_readers=metric_readers, extra_processors=extra_processors)


def start(
    settings: Settings,
    *,
    metric_readers: Sequence[MetricReader] = (),
    extra_processors: Sequence[LogRecordProcessor] = (),
) -> Handle:
    """``setup()`` from settings already resolved: replaces the previous configuration."""
    with STATE.lock:
        if STATE.active is not None:
            STATE.active.shutdown()
        if settings.disabled:
            STATE.active = handle = _inert(settings)
            return handle
        handle = _build(settings, metric_readers=metric_readers, extra_processors=extra_processors)
        STATE.active = handle
        _install_bridges(handle)
        return handle


def active_handle() -> Handle | None:
    """The handle of the current ``setup()``, if any."""
    return STATE.active


class SetupState:
    """The process-wide state of ``setup()``: the lock that serialises it, the active handle,
    and the process's LoggerProvider with the slot its pipeline sits in.

    Tests (and anything else that needs a process "as before setup()") call :meth:`reset`.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.active: Handle | None = None
        self.logs = ProcessLogs()  # the one LoggerProvider and its pipeline slot
        self.export_failures: ExportFailureReporter | None = None

    def report_export_failures(self, handle: Handle) -> None:
        """One stderr line and a count per failing OTLP exporter, spans and metrics included.

        The reporter stays installed past ``shutdown()`` (the last flush can fail too) until the
        next ``setup()`` or :meth:`reset`.
        """
        if self.export_failures is not None:
            self.export_failures.uninstall()
        settings = handle.settings
        endpoints = configured_endpoints(settings.logs_endpoint, settings.protocol)
        self.export_failures = ExportFailureReporter(
            handle.metrics, endpoints=endpoints, interval=settings.summary_interval
        )
        self.export_failures.install()

    def reset(self, timeout: float = 2.0) -> None:
        """Shut the active handle down (within ``timeout`` seconds) and forget it.

        The process-wide LoggerProvider stays (OpenTelemetry lets the global one be set only
        once); with no pipeline behind it, it drops what it is given until the next ``setup()``.
        """
        with self.lock:
            handle, self.active = self.active, None
            reporter, self.export_failures = self.export_failures, None
        if handle is not None:
            handle.shutdown(timeout=timeout)
        if reporter is not None:
            reporter.uninstall()


STATE = SetupState()
"""The one instance of :class:`SetupState`."""


def _build(
    settings: Settings,
    *,
    metric_readers: Sequence[MetricReader],
    extra_processors: Sequence[LogRecordProcessor],
) -> Handle:
    install_level_names()
    resource = redacted_resource(build_resource(settings))
    metrics = SelfMetrics()
    readers = list(metric_readers)
    if settings.endpoint is not None:
        readers.append(otlp_metric_reader(settings))
    meter_provider = MeterProvider(metric_readers=readers, resource=resource, shutdown_on_exit=False)
    metrics.register(meter_provider)

    logger_provider = STATE.logs.logger_provider(resource)
    summary_logger = logger_provider.get_logger("aibos_otel.delivery")

    def summarize_drops(text: str) -> None:
        summary_logger.emit(severity_number=SeverityNumber.WARN, severity_text="WARN", body=text)

    outputs = build_outputs(settings, metrics, summarize_drops)
    redaction = redaction_for(settings, meter_provider)
    pipeline = PipelineProcessor(
        [*outputs.downstream, *extra_processors],
        metrics=metrics,
        redaction=redaction.record,
        scope_redaction=redaction.scope,
        strict_alerts=settings.environment == "development",
    )
    STATE.logs.slot.install(pipeline)
    handler = OTelBridgeHandler(logger_provider, sanitise=redaction.text, metrics=metrics)
    handle = Handle(
        settings,
        logger_provider=logger_provider,
        meter_provider=meter_provider,
        pipeline=pipeline,
        deliveries=outputs.deliveries,
        handler=handler,
        metrics=metrics,
        attached_to=_attach(handler, settings),
    )
    STATE.report_export_failures(handle)
    if redaction.record is not None:
        from aibos_otel.sdk.spans import SpanRedaction

        handle.span_redaction = SpanRedaction(redaction.record)  # type: ignore[arg-type]
    return handle


def _inert(settings: Settings) -> Handle:
    """The handle of a switched-off SDK (``AIBOS_SDK_DISABLED`` / ``OTEL_SDK_DISABLED``).

    It touches no logger, hook, signal or global provider, starts no thread and exports nothing,
    so logging stays exactly as the service configured it without ``setup()``; its methods work
    (a flush succeeds at once) so that code written for a live handle runs unchanged.
    """
    _internal.debug(
        "aibos: the SDK is switched off (AIBOS_SDK_DISABLED/OTEL_SDK_DISABLED); setup() did nothing"
    )
    metrics = SelfMetrics()
    logger_provider = LoggerProvider(resource=Resource.get_empty(), shutdown_on_exit=False)
    return Handle(
        settings,
        logger_provider=logger_provider,
        meter_provider=MeterProvider(shutdown_on_exit=False),
        pipeline=PipelineProcessor([], metrics=metrics),
        deliveries=(),
        handler=OTelBridgeHandler(logger_provider, metrics=metrics),
        metrics=metrics,
        attached_to=None,
    )


def _attach(handler: OTelBridgeHandler, settings: Settings) -> logging.Logger | None:
    """Put the bridge on the root logger (``capture_stdlib``) or behind ``get_logger()`` only."""
    if not settings.capture_stdlib:
        logger_module.set_direct_handler(handler, settings.level)
        return None
    root = logging.getLogger()
    for existing in list(root.handlers):
        if isinstance(existing, OTelBridgeHandler):  # a handler left by an earlier setup()
            root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(settings.level)
    return root
