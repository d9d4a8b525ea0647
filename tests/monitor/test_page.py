"""The web page in headless Chromium (Debian's ``chromium``): firing alerts, top error groups
with counts and first/last seen, and log volume by level, rendered by the page's own script."""

from __future__ import annotations

import shutil
import subprocess
from html.parser import HTMLParser
from typing import Any

import pytest

from aibos_otel.monitor.server import Monitor

from .otlp_builders import exception_attrs, logs_request, record
from .test_receiver import grpc_export

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


class Tables(HTMLParser):
    """Collects the text of each table's body rows, by table id."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self._table: str | None = None
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self._in_body = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self._table = dict(attrs).get("id") or ""
            self.tables[self._table] = []
        elif tag == "tbody":
            self._in_body = True
        elif tag == "tr" and self._in_body:
            self._row = []
        elif tag == "td" and self._row is not None:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "td" and self._row is not None and self._cell is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tr" and self._row is not None and self._table is not None:
            self.tables[self._table].append(self._row)
            self._row = None
        elif tag == "tbody":
            self._in_body = False

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


@pytest.mark.skipif(
    CHROMIUM is None, reason="Debian's chromium is not installed (scripts/install-debian-packages.sh)"
)
def test_page_shows_alerts_errors_and_volume(monitor: Monitor, tmp_path: Any) -> None:
    assert monitor.grpc_port and CHROMIUM
    records = [record("checkout ok", "info") for _ in range(5)]
    records += [
        record("charge failed", "error", attributes=exception_attrs("CardError", "card declined"))
        for _ in range(3)
    ]
    records += [record("disk full", "fatal")]
    grpc_export(monitor.grpc_port, logs_request(records, service="shop").SerializeToString())
    proc = subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--virtual-time-budget=5000",
            "--dump-dom",
            f"http://127.0.0.1:{monitor.api_port}/",
        ],
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    parser = Tables()
    parser.feed(proc.stdout)
    alerts, errors, volume = parser.tables["alerts"], parser.tables["errors"], parser.tables["volume"]
    fatal = next(row for row in alerts if row[0] == "fatal-errors")
    assert fatal[1] == "firing" and "service_name=shop" in fatal[2] and "shop: 1 fatal log(s)" in fatal[3]
    card = next(row for row in errors if row[2] == "CardError")
    assert card[1] == "3" and card[3] == "card declined" and card[4] == "shop"
    assert card[5] != "-" and card[6] != "-" and card[7] == "new"
    assert errors[0][1] == "3"  # sorted by count
    assert {row[0]: row[1] for row in volume} == {"info": "5", "error": "3", "fatal": "1"}
