"""The SDK record stage: in-place redaction of body, attributes and exception text, the
summary attributes, self-metrics, and failing closed."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry._logs import LogRecord
from opentelemetry.sdk._logs import ReadWriteLogRecord
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.util.instrumentation import InstrumentationScope

from aibos_otel.redaction import Detector, Redactor, build_record_stage, redact_resource_attributes
from aibos_otel.redaction.engine import ERROR_MARKER

GH = "ghp_" + "aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3zA5"


def make_record(body: Any, attributes: dict[str, Any]) -> LogRecord:
    """An API LogRecord as the SDK hands it to processors (BoundedAttributes inside)."""
    wrapper = ReadWriteLogRecord(
        LogRecord(body=body, attributes=attributes),
        resource=Resource.create({}),
        instrumentation_scope=InstrumentationScope("test"),
    )
    return wrapper.log_record


@pytest.fixture
def metrics() -> Iterator[tuple[MeterProvider, InMemoryMetricReader]]:
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    try:
        yield provider, reader
    finally:
        provider.shutdown()


def _points(reader: InMemoryMetricReader, name: str) -> dict[str, int]:
    data = reader.get_metrics_data()
    out: dict[str, int] = {}
    if data is None:
        return out
    for resource_metrics in data.resource_metrics:
        for scope in resource_metrics.scope_metrics:
            for metric in scope.metrics:
                if metric.name == name:
                    for point in metric.data.data_points:  # type: ignore[union-attr]
                        out[str(point.attributes.get("detector", ""))] = int(point.value)  # type: ignore[union-attr]
    return out


def test_clean_record_is_untouched(metrics: tuple[MeterProvider, InMemoryMetricReader]) -> None:
    provider, reader = metrics
    stage = build_record_stage(["secrets", "pci", "gdpr"], meter_provider=provider)
    attributes = {"code.function.name": "update", "code.line.number": 42, "http.route": "/api/v1/users/{id}"}
    record = make_record("user alice updated profile settings in 12 ms", dict(attributes))
    stage(record)
    assert record.body == "user alice updated profile settings in 12 ms"
    assert dict(record.attributes or {}) == attributes
    assert _points(reader, "aibos.redaction.redactions") == {}


def test_everything_is_redacted_in_place_and_counted(
    metrics: tuple[MeterProvider, InMemoryMetricReader],
) -> None:
    provider, reader = metrics
    stage = build_record_stage(["secrets", "pci", "gdpr"], meter_provider=provider)
    record = make_record(
        {"event": "checkout", "card": {"number": "4111 1111 1111 1111"}, "items": [f"note {GH}"]},
        {
            "user.password": "hunter2",
            "contact": "bob@example.com",
            "tags": ["ok", "AKIAQWERTYUIOPASDFGH"],
            "exception.message": "login failed for alice@example.com",
            "exception.stacktrace": f'Traceback\n  File "a.py", line 1\n    token = "{GH}"\nValueError',
            "count": 3,
        },
    )
    stage(record)
    assert record.body == {
        "event": "checkout",
        "card": {"number": "[REDACTED:credit-card]"},
        "items": ["note [REDACTED:github-token]"],
    }
    attributes = dict(record.attributes or {})
    assert attributes["user.password"] == "[REDACTED:sensitive-key]"
    assert attributes["contact"] == "[REDACTED:email]"
    assert attributes["tags"] == ("ok", "[REDACTED:aws-access-key-id]")
    assert attributes["exception.message"] == "login failed for [REDACTED:email]"
    assert (
        GH not in attributes["exception.stacktrace"]
        and 'File "a.py", line 1' in attributes["exception.stacktrace"]
    )
    assert attributes["count"] == 3
    assert attributes["aibos.redaction.count.github-token"] == 2
    assert attributes["aibos.redaction.count.email"] == 2
    assert attributes["aibos.redaction.total"] == 7
    assert _points(reader, "aibos.redaction.redactions") == {
        "credit-card": 1,
        "github-token": 2,
        "sensitive-key": 1,
        "email": 2,
        "aws-access-key-id": 1,
    }


def test_drop_strategy_removes_attributes() -> None:
    stage = build_record_stage(redactor=Redactor(strategy={"sensitive-key": "drop"}))
    record = make_record("hello", {"password": "x", "keep": 1})
    stage(record)
    assert "password" not in (record.attributes or {})
    assert (record.attributes or {})["keep"] == 1


def _exploding(_: str) -> bool:
    raise RuntimeError("validator bug")


BROKEN = Detector(
    id="broken",
    category="secrets",
    pattern=r"SECRET-\d+",
    description="a detector whose validator raises",
    keywords=("secret-",),
    validator=_exploding,
    examples=("SECRET-1",),
    negatives=("nothing",),
)


def test_a_raising_validator_masks_the_whole_value(
    metrics: tuple[MeterProvider, InMemoryMetricReader],
) -> None:
    provider, reader = metrics
    redactor = Redactor(extra_detectors=[BROKEN])
    assert redactor.redact_text("pay SECRET-42 now") == ERROR_MARKER
    stage = build_record_stage(redactor=redactor, meter_provider=provider)
    record = make_record("pay SECRET-42 now", {"note": "SECRET-7", "fine": "ok", "n": 1})
    stage(record)
    attributes = dict(record.attributes or {})
    assert record.body == ERROR_MARKER
    assert attributes["note"] == ERROR_MARKER
    assert attributes["fine"] == "ok" and attributes["n"] == 1
    assert attributes["aibos.redaction.failures"] == 2
    data = reader.get_metrics_data()
    assert data is not None
    names = {m.name for rm in data.resource_metrics for sm in rm.scope_metrics for m in sm.metrics}
    assert "aibos.redaction.failures" in names


def test_a_broken_record_is_masked_whole_and_nothing_raises() -> None:
    class ExplodingRedactor(Redactor):
        def redact_value(self, key: str | None, value: Any, counts: Any) -> Any:
            raise RuntimeError("engine bug")

    stage = build_record_stage(redactor=ExplodingRedactor())
    record = make_record({"structured": True}, {"a": "text", "n": 5})
    stage(record)  # must not raise
    assert record.body == ERROR_MARKER
    attributes = dict(record.attributes or {})
    assert attributes["a"] == ERROR_MARKER and attributes["n"] == 5


def test_unrenderable_values_fail_closed() -> None:
    class Weird:
        def __str__(self) -> str:
            raise ValueError("no text form")

    counts: Any = __import__("collections").Counter()
    assert Redactor().redact_value("x", Weird(), counts) == ERROR_MARKER
    assert counts["redaction-error"] == 1


def test_resource_attributes_are_redacted_once() -> None:
    out = redact_resource_attributes(
        {
            "service.name": "billing",
            "deployment.environment.name": "prod",
            "db.password": "x",
            "owner": "ops@example.com",
        }
    )
    assert out == {
        "service.name": "billing",
        "deployment.environment.name": "prod",
        "db.password": "[REDACTED:sensitive-key]",
        "owner": "[REDACTED:email]",
    }


def test_profiles_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIBOS_REDACTION_PROFILES", "secrets")
    stage = build_record_stage()
    record = make_record("mail bob@example.com token " + GH, {})
    stage(record)
    assert record.body == "mail bob@example.com token [REDACTED:github-token]"


def test_clean_value_cache_never_lets_a_secret_through() -> None:
    """Values found clean are remembered (they repeat: "pro", a code path); the cache must
    not change any answer: a secret is masked on every record, a remembered clean value under
    a sensitive key is still masked by the key rule, and a value kept as is only because its
    key is allow-listed is not remembered as clean."""
    redactor = Redactor(["secrets", "pci", "gdpr"], allow_keys=["trusted.token"])
    stage = build_record_stage(redactor=redactor)
    for _ in range(3):
        record = make_record("login ok", {"plan": "pro", "code.function.name": "logging_call_cost"})
        stage(record)
        assert record.body == "login ok"
        assert dict(record.attributes or {}) == {"plan": "pro", "code.function.name": "logging_call_cost"}
    assert {"login ok", "pro", "logging_call_cost"} <= set(stage._clean)
    record = make_record("pro", {"password": "pro", "user.password": "logging_call_cost"})
    stage(record)
    assert record.body == "pro"
    assert str((record.attributes or {})["password"]).startswith("[REDACTED:")
    assert str((record.attributes or {})["user.password"]).startswith("[REDACTED:")
    allowed = make_record("x", {"trusted.token": GH})
    stage(allowed)
    assert (allowed.attributes or {})["trusted.token"] == GH  # allow-listed key: kept
    assert GH not in stage._clean
    for _ in range(2):
        leaked = make_record(GH, {"note": GH})
        stage(leaked)
        assert GH not in str(leaked.body) and GH not in str(dict(leaked.attributes or {}))


def test_clean_value_cache_is_bounded() -> None:
    from aibos_otel.redaction import stage as stage_module

    stage = build_record_stage(["secrets"])
    for index in range(stage_module.CLEAN_CACHE_LIMIT + 10):
        stage(make_record("ok", {"n": f"value {index}"}))
    assert len(stage._clean) <= stage_module.CLEAN_CACHE_LIMIT
    stage(make_record("x" * (stage_module.CLEAN_CACHE_MAX_CHARS + 1), {}))
    assert "x" * (stage_module.CLEAN_CACHE_MAX_CHARS + 1) not in stage._clean


def test_a_long_body_past_its_time_budget_is_masked_and_counted(
    metrics: tuple[MeterProvider, InMemoryMetricReader],
) -> None:
    provider, reader = metrics
    # Budget 0: the record's time is up before its first value; everything left is masked.
    stage = build_record_stage(redactor=Redactor(time_budget=0.0), meter_provider=provider)
    body = " ".join(f"user{index}@example.com" for index in range(20_000))
    record = make_record(body, {"short": f"note {GH}"})
    stage(record)
    assert isinstance(record.body, str)
    assert record.body.endswith("[REDACTED:redaction-budget]")
    assert "@example.com" not in record.body
    attributes = dict(record.attributes or {})
    assert GH not in attributes["short"]
    assert attributes["aibos.redaction.count.redaction-budget"] == 2
    assert _points(reader, "aibos.redaction.redactions")["redaction-budget"] == 2


def test_a_record_shares_one_budget_across_its_values() -> None:
    """Past the record's budget every value left is masked, long or short, body or attribute."""
    stage = build_record_stage(redactor=Redactor(time_budget=0.0))
    record = make_record(f"note {GH}", {"a": "bob@example.com", "b": f"x {GH}", "n": 7})
    stage(record)
    attributes = dict(record.attributes or {})
    assert record.body == "[REDACTED:redaction-budget]"
    assert attributes["a"] == attributes["b"] == "[REDACTED:redaction-budget]"
    assert attributes["n"] == 7
    assert attributes["aibos.redaction.count.redaction-budget"] == 3
    unbounded = build_record_stage(redactor=Redactor(time_budget=None))
    record = make_record(f"note {GH}", {"a": "bob@example.com"})
    unbounded(record)
    assert record.body == "note [REDACTED:github-token]"
    assert dict(record.attributes or {})["a"] == "[REDACTED:email]"
