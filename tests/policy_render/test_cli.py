"""The ``aibos-otel render`` command line: stdout, ``-o`` files and their modes, errors."""

from __future__ import annotations

import stat
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from aibos_otel.cli import main

from .policies import rich

ROOT = Path(__file__).resolve().parents[2]


def test_loki_rules_prints_yaml(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)  # no ./aibos-otel.yaml: the built-in default
    assert main(["render", "loki-rules"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("# Loki ruler rules")
    rules = yaml.safe_load(out)["groups"][0]["rules"]
    assert [r["alert"] for r in rules] == ["error-spike", "fatal-errors", "logs-silent"]


def test_policy_in_the_working_directory_is_used(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "aibos-otel.yaml").write_text(rich())
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("AIBOS_RENDER_TEST_UNSET", raising=False)
    assert main(["render", "loki-rules"]) == 0
    captured = capsys.readouterr()
    assert "alert: slow-checkout" in captured.out
    assert "note: rule 'retired': disabled" in captured.err


def test_output_files_and_modes(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text(rich())
    am = tmp_path / "alertmanager.yml"
    am.write_text("old")
    am.chmod(0o644)  # an existing, readable file is replaced by a private one
    assert main(["render", "alertmanager", "--policy", str(policy), "-o", str(am)]) == 0
    assert stat.S_IMODE(am.stat().st_mode) == 0o600
    assert "hunter2" in am.read_text()  # substituted secrets: hence 0600
    captured = capsys.readouterr()
    assert captured.out == f"wrote {am}\n"
    assert "note: channel 'console' (console)" in captured.err
    assert list(tmp_path.glob(".*.tmp")) == []

    rules = tmp_path / "rules.yaml"
    assert main(["render", "loki-rules", "--policy", str(policy), "-o", str(rules)]) == 0
    assert stat.S_IMODE(rules.stat().st_mode) == 0o644
    assert yaml.safe_load(rules.read_text())["groups"][0]["name"] == "aibos-otel"


def test_output_directory_is_the_rulers_rules_directory(tmp_path: Path) -> None:
    assert main(["render", "loki-rules", "-o", str(tmp_path), "--namespace", "shop"]) == 0
    assert yaml.safe_load((tmp_path / "fake" / "shop.yaml").read_text())["groups"]
    assert main(["render", "loki-rules", "-o", str(tmp_path), "--tenant", "team-a"]) == 0
    assert (tmp_path / "team-a" / "aibos-otel.yaml").is_file()


def test_bad_namespace_is_refused(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["render", "loki-rules", "-o", str(tmp_path), "--namespace", "../x"]) == 2
    assert "--namespace '../x'" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("target", ["loki-rules", "alertmanager"])
def test_broken_policy_names_line_and_field(target: str, tmp_path: Path) -> None:
    policy = tmp_path / "broken.yaml"
    policy.write_text(
        "channels:\n"
        "  chat: {type: slack, url: https://hooks.example.test/x}\n"
        "rules:\n"
        "  - name: spike\n"
        '    expr: sum(rate({level="error"}[5q])) > 1\n'
        "    channels: [chat, nowhere]\n"
    )
    out = tmp_path / "out.yaml"
    # a real process: the exit code and streams as a user (or CI script) sees them
    result = subprocess.run(
        [sys.executable, "-m", "aibos_otel.cli", "render", target, "--policy", str(policy), "-o", str(out)],
        check=False,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert result.returncode == 1
    assert f"{policy}: line 5: rules[0].expr: invalid duration '5q'" in result.stderr
    assert f"{policy}: line 6: rules[0].channels[1]: unknown channel 'nowhere'" in result.stderr
    assert result.stdout == "" and not out.exists()


def test_target_is_required(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["render"])
    assert exc.value.code == 2
    assert "TARGET" in capsys.readouterr().err
