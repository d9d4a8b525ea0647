"""The collector subset compiles under RE2 and still matches, and the CLI commands work."""

from __future__ import annotations

import subprocess
import sys

import pytest
import yaml

from aibos_otel.cli import main
from aibos_otel.redaction.catalogue import key_rules_for
from aibos_otel.redaction.render import (
    collector_detectors,
    re2_key_pattern,
    re2_value_pattern,
    render_collector_redaction,
    strip_lookarounds,
)

re2 = pytest.importorskip("re2")


def test_every_rendered_pattern_compiles_under_re2() -> None:
    settings = render_collector_redaction(["secrets", "pci", "gdpr", "hipaa"])
    assert settings["allow_all_keys"] is True
    assert len(settings["blocked_values"]) >= 60
    for pattern in settings["blocked_values"] + settings["blocked_key_patterns"]:
        re2.compile(pattern)


@pytest.mark.parametrize(
    "detector", collector_detectors(["secrets", "pci", "gdpr", "hipaa"]), ids=lambda d: d.id
)
def test_rendered_pattern_still_finds_the_examples(detector: object) -> None:
    from aibos_otel.redaction.detector import Detector

    assert isinstance(detector, Detector)
    compiled = re2.compile(re2_value_pattern(detector))
    for example in detector.examples:
        assert compiled.search(example), f"{detector.id}: RE2 form misses {example!r}"


def test_rendered_key_patterns_match_raw_keys() -> None:
    for rule in key_rules_for(["secrets", "pci", "gdpr", "hipaa"]):
        compiled = re2.compile(re2_key_pattern(rule))
        for key in (k for k in rule.examples if k == k.lower() or "-" in k):
            assert compiled.search(key), f"{rule.id}: {key!r}"
        for key in rule.negatives:
            assert not compiled.search(key), f"{rule.id}: {key!r}"


def test_strip_lookarounds_respects_classes_and_escapes() -> None:
    assert strip_lookarounds(r"(?<![A-Za-z0-9_\-(])abc(?![)\]x])\Z") == r"abc\z"
    assert strip_lookarounds(r"a(?=(?:b|c))d") == "ad"


def test_cli_list_prints_a_table_by_category(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["redaction", "list"]) == 0
    out = capsys.readouterr().out
    for heading in ("secrets (", "pci (", "gdpr (", "hipaa ("):
        assert heading in out
    assert "github-token" in out and "iban" in out
    count = int(out.strip().splitlines()[-1].split()[0])
    assert count >= 100


def test_cli_render_collector_emits_processor_yaml(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["redaction", "render-collector", "--name", "redaction/aibos"]) == 0
    document = yaml.safe_load(capsys.readouterr().out)
    settings = document["processors"]["redaction/aibos"]
    assert settings == render_collector_redaction()


def test_cli_redact_filters_stdin() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "aibos_otel.cli", "redaction", "redact"],
        input="mail bob@example.com\nplain line\n",
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert result.stdout == "mail [REDACTED:email]\nplain line\n"
