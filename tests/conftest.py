"""The root conftest of the project's tests: the aibos test plugin, and a clean logging state."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from importlib.metadata import entry_points

import pytest

_PLUGIN = "aibos_otel.testing.pytest_plugin"

# The fixture users get through the ``pytest11`` entry point. An environment installed before
# the entry point existed (or from another checkout) lacks it: load the plugin by name then.
if not any(ep.value == _PLUGIN for ep in entry_points(group="pytest11")):
    pytest_plugins = [_PLUGIN]


@pytest.fixture(autouse=True)
def clean_aibos_state() -> Iterator[None]:
    """After each test: no active ``setup()`` and the root logger's handlers and level as before."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    # Only a test that ran setup() has loaded it; the others need not pay for the OTel SDK.
    setup_module = sys.modules.get("aibos_otel.sdk.setup")
    if setup_module is not None:
        setup_module.STATE.reset(timeout=2)
    root.handlers[:] = handlers
    root.setLevel(level)
