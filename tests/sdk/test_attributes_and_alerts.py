import pytest

from aibos_otel.sdk import alerts
from aibos_otel.sdk.attributes import flatten


def test_flatten_keeps_types_and_dots_nested_keys() -> None:
    class Obj:
        def __str__(self) -> str:
            return "obj!"

    assert flatten(
        {
            "n": 1,
            "f": 1.5,
            "b": True,
            "s": "x",
            "ints": [1, 2],
            "mixed": [1, 2.5],
            "strs": ("a", "b"),
            "user": {"id": 7, "address": {"city": "Oslo"}},
            "none": None,
            "obj": Obj(),
            "dicts": [{"a": 1}],
        }
    ) == {
        "n": 1,
        "f": 1.5,
        "b": True,
        "s": "x",
        "ints": (1, 2),
        "mixed": (1.0, 2.5),
        "strs": ("a", "b"),
        "user.id": 7,
        "user.address.city": "Oslo",
        "obj": "obj!",
        "dicts": '[{"a":1}]',
    }


def test_valid_alert_annotation_is_normalised() -> None:
    attrs = {"alert.severity": "critical", "alert.channels": "slack", "alert.escalation": "immediate"}
    assert alerts.annotate(attrs, strict=True) is False
    assert attrs["alert.channels"] == ("slack",)


def test_invalid_alert_severity_raises_in_development() -> None:
    attrs = {"alert.severity": "catastrophic"}
    with pytest.raises(alerts.AlertAnnotationError, match="'catastrophic' is not one of"):
        alerts.annotate(attrs, strict=True)


def test_invalid_alert_severity_falls_back_to_warning_in_production() -> None:
    attrs = {"alert.severity": "catastrophic", "alert.escalation": "5m"}
    assert alerts.annotate(attrs, strict=False) is True
    assert attrs["alert.severity"] == "warning"
    assert "catastrophic" in str(attrs["alert.invalid"])
    assert attrs["alert.escalation"] == "5m"
