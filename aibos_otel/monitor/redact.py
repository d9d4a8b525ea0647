"""Defence in depth: alert texts go through the project's redactor before they leave the monitor.

``aibos_otel.redaction`` is optional here (it may not be installed in a trimmed build, or not
expose ``default_redactor`` yet); without it, texts pass unchanged.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from functools import cache


@cache
def _redactor() -> Callable[[str], str] | None:
    try:
        module = importlib.import_module("aibos_otel.redaction")
        factory = module.default_redactor
    except (ImportError, AttributeError):
        return None
    redactor = factory()
    fn: Callable[[str], str] = redactor.redact_text
    return fn


def redact_text(text: str) -> str:
    """``text`` with secrets and personal data masked (unchanged when no redactor is available)."""
    fn = _redactor()
    if fn is None or not text:
        return text
    try:
        return fn(text)
    except Exception:  # a redactor bug must not stop an alert; mask everything rather than leak
        return "[redaction failed]"


def warm_up() -> None:
    """Build the redactor now (its catalogue compiles on first use) rather than on the first alert."""
    fn = _redactor()
    if fn is not None:
        fn("warm-up")
