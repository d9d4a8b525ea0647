"""Score a redactor on a labelled corpus (JSON lines: text, secret, category[, attributes]).

Recall: the share of lines with a planted secret whose redacted output no longer contains it.
False positives: the share of clean lines (secret null) that the redactor changed.

    .venv/bin/python benchmarks/redaction_corpus_score.py [CORPUS.jsonl] [--show-misses] [--engine re]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from aibos_otel.redaction import Redactor, default_redactor

DEFAULT_CORPUS = Path(__file__).resolve().parents[1] / ".." / "shared" / "corpus" / "redaction-public.jsonl"


def redact_row(redactor: Redactor, row: dict[str, Any]) -> str:
    """The redacted form of a corpus row (text plus any attributes), as one string."""
    out = redactor.redact_text(row["text"])
    attributes = row.get("attributes")
    if attributes:
        out += "\n" + json.dumps(redactor.redact_attributes(attributes), sort_keys=True)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", nargs="?", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--show-misses", action="store_true", help="print missed secrets and false positives")
    parser.add_argument("--engine", choices=("auto", "re"), default="auto")
    args = parser.parse_args(argv)

    redactor = default_redactor() if args.engine == "auto" else Redactor(use_hyperscan=False)
    rows = [json.loads(line) for line in args.corpus.read_text(encoding="utf-8").splitlines() if line.strip()]
    positives = [r for r in rows if r.get("secret")]
    negatives = [r for r in rows if not r.get("secret")]
    missed_by_category: Counter[str] = Counter()
    total_by_category: Counter[str] = Counter()
    misses: list[tuple[dict[str, Any], str]] = []
    false_positives: list[tuple[dict[str, Any], str]] = []
    started = time.perf_counter()
    for row in positives:
        out = redact_row(redactor, row)
        total_by_category[row["category"]] += 1
        if row["secret"] in out:
            missed_by_category[row["category"]] += 1
            misses.append((row, out))
    for row in negatives:
        out = redact_row(redactor, row)
        original = row["text"] + (
            "\n" + json.dumps(row["attributes"], sort_keys=True) if row.get("attributes") else ""
        )
        if out != original:
            false_positives.append((row, out))
    elapsed = time.perf_counter() - started

    recall = 1 - len(misses) / max(1, len(positives))
    fp_rate = len(false_positives) / max(1, len(negatives))
    print(
        f"corpus: {args.corpus} ({len(positives)} with a secret, {len(negatives)} clean) engine={redactor.scanner.engine}"
    )
    print(f"{'category':32} {'lines':>6} {'missed':>6}")
    for category, total in sorted(total_by_category.items()):
        print(f"{category:32} {total:6d} {missed_by_category[category]:6d}")
    print(f"recall: {recall:.4f} ({len(positives) - len(misses)}/{len(positives)})  target >= 0.99")
    print(f"false positives: {fp_rate:.4f} ({len(false_positives)}/{len(negatives)})  target <= 0.01")
    print(f"time: {elapsed * 1000:.1f} ms for {len(rows)} lines")
    if args.show_misses:
        for row, out in misses:
            print(
                f"MISS [{row['category']}] {row.get('source', '')}: secret={row['secret']!r}\n    {out[:300]!r}"
            )
        for row, out in false_positives:
            print(f"FP   [{row['category']}] {row.get('source', '')}:\n    {out[:300]!r}")
    return 0 if recall >= 0.99 and fp_rate <= 0.01 else 1


if __name__ == "__main__":
    sys.exit(main())
