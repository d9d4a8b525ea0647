"""Zero-code set-up: the ``opentelemetry-instrument`` distro and configurator named ``aibos``.

``opentelemetry-instrument python app.py`` (with ``OTEL_PYTHON_DISTRO=aibos``, or with this as the
only distro installed) gives the service exactly what ``aibos_otel.setup()`` gives, configured from
``AIBOS_*`` and ``OTEL_*`` variables, while every installed instrumentation keeps working:

1. :class:`AibosDistro` runs first. It selects its own configurator (selecting a distro does *not*
   select its configurator; without this a stock or third-party configurator could win and logs
   would leave unredacted), and it points the stock trace/metric exporters at the same collector as
   the logs (``AIBOS_ENDPOINT``/``AIBOS_PROTOCOL`` become the ``OTEL_EXPORTER_OTLP_*`` defaults).
2. :class:`AibosConfigurator` then starts ``aibos_otel.setup()``'s pipeline from the settings the
   distro resolved (resolved once, handed on) — the one code path, so levels,
   context, fingerprints, redaction, self-metrics, delivery and file backup are identical — and
   after it the stock SDK configurator for traces and metrics only, with the same resource, so
   instrumentation spans carry the service name of the logs and log records carry their trace ids.

Logs never go through the stock log pipeline: ``OTEL_LOGS_EXPORTER`` is hidden from the stock
configurator (it would build a second, unused ``BatchLogRecordProcessor``) and its deprecated root
``LoggingHandler`` is never attached. The ``logging`` instrumentor, if installed, is skipped: it
would attach a second handler to the root logger and every record would be exported twice.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

# The module starts with "# type: ignore", so mypy sees none of its names.
from opentelemetry.instrumentation.distro import BaseDistro  # type: ignore[attr-defined]
from opentelemetry.sdk._configuration import _OTelSDKConfigurator

if TYPE_CHECKING:
    from aibos_otel.sdk.settings import Settings

NAME = "aibos"
"""The entry-point name of the distro and of the configurator."""

_SKIPPED_INSTRUMENTORS = frozenset({"logging"})
_internal = logging.getLogger("aibos_otel.distro")
_resolved: Settings | None = None  # what AibosDistro resolved, for AibosConfigurator


class AibosDistro(BaseDistro):  # type: ignore[misc]
    """Selects the aibos configurator and aligns the stock exporters with the aibos settings."""

    def _configure(self, **kwargs: Any) -> None:
        from aibos_otel.sdk.settings import resolve

        global _resolved
        # Runs before any configurator is loaded: the only moment this choice can be made.
        os.environ.setdefault("OTEL_PYTHON_CONFIGURATOR", NAME)
        settings = _resolved = resolve()
        if settings.disabled:
            return  # the rollback switch: the configurator below does nothing either
        if settings.endpoint is None:
            # Development without a collector: keep spans (log correlation needs their ids) but
            # do not let the stock exporters retry against a localhost collector that is not there.
            os.environ.setdefault("OTEL_TRACES_EXPORTER", "none")
            os.environ.setdefault("OTEL_METRICS_EXPORTER", "none")
            return
        os.environ.setdefault("OTEL_TRACES_EXPORTER", "otlp")
        os.environ.setdefault("OTEL_METRICS_EXPORTER", "otlp")
        os.environ.setdefault("OTEL_EXPORTER_OTLP_PROTOCOL", settings.protocol)
        base = settings.endpoint.rstrip("/").removesuffix("/v1/logs")
        os.environ.setdefault("OTEL_EXPORTER_OTLP_ENDPOINT", base)

    def load_instrumentor(self, entry_point: Any, **kwargs: Any) -> None:
        """Load every instrumentor except those that would duplicate the aibos logging bridge."""
        if entry_point.name in _SKIPPED_INSTRUMENTORS:
            _internal.debug("aibos: instrumentor %r skipped (the aibos bridge does it)", entry_point.name)
            return
        super().load_instrumentor(entry_point, **kwargs)


class AibosConfigurator(_OTelSDKConfigurator):
    """``aibos_otel.setup()`` for logs, then the stock SDK configuration for traces and metrics."""

    def _configure(self, **kwargs: Any) -> None:
        from aibos_otel.sdk.settings import resolve
        from aibos_otel.sdk.setup import start
        from aibos_otel.sdk.spans import redacting_export_processor

        attributes: dict[str, str] = {}
        version = kwargs.get("auto_instrumentation_version")
        if version:
            attributes["telemetry.auto.version"] = str(version)
        # The distro's settings when it ran (the usual case): resolved once, handed on.
        settings = _resolved if _resolved is not None else resolve()
        if settings.disabled:
            # Switched off (AIBOS_SDK_DISABLED / OTEL_SDK_DISABLED): no logs bridge and no stock
            # trace/metric SDK either, so no span leaves the process unredacted; the
            # instrumentations still load against OpenTelemetry's no-op API.
            start(settings)
            return
        settings = dataclasses.replace(settings, resource_attributes=attributes)
        # setup() first: its LoggerProvider becomes the global one (OTel allows setting it once),
        # so instrumentations that log through the OTel logs API reach the aibos pipeline too.
        handle = start(settings)
        kwargs["resource_attributes"] = dict(handle.resource.attributes)
        kwargs["setup_logging_handler"] = False
        # Every span exporter the stock configurator builds sends redacted copies (aibos_otel/sdk/spans.py).
        kwargs["export_span_processor"] = redacting_export_processor(handle.span_redaction)
        with _without_stock_logs():
            super()._configure(**kwargs)  # type: ignore[no-untyped-call]


class _DropProviderOverrideWarning(logging.Filter):
    # The stock configurator always tries to set a global LoggerProvider; the API refuses (ours is
    # set) and warns. That refusal is the intended outcome here, so its warning is noise.
    def filter(self, record: logging.LogRecord) -> bool:
        return "Overriding of current LoggerProvider" not in record.getMessage()


@contextmanager
def _without_stock_logs() -> Iterator[None]:
    hidden = os.environ.pop("OTEL_LOGS_EXPORTER", None)
    api_logger = logging.getLogger("opentelemetry._logs._internal")
    quiet = _DropProviderOverrideWarning()
    api_logger.addFilter(quiet)
    try:
        yield
    finally:
        api_logger.removeFilter(quiet)
        if hidden is not None:
            os.environ["OTEL_LOGS_EXPORTER"] = hidden
