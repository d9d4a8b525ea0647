"""The process-wide LoggerProvider and the slot that holds the latest ``setup()``'s pipeline.

OpenTelemetry lets the global LoggerProvider be set only once, and instrumentations keep the
loggers they got from it. So there is one provider per process, with one processor, the
:class:`PipelineSlot`; each ``setup()`` puts its :class:`~aibos_otel.sdk.pipeline.PipelineProcessor`
in the slot instead of making a new provider, and every logger follows the latest configuration.
"""

from __future__ import annotations

from opentelemetry.sdk._logs import LoggerProvider, LogRecordProcessor, ReadWriteLogRecord
from opentelemetry.sdk.resources import Resource

from aibos_otel.sdk.pipeline import PipelineProcessor


class PipelineSlot(LogRecordProcessor):
    """The one processor the process-wide LoggerProvider has: it forwards to the pipeline of
    the latest ``setup()``, so a second ``setup()`` swaps pipelines instead of providers."""

    def __init__(self) -> None:
        self.current: PipelineProcessor | None = None

    def install(self, pipeline: PipelineProcessor) -> None:
        self.current = pipeline
        # The provider calls ``slot.on_emit``: with the pipeline's own bound method in the
        # instance dict, that call goes straight to the pipeline (one Python frame fewer per
        # log call); the class's on_emit below is the fallback when no pipeline is installed.
        self.__dict__["on_emit"] = pipeline.on_emit

    def detach(self, pipeline: PipelineProcessor) -> None:
        if self.current is pipeline:  # a newer setup() may already have replaced it
            self.current = None
            self.__dict__.pop("on_emit", None)

    def on_emit(self, log_record: ReadWriteLogRecord) -> None:
        pipeline = self.current
        if pipeline is not None:
            pipeline.on_emit(log_record)

    def shutdown(self) -> None:
        pass  # each Handle shuts its own pipeline down

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        pipeline = self.current
        return pipeline.force_flush(timeout_millis) if pipeline is not None else True


class ProcessLogs:
    """The slot and the provider of this process (part of ``setup``'s one global state)."""

    def __init__(self) -> None:
        self.slot = PipelineSlot()
        self._provider: LoggerProvider | None = None

    def logger_provider(self, resource: Resource) -> LoggerProvider:
        """One LoggerProvider per process, made global on first use; later calls replace its
        resource."""
        if self._provider is None:
            from opentelemetry._logs import _internal as logs_api

            self._provider = LoggerProvider(resource=resource, shutdown_on_exit=False)
            self._provider.add_log_record_processor(self.slot)
            if logs_api._LOGGER_PROVIDER is None:
                logs_api.set_logger_provider(self._provider)
            return self._provider
        # ``_update_resource`` merges into the old resource; start from an empty one so that
        # attributes the new settings dropped do not linger. Private API of the pinned SDK 1.45.
        self._provider._resource = Resource.get_empty()
        self._provider._update_resource(resource)
        return self._provider
