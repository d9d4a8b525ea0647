"""Where the pipeline hands records, built from the settings: console, file backup, OTLP.

Every exporter sits behind a :class:`~aibos_otel.sdk.delivery.DeliveryProcessor` (bounded,
severity-aware, never blocking the logging call), and they are all built by :func:`_delivery`
from the same settings.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, NamedTuple

from aibos_otel.sdk.console import ConsoleProcessor
from aibos_otel.sdk.delivery import DeliveryProcessor
from aibos_otel.sdk.exporters import otlp_log_exporter
from aibos_otel.sdk.self_metrics import SelfMetrics
from aibos_otel.sdk.settings import Settings

if TYPE_CHECKING:
    from opentelemetry.sdk._logs import LogRecordProcessor
    from opentelemetry.sdk._logs.export import LogRecordExporter

    from aibos_otel.sdk.file_backup import FileBackupExporter
    from aibos_otel.sdk.spool import Spool


class Outputs(NamedTuple):
    """The pipeline's downstream processors in order, and which of them are deliveries."""

    downstream: list[LogRecordProcessor]
    deliveries: list[DeliveryProcessor]


def build_outputs(
    settings: Settings, metrics: SelfMetrics, on_drop_summary: Callable[[str], None]
) -> Outputs:
    """Console (if on), then the file backup (if on and writable), then OTLP (if an endpoint)."""
    downstream: list[LogRecordProcessor] = []
    deliveries: list[DeliveryProcessor] = []
    if settings.console:
        downstream.append(ConsoleProcessor(pretty=settings.console_pretty))
    backup = _file_backup_exporter(settings)
    if backup is not None:
        deliveries.append(_delivery(backup, "file", settings, metrics, on_drop_summary))
    if settings.endpoint is not None:
        exporter = otlp_log_exporter(settings)
        spool = _spool(settings, metrics)
        deliveries.append(_delivery(exporter, "otlp", settings, metrics, on_drop_summary, spool=spool))
    downstream.extend(deliveries)
    return Outputs(downstream, deliveries)


def _delivery(
    exporter: LogRecordExporter,
    name: str,
    settings: Settings,
    metrics: SelfMetrics,
    on_drop_summary: Callable[[str], None],
    *,
    spool: Spool | None = None,
) -> DeliveryProcessor:
    return DeliveryProcessor(
        exporter,
        name=name,
        metrics=metrics,
        max_queue_records=settings.queue_max_records,
        max_queue_bytes=settings.queue_max_bytes,
        schedule_delay=settings.schedule_delay,
        shutdown_deadline=settings.shutdown_timeout,
        on_drop_summary=on_drop_summary,
        summary_interval=settings.summary_interval,
        spool=spool,
        retry_interval=settings.spool_retry_interval,
    )


def _file_backup_exporter(settings: Settings) -> FileBackupExporter | None:
    directory = settings.file_backup_dir
    if directory is None:
        return None
    from aibos_otel.sdk.file_backup import FileBackupExporter

    try:
        return FileBackupExporter(directory)
    except OSError as exc:
        # A service must start even when its backup directory is not writable; say so loudly.
        print(f"aibos: file backup disabled, cannot write to {directory}: {exc}", file=sys.stderr)
        return None


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
