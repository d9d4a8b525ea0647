"""The redaction engine ships in the same wheel: when it cannot be imported, setup() fails
instead of logging unredacted."""

from __future__ import annotations

import logging
import sys

import pytest

import aibos_otel
from aibos_otel.sdk.setup import active_handle


def test_a_broken_install_fails_setup_instead_of_logging_unredacted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "aibos_otel.redaction.stage", None)  # import raises ImportError
    handlers = list(logging.getLogger().handlers)
    with pytest.raises(ImportError):
        aibos_otel.setup(service_name="broken", console=False, file_backup=False)
    assert active_handle() is None
    assert logging.getLogger().handlers == handlers  # no bridge left that would log unredacted
