"""Issue 12, "every field": the record stage redacts the fields besides body and attribute
values -- ``event_name``, ``severity_text``, attribute keys (nested too), the instrumentation
scope -- and resource attribute keys. Secrets here are ones the current engine detects."""

from __future__ import annotations

from typing import Any

import pytest
from opentelemetry._logs import LogRecord
from opentelemetry.sdk._logs import ReadWriteLogRecord
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.util.instrumentation import InstrumentationScope

from aibos_otel.redaction import Redactor, build_record_stage, redact_resource_attributes
from aibos_otel.redaction.engine import ERROR_MARKER

AWS = "AKIAZ7VRSQ5NBFKSLX4Q"
JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0"
    ".dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"
)
CARD = "4111111111111111"
PASSWORD = "hunter2"
SECRETS = (AWS, JWT, CARD, PASSWORD)


def make_record(
    body: Any = "plain",
    attributes: dict[str, Any] | None = None,
    *,
    event_name: str | None = None,
    severity_text: str | None = "INFO",
) -> LogRecord:
    """An API LogRecord as the SDK hands it to processors (BoundedAttributes inside)."""
    wrapper = ReadWriteLogRecord(
        LogRecord(body=body, attributes=attributes or {}, event_name=event_name, severity_text=severity_text),
        resource=Resource.create({}),
        instrumentation_scope=InstrumentationScope("test"),
    )
    return wrapper.log_record


def _everything(record: LogRecord) -> str:
    """Every field of the record as one text, to search for a raw secret."""
    attributes = dict(record.attributes or {})
    return repr((record.body, record.event_name, record.severity_text, list(attributes.items())))


