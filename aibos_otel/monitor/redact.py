"""Defence in depth: alert texts go through the project's redactor before they leave the monitor."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache


@cache
def _redactor() -> Callable[[str], str]:
    # Imported on first use: the catalogue compiles then, not when the monitor module loads.
    from aibos_otel.redaction import default_redactor

    return default_redactor().redact_text


def redact_text(text: str) -> str:
    """``text`` with secrets and personal data masked."""
    if not text:
        return text
    try:
        return _redactor()(text)
    except Exception:  # a redactor bug must not stop an alert; mask everything rather than leak
        return "[redaction failed]"


def warm_up() -> None:
    """Build the redactor now (its catalogue compiles on first use) rather than on the first alert."""
    _redactor()("warm-up")
