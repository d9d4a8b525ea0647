"""The OTel resource of a service, per the semantic conventions."""

from __future__ import annotations

import os
import platform
import socket
import sys
from importlib.metadata import PackageNotFoundError, version

from opentelemetry.sdk.resources import Resource

from aibos_otel.sdk.settings import Settings


def _distro_version() -> str:
    try:
        return version("aibos-otel")
    except PackageNotFoundError:  # running from a source tree
        return "0"


def build_resource(settings: Settings) -> Resource:
    """``service.*``, ``deployment.environment.name``, host, OS and process attributes.

    ``Resource.create`` adds ``telemetry.sdk.*`` and whatever ``OTEL_RESOURCE_ATTRIBUTES`` holds;
    the values resolved here win. Command-line arguments are deliberately *not* included (the
    SDK's process detector adds them): they are a classic place for secrets.
    """
    attributes: dict[str, str | int] = {
        "service.name": settings.service_name,
        "deployment.environment.name": settings.environment,
        "host.name": socket.gethostname(),
        "host.arch": platform.machine() or "unknown",
        "os.type": sys.platform,
        "process.pid": os.getpid(),
        "process.runtime.name": sys.implementation.name,
        "process.runtime.version": platform.python_version(),
        "process.executable.name": os.path.basename(sys.executable),
        "telemetry.distro.name": "aibos-otel",
        "telemetry.distro.version": _distro_version(),
    }
    if settings.service_version:
        attributes["service.version"] = settings.service_version
    attributes.update(settings.resource_attributes)
    return Resource.create(attributes)
