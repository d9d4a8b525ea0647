"""Issue 11 finding 4: JSON nested 100 000 deep, a 5000-digit integer and a silence ending at
``10**30`` ns closed the connection with no answer and a traceback in the log, and no
receiver-error metric counted them. Each now gets a 400 that says why, counted."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from aibos_otel.monitor.jsonlimits import JsonLimitError, loads_bounded, nesting_depth
from aibos_otel.monitor.server import Monitor

from .test_api_access import raw
from .test_receiver import http_post

DEEP = b'{"matchers": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
HUGE_INT = b'{"matchers": [{"name": "a", "value": "b"}], "ends_at_ns": ' + b"9" * 5000 + b"}"
JSON = {"Content-Type": "application/json"}


def _metric(monitor: Monitor, transport: str, reason: str) -> float:
    assert monitor.api_port
    text = raw(monitor.api_port, "GET", "/metrics")[2].decode()
    needle = f'aibos_monitor_receiver_errors_total{{reason="{reason}",transport="{transport}"}} '
    for line in text.splitlines():
        if line.startswith(needle):
            return float(line[len(needle) :])
    return 0.0


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        (DEEP, b"nested 100001 levels deep; the limit is 16"),
        (HUGE_INT, b"a number of 5000 characters; the limit is 64"),
        (json.dumps({"matchers": {"a": "b"}, "ends_at_ns": 10**30}).encode(), b"ends_at_ns"),
        (json.dumps({"matchers": {"a": "b"}, "duration": "99999999999y"}).encode(), b"366 days"),
        (json.dumps({"matchers": {"a": "b"}, "starts_at_ns": [1]}).encode(), b"starts_at_ns"),
        (json.dumps({"matchers": [{"name": "a", "value": "b", "isRegex": "yes"}]}).encode(), b"isRegex"),
        (json.dumps({"matchers": {"a": "b"}, "comment": "x" * 5000}).encode(), b"comment"),
        (
            json.dumps({"matchers": [{"name": f"l{i}", "value": "v"} for i in range(33)]}).encode(),
            b"limit is 32",
        ),
        (b'{"matchers": {"a": "b"}, "x": NaN}', b"NaN is not JSON"),
        (b"\xff\xfe{", b"malformed JSON"),
    ],
)
def test_hostile_silence_bodies_get_a_400(
    monitor: Monitor, body: bytes, needle: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    assert monitor.api_port
    before = _metric(monitor, "api", "malformed")
    with caplog.at_level(logging.ERROR):
        status, _, reply = raw(monitor.api_port, "POST", "/api/silences", body, JSON)
    assert status == 400, reply[:300]
    assert needle in json.loads(reply)["error"].encode(), reply[:300]
    assert _metric(monitor, "api", "malformed") == before + 1
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], "a traceback went to the log"
    assert raw(monitor.api_port, "GET", "/api/silences")[0] == 200  # still serving


def test_broken_content_length_is_a_400(monitor: Monitor) -> None:
    assert monitor.api_port
    for length in ("abc", "-5"):
        status, _, reply = raw(
            monitor.api_port, "POST", "/api/silences", b"{}", {**JSON, "Content-Length": length}
        )
        assert status == 400, reply


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        (b'{"resourceLogs": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", b"the limit is 128"),
        (
            b'{"resourceLogs": [{"scopeLogs": [{"logRecords": [{"timeUnixNano": ' + b"1" * 5000 + b"}]}]}]}",
            b"5000",
        ),
    ],
)
def test_hostile_otlp_json_gets_a_400(
    monitor: Monitor, body: bytes, needle: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    assert monitor.http_port
    before = _metric(monitor, "http", "malformed")
    with caplog.at_level(logging.ERROR):
        status, reply, ctype = http_post(monitor.http_port, "/v1/logs", body, JSON)
    assert status == 400 and ctype == "application/json"
    assert needle in reply, reply[:300]
    assert _metric(monitor, "http", "malformed") == before + 1
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_legitimately_nested_otlp_json_still_parses() -> None:
    value: Any = {"stringValue": "leaf"}
    for _ in range(25):  # a 25-level attribute map: deeper than any real log
        value = {"kvlistValue": {"values": [{"key": "k", "value": value}]}}
    body = {"resourceLogs": [{"scopeLogs": [{"logRecords": [{"body": value}]}]}]}
    assert loads_bounded(json.dumps(body).encode(), max_depth=128) == body


def test_depth_ignores_brackets_inside_strings() -> None:
    assert nesting_depth(b'{"a": "[[[[{{{{", "b": "\\"[["}') == 1
    assert nesting_depth(b"[[[]],[]]") == 3
    assert nesting_depth(b"") == 0 and nesting_depth(b"]]]") == 0
    with pytest.raises(JsonLimitError, match="nested 3 levels deep; the limit is 2"):
        loads_bounded(b"[[[]]]", max_depth=2)
