"""Acceptance of issue 19: a user's test against ``aibos_otel.testing`` in a fresh venv.

The wheel is built from this checkout and installed with pip into a new virtual environment
(versions constrained to the lock file); a user's suite then runs there with pytest, from an
empty directory, so nothing of the repository is importable and the fixture can only come
from the wheel's ``pytest11`` entry point.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# the lock file's versions, minus the project itself and its optional native scan (a path)
_EXPORT_ARGS = ("--group", "dev", "--no-emit-project", "--no-emit-package", "aibos-otel-native")
USER_SUITE = Path(__file__).resolve().parent / "testing_user_suite.py"


def _clean_env() -> dict[str, str]:
    drop = ("OTEL_", "AIBOS_", "PYTHONPATH", "VIRTUAL_ENV", "PYTEST_")
    return {k: v for k, v in os.environ.items() if not k.startswith(drop)}


@pytest.mark.slow
def test_a_users_suite_captures_redacted_records_in_a_fresh_venv(tmp_path: Path) -> None:
    uv = shutil.which("uv")
    assert uv is not None, "uv is needed to build the wheel (scripts/setup.sh installs it)"
    dist = tmp_path / "dist"
    subprocess.run([uv, "build", "--wheel", "-q", "-o", str(dist)], cwd=ROOT, check=True, timeout=120)
    [wheel] = sorted(dist.glob("aibos_otel-*.whl"))
    exported = subprocess.run(
        [uv, "export", "-q", "--format", "requirements-txt", "--no-hashes", "--all-extras", *_EXPORT_ARGS],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    constraints = tmp_path / "constraints.txt"
    constraints.write_text(exported.stdout)
    venv = tmp_path / "venv"
    interpreter = os.path.realpath(sys.executable)
    subprocess.run([interpreter, "-m", "venv", str(venv)], check=True, timeout=120)
    python = str(venv / "bin" / "python")
    subprocess.run(
        [python, "-m", "pip", "install", "-q", "-c", str(constraints), str(wheel), "pytest"],
        check=True,
        timeout=600,
        env=_clean_env(),
    )
    project = tmp_path / "user_project"
    project.mkdir()
    shutil.copy(USER_SUITE, project / "test_user.py")
    run = subprocess.run(
        [python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_user.py"],
        cwd=project,
        env=_clean_env(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert "2 passed" in run.stdout
