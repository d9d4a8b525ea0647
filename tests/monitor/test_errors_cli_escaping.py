"""`aibos-otel errors` and `aibos-otel alerts` print outside data (exception types and messages,
service names, labels): terminal control sequences in it must arrive as visible text."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from aibos_otel.cli import main
from aibos_otel.monitor.settings import MonitorSettings
from aibos_otel.monitor.store import ErrorEvent, Store

CLEAR_SCREEN = "\x1b[2J"
SET_TITLE = "\x1b]0;pwned\x07"
C1_CSI = "\x9b31m"
RIGHT_TO_LEFT = "\u202e"


def _store(tmp_path: Path) -> Store:
    return Store(MonitorSettings(data_dir=tmp_path).database)


def _assert_no_controls(text: str) -> None:
    for char in text:
        if char == "\n":
            continue
        assert not (ord(char) < 0x20 or 0x7F <= ord(char) <= 0x9F), repr(char)
        assert char not in "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069", repr(char)


def test_errors_escapes_control_sequences_in_type_message_and_service(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = _store(tmp_path)
    store.record_errors(
        [
            ErrorEvent(
                "fp-1",
                f"Boom{CLEAR_SCREEN}",
                f"bad{SET_TITLE}{C1_CSI} {RIGHT_TO_LEFT}txt.exe",
                "",
                f"svc{CLEAR_SCREEN}",
                "prod",
                "",
                1_000_000_000,
            )
        ]
    )
    store.close()
    assert main(["errors", "--data-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    _assert_no_controls(out)
    assert "Boom\\x1b[2J" in out  # visible, so the operator sees what was attempted
    assert "bad\\x1b]0;pwned\\x07\\x9b31m \\u202etxt.exe" in out
    assert "svc\\x1b[2J" in out


def test_alerts_escapes_control_sequences_in_labels(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = _store(tmp_path)
    with store.transaction() as db:
        db.execute(
            "INSERT INTO alerts (id, key, rule, labels, annotations, state, value, active_at_ns,"
            " updated_at_ns, data) VALUES ('a1', 'k1', ?, ?, '{}', 'firing', 1.0, 1000000000,"
            " 1000000000, '{}')",
            (f"r{SET_TITLE}", json.dumps({"alertname": "r", "service": f"svc{CLEAR_SCREEN}"})),
        )
    store.close()
    assert main(["alerts", "--data-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    _assert_no_controls(out)
    assert "svc\\x1b[2J" in out
