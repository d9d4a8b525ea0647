"""Property-based tests: generated secrets embedded in log text are always removed, clean
text is unchanged, and redaction is idempotent."""

from __future__ import annotations

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from aibos_otel.redaction import Redactor
from aibos_otel.redaction.validators import is_placeholder
from tests.redaction.strategies import (
    aws_access_keys,
    card_numbers,
    clean_log_lines,
    emails,
    ibans,
    jwts,
    log_words,
)

REDACTORS = {True: Redactor(use_hyperscan=None), False: Redactor(use_hyperscan=False)}
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

secrets = st.one_of(card_numbers(), ibans(), emails(), jwts(), aws_access_keys())


@SETTINGS
@given(before=log_words(), secret=secrets, after=log_words(), fast=st.booleans())
def test_embedded_secret_is_always_removed(before: str, secret: str, after: str, fast: bool) -> None:
    assume(not is_placeholder(secret))
    text = f"{before} {secret} {after}".strip()
    redacted = REDACTORS[fast].redact_text(text)
    assert secret not in redacted
    assert "[REDACTED:" in redacted


@SETTINGS
@given(text=log_words(), fast=st.booleans())
def test_clean_text_is_unchanged(text: str, fast: bool) -> None:
    assert REDACTORS[fast].redact_text(text) == text


@SETTINGS
@given(line=clean_log_lines(), fast=st.booleans())
def test_clean_log_shapes_are_unchanged(line: str, fast: bool) -> None:
    """Hex ids, UUIDs, versions, durations, paths and numbers are not secrets."""
    assert REDACTORS[fast].redact_text(line) == line


@SETTINGS
@given(before=log_words(), secret=secrets, after=log_words())
def test_redaction_is_idempotent(before: str, secret: str, after: str) -> None:
    redactor = REDACTORS[False]
    once = redactor.redact_text(f"{before} {secret} {after}")
    assert redactor.redact_text(once) == once


@SETTINGS
@given(before=log_words(), secret=secrets, after=log_words())
def test_both_engines_agree(before: str, secret: str, after: str) -> None:
    text = f"{before} {secret} {after}"
    assert REDACTORS[True].redact(text).counts == REDACTORS[False].redact(text).counts


@SETTINGS
@given(secret=secrets, key=st.sampled_from(["note", "payload", "user.contact", "exception.message"]))
def test_secret_in_nested_attributes_is_removed(secret: str, key: str) -> None:
    assume(not is_placeholder(secret))
    attributes = {key: {"inner": [f"value {secret} end"], "n": 1}, "flat": secret}
    redacted = REDACTORS[True].redact_attributes(attributes)
    assert secret not in repr(redacted)
    assert redacted[key]["n"] == 1
