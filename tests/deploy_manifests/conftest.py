"""Fixtures: the checker binary, each overlay rendered once per session, and the collector tests'
Loki and Datadog stand-ins (imported, so the two directories share one definition)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.collector.conftest import datadog, loki  # noqa: F401 (fixtures pytest finds here)
from tests.deploy_manifests.manifests import KUSTOMIZE_DIR, OVERLAYS, render, validator_binary


@pytest.fixture(scope="session")
def checker() -> Path:
    return validator_binary()


@pytest.fixture(scope="session")
def rendered() -> dict[str, str]:
    return {overlay: render(KUSTOMIZE_DIR / "overlays" / overlay) for overlay in OVERLAYS}
