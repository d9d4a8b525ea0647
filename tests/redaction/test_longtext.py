"""Long texts: sliced redaction equals whole-text redaction, secrets across slice edges stay
masked, and the time budget masks the rest instead of sending it raw."""

from __future__ import annotations

import itertools
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aibos_otel.redaction import Redactor, engine
from aibos_otel.redaction.catalogue import all_detectors
from aibos_otel.redaction.longtext import (
    BUDGET_ID,
    DEFAULT_BUDGET_S,
    LONG_TEXT,
    MARGIN,
    SLICE,
    bounded,
    slices,
)
from aibos_otel.redaction.scanner import Finding
from tests.redaction.test_log_styles import SECRETS, SENSITIVE_KEYS, STYLES

BUDGET_MARKER = f"[REDACTED:{BUDGET_ID}]"


def _styled_lines() -> list[str]:
    lines = []
    for index, (_, secret) in enumerate(SECRETS):
        key = SENSITIVE_KEYS[index % len(SENSITIVE_KEYS)]
        for render in STYLES.values():
            text = render(key, secret)
            if text is not None:
                lines.append(text)
    return lines


LINES = _styled_lines()


@pytest.fixture(scope="module")
def redactor() -> Redactor:
    return Redactor(["secrets", "pci", "gdpr", "hipaa"], time_budget=None)


def _whole(redactor: Redactor, text: str, monkeypatch: pytest.MonkeyPatch) -> engine.RedactionResult:
    with monkeypatch.context() as patch:
        patch.setattr(engine, "LONG_TEXT", len(text) + 1)
        return redactor.redact(text)


def test_a_long_text_is_redacted_as_if_whole(redactor: Redactor, monkeypatch: pytest.MonkeyPatch) -> None:
    text = "\n".join(LINES)
    assert len(text) > 2 * LONG_TEXT
    sliced, whole = redactor.redact(text), _whole(redactor, text, monkeypatch)
    assert BUDGET_ID not in sliced.counts
    assert sliced.text == whole.text
    assert sliced.counts == whole.counts
    assert sum(sliced.counts.values()) > len(LINES) // 2


def test_small_slices_change_nothing(redactor: Redactor) -> None:
    """Slices of 3 000 characters, margins of 1 500 (longer than any line): as if whole."""
    text = "\n".join(LINES[:1500])
    candidates = redactor.scanner.candidates(text)
    whole = redactor._apply(text, redactor._text_findings(text, candidates))
    found = bounded(text, redactor._slice_findings, None, size=3000, margin=1500)
    assert found.cut is None
    sliced = redactor._apply(text, found.found)
    assert sliced.text == whole.text
    assert sliced.counts == whole.counts


