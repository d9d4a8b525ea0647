"""Regression guard on the public development corpus (skipped when it is not beside the
repository): both first passes agree line by line, and quality stays at the targets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from aibos_otel.redaction import Redactor

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus" / "redaction-public.jsonl"

pytestmark = pytest.mark.skipif(not CORPUS.exists(), reason="public corpus not present")


@pytest.fixture(scope="module")
def rows() -> list[dict[str, object]]:
    return [json.loads(line) for line in CORPUS.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_both_first_passes_give_identical_output(rows: list[dict[str, object]]) -> None:
    pytest.importorskip("hyperscan")
    fast = Redactor(use_hyperscan=True)
    slow = Redactor(use_hyperscan=False)
    for row in rows:
        text = str(row["text"])
        assert fast.redact_text(text) == slow.redact_text(text), text


def test_recall_and_false_positive_targets(rows: list[dict[str, object]]) -> None:
    redactor = Redactor(["secrets", "pci", "gdpr"], use_hyperscan=False)
    positives = [r for r in rows if r.get("secret")]
    negatives = [r for r in rows if not r.get("secret")]
    missed = [r for r in positives if str(r["secret"]) in redactor.redact_text(str(r["text"]))]
    changed = [r for r in negatives if redactor.redact_text(str(r["text"])) != r["text"]]
    assert len(missed) / len(positives) <= 0.01, [r["id"] for r in missed]
    assert len(changed) / len(negatives) <= 0.01, [r["id"] for r in changed]
