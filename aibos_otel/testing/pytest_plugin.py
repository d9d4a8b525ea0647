"""The pytest plugin of aibos-otel (entry point ``pytest11``): the ``aibos_logs`` fixture.

Loaded by pytest at start-up in every environment that has aibos-otel installed, so it
imports nothing heavy until a test asks for the fixture.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from aibos_otel.testing import CapturedRecord


@pytest.fixture
def aibos_logs() -> Iterator[list[CapturedRecord]]:
    """The records logged during the test, as ``aibos_otel.testing.capture_logs()`` gives them."""
    from aibos_otel.testing import capture_logs

    with capture_logs() as records:
        yield records