@pytest.mark.parametrize(
    "detector_id", ["aws-access-key-id", "jwt", "credit-card", "email", "stripe-secret-key"]
)
def test_a_secret_across_a_slice_edge_is_masked(detector_id: str, redactor: Redactor) -> None:
    secret = next(s for d, s in SECRETS if d == detector_id)
    filler = "lorem ipsum dolor sit amet " * (SLICE // 27 + 400)
    leaks = []
    for shift in range(-len(secret) - 2, 3):
        position = SLICE + shift
        text = filler[:position] + " " + secret + " " + filler[: 2 * MARGIN]
        out = redactor.redact_text(text)
        if secret in out:
            leaks.append(shift)
    assert leaks == []


def test_a_private_key_longer_than_two_margins_is_masked_across_the_edge(redactor: Redactor) -> None:
    body = "\n".join("MIIEow" + "A" * 58 for _ in range(3 * MARGIN // 64))
    block = f"-----BEGIN RSA PRIVATE KEY-----\n{body}\n-----END RSA PRIVATE KEY-----"
    assert len(block) > 2 * MARGIN
    text = "x " * (SLICE // 2 - MARGIN) + block + " tail" + " y" * (SLICE // 2)
    out = redactor.redact_text(text)
    assert "MIIEow" not in out
    assert out.endswith("tail" + " y" * (SLICE // 2))


def test_an_unterminated_private_key_is_masked_to_the_end(
    redactor: Redactor, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = "start -----BEGIN PRIVATE KEY-----\n" + "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n" * 8000
    out = redactor.redact(text)
    assert "MIIEv" not in out.text
    assert out.text == _whole(redactor, text, monkeypatch).text


def test_the_budget_masks_the_rest_and_keeps_what_was_done() -> None:
    redactor = Redactor(time_budget=0.0)  # the first slice always runs; then time is up
    text = "\n".join(LINES)
    out = redactor.redact(text)
    assert out.counts[BUDGET_ID] == 1
    assert out.text.endswith(BUDGET_MARKER)
    head = out.text[: -len(BUDGET_MARKER)]
    assert out.cut == SLICE  # the first slice's core: what was done
    assert all(secret not in out.text for _, secret in SECRETS if len(secret) >= 12)
    first = LINES[0]
    assert head.startswith(redactor.redact_text(first))


@pytest.mark.parametrize("strategy", ["hash", "drop", "partial"])
def test_the_budget_region_is_masked_whatever_the_strategy(strategy: str) -> None:
    redactor = Redactor(strategy=strategy, hash_key="k", time_budget=0.0)
    out = redactor.redact("\n".join(LINES))
    assert out.text.endswith(BUDGET_MARKER)
    assert not out.drop or strategy == "drop"


def test_a_clock_past_the_budget_stops_before_the_next_slice() -> None:
    ticks = itertools.count()
    detector = all_detectors()[0]

    def clock() -> float:
        return float(next(ticks))  # every reading one second later

    def find(piece: str) -> list[Finding]:
        return [Finding(0, 1, detector)]

    text = "a " * (3 * SLICE)
    assert bounded(text, find, None, clock=clock).cut is None
    found = bounded(text, find, 2.5, clock=clock)
    assert found.cut == SLICE  # slice 1 ran (t=1..2); slice 2 would end at t=4 > 2.5
    assert len(found.found) == 1
    assert bounded(text, find, 100.0, clock=clock).cut is None


@settings(max_examples=200, deadline=None)
@given(
    st.integers(min_value=1, max_value=5000),
    st.integers(min_value=1, max_value=700),
    st.integers(min_value=0, max_value=300),
    st.text(alphabet="ab \n", min_size=0, max_size=6000),
)
def test_slices_cover_the_text_in_order(size: int, chunk: int, margin: int, alphabet_text: str) -> None:
    text = (alphabet_text * (size // max(1, len(alphabet_text)) + 1))[:size] if alphabet_text else "a" * size
    pieces = list(slices(len(text), text, chunk, margin))
    assert pieces[0].start == 0
    assert pieces[-1].end == len(text) == pieces[-1].core_end
    core_start = 0
    for piece in pieces:
        assert piece.start <= core_start < piece.core_end <= piece.end
        assert piece.core_end - core_start <= chunk
        assert piece.start >= core_start - margin
        assert piece.end <= piece.core_end + margin
        core_start = piece.core_end


def test_the_budget_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(engine.TIME_BUDGET_ENV, raising=False)
    assert Redactor(profiles="secrets").time_budget == DEFAULT_BUDGET_S
    monkeypatch.setenv(engine.TIME_BUDGET_ENV, "1.5")
    assert Redactor(profiles="secrets").time_budget == 1.5
    monkeypatch.setenv(engine.TIME_BUDGET_ENV, "off")
    assert Redactor(profiles="secrets").time_budget is None
    assert Redactor(profiles="secrets", time_budget=0.2).time_budget == 0.2  # given wins
    for bad in ("0", "-1", "soon", "nan", "inf"):
        monkeypatch.setenv(engine.TIME_BUDGET_ENV, bad)
        with pytest.raises(ValueError, match=engine.TIME_BUDGET_ENV):
            Redactor(profiles="secrets")
    with pytest.raises(ValueError, match="time_budget"):
        Redactor(profiles="secrets", time_budget=-0.1)


def test_a_structure_shares_one_budget_and_is_masked_past_it() -> None:
    value = {"items": ["bob@example.com", "plain text", 4111111111111111], "n": 3, "ok": True}
    cut = Redactor(time_budget=0.0).redact_attributes(value)  # past the budget at once
    assert cut == {"items": [BUDGET_MARKER, BUDGET_MARKER, BUDGET_MARKER], "n": 3, "ok": True}
    whole = Redactor(time_budget=None).redact_attributes(value)
    assert whole["items"][:2] == ["[REDACTED:email]", "plain text"]
    assert whole == Redactor().redact_attributes(value)  # the default budget is far off here


def test_the_masked_rest_is_never_allow_listed() -> None:
    text = "\n".join(LINES)
    out = Redactor(time_budget=0.0, allow=[re.compile(r"(?s).*")]).redact(text)
    assert out.text.endswith(BUDGET_MARKER)
    assert out.counts[BUDGET_ID] == 1


def test_a_continued_finding_is_looked_for_in_a_window(monkeypatch: pytest.MonkeyPatch) -> None:
    """Inside the window a block cut by a slice edge ends at its END line; one longer than the
    window is masked to the text's end (never sent, never scanned past the window)."""
    from aibos_otel.redaction import longtext

    monkeypatch.setattr(longtext, "CONTINUE_CHARS", 3 * SLICE)
    redactor = Redactor(time_budget=None)
    head = "x " * (SLICE // 2 - 100) + "-----BEGIN PRIVATE KEY-----\n"
    line = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n"
    tail = "-----END PRIVATE KEY----- tail words stay " + "y " * SLICE
    short = redactor.redact_text(head + line * (2 * SLICE // len(line)) + tail)
    assert "MIIEv" not in short
    assert short.endswith("tail words stay " + "y " * SLICE)
    long = redactor.redact_text(head + line * (8 * SLICE // len(line)) + tail)
    assert "MIIEv" not in long
    assert long.endswith("[REDACTED:private-key-block]")
