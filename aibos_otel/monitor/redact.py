"""Defence in depth: alert texts go through the project's redactor before they leave the monitor."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache


@cache
def _redactor() -> Callable[[str], str]:
    # Imported on first use: the catalogue compiles then, not when the monitor module loads.
    from aibos_otel.redaction import default_redactor

    return default_redactor().redact_text


_MEMO: dict[str, str] = {}
_MEMO_SIZE = 2048
_MEMO_MAX_TEXT = 4096


def redact_text(text: str) -> str:
    """``text`` with secrets and personal data masked.

    Memoised for texts up to 4 KiB: the monitor redacts the sample of every error group each
    batch and an alert's annotations each time they are rendered, and these repeat far more
    often than they change.
    """
    if not text:
        return text
    found = _MEMO.get(text)
    if found is not None:
        return found
    try:
        redacted: str = _redactor()(text)
    except Exception:  # a redactor bug must not stop an alert; mask everything rather than leak
        return "[redaction failed]"
    if len(text) <= _MEMO_MAX_TEXT:
        if len(_MEMO) >= _MEMO_SIZE:
            _MEMO.clear()
        _MEMO[text] = redacted
    return redacted


def warm_up() -> None:
    """Build the redactor now (its catalogue compiles on first use) rather than on the first alert."""
    _redactor()("warm-up")
