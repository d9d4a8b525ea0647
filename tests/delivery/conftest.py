"""Fixtures: a real OTLP receiver, a clean environment for subprocesses, a fresh-venv install."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.delivery.receiver import OtlpReceiver

ROOT = Path(__file__).resolve().parents[2]
APPS = Path(__file__).resolve().parent / "apps"


@pytest.fixture
def receiver() -> Iterator[OtlpReceiver]:
    server = OtlpReceiver().start()
    try:
        yield server
    finally:
        server.stop()


def clean_env(**extra: str) -> dict[str, str]:
    """The test process's environment minus anything that configures OTel or aibos."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("OTEL_", "AIBOS_", "PYTHONPATH", "VIRTUAL_ENV", "PYTEST_"))
    }
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


INSTRUMENT = Path(sys.executable).with_name("opentelemetry-instrument")
"""The project's ``opentelemetry-instrument`` (the zero-code launcher the distro plugs into)."""


def run_instrumented(
    script: Path, env: dict[str, str], timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """Run ``script`` under ``opentelemetry-instrument`` with exactly ``env``."""
    return subprocess.run(
        [str(INSTRUMENT), sys.executable, str(script)],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def run_python(
    script: Path, env: dict[str, str], *args: str, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """Run ``script`` with the project's interpreter (repository root importable)."""
    env = dict(env)
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.run(
        [sys.executable, str(script), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.fixture(scope="session")
def fresh_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A new virtual environment with the built wheel and a FastAPI stack installed into it.

    Versions are constrained to the lock file, so uv serves everything from its cache.
    """
    uv = shutil.which("uv")
    assert uv is not None, "uv is needed (scripts/setup.sh installs it)"
    base = tmp_path_factory.mktemp("fresh")
    dist = base / "dist"
    subprocess.run([uv, "build", "--wheel", "-q", "-o", str(dist)], cwd=ROOT, check=True, timeout=120)
    constraints = base / "constraints.txt"
    exported = subprocess.run(
        [
            uv,
            "export",
            "-q",
            "--format",
            "requirements-txt",
            "--no-hashes",
            "--all-extras",
            "--group",
            "dev",
            "--no-emit-project",
            # a local path requirement cannot be a constraint; the fresh install is a plain
            # `pip install aibos-otel`, without the optional native scan
            "--no-emit-package",
            "aibos-otel-native",
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    constraints.write_text(exported.stdout)
    venv = base / "venv"
    interpreter = os.path.realpath(sys.executable)
    subprocess.run([uv, "venv", "-q", "-p", interpreter, str(venv)], check=True, timeout=60)
    wheels = sorted(dist.glob("aibos_otel-*.whl"))
    assert len(wheels) == 1
    subprocess.run(
        [
            uv,
            "pip",
            "install",
            "-q",
            "-p",
            str(venv / "bin" / "python"),
            "-c",
            str(constraints),
            str(wheels[0]),
            "fastapi",
            "uvicorn",
            "requests",
            "opentelemetry-instrumentation-fastapi",
            "opentelemetry-instrumentation-requests",
        ],
        check=True,
        timeout=300,
        env=clean_env(),
    )
    return venv
