"""``setup()``: one call that wires Python logging into the aibos pipeline and OTLP."""

from __future__ import annotations

import atexit
import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

from opentelemetry._logs import SeverityNumber
from opentelemetry.sdk._logs import LoggerProvider, LogRecordProcessor, ReadWriteLogRecord
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.resources import Resource

from aibos_otel.sdk import logger as logger_module
from aibos_otel.sdk.bridge import OTelBridgeHandler
from aibos_otel.sdk.console import ConsoleProcessor
from aibos_otel.sdk.delivery import DeliveryProcessor
from aibos_otel.sdk.handler_errors import Sanitise
from aibos_otel.sdk.levels import install_level_names
from aibos_otel.sdk.pipeline import PipelineProcessor, RecordStage, ScopeStage
from aibos_otel.sdk.resource import build_resource
from aibos_otel.sdk.self_metrics import SelfMetrics
from aibos_otel.sdk.settings import Settings, resolve

if TYPE_CHECKING:
    from opentelemetry.sdk._logs.export import LogRecordExporter
    from opentelemetry.sdk.metrics.export import MetricReader

    from aibos_otel.sdk.spool import Spool

_internal = logging.getLogger("aibos_otel.sdk.setup")
_setup_lock = threading.Lock()
_active: Handle | None = None


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
        _slot.detach(self.pipeline)
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


def _otlp_log_exporter(settings: Settings) -> LogRecordExporter:
    timeout = settings.export_timeout
    if settings.protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter as GrpcExporter

        compression = None
        if settings.compression:
            import grpc

            compression = (
                grpc.Compression.Gzip if settings.compression == "gzip" else grpc.Compression.NoCompression
            )
        endpoint = settings.logs_endpoint or ""
        return GrpcExporter(
            endpoint=endpoint,
            insecure=endpoint.startswith("http://") or None,
            headers=dict(settings.headers) if settings.headers else None,
            timeout=timeout,
            compression=compression,
        )
    from opentelemetry.exporter.otlp.proto.http import Compression
    from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter as HttpExporter

    return HttpExporter(
        endpoint=settings.logs_endpoint,
        headers=dict(settings.headers) if settings.headers else None,
        timeout=timeout,
        compression=Compression(settings.compression) if settings.compression else None,
    )


def _otlp_metric_reader(settings: Settings) -> MetricReader:
    from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader

    exporter: Any
    if settings.protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter as GrpcMetrics

        endpoint = settings.metrics_endpoint or ""
        exporter = GrpcMetrics(
            endpoint=endpoint,
            insecure=endpoint.startswith("http://") or None,
            headers=dict(settings.headers) if settings.headers else None,
            timeout=settings.export_timeout,
        )
    else:
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter as HttpMetrics

        exporter = HttpMetrics(
            endpoint=settings.metrics_endpoint,
            headers=dict(settings.headers) if settings.headers else None,
            timeout=settings.export_timeout,
        )
    return PeriodicExportingMetricReader(exporter, export_interval_millis=settings.metrics_interval * 1000)


class _Redaction(NamedTuple):
    record: RecordStage | None = None
    scope: ScopeStage | None = None
    text: Sanitise | None = None  # for the one line the handler prints on an error


def _redaction_stage(settings: Settings, meter_provider: MeterProvider) -> _Redaction:
    """The record stage, the scope stage and a text redactor (all None when redaction is off)."""
    if settings.redaction is False:
        return _Redaction()
    try:
        from aibos_otel.redaction.stage import build_record_stage  # type: ignore[import-not-found,unused-ignore]
    except ImportError:  # the engine ships in the same wheel; only a broken install lands here
        _internal.warning("aibos: redaction engine unavailable; records are not redacted")
        return _Redaction()
    profiles = None if settings.redaction in (None, True) else list(settings.redaction)  # type: ignore[arg-type]
    stage = build_record_stage(profiles, meter_provider=meter_provider)
    return _Redaction(stage, stage.scope, stage.redactor.redact_text)


def _redacted_resource(resource: Resource) -> Resource:
    try:
        from aibos_otel.redaction.stage import (  # type: ignore[import-not-found,unused-ignore]
            redact_resource_attributes,
        )
    except ImportError:
        return resource
    return Resource(redact_resource_attributes(dict(resource.attributes)), resource.schema_url)


def _spool(settings: Settings, metrics: SelfMetrics) -> Spool | None:
    if settings.spool_dir is None:
        return None
    from aibos_otel.sdk.spool import Spool

    try:
        return Spool(settings.spool_dir, max_bytes=settings.spool_max_bytes, metrics=metrics)
    except OSError as exc:
        # Like the file backup: the service starts without a spool, and says so.
        print(f"aibos: disk spool disabled, cannot write to {settings.spool_dir}: {exc}", file=sys.stderr)
        return None


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


