"""Label and annotation templates, in the Prometheus/Loki ruler syntax subset.

``{{ $labels.NAME }}`` and ``{{ $value }}`` (also ``{{ $labels.NAME }}`` with spaces
omitted). Anything else inside ``{{ }}`` is refused at validation, so a template that works
here renders the same in Loki's ruler.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

_ACTION = re.compile(r"\{\{-?\s*(.*?)\s*-?\}\}")
_LABEL = re.compile(r"\$labels\.([A-Za-z_][A-Za-z0-9_]*)")


def template_errors(text: str) -> list[str]:
    """What is wrong with a template (empty when it is fine)."""
    errors = []
    for m in _ACTION.finditer(text):
        body = m.group(1)
        if body != "$value" and not _LABEL.fullmatch(body):
            errors.append(f"unsupported template action {{{{ {body} }}}} (use $labels.NAME or $value)")
    return errors


def render(text: str, labels: Mapping[str, str], value: float) -> str:
    """Fill in a template."""

    def repl(m: re.Match[str]) -> str:
        body = m.group(1)
        if body == "$value":
            return f"{value:g}"
        label = _LABEL.fullmatch(body)
        return labels.get(label.group(1), "") if label else m.group(0)

    return _ACTION.sub(repl, text)
