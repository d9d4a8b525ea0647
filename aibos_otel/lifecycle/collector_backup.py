"""Erasure in the collector's file backup (the gateway's ``file/backup`` exporter).

That exporter writes one OTLP-JSON ``ExportLogsServiceRequest`` per line to ``AIBOS_BACKUP_PATH``
(``/var/lib/aibos-otelcol/backup/logs.jsonl``) and rotates it by renaming to
``logs-<2006-01-02T15-04-05.000>.jsonl`` (``.gz`` when compressed). A line holds many records, so
erasure rewrites the line: matching log records are removed, scopes and resources left empty are
removed, and a request left empty drops the line. Lines without a match are kept byte for byte.

Record attributes are matched as in the SDK backup (OTLP ``intValue`` strings compare as
numbers); the time window applies to ``timeUnixNano``, else ``observedTimeUnixNano``. The
collector holds the active file open, so it is only rewritten with ``include_active`` once the
collector has stopped (see :mod:`aibos_otel.lifecycle.erasure`).

Which files are the collector's: the directory carries no marker, because the OTel Collector
writes it and aibos-otel never does, so there is no moment at which we could mark it, and asking
for ``--force`` on every run would only teach operators to always pass it. Instead the layout is
recognised by its own file names, which is narrow enough: the operator names the active file
exactly (``--collector-backup PATH``), and besides it only files named as the exporter rotates
it (``<stem>-YYYY-MM-DDTHH-MM-SS.mmm<suffix>[.gz]``) are read; erasure only ever rewrites lines
that parse as ``ExportLogsServiceRequest`` JSON (every other line is kept byte for byte) and never
deletes a file. The rules of :mod:`aibos_otel.lifecycle.safe_dir` hold as for the SDK backup:
regular files only, never through a symbolic link, a link is reported and left alone.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aibos_otel.lifecycle.erasure import (
    EraseError,
    ErasureReport,
    Layout,
    Match,
    Window,
    erase_layout,
    open_file_ids,
)
from aibos_otel.lifecycle.rewrite import LineResult
from aibos_otel.terminal import escape

DEFAULT_PATH = "/var/lib/aibos-otelcol/backup/logs.jsonl"


def otlp_value(value: Any) -> Any:
    """A plain Python value from an OTLP-JSON ``AnyValue`` (None for maps, bytes and empties)."""
    if not isinstance(value, dict):
        return None
    if "stringValue" in value:
        return value["stringValue"]
    if "intValue" in value:  # int64 travels as a string in OTLP JSON
        try:
            return int(value["intValue"])
        except (TypeError, ValueError):
            return None
    if "doubleValue" in value:
        return value["doubleValue"]
    if "boolValue" in value:
        return bool(value["boolValue"])
    if "arrayValue" in value:
        items = value["arrayValue"].get("values", []) if isinstance(value["arrayValue"], dict) else []
        return [otlp_value(item) for item in items]
    return None


def _attributes(record: dict[str, Any]) -> dict[str, Any]:
    pairs = record.get("attributes")
    if not isinstance(pairs, list):
        return {}
    return {p["key"]: otlp_value(p.get("value")) for p in pairs if isinstance(p, dict) and "key" in p}


def _moment(record: dict[str, Any]) -> datetime | None:
    for key in ("timeUnixNano", "observedTimeUnixNano"):
        try:
            nanos = int(record.get(key) or 0)
        except (TypeError, ValueError):
            continue
        if nanos:
            return datetime.fromtimestamp(nanos / 1e9, UTC)
    return None


def _record_matches(record: Any, matches: Sequence[Match], window: Window) -> bool:
    if not isinstance(record, dict):
        return False
    attributes = _attributes(record)
    for match in matches:
        if match.key not in attributes or not match.accepts(attributes[match.key]):
            return False
    moment = _moment(record)
    if moment is None:
        return window.start is None and window.end is None  # no time: only an open window takes it
    return bool(window.contains(moment.isoformat()))


def _items(container: Any, key: str) -> list[Any]:
    value = container.get(key) if isinstance(container, dict) else None
    return value if isinstance(value, list) else []


def otlp_json_line(line: bytes, matches: Sequence[Match], window: Window) -> LineResult | None:
    """One ``ExportLogsServiceRequest`` line: its records, the matching ones, and the line
    without them (``b""`` when nothing is left); None when it is not such a line."""
    try:
        request = json.loads(line)
    except ValueError:
        return None
    if not isinstance(request, dict) or not isinstance(request.get("resourceLogs"), list):
        return None
    records = matched = 0
    resources: list[Any] = []
    for resource_logs in request["resourceLogs"]:
        scopes: list[Any] = []
        for scope_logs in _items(resource_logs, "scopeLogs"):
            kept: list[Any] = []
            for record in _items(scope_logs, "logRecords"):
                records += 1
                if _record_matches(record, matches, window):
                    matched += 1
                else:
                    kept.append(record)
            if kept:
                scopes.append({**scope_logs, "logRecords": kept})
        if scopes:
            resources.append({**resource_logs, "scopeLogs": scopes})
    if not matched:
        return LineResult(records, 0)
    if not resources:
        return LineResult(records, matched, b"")
    text = json.dumps({**request, "resourceLogs": resources}, separators=(",", ":"), ensure_ascii=False)
    return LineResult(records, matched, text.encode("utf-8"))


def collector_layout(path: str | os.PathLike[str]) -> Layout:
    """The file exporter's active file ``path`` and its rotated siblings (the exporter's rotation
    names them ``<stem>-<2006-01-02T15-04-05.000><suffix>``, ``.gz`` added when compressed)."""
    active = Path(path)
    stem, suffix = re.escape(active.stem), re.escape(active.suffix)
    rotated = re.compile(rf"{stem}-\d{{4}}-\d{{2}}-\d{{2}}T\d{{2}}-\d{{2}}-\d{{2}}\.\d{{3}}{suffix}(?:\.gz)?")

    def wanted(name: str) -> bool:
        return name == active.name or rotated.fullmatch(name) is not None

    return Layout(active.parent, wanted, lambda name: name == active.name, otlp_json_line)


def erase_collector_backup(
    path: str | os.PathLike[str],
    matches: Sequence[Match],
    *,
    window: Window | None = None,
    dry_run: bool = False,
    include_active: bool = False,
    held_open: Callable[[], set[tuple[int, int]] | None] = open_file_ids,
) -> ErasureReport:
    """Erase the records matching every one of ``matches`` from the collector's file backup."""
    if not Path(path).parent.is_dir():
        raise EraseError(f"no such collector backup directory: {escape(Path(path).parent)}")
    return erase_layout(
        collector_layout(path),
        matches,
        window=window,
        dry_run=dry_run,
        include_active=include_active,
        held_open=held_open,
    )
