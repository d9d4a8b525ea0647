"""The error-group list and detail view in headless Chromium, driven over the DevTools pipe:
the page's own buttons resolve, ignore (in bulk) and reopen groups, and the detail view shows
the stack, releases, histogram, environments, services, trace ids and user count."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from aibos_otel.monitor.server import Monitor
from tests.support.cdp import Chromium

from .conftest import http_json
from .otlp_builders import exception_attrs, logs_request, record
from .test_receiver import grpc_export

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
SCREENSHOT_ENV = "AIBOS_PAGE_SCREENSHOT"
"""Set to a path to keep the screenshot (docs/monitor-errors.png is made this way)."""


def _send(monitor: Monitor, exc_type: str, message: str, n: int, release: str, user_base: int = 0) -> None:
    assert monitor.grpc_port
    records = [
        record(
            "failed",
            "error",
            attributes={
                **exception_attrs(exc_type, message, f'Traceback:\n  File "shop/{exc_type}.py", line 3'),
                "enduser.id": f"u{user_base + i}",
            },
            trace_id=bytes([i + 1]) * 16,
        )
        for i in range(n)
    ]
    request = logs_request(
        records, service="shop", environment="prod", extra_resource={"service.version": release}
    )
    grpc_export(monitor.grpc_port, request.SerializeToString())


def _state(monitor: Monitor, message: str) -> str:
    groups = http_json(f"http://127.0.0.1:{monitor.api_port}/api/errors?status=")[1]["errors"]
    return str(next(g["state"] for g in groups if g["message"] == message))


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed")
def test_page_actions_and_detail_view(monitor: Monitor, tmp_path: Path) -> None:
    assert CHROMIUM
    _send(monitor, "CardError", "card declined", 4, "1.1")
    _send(monitor, "CardError", "card declined", 2, "1.2", user_base=2)
    _send(monitor, "TimeoutError", "db timeout", 2, "1.2")
    _send(monitor, "KeyError", "missing sku", 1, "1.2")
    with Chromium(CHROMIUM, tmp_path / "profile") as page:
        page.goto(f"http://127.0.0.1:{monitor.api_port}/")
        page.wait_for("document.querySelectorAll('#errors tbody input[type=checkbox]').length === 3")
        # one row's own Resolve button
        page.evaluate(
            "[...document.querySelectorAll('#errors tbody tr')].find(tr => tr.textContent.includes('missing sku'))"
            ".querySelector('button[data-action=resolve]').click()"
        )
        page.wait_for("document.getElementById('action-status').textContent.startsWith('resolve: 1')")
        assert _state(monitor, "missing sku") == "resolved"
        # bulk: tick two rows, press Ignore
        page.wait_for("document.querySelectorAll('#errors tbody input[type=checkbox]').length === 2")
        page.evaluate(
            "for (const b of document.querySelectorAll('#errors tbody input[type=checkbox]')) b.click();"
            "document.getElementById('bulk-ignore').click()"
        )
        page.wait_for("document.getElementById('action-status').textContent.startsWith('ignore: 2')")
        assert _state(monitor, "card declined") == _state(monitor, "db timeout") == "ignored"
        # the list of all groups, then the detail view of one
        page.evaluate(
            "const s = document.getElementById('f-state'); s.value = 'all'; s.dispatchEvent(new Event('change'))"
        )
        page.wait_for("document.querySelectorAll('#errors tbody input[type=checkbox]').length === 3")
        page.evaluate(
            "[...document.querySelectorAll('#errors tbody a.group')].find(a => a.textContent === 'card declined').click()"
        )
        page.wait_for("!document.getElementById('detail').hidden")
        detail: dict[str, Any] = page.evaluate(
            "({text: document.getElementById('detail').innerText,"
            " bars: document.querySelectorAll('#histogram span').length,"
            " releases: [...document.querySelectorAll('#releases tbody tr')].map(tr => tr.innerText.split('\\t'))})"
        )
        assert "ignored · 6 occurrence(s) · 4 user(s)" in detail["text"]
        assert detail["bars"] >= 1 and detail["releases"] == [["1.1", "4"], ["1.2", "2"]]
        assert "shop/CardError.py" in detail["text"] and "prod" in detail["text"]
        assert "01" * 16 in detail["text"]  # a recent trace id
        shot = Path(os.environ.get(SCREENSHOT_ENV) or tmp_path / "page.png")
        page.screenshot(shot)
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        # Reopen from the detail view
        page.evaluate("document.querySelector('#detail button[data-action=reopen]').click()")
        page.wait_for("document.getElementById('detail').dataset.state === 'ongoing'")
        assert _state(monitor, "card declined") == "ongoing"
