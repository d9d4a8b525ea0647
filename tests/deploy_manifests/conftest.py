"""Fixtures: the checker binary and each overlay rendered once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.deploy_manifests.manifests import KUSTOMIZE_DIR, OVERLAYS, render, validator_binary


@pytest.fixture(scope="session")
def checker() -> Path:
    return validator_binary()


@pytest.fixture(scope="session")
def rendered() -> dict[str, str]:
    return {overlay: render(KUSTOMIZE_DIR / "overlays" / overlay) for overlay in OVERLAYS}
