"""Redaction of secrets and personal data: a tested detector catalogue, key-name rules,
allowlists and masking strategies, usable on its own or as the SDK's record stage.

    >>> from aibos_otel.redaction import default_redactor
    >>> default_redactor().redact_text("login password=hunter2hunter from 10.1.2.3")
    'login password=[REDACTED:password-assignment] from [REDACTED:ipv4]'

Importing this package is cheap: the catalogue is imported and compiled on first use, once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aibos_otel.redaction.detector import DEFAULT_PROFILES, PROFILES, Detector, KeyRule
    from aibos_otel.redaction.engine import Redactor, default_redactor
    from aibos_otel.redaction.stage import build_record_stage, redact_resource_attributes

__all__ = [
    "DEFAULT_PROFILES",
    "PROFILES",
    "Detector",
    "KeyRule",
    "Redactor",
    "build_record_stage",
    "default_redactor",
    "redact_resource_attributes",
]

_LAZY = {
    "DEFAULT_PROFILES": "aibos_otel.redaction.detector",
    "PROFILES": "aibos_otel.redaction.detector",
    "Detector": "aibos_otel.redaction.detector",
    "KeyRule": "aibos_otel.redaction.detector",
    "Redactor": "aibos_otel.redaction.engine",
    "default_redactor": "aibos_otel.redaction.engine",
    "build_record_stage": "aibos_otel.redaction.stage",
    "redact_resource_attributes": "aibos_otel.redaction.stage",
}


def __getattr__(name: str) -> Any:
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module_name), name)
    globals()[name] = value
    return value
