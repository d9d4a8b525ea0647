"""Turn Python values from ``extra=`` and ``bind()`` into OpenTelemetry attribute values.

OTel attributes are str, bool, int, float or homogeneous sequences of those. Python values are
kept with their types where they fit; nested mappings are flattened with dotted keys
(``{"user": {"id": 7}}`` -> ``user.id = 7``); everything else becomes its ``str()``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

Primitive = str | bool | int | float
AttributeValue = Primitive | tuple[str, ...] | tuple[bool, ...] | tuple[int, ...] | tuple[float, ...]

_PRIMITIVES = (str, bool, int, float)
_MAX_DEPTH = 8


def _sequence_value(items: list[Any] | tuple[Any, ...]) -> AttributeValue:
    if not items:
        return ()
    first = type(items[0])
    if first in _PRIMITIVES and all(type(i) is first for i in items):
        return tuple(items)
    if all(isinstance(i, (int, float)) and not isinstance(i, bool) for i in items):
        return tuple(float(i) for i in items)
    if all(isinstance(i, _PRIMITIVES) for i in items):
        return tuple(str(i) for i in items)
    try:
        return json.dumps(items, default=str, separators=(",", ":"))
    except (TypeError, ValueError):
        return str(items)


def flatten_into(out: dict[str, Any], key: str, value: Any, depth: int = 0) -> None:
    """Add ``value`` under ``key`` to ``out``, flattening mappings into dotted keys."""
    if value is None:
        return
    kind = type(value)
    if kind in _PRIMITIVES:
        out[key] = value
    elif isinstance(value, Mapping):
        if depth >= _MAX_DEPTH:
            out[key] = str(value)
            return
        for sub_key, sub_value in value.items():
            flatten_into(out, f"{key}.{sub_key}", sub_value, depth + 1)
    elif isinstance(value, (list, tuple, set, frozenset)):
        out[key] = _sequence_value(list(value) if isinstance(value, (set, frozenset)) else value)
    elif isinstance(value, _PRIMITIVES):  # subclasses such as IntEnum / str enums
        out[key] = value
    else:
        out[key] = str(value)


def flatten(values: Mapping[str, Any]) -> dict[str, Any]:
    """Flatten a mapping of Python values into OTel attributes."""
    out: dict[str, Any] = {}
    for key, value in values.items():
        flatten_into(out, key, value)
    return out
