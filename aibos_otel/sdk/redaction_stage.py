"""The redaction pieces ``setup()`` wires in: the record stage, the scope stage, a text redactor
for the handler's error line, and the redacted resource.

The engine (``aibos_otel.redaction``) ships in the same wheel, so its import is not guarded: an
install so broken that it cannot be imported makes ``setup()`` fail instead of logging
unredacted. It is imported on first use only (``redaction=False`` never loads it).
"""

from __future__ import annotations

from typing import NamedTuple

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.resources import Resource

from aibos_otel.sdk.handler_errors import Sanitise
from aibos_otel.sdk.pipeline import RecordStage, ScopeStage
from aibos_otel.sdk.settings import Settings


class Redaction(NamedTuple):
    """What the pipeline and the bridge handler are given (all None when redaction is off)."""

    record: RecordStage | None = None
    scope: ScopeStage | None = None
    text: Sanitise | None = None  # for the one line the handler prints on an error


def redaction_for(settings: Settings, meter_provider: MeterProvider) -> Redaction:
    """The record stage, the scope stage and a text redactor for ``settings.redaction``."""
    if settings.redaction is False:
        return Redaction()
    from aibos_otel.redaction.stage import build_record_stage

    profiles = None if settings.redaction in (None, True) else list(settings.redaction)  # type: ignore[arg-type]
    stage = build_record_stage(profiles, meter_provider=meter_provider)
    return Redaction(stage, stage.scope, stage.redactor.redact_text)


def redacted_resource(resource: Resource) -> Resource:
    """The resource with its attribute values redacted (every record carries it)."""
    from aibos_otel.redaction.stage import redact_resource_attributes

    return Resource(redact_resource_attributes(dict(resource.attributes)), resource.schema_url)
