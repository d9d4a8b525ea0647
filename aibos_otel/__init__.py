"""aibos-otel: OpenTelemetry-native logging for Python services.

    import aibos_otel

    aibos_otel.setup(service_name="checkout", environment="production")
    log = aibos_otel.get_logger(__name__)
    with aibos_otel.bind(request_id="r-42"):
        log.info("order placed", extra={"order": {"id": 7, "total": 12.5}})

Importing this package is cheap: the OpenTelemetry SDK, exporters and gRPC load when
``setup()`` runs, not before.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aibos_otel.sdk.context import bind, bound_attributes, with_bound_context
from aibos_otel.sdk.levels import DEBUG, ERROR, FATAL, INFO, TRACE, WARNING
from aibos_otel.sdk.logger import AibosLogger, get_logger

if TYPE_CHECKING:
    from aibos_otel.lifecycle.audit import audit
    from aibos_otel.sdk.setup import Handle, setup

__all__ = [
    "DEBUG",
    "ERROR",
    "FATAL",
    "INFO",
    "TRACE",
    "WARNING",
    "AibosLogger",
    "Handle",
    "audit",
    "bind",
    "bound_attributes",
    "get_logger",
    "setup",
    "with_bound_context",
]


def __getattr__(name: str) -> Any:
    # setup() pulls in the OTel SDK and exporters; load it on first use only.
    if name in ("setup", "Handle"):
        from aibos_otel.sdk import setup as setup_module

        return getattr(setup_module, name)
    if name == "audit":  # loaded on first use like setup(), though it is light
        from aibos_otel.lifecycle.audit import audit

        return audit
    raise AttributeError(f"module 'aibos_otel' has no attribute {name!r}")
