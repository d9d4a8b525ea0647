"""Fixtures shared by the SDK tests: a clean logging/aibos state around each test."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def clean_aibos_state() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    from aibos_otel.sdk import setup as setup_module

    handle = setup_module.active_handle()
    if handle is not None:
        handle.shutdown(timeout=2)
        setup_module._active = None
    root.handlers[:] = handlers
    root.setLevel(level)
