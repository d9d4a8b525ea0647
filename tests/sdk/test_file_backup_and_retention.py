"""File backup (JSON lines per level, size rotation, gzip) and `aibos-otel retention enforce`."""

from __future__ import annotations

import gzip
import json
import logging
import os
import threading
import time
from pathlib import Path

import pytest

import aibos_otel
from aibos_otel.cli import main
from aibos_otel.lifecycle.retention import DAY, enforce
from aibos_otel.sdk.file_backup import MARKER_NAME, FileBackupExporter, rotated_files


def test_setup_writes_one_json_lines_file_per_level(tmp_path: Path) -> None:
    handle = aibos_otel.setup(
        service_name="files", environment="development", console=False, file_backup=tmp_path
    )
    log = aibos_otel.get_logger("tests.files")
    log.setLevel(aibos_otel.TRACE)
    log.trace("t1")
    log.info("i1", extra={"k": 1})
    log.warning("w1")
    log.fatal("f1")
    assert handle.force_flush(5000)
    handle.shutdown()
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        ".aibos-otel-backup",  # the marker the lifecycle commands look for
        "fatal.jsonl",
        "info.jsonl",
        "trace.jsonl",
        "warn.jsonl",
    ]
    info = [json.loads(line) for line in (tmp_path / "info.jsonl").read_text().splitlines()]
    assert info[0]["message"] == "i1"
    assert info[0]["attributes"] == {"k": 1}
    assert info[0]["service.name"] == "files"
    assert info[0]["level"] == "info"


def test_rotation_by_size_and_count_gzips_old_files(tmp_path: Path) -> None:
    from opentelemetry._logs import LogRecord, SeverityNumber
    from opentelemetry.sdk._logs import ReadableLogRecord
    from opentelemetry.sdk.resources import Resource

    exporter = FileBackupExporter(tmp_path, max_bytes=2_000, max_files=3)
    record = ReadableLogRecord(
        LogRecord(body="x" * 200, severity_number=SeverityNumber.ERROR, severity_text="ERROR"),
        resource=Resource({}),
    )
    for _ in range(40):
        exporter.export([record] * 3)
        time.sleep(0.001)  # rotated names carry a microsecond stamp
    exporter.shutdown()
    rotated = rotated_files(tmp_path, "error")
    assert len(rotated) == 3
    lines = gzip.decompress(rotated[-1].read_bytes()).decode().splitlines()
    assert all(json.loads(line)["message"] == "x" * 200 for line in lines)
    assert (tmp_path / "error.jsonl").exists()


def _make_rotated(directory: Path, level: str, age_days: float, now: float, n: int) -> Path:
    """A rotated file as the writer names it, in a directory marked as the writer marks it."""
    (directory / MARKER_NAME).touch()
    path = directory / f"{level}-20260101T0000000000{n:02d}.jsonl.gz"
    path.write_bytes(gzip.compress(b'{"message":"old"}\n'))
    os.utime(path, (now - age_days * DAY, now - age_days * DAY))
    return path


def test_enforce_deletes_low_levels_and_archives_high_levels(tmp_path: Path) -> None:
    now = time.time()
    trace_old = _make_rotated(tmp_path, "trace", 2, now, 1)
    trace_new = _make_rotated(tmp_path, "trace", 0.5, now, 2)
    debug_old = _make_rotated(tmp_path, "debug", 8, now, 3)
    info_old = _make_rotated(tmp_path, "info", 31, now, 4)
    error_young = _make_rotated(tmp_path, "error", 200, now, 5)
    fatal_young = _make_rotated(tmp_path, "fatal", 2000, now, 6)
    active = tmp_path / "trace.jsonl"
    active.write_text("{}\n")
    os.utime(active, (now - 30 * DAY, now - 30 * DAY))

    planned = enforce(tmp_path, dry_run=True, now=now).actions
    assert {(a.verb, a.path.name) for a in planned} == {
        ("delete", trace_old.name),
        ("delete", debug_old.name),
        ("archive", info_old.name),
    }
    assert trace_old.exists() and info_old.exists()  # a dry run changes nothing

    done = enforce(tmp_path, now=now)
    assert len(done.actions) == 3 and done.complete
    assert not trace_old.exists() and not debug_old.exists() and not info_old.exists()
    assert (tmp_path / "archive" / info_old.name).exists()
    assert trace_new.exists() and error_young.exists() and fatal_young.exists()
    assert active.exists()  # the file a writer holds open is never touched

    assert enforce(tmp_path, now=now).actions == []
    later = enforce(tmp_path, now=now + 40 * DAY, archive_days=60).actions
    assert ("delete", tmp_path / "archive" / info_old.name) in {(a.verb, a.path) for a in later}
    assert not (tmp_path / "archive" / info_old.name).exists()


