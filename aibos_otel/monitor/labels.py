"""How an OTLP log record becomes a label set, the way Loki derives labels from OTLP.

Resource attributes become labels with dots (and any other character a label cannot hold)
replaced by underscores, exactly as Loki names them: ``service.name`` -> ``service_name``,
``deployment.environment.name`` -> ``deployment_environment_name`` (the older
``deployment.environment`` -> ``deployment_environment``), so a rule's selector means the same
here and in Loki's ruler. The severity becomes ``level`` by the one table of levels
(:mod:`aibos_otel.levels`, the same the gateway's transform is rendered from). A missing ``service.name``
gives ``unknown_service``, as in Loki.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

ENVIRONMENT_LABELS: tuple[str, ...] = ("deployment_environment_name", "deployment_environment")
"""Where the environment is, newest semantic convention first."""


def label_name(attribute_key: str) -> str:
    """The label name Loki gives a resource attribute (``k8s.pod.name`` -> ``k8s_pod_name``).

    Loki normalises OTLP attribute names with Prometheus' OTLP translator: every character that
    is not a letter or a digit becomes ``_``, a leading digit gets ``key_`` in front and a single
    leading ``_`` gets ``key`` (``__`` stays).
    """
    name = "".join(c if c.isalpha() or c.isdecimal() else "_" for c in attribute_key)
    if name[:1].isdecimal():
        return "key_" + name
    if name.startswith("_") and not name.startswith("__"):
        return "key" + name
    return name


def resource_labels(attributes: Iterable[tuple[str, object]]) -> dict[str, str]:
    """Labels from resource attributes; only scalar values become labels (as in Loki)."""
    labels: dict[str, str] = {}
    for key, value in attributes:
        if isinstance(value, str | bool | int | float):
            labels[label_name(key)] = str(value).lower() if isinstance(value, bool) else str(value)
    labels.setdefault("service_name", "unknown_service")
    return labels


def environment_of(labels: Mapping[str, str]) -> str:
    """The deployment environment a label set names ("" when none)."""
    for name in ENVIRONMENT_LABELS:
        value = labels.get(name)
        if value:
            return value
    return ""


def stream_key(labels: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    """A hashable, order-independent identity for a label set."""
    return tuple(sorted(labels.items()))
