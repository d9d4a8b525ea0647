"""Render the SDK's redaction catalogue for the collector's own ``aibosredaction`` processor.

    .venv/bin/python collector-config/render_redaction.py           # rewrite the generated files
    .venv/bin/python collector-config/render_redaction.py --check   # exit 1 when one is stale (CI)

Two files in ``collector-components/aibosredactionprocessor/``, both generated, never edited:

* ``catalogue.json``: every detector and key rule as data (``aibos-otel redaction
  render-collector --format=json``); the Go processor embeds it (``go:embed``), so the catalogue
  reaches the collector binary at build time (build.sh hashes the component directory).
* ``testdata/conformance.json``: what the Python engine (default profiles) makes of every
  catalogue example and negative, every line of the public corpus (``../shared/corpus``) and
  every redaction-probe shape of ``tests/redaction``. ``go test`` asserts the Go engine gives the
  same text; ``tests/redaction/test_collector_catalogue.py`` asserts this file is current. So
  neither engine can change without the other noticing.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from aibos_otel.redaction.catalogue import all_detectors  # noqa: E402
from aibos_otel.redaction.engine import Redactor  # noqa: E402
from aibos_otel.redaction.render_go import render_go_catalogue_text  # noqa: E402

COMPONENT = REPO / "collector-components" / "aibosredactionprocessor"
CATALOGUE = COMPONENT / "catalogue.json"
CONFORMANCE = COMPONENT / "testdata" / "conformance.json"
CORPUS = REPO.parent.parent / "shared" / "corpus" / "redaction-public.jsonl"
CONFORMANCE_PROFILES = ("secrets", "pci", "gdpr")


def _corpus_path() -> Path:
    """The public corpus: beside the main checkout (/work/shared), from any worktree."""
    for base in (REPO, *REPO.parents):
        candidate = base / "shared" / "corpus" / "redaction-public.jsonl"
        if candidate.exists():
            return candidate
    return CORPUS


def probe_texts() -> list[tuple[str, str]]:
    """(id, text) of every redaction-probe shape in tests/redaction."""
    from tests.redaction import test_engine, test_issue12

    out: list[tuple[str, str]] = []
    for table_name in ("URL_USERINFO", "JSON_UNDER_KEYS", "PERCENT", "UNICODE", "KEYED_SYNTAXES"):
        table: dict[str, tuple[str, str]] = getattr(test_issue12, table_name)
        out.extend((f"probe:{table_name.lower()}:{name}", text) for name, (text, _secret) in table.items())
    for index, shape in enumerate(test_engine.ASSIGNMENT_SHAPES):
        for vendor in ("looker", "zendesk", "acme"):
            secret = "Xq7" + vendor[:3] + "Lm2Np9Rt4Vw8Yz1Bc5Df"
            text = shape.format(i=vendor, I=vendor.upper(), s=secret)
            out.append((f"probe:assignment:{index}:{vendor}", text))
    return out


def _corpus_texts() -> list[tuple[str, str]]:
    """(id, text) of the public corpus lines.

    The corpus lives beside the checkout (``../shared``), not in it. A checkout without it (a CI
    clone elsewhere) takes the lines from the committed conformance file, so ``--check`` still
    asserts that the Python engine's answers on them are current, and the Go tests still run them.
    """
    corpus = _corpus_path()
    if corpus.exists():
        rows = (json.loads(line) for line in corpus.read_text(encoding="utf-8").splitlines() if line.strip())
        return [(f"corpus:{row['id']}", row["text"]) for row in rows]
    if not CONFORMANCE.exists():
        return []
    committed = json.loads(CONFORMANCE.read_text(encoding="utf-8"))["cases"]
    return [(case["id"], case["text"]) for case in committed if case["id"].startswith("corpus:")]


def conformance_texts() -> list[tuple[str, str]]:
    """(id, text) of every case: catalogue examples and negatives, corpus lines, probes."""
    cases: list[tuple[str, str]] = []
    for detector in all_detectors():
        if detector.category not in CONFORMANCE_PROFILES:
            continue
        cases.extend((f"example:{detector.id}:{i}", text) for i, text in enumerate(detector.examples))
        cases.extend((f"negative:{detector.id}:{i}", text) for i, text in enumerate(detector.negatives))
    cases.extend(_corpus_texts())
    cases.extend(probe_texts())
    return cases


def render_conformance() -> str:
    """The conformance file's text."""
    redactor = Redactor(CONFORMANCE_PROFILES, use_hyperscan=False)
    cases: list[dict[str, Any]] = []
    for case_id, text in conformance_texts():
        result = redactor.redact(text)
        cases.append({"id": case_id, "text": text, "expected": result.text})
    document = {
        "generated_by": "collector-config/render_redaction.py",
        "profiles": list(CONFORMANCE_PROFILES),
        "cases": cases,
    }
    return json.dumps(document, indent=1, ensure_ascii=True) + "\n"


def outputs() -> dict[Path, str]:
    """Every generated file and its current content."""
    return {CATALOGUE: render_go_catalogue_text(), CONFORMANCE: render_conformance()}


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--check", action="store_true", help="only report whether the files are current")
    args = parser.parse_args()
    stale = []
    for path, text in outputs().items():
        current = path.read_text(encoding="utf-8") if path.exists() else None
        if current == text:
            continue
        if args.check:
            stale.append(path.relative_to(REPO))
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    if stale:
        names = ", ".join(map(str, stale))
        print(f"stale: {names}: run collector-config/render_redaction.py", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