def _assert_clean(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text, f"{secret!r} survived: {text}"


def test_event_name_is_redacted_and_counted() -> None:
    stage = build_record_stage(["secrets", "pci", "gdpr"])
    record = make_record("signed up", {"event.name": f"signup.{AWS}"}, event_name=f"signup.{AWS}")
    stage(record)
    assert record.event_name == "signup.[REDACTED:aws-access-key-id]"
    attributes = dict(record.attributes or {})
    assert attributes["event.name"] == "signup.[REDACTED:aws-access-key-id]"
    assert attributes["aibos.redaction.count.aws-access-key-id"] == 2  # the field and the attribute


def test_a_clean_event_name_is_kept() -> None:
    stage = build_record_stage(["secrets", "pci", "gdpr"])
    record = make_record("signed up", event_name="user.signup")
    stage(record)
    assert record.event_name == "user.signup"
    assert "aibos.redaction.total" not in dict(record.attributes or {})


@pytest.mark.parametrize(
    "text",
    ["TRACE", "DEBUG", "INFO", "INFO2", "WARN", "WARNING", "ERROR", "CRITICAL", "FATAL", "FATAL4", "info"],
)
def test_level_names_in_severity_text_are_kept(text: str) -> None:
    stage = build_record_stage(["secrets", "pci", "gdpr"])
    record = make_record(severity_text=text)
    stage(record)
    assert record.severity_text == text


def test_severity_text_that_is_no_level_name_is_redacted() -> None:
    stage = build_record_stage(["secrets", "pci", "gdpr"])
    record = make_record(severity_text=f"password={PASSWORD}")
    stage(record)
    assert record.severity_text == "password=[REDACTED:password-assignment]"
    assert dict(record.attributes or {})["aibos.redaction.count.password-assignment"] == 1


def test_attribute_keys_are_redacted_values_kept() -> None:
    """``extra={"ctx": {AWS: 1}}`` is flattened to the key ``ctx.<AWS>``; a key can also be a
    whole ``password=...`` assignment."""
    stage = build_record_stage(["secrets", "pci", "gdpr"])
    record = make_record("ok", {f"ctx.{AWS}": 1, f"password={PASSWORD}": "x", "user": "bob"})
    stage(record)
    attributes = dict(record.attributes or {})
    _assert_clean(repr(list(attributes)))
    assert attributes["ctx.[REDACTED:aws-access-key-id]"] == 1
    assert attributes["password=[REDACTED:password-assignment]"] == "x"
    assert attributes["user"] == "bob"
    assert attributes["aibos.redaction.total"] == 2


def test_nested_map_keys_in_structured_values_are_redacted() -> None:
    """Maps kept as maps (a structured body, a map attribute through the OTel API)."""
    stage = build_record_stage(["secrets", "pci", "gdpr"])
    body = {"outer": {f"card {CARD}": 1, "list": [{JWT: "v"}]}}
    record = make_record(body, {"data": {f"key.{AWS}": {"n": 1}}})
    stage(record)
    _assert_clean(_everything(record))
    assert record.body == {"outer": {"card [REDACTED:credit-card]": 1, "list": [{"[REDACTED:jwt]": "v"}]}}
    assert dict(record.attributes or {})["data"] == {"key.[REDACTED:aws-access-key-id]": {"n": 1}}


def test_a_key_rule_still_applies_to_the_original_key() -> None:
    stage = build_record_stage(["secrets", "pci", "gdpr"])
    record = make_record("ok", {f"{AWS}.password": "s3cr3t-value"})
    stage(record)
    attributes = dict(record.attributes or {})
    assert attributes == {
        "[REDACTED:aws-access-key-id].password": "[REDACTED:sensitive-key]",
        "aibos.redaction.count.aws-access-key-id": 1,
        "aibos.redaction.count.sensitive-key": 1,
        "aibos.redaction.total": 2,
    }


def test_key_redaction_is_memoised() -> None:
    """Keys repeat: the engine sees each distinct key once (bounded cache)."""
    calls: list[str] = []

    class Counting(Redactor):
        def redact(self, text: str, *, candidates: list[int] | None = None) -> Any:
            calls.append(text)
            return super().redact(text, candidates=candidates)

    stage = build_record_stage(redactor=Counting(["secrets"]))
    for _ in range(3):
        stage(make_record("same", {f"k.{AWS}": 1, "plain.key": 2}))
    assert calls.count(f"k.{AWS}") == 1
    assert calls.count("plain.key") == 1


def test_scope_name_version_and_attributes_are_redacted() -> None:
    stage = build_record_stage(["secrets", "pci", "gdpr"])
    scope = InstrumentationScope(
        f"svc.{AWS}", f"1.0+{JWT}", attributes={"token": JWT, f"card {CARD}": "x", "team": "pay"}
    )
    clean = stage.scope(scope)
    _assert_clean(repr((clean.name, clean.version, dict(clean.attributes or {}))))
    assert clean.name == "svc.[REDACTED:aws-access-key-id]"
    assert dict(clean.attributes or {})["team"] == "pay"
    assert stage.scope(scope) is clean  # memoised: the same scope comes back for every record


def test_a_clean_scope_is_returned_as_is() -> None:
    stage = build_record_stage(["secrets", "pci", "gdpr"])
    scope = InstrumentationScope("tests.app", "1.2.3")
    assert stage.scope(scope) is scope


def test_fail_closed_masks_event_name_severity_text_and_keys() -> None:
    class ExplodingRedactor(Redactor):
        def redact_value(self, key: str | None, value: Any, counts: Any, **kwargs: Any) -> Any:
            raise RuntimeError("engine bug")

    stage = build_record_stage(redactor=ExplodingRedactor())
    record = make_record(
        {"structured": True},
        {f"ctx.{AWS}": 5, "a": "text"},
        event_name=f"e.{AWS}",
        severity_text=f"password={PASSWORD}",
    )
    stage(record)  # must not raise
    _assert_clean(_everything(record))
    assert record.body == ERROR_MARKER
    assert record.event_name == ERROR_MARKER
    assert record.severity_text == ERROR_MARKER
    attributes = dict(record.attributes or {})
    assert attributes["a"] == ERROR_MARKER
    assert attributes["aibos.redaction.failures"] == 1


def test_resource_attribute_keys_are_redacted() -> None:
    out = redact_resource_attributes({f"aws.{AWS}": "1", "db.url": "postgres://app:s3cretpw@db:5432/app"})
    _assert_clean(repr(out))
    assert "s3cretpw" not in repr(out)
    assert out == {
        "aws.[REDACTED:aws-access-key-id]": "1",
        "db.url": "postgres://app:[REDACTED:url-credentials]@db:5432/app",
    }
