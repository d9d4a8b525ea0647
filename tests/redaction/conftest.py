"""Shared fixtures for the redaction tests."""

from __future__ import annotations

import importlib.util

import pytest

ENGINES = ["re"] + (["hyperscan"] if importlib.util.find_spec("hyperscan") else [])


@pytest.fixture(params=ENGINES)
def use_hyperscan(request: pytest.FixtureRequest) -> bool:
    """Run a test through the pure-``re`` first pass and, where installed, the Hyperscan one."""
    return bool(request.param == "hyperscan")
