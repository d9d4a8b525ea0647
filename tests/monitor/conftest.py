"""Fixtures: a monitor on free loopback ports with a temporary data directory."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from aibos_otel.monitor.server import Monitor
from aibos_otel.monitor.settings import MonitorSettings
from tests.support.helpers import free_port


def http_json(url: str, method: str = "GET", body: Any = None) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


@pytest.fixture
def monitor_factory(tmp_path: Path) -> Iterator[Any]:
    started: list[Monitor] = []

    def make(policy: Any = None, **overrides: Any) -> Monitor:
        kwargs: dict[str, Any] = dict(grpc_port=0, http_port=0, api_port=0, data_dir=tmp_path / "data")
        kwargs.update(overrides)
        monitor = Monitor(MonitorSettings(**kwargs), policy)
        monitor.start()
        started.append(monitor)
        return monitor

    try:
        yield make
    finally:
        for m in started:
            m.stop()


@pytest.fixture
def monitor(monitor_factory: Any) -> Monitor:
    m: Monitor = monitor_factory()
    return m


@pytest.fixture
def recorder() -> Iterator[Any]:
    from .fakes import Recorder

    rec = Recorder()
    try:
        yield rec
    finally:
        rec.stop()


@pytest.fixture(scope="session")
def tls_cert(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    from .fakes import make_cert

    return make_cert(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def smtp(tls_cert: tuple[Path, Path]) -> Iterator[Any]:
    from .fakes import SmtpSink

    sink = SmtpSink(tls_cert[0], tls_cert[1], free_port())
    try:
        yield sink
    finally:
        sink.stop()