def test_cli_enforce_prints_what_it_did(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    old = _make_rotated(tmp_path, "debug", 10, time.time(), 1)
    assert main(["retention", "enforce", "--dir", str(tmp_path), "--dry-run"]) == 0
    assert f"would delete {old}" in capsys.readouterr().out
    assert old.exists()
    assert main(["retention", "enforce", "--dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert f"deleted {old}" in out and "1 file(s) processed" in out
    assert not old.exists()
    assert main(["retention", "enforce", "--dir", str(tmp_path / "missing")]) == 2


def test_enforce_is_safe_while_a_service_writes_and_rotates(tmp_path: Path) -> None:
    handle = aibos_otel.setup(
        service_name="busy", environment="development", console=False, file_backup=tmp_path
    )
    file_delivery = handle.deliveries[0]
    file_delivery._exporter._max_bytes = 4_000  # type: ignore[attr-defined]  # rotate often
    stop = threading.Event()
    errors: list[BaseException] = []

    def enforcer() -> None:
        while not stop.is_set():
            try:
                report = enforce(tmp_path, now=time.time() + 31 * DAY)  # everything rotated is 31 days old
                # Two enforcers racing for one file: the loser skips it quietly, never a problem.
                assert report.problems == []
            except BaseException as exc:  # pragma: no cover - the assertion below reports it
                errors.append(exc)
            time.sleep(0.001)

    threads = [threading.Thread(target=enforcer, daemon=True) for _ in range(2)]
    for t in threads:
        t.start()
    try:
        log = logging.getLogger("tests.busy")
        for i in range(3000):
            log.debug("debug line %d with some padding to fill files", i)
            log.info("info line %d", i)
        assert handle.force_flush(10_000)
    finally:  # a failed assertion must not leave the enforcers spinning (they would block exit)
        stop.set()
        for t in threads:
            t.join(5)
    handle.shutdown()
    assert errors == []
    enforce(tmp_path, now=time.time() + 31 * DAY)
    assert not list(tmp_path.glob("debug-*.jsonl.gz"))
    # Info is archived, never deleted: every info record is still there, intact, exactly once.
    archived = sorted((tmp_path / "archive").glob("info-*.jsonl.gz"))
    assert archived
    lines = [ln for p in archived for ln in gzip.decompress(p.read_bytes()).decode().splitlines()]
    lines += (tmp_path / "info.jsonl").read_text().splitlines() if (tmp_path / "info.jsonl").exists() else []
    messages = [json.loads(line)["message"] for line in lines]
    assert sorted(messages) == sorted(f"info line {i}" for i in range(3000))


def test_the_writer_marks_its_directory_without_following_a_link(tmp_path: Path) -> None:
    from aibos_otel.lifecycle.safe_dir import is_marked

    plain = tmp_path / "plain"
    FileBackupExporter(plain).shutdown()
    marker = plain / MARKER_NAME
    assert marker.is_file() and not marker.is_symlink() and "aibos-otel file backup" in marker.read_text()
    assert is_marked(plain)

    planted = tmp_path / "planted"
    planted.mkdir()
    elsewhere = tmp_path / "elsewhere.txt"
    (planted / MARKER_NAME).symlink_to(elsewhere)
    FileBackupExporter(planted).shutdown()  # the writer starts all the same
    assert not elsewhere.exists()  # nothing created through the link
    assert not is_marked(planted)  # and a link is no marker


def test_a_marker_that_cannot_be_written_does_not_stop_the_backup(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from aibos_otel.sdk import file_backup

    def refuse(*args: object, **kwargs: object) -> int:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(file_backup.os, "open", refuse)
    with caplog.at_level(logging.WARNING, logger="aibos_otel.sdk.file_backup"):
        exporter = FileBackupExporter(tmp_path)
    monkeypatch.undo()
    assert "cannot write the file backup marker" in caplog.text
    assert not (tmp_path / MARKER_NAME).exists()
    from opentelemetry._logs import LogRecord, SeverityNumber
    from opentelemetry.sdk._logs import ReadableLogRecord
    from opentelemetry.sdk._logs.export import LogRecordExportResult
    from opentelemetry.sdk.resources import Resource

    record = ReadableLogRecord(
        LogRecord(body="kept", severity_number=SeverityNumber.INFO), resource=Resource({})
    )
    assert exporter.export([record]) == LogRecordExportResult.SUCCESS
    exporter.shutdown()
    assert json.loads((tmp_path / "info.jsonl").read_text())["message"] == "kept"
