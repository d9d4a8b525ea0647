"""Turn finished log records into text: JSON lines (files, non-development console) and a
coloured human line (development console)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from opentelemetry.sdk._logs import ReadableLogRecord

_COLOURS = {
    "TRACE": "\x1b[2m",
    "DEBUG": "\x1b[36m",
    "INFO": "\x1b[32m",
    "WARN": "\x1b[33m",
    "ERROR": "\x1b[31m",
    "FATAL": "\x1b[1;41;97m",
}
_RESET = "\x1b[0m"
_DIM = "\x1b[2m"


def _iso(ns: int | None) -> str:
    seconds = (ns or 0) / 1e9
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def to_json_dict(record: ReadableLogRecord) -> dict[str, Any]:
    """One record as a flat JSON-ready dict (the file backup and JSON console format)."""
    log = record.log_record
    level = (log.severity_text or "UNSPECIFIED").lower()
    data: dict[str, Any] = {
        "timestamp": _iso(log.timestamp or log.observed_timestamp),
        "level": level,
        "severity_number": log.severity_number.value if log.severity_number is not None else 0,
        "logger": record.instrumentation_scope.name if record.instrumentation_scope else "",
        "message": log.body,
    }
    if log.trace_id:
        data["trace_id"] = f"{log.trace_id:032x}"
        data["span_id"] = f"{log.span_id:016x}"
    if record.resource is not None:
        service = record.resource.attributes.get("service.name")
        if service is not None:
            data["service.name"] = service
    if log.attributes:
        data["attributes"] = {k: list(v) if isinstance(v, tuple) else v for k, v in log.attributes.items()}
    return data


def to_json_line(record: ReadableLogRecord) -> str:
    """One record as a JSON line (no trailing newline)."""
    return json.dumps(to_json_dict(record), default=str, separators=(",", ":"), ensure_ascii=False)


def to_pretty_line(record: ReadableLogRecord, *, colour: bool) -> str:
    """One record as a human line: time, level, logger, message, key=value attributes, stack."""
    log = record.log_record
    text = log.severity_text or "UNSPECIFIED"
    stamp = _iso(log.timestamp or log.observed_timestamp)[11:23]
    logger = record.instrumentation_scope.name if record.instrumentation_scope else ""
    attributes = dict(log.attributes or {})
    stack = attributes.pop("exception.stacktrace", None)
    body = str(log.body)
    pairs = " ".join(
        f"{k}={v!r}" if isinstance(v, str) and " " in v else f"{k}={v}" for k, v in attributes.items()
    )
    if colour:
        level = f"{_COLOURS.get(text, '')}{text:<5}{_RESET}"
        line = f"{_DIM}{stamp}{_RESET} {level} {_DIM}{logger}{_RESET} {body}"
        if pairs:
            line += f" {_DIM}{pairs}{_RESET}"
    else:
        line = f"{stamp} {text:<5} {logger} {body}" + (f" {pairs}" if pairs else "")
    if stack:
        line += "\n" + str(stack).rstrip("\n")
    return line
