"""Hostile policy files: `aibos-otel validate` answers with line and field, never a traceback,
never unbounded memory or time (issue 11, finding 7)."""

from __future__ import annotations

import resource
import subprocess
import sys
from pathlib import Path

import pytest

from aibos_otel.cli import main
from aibos_otel.policy.yamlsource import MAX_BYTES, MAX_DEPTH, load

ROOT = Path(__file__).resolve().parents[2]

BILLION_LAUGHS = "\n".join(
    [
        'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
        *(f"{chr(98 + i)}: &{chr(98 + i)} [{','.join([f'*{chr(97 + i)}'] * 9)}]" for i in range(8)),
        "rules: *i",
    ]
)


def _limit_memory() -> None:  # pragma: no cover - runs in the child
    cap = 1024 * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))


def test_billion_laughs_is_refused_at_the_alias_without_expanding(tmp_path: Path) -> None:
    assert len(BILLION_LAUGHS) < 1024
    policy = tmp_path / "laughs.yaml"
    policy.write_text(BILLION_LAUGHS)
    # A child with 1 GiB of address space: the old code's expansion hit MemoryError there.
    done = subprocess.run(
        [sys.executable, "-m", "aibos_otel.cli", "validate", str(policy)],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        preexec_fn=_limit_memory,
    )
    assert done.returncode == 1, done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    assert f"{policy}: line 2: b[0]: YAML alias *a is not allowed" in done.stderr


def test_an_alias_error_names_the_line_and_the_field() -> None:
    text = "rules:\n  - name: one\n    expr: &e 'count_over_time({a=\"b\"}[1m]) > 1'\n  - name: two\n    expr: *e\n"
    issues = [str(i) for i in load(text, {}).issues]
    assert issues == [
        "line 5: rules[1].expr: YAML alias *e is not allowed in a policy file (repeat the value)"
    ]


def test_a_merge_key_alias_is_refused_too() -> None:
    text = "base: &b {for: 1m}\nrules:\n  - <<: *b\n    name: x\n"
    (issue,) = load(text, {}).issues
    assert (issue.line, issue.path) == (3, "rules[0].<<")
    assert "alias *b" in issue.message


@pytest.mark.parametrize("style", ["flow", "block"])
def test_deep_nesting_is_an_error_with_line_and_field_not_a_recursion_error(
    style: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    if style == "flow":
        text = "rules: " + "[" * 5000 + "]" * 5000 + "\n"
    else:  # indentation grows with depth: 400 levels stay under the size limit
        text = "rules:\n" + "".join(" " * i + "-\n" for i in range(400))
    policy = tmp_path / "deep.yaml"
    policy.write_text(text)
    assert main(["validate", str(policy)]) == 1
    err = capsys.readouterr().err
    assert f"nested deeper than {MAX_DEPTH} levels" in err
    assert "rules[0][0]" in err and "line " in err


def test_nesting_up_to_the_limit_is_fine() -> None:
    value = "[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1)
    source = load(f"x: {value}\n", {})
    assert source.issues == []


def test_an_oversized_policy_is_refused_before_parsing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    policy = tmp_path / "huge.yaml"
    policy.write_text("# padding\n" * (MAX_BYTES // 10 + 1))
    assert main(["validate", str(policy)]) == 1
    assert f"larger than {MAX_BYTES // 1024} KiB" in capsys.readouterr().err


def test_an_endless_policy_source_is_read_only_up_to_the_limit(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "/dev/zero"]) == 1  # read_text() here never returned
    assert "larger than" in capsys.readouterr().err