def _file_backup(
    settings: Settings, metrics: SelfMetrics, summary: Callable[[str], None]
) -> DeliveryProcessor | None:
    directory = settings.file_backup_dir
    if directory is None:
        return None
    from aibos_otel.sdk.file_backup import FileBackupExporter

    try:
        exporter = FileBackupExporter(directory)
    except OSError as exc:
        # A service must start even when its backup directory is not writable; say so loudly.
        print(f"aibos: file backup disabled, cannot write to {directory}: {exc}", file=sys.stderr)
        return None
    return DeliveryProcessor(
        exporter,
        name="file",
        metrics=metrics,
        max_queue_records=settings.queue_max_records,
        max_queue_bytes=settings.queue_max_bytes,
        schedule_delay=settings.schedule_delay,
        shutdown_deadline=settings.shutdown_timeout,
        on_drop_summary=summary,
        summary_interval=settings.summary_interval,
    )


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

    Every argument has an ``AIBOS_*`` environment variable (``AIBOS_SERVICE_NAME``,
    ``AIBOS_ENVIRONMENT``, ``AIBOS_LEVEL``, ``AIBOS_ENDPOINT``, ``AIBOS_PROTOCOL``,
    ``AIBOS_CONSOLE``, ``AIBOS_CAPTURE_STDLIB``, ``AIBOS_FILE_BACKUP``,
    ``AIBOS_REDACTION_PROFILES``, ``AIBOS_SHUTDOWN_TIMEOUT``), and the standard ``OTEL_*``
    variables are honoured (``OTEL_SERVICE_NAME``, ``OTEL_RESOURCE_ATTRIBUTES``,
    ``OTEL_EXPORTER_OTLP[_LOGS]_ENDPOINT/PROTOCOL/HEADERS/COMPRESSION/TIMEOUT``).
    Uncaught exceptions (``sys``, ``threading``, asyncio) become FATAL records flushed before
    the process dies (``capture_exceptions``, ``AIBOS_CAPTURE_EXCEPTIONS``), warnings become WARN
    records (``capture_warnings``, ``AIBOS_CAPTURE_WARNINGS``), and an unhandled SIGTERM first
    shuts the pipeline down within its deadline (``flush_on_sigterm``, ``AIBOS_FLUSH_ON_SIGTERM``).
    ``spool`` (``AIBOS_SPOOL``, ``AIBOS_SPOOL_DIR``; on by default in production) keeps batches
    the collector refused on disk and re-sends them, across restarts.
    Calling it again replaces the previous configuration (no duplicate handlers).
    ``metric_readers`` and ``extra_processors`` (run after the stages, beside the exporters)
    are for tests and advanced wiring.
    """
    # Every keyword except the two wiring hooks is a setting: hand them to resolve() as given,
    # so its signature stays the one list of settings.
    options = dict(locals())
    del options["metric_readers"], options["extra_processors"]
    settings = resolve(**options)
    global _active
    with _setup_lock:
        if _active is not None:
            _active.shutdown()
        _active = _build(settings, metric_readers=metric_readers, extra_processors=extra_processors)
        _install_bridges(_active)
        return _active


def active_handle() -> Handle | None:
    """The handle of the current ``setup()``, if any."""
    return _active


def _build(
    settings: Settings,
    *,
    metric_readers: Sequence[MetricReader],
    extra_processors: Sequence[LogRecordProcessor],
) -> Handle:
    install_level_names()
    resource = _redacted_resource(build_resource(settings))
    metrics = SelfMetrics()
    readers = list(metric_readers)
    if settings.endpoint is not None:
        readers.append(_otlp_metric_reader(settings))
    meter_provider = MeterProvider(metric_readers=readers, resource=resource, shutdown_on_exit=False)
    metrics.register(meter_provider)

    logger_provider = _process_logger_provider(resource)
    summary_logger = logger_provider.get_logger("aibos_otel.delivery")

    def summarize_drops(text: str) -> None:
        summary_logger.emit(severity_number=SeverityNumber.WARN, severity_text="WARN", body=text)

    downstream: list[LogRecordProcessor] = []
    deliveries: list[DeliveryProcessor] = []
    if settings.console:
        downstream.append(ConsoleProcessor(pretty=settings.console_pretty))
    file_delivery = _file_backup(settings, metrics, summarize_drops)
    if file_delivery is not None:
        deliveries.append(file_delivery)
    if settings.endpoint is not None:
        deliveries.append(
            DeliveryProcessor(
                _otlp_log_exporter(settings),
                name="otlp",
                metrics=metrics,
                max_queue_records=settings.queue_max_records,
                max_queue_bytes=settings.queue_max_bytes,
                schedule_delay=settings.schedule_delay,
                shutdown_deadline=settings.shutdown_timeout,
                on_drop_summary=summarize_drops,
                summary_interval=settings.summary_interval,
                spool=_spool(settings, metrics),
                retry_interval=settings.spool_retry_interval,
            )
        )
    downstream.extend(deliveries)
    downstream.extend(extra_processors)
    redaction = _redaction_stage(settings, meter_provider)
    pipeline = PipelineProcessor(
        downstream,
        metrics=metrics,
        redaction=redaction.record,
        scope_redaction=redaction.scope,
        strict_alerts=settings.environment == "development",
    )
    _slot.install(pipeline)

    handler = OTelBridgeHandler(logger_provider, sanitise=redaction.text, metrics=metrics)
    attached_to: logging.Logger | None = None
    if settings.capture_stdlib:
        root = logging.getLogger()
        for existing in list(root.handlers):
            if isinstance(existing, OTelBridgeHandler):  # a handler left by an earlier setup()
                root.removeHandler(existing)
        root.addHandler(handler)
        root.setLevel(settings.level)
        attached_to = root
    else:
        logger_module.set_direct_handler(handler, settings.level)
    handle = Handle(
        settings,
        logger_provider=logger_provider,
        meter_provider=meter_provider,
        pipeline=pipeline,
        deliveries=deliveries,
        handler=handler,
        metrics=metrics,
        attached_to=attached_to,
    )
    _report_export_failures(handle)
    if redaction.record is not None:
        from aibos_otel.sdk.spans import SpanRedaction

        handle.span_redaction = SpanRedaction(redaction.record)  # type: ignore[arg-type]
    return handle


_reporter: Any = None


def _report_export_failures(handle: Handle) -> None:
    """One stderr line and a count per failing OTLP exporter, spans and metrics included. It stays
    installed past ``shutdown()`` (the last flush can fail too) until the next ``setup()``."""
    from aibos_otel.sdk.export_failures import ExportFailureReporter, configured_endpoints

    global _reporter
    if _reporter is not None:
        _reporter.uninstall()
    settings = handle.settings
    endpoints = configured_endpoints(settings.logs_endpoint, settings.protocol)
    _reporter = ExportFailureReporter(handle.metrics, endpoints=endpoints, interval=settings.summary_interval)
    _reporter.install()


class _PipelineSlot(LogRecordProcessor):
    """The one processor the process-wide LoggerProvider has: it forwards to the pipeline of
    the latest ``setup()``, so a second ``setup()`` swaps pipelines instead of providers."""

    def __init__(self) -> None:
        self.current: PipelineProcessor | None = None

    def install(self, pipeline: PipelineProcessor) -> None:
        self.current = pipeline

    def detach(self, pipeline: PipelineProcessor) -> None:
        if self.current is pipeline:  # a newer setup() may already have replaced it
            self.current = None

    def on_emit(self, log_record: ReadWriteLogRecord) -> None:
        pipeline = self.current
        if pipeline is not None:
            pipeline.on_emit(log_record)

    def shutdown(self) -> None:
        pass  # each Handle shuts its own pipeline down

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        pipeline = self.current
        return pipeline.force_flush(timeout_millis) if pipeline is not None else True


_slot = _PipelineSlot()
_provider: LoggerProvider | None = None


def _process_logger_provider(resource: Resource) -> LoggerProvider:
    """One LoggerProvider per process, made global on first use; later calls replace its resource.

    OpenTelemetry lets the global provider be set only once, and instrumentations keep the
    loggers they got from it. Keeping one provider (and swapping the pipeline behind
    ``_slot``) means they all follow the latest ``setup()``.
    """
    global _provider
    if _provider is None:
        from opentelemetry._logs import _internal as logs_api

        _provider = LoggerProvider(resource=resource, shutdown_on_exit=False)
        _provider.add_log_record_processor(_slot)
        if logs_api._LOGGER_PROVIDER is None:
            logs_api.set_logger_provider(_provider)
        return _provider
    # ``_update_resource`` merges into the old resource; start from an empty one so that
    # attributes the new settings dropped do not linger. Private API of the pinned SDK 1.45.
    _provider._resource = Resource.get_empty()
    _provider._update_resource(resource)
    return _provider
