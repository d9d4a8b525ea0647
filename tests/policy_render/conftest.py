"""Fixtures: the Debian Alertmanager tools, and the recording receivers of tests/monitor."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

# the monitor tests' recording HTTP receiver, TLS certificate and STARTTLS SMTP sink
from tests.monitor.conftest import recorder, smtp, tls_cert
from tests.support.helpers import free_port

__all__ = ["recorder", "smtp", "tls_cert"]


def require(tool: str) -> str:
    """The path of ``tool``; skip without it, but fail in CI (env CI set), where it must be."""
    path = shutil.which(tool)
    if path is None:
        reason = (
            f"{tool} is not installed (Debian prometheus-alertmanager; scripts/install-debian-packages.sh)"
        )
        if os.environ.get("CI"):
            pytest.fail(reason + " and CI is set")
        pytest.skip(reason)
    return path


@pytest.fixture
def amtool() -> str:
    """``amtool`` (Alertmanager's checker)."""
    return require("amtool")


@pytest.fixture
def start_alertmanager(tmp_path: Path) -> Iterator[Callable[[Path], str]]:
    """Start the real ``prometheus-alertmanager`` on a config file; returns its base URL.
    Every process started is stopped after the test."""
    binary = require("prometheus-alertmanager")
    started: list[subprocess.Popen[bytes]] = []

    def start(config: Path) -> str:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        log = tmp_path / f"am-{port}.log"  # a file, not a pipe: a full pipe would block it
        with log.open("wb") as log_file:
            proc = subprocess.Popen(
                [
                    binary,
                    f"--config.file={config}",
                    f"--storage.path={tmp_path / f'am-{port}'}",
                    f"--web.listen-address=127.0.0.1:{port}",
                    "--cluster.listen-address=",  # no gossip port on 0.0.0.0
                    f"--web.external-url={url}",
                ],
                stdout=subprocess.DEVNULL,
                stderr=log_file,
            )
        started.append(proc)
        deadline = time.monotonic() + 20
        while True:
            try:
                with urllib.request.urlopen(f"{url}/-/ready", timeout=2) as resp:
                    if resp.status == 200:
                        return url
            except OSError:
                pass
            if proc.poll() is not None:
                err = log.read_text(errors="replace")[-2000:]
                raise AssertionError(f"alertmanager exited with {proc.returncode}: {err}")
            assert time.monotonic() < deadline, "alertmanager did not become ready in 20 s"
            time.sleep(0.05)

    try:
        yield start
    finally:
        for proc in started:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
