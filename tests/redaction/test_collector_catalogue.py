"""The catalogue as data for the collector's own processor (aibos_otel/redaction/render_go.py).

The Go side (``go test`` in collector-components/aibosredactionprocessor) asserts it runs this data
as the Python engine runs the catalogue; these tests assert the data and the conformance file are
what the Python side gives today, and that no look-around is silently dropped.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import re2

from aibos_otel.cli import main
from aibos_otel.redaction.catalogue import all_detectors
from aibos_otel.redaction.render_go import render_go_catalogue, render_go_catalogue_text, split_pattern

REPO = Path(__file__).resolve().parents[2]
RENDER = REPO / "collector-config" / "render_redaction.py"
CATALOGUE = REPO / "collector-components" / "aibosredactionprocessor" / "catalogue.json"


def test_generated_files_are_current() -> None:
    """catalogue.json and testdata/conformance.json (the Python engine's answers) are current."""
    proc = subprocess.run(
        [sys.executable, str(RENDER), "--check"], cwd=REPO, capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr


def test_cli_prints_the_catalogue_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["redaction", "render-collector", "--format", "json"]) == 0
    assert capsys.readouterr().out == render_go_catalogue_text() == CATALOGUE.read_text(encoding="utf-8")


def test_every_detector_and_key_rule_is_rendered() -> None:
    rendered = render_go_catalogue()
    assert [d["id"] for d in rendered["detectors"]] == [d.id for d in all_detectors()]
    assert {r["id"] for r in rendered["key_rules"]} == {
        "sensitive-key",
        "card-key",
        "national-id-key",
        "health-key",
    }


def test_no_look_around_is_dropped() -> None:
    """Every look-around became a boundary class, a Go-side check or an exact RE2 rewrite."""
    rendered = render_go_catalogue()["detectors"]
    assert [d["id"] for d in rendered if d["approximations"]] == []
    for detector in rendered:
        for pattern in (detector["re2"], *(c["re"] for c in detector["after"])):
            assert "(?<" not in pattern.replace("(?P<", "") and "(?=" not in pattern and "(?!" not in pattern
    # How each was kept (a change in these counts means a new kind of pattern: look at it).
    assert sum(1 for d in rendered if d["before_class"]) >= 160
    assert sum(1 for d in rendered if d["after_class"]) >= 160
    assert {d["id"] for d in rendered if d["not_words"] or d["reject_secret"]} == {
        "password-assignment",
        "openai-api-key",
    }


def test_rendered_patterns_compile_under_re2() -> None:
    options = re2.Options()
    options.log_errors = False
    for detector in render_go_catalogue()["detectors"]:
        if "(?P<aibosnotword>" in detector["re2"] or detector["re2"].count("(?P<secret>") > 1:
            continue  # repeated group names: Go's RE2 takes them, google-re2's Python API does not
        re2.compile(detector["re2"], options)


def test_split_pattern_keeps_boundaries_as_data() -> None:
    split = split_pattern(r"(?i)(?<![A-Za-z0-9])(?P<secret>ab[0-9]{4})(?![A-Za-z0-9])(?!\s?ms\b)")
    assert split["ignore_case"] is True
    assert split["re2"] == "(?P<secret>ab[0-9]{4})"
    assert split["before_class"] == "[A-Za-z0-9]"
    assert split["after_class"] == "[A-Za-z0-9]"
    assert split["after"] == [{"neg": True, "re": r"\s?ms\b"}]


def test_conformance_file_covers_examples_corpus_and_probes() -> None:
    document = json.loads((CATALOGUE.parent / "testdata" / "conformance.json").read_text(encoding="utf-8"))
    kinds = {case["id"].split(":")[0] for case in document["cases"]}
    assert kinds == {"example", "negative", "corpus", "probe"}
    assert sum(case["id"].startswith("corpus:") for case in document["cases"]) >= 500
