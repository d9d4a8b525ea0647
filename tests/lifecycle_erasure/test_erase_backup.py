"""aibos-otel erase over a file backup written by the real writer through setup()."""

from __future__ import annotations

import gzip
import os
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest

import aibos_otel
from aibos_otel.cli import main
from aibos_otel.lifecycle.erasure import EraseError, Match, Window, erase_backups, open_file_ids
from tests.lifecycle_erasure.support import all_files, log_more, read_records, snapshot, user_of, write_backup
from tests.support.helpers import wait_for
from tests.support.otlp_receiver import GrpcReceiver, Record


@pytest.fixture
def backup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "backup"
    write_backup(directory, monkeypatch)
    return directory


def _records_by_file(directory: Path) -> dict[Path, list[dict[str, object]]]:
    return {p: read_records(p) for p in all_files(directory)}


def _audit_event(receiver: GrpcReceiver) -> Record:
    assert wait_for(lambda: any(r.scope == "aibos.audit" for r in receiver.store.snapshot()))
    (event,) = [r for r in receiver.store.snapshot() if r.scope == "aibos.audit"]
    return event


def test_erase_drops_only_the_matching_records_and_keeps_files_valid(
    backup: Path, audit_receiver: GrpcReceiver, capsys: pytest.CaptureFixture[str]
) -> None:
    before = _records_by_file(backup)
    rotated = [p for p in before if p.name.endswith(".jsonl.gz")]
    assert len(rotated) >= 3 and any(p.name == "info.jsonl" for p in before)  # the fixture rotated
    mtimes = {p: p.stat().st_mtime_ns for p in before}
    expected_gone = sum(1 for records in before.values() for r in records if user_of(r) == "u-1")
    assert expected_gone == 40

    code = main(["erase", "--match", "user.id=u-1", "--backup-dir", str(backup), "--include-active"])
    assert code == 0
    out = capsys.readouterr().out

    after = _records_by_file(backup)
    assert sorted(after) == sorted(before)  # same files, no temporaries left behind
    for path, records in before.items():
        kept = [r for r in records if user_of(r) != "u-1"]
        assert after[path] == kept, path  # the others untouched, in order
        assert path.stat().st_mtime_ns == mtimes[path]  # retention still sees the real age
        if path.name.endswith(".gz"):
            gzip.decompress(path.read_bytes())  # a complete gzip stream (trailer and CRC checked)
        removed = len(records) - len(kept)
        assert f"erased  {removed} of {len(records)} record(s) in {path}" in out
    assert f"erased {expected_gone} record(s) in {len(before)} file(s)" in out

    event = _audit_event(audit_receiver)
    attributes = event.attributes
    assert attributes["audit.action"] == "logs.erase"
    assert attributes["audit.outcome"] == "success"
    assert attributes["audit.target"] == f"backup:{backup}"
    assert attributes["erase.records_erased"] == expected_gone
    assert attributes["erase.files_scanned"] == len(before)
    assert attributes["erase.match_keys"] == ["user.id"]
    assert "u-1" not in repr(attributes) and "u-1" not in str(event.body)  # counts, never values


def test_matches_combine_and_compare_numbers_as_numbers(backup: Path) -> None:
    report = erase_backups(backup, [Match("user.id", "u-2"), Match("order", "7.0")])
    assert report.erased == 1 and report.complete
    left = [r for p in all_files(backup) for r in read_records(p)]
    assert not [r for r in left if user_of(r) == "u-2" and r["attributes"]["order"] == 7]
    assert len([r for r in left if user_of(r) == "u-2"]) == 39


def test_a_list_attribute_matches_on_any_item(backup: Path) -> None:
    report = erase_backups(backup, [Match("tags", "u-0")], include_active=True)
    assert report.erased == 40
    assert not [r for p in all_files(backup) for r in read_records(p) if user_of(r) == "u-0"]


def test_active_files_are_left_alone_by_default_and_reported(
    backup: Path, audit_receiver: GrpcReceiver, capsys: pytest.CaptureFixture[str]
) -> None:
    log_more(backup, "u-0")
    active = {p: p.read_bytes() for p in backup.glob("*.jsonl")}
    assert len(active) == 2
    code = main(["erase", "--match", "user.id=u-0", "--backup-dir", str(backup)])
    assert code == 1  # incomplete: matching records are still on disk
    out = capsys.readouterr().out
    for path, data in active.items():
        assert path.read_bytes() == data
        left = sum(1 for r in read_records(path) if user_of(r) == "u-0")
        assert left and f"skipped {path}: {left} of " in out and "active file" in out
    rotated_left = [r for p in backup.glob("*.jsonl.gz") for r in read_records(p) if user_of(r) == "u-0"]
    assert rotated_left == []
    event = _audit_event(audit_receiver)
    assert event.attributes["audit.outcome"] == "partial"
    assert event.attributes["erase.records_left"] > 0


def test_an_active_file_held_open_by_a_live_writer_is_not_replaced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    directory = tmp_path / "live"
    monkeypatch.setenv("AIBOS_SCHEDULE_DELAY", "0.01")
    handle = aibos_otel.setup(
        service_name="live", environment="development", console=False, file_backup=directory
    )
    log = aibos_otel.get_logger("tests.erase.live")
    log.info("one", extra={"user.id": "u-9"})
    assert handle.force_flush(5000)
    active = directory / "info.jsonl"
    held = open_file_ids()
    assert held is not None and (active.stat().st_dev, active.stat().st_ino) in held
    report = erase_backups(directory, [Match("user.id", "u-9")], include_active=True)
    (result,) = report.files
    assert result.skipped == "active file held open by a running process" and not result.rewritten
    log.info("two", extra={"user.id": "u-9"})  # the writer goes on appending to the same file
    assert handle.force_flush(5000)
    assert [r["message"] for r in read_records(active)] == ["one", "two"]
    handle.shutdown()
    report = erase_backups(directory, [Match("user.id", "u-9")], include_active=True)
    assert report.erased == 2 and read_records(active) == []


def test_archived_files_are_erased_too(backup: Path) -> None:
    archive = backup / "archive"
    archive.mkdir()
    oldest = sorted(backup.glob("*.jsonl.gz"))[0]
    moved = archive / oldest.name
    os.replace(oldest, moved)
    assert any(user_of(r) == "u-1" for r in read_records(moved))
    report = erase_backups(backup, [Match("user.id", "u-1")])
    assert moved in [f.path for f in report.files if f.rewritten]
    assert not [r for r in read_records(moved) if user_of(r) == "u-1"]


def test_dry_run_changes_nothing_and_sends_no_audit_event(
    backup: Path, audit_receiver: GrpcReceiver, capsys: pytest.CaptureFixture[str]
) -> None:
    before = snapshot(backup)
    code = main(
        ["erase", "--match", "user.id=u-1", "--backup-dir", str(backup), "--include-active", "--dry-run"]
    )
    assert code == 0
    out = capsys.readouterr().out
    assert snapshot(backup) == before
    assert "would erase 40 record(s)" in out
    assert out.count("would erase ") == len(before) + 1
    assert audit_receiver.store.snapshot() == []


def test_a_time_window_keeps_records_outside_it(backup: Path) -> None:
    before = snapshot(backup)
    past = Window(end=datetime(2000, 1, 1, tzinfo=UTC))
    report = erase_backups(backup, [Match("user.id", "u-1")], window=past, include_active=True)
    assert report.matched == 0 and snapshot(backup) == before
    code = main(
        [
            "erase",
            "--match",
            "user.id=u-1",
            "--backup-dir",
            str(backup),
            "--start",
            "2000-01-01T00:00:00Z",
            "--include-active",
            "--dry-run",
        ]
    )
    assert code == 0


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--match", "user.id"], "expected KEY=VALUE"),
        (["--match", "=u-1"], "expected KEY=VALUE"),
        (["--match", "user.id="], "the value is empty"),
        (["--match", "user.id=u-1", "--start", "yesterday"], "expected an RFC 3339 time"),
        (["--match", "user.id=u-1", "--end", "2026-01-01T00:00:00"], "give a UTC offset"),
        (["--match", "user.id=u-1", "--selector", '{service_name="x"}'], "need --loki"),
    ],
)
def test_bad_input_is_refused_before_anything_changes(
    backup: Path, argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    before = snapshot(backup)
    assert main(["erase", "--backup-dir", str(backup), "--include-active", *argv]) == 2
    assert message in capsys.readouterr().err
    assert snapshot(backup) == before


def test_a_missing_backup_directory_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["erase", "--match", "user.id=u-1", "--backup-dir", str(tmp_path / "nope")]) == 2
    assert "no such backup directory" in capsys.readouterr().err
    with pytest.raises(EraseError):
        erase_backups(tmp_path, [])


def test_unreadable_files_are_reported_and_lose_nothing(
    backup: Path, audit_receiver: GrpcReceiver, capsys: pytest.CaptureFixture[str]
) -> None:
    corrupt = backup / "error-20260101T000000000000.jsonl.gz"
    corrupt.write_bytes(gzip.compress(b'{"attributes":{"user.id":"u-1"}}\n')[:-12])  # truncated stream
    locked = sorted(backup.glob("info-*.jsonl.gz"))[0]
    locked_data = locked.read_bytes()
    root = os.geteuid() == 0
    if not root:
        locked.chmod(0)
    torn = backup / "warn.jsonl"
    torn_data = torn.read_bytes() + b'{"attributes":{"user.id":"u-1"'  # a torn last line
    torn.write_bytes(torn_data)
    try:
        code = main(["erase", "--match", "user.id=u-1", "--backup-dir", str(backup), "--include-active"])
        err_out = capsys.readouterr()
    finally:
        locked.chmod(0o644)
    assert code == 1
    assert f"error   {corrupt}: not a readable gzip file" in err_out.out
    assert corrupt.read_bytes()[:2] == b"\x1f\x8b"  # left as it was
    if not root:
        assert f"error   {locked}: Permission denied (file left unchanged)" in err_out.out
        assert locked.read_bytes() == locked_data
    assert "1 unreadable line(s) kept" in err_out.out
    assert torn.read_bytes().endswith(b'{"attributes":{"user.id":"u-1"')  # kept verbatim
    assert not [p for p in all_files(backup) if p.name.startswith(".")]  # no temporaries left
    others = [p for p in backup.glob("*.jsonl*") if p not in (corrupt, locked)]
    assert others and not [r for p in others for r in read_records(p, lenient=True) if user_of(r) == "u-1"]
    event = _audit_event(audit_receiver)
    assert event.attributes["audit.outcome"] == "partial"
    assert event.attributes["erase.files_failed"] == (1 if root else 2)


def test_dry_run_counts_only_what_a_run_would_erase(
    backup: Path, audit_receiver: GrpcReceiver, capsys: pytest.CaptureFixture[str]
) -> None:
    log_more(backup, "u-0")  # one match in each active file, which a run without --include-active skips
    assert main(["erase", "--match", "user.id=u-0", "--backup-dir", str(backup), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "would erase 40 record(s)" in out
    assert out.count("would skip ") == 2 and "would NOT be erased: active file" in out


def test_a_file_archived_while_the_erasure_runs_is_erased_where_it_went(backup: Path) -> None:
    # Retention archives the oldest rotated file while the erasure is reading it.
    from aibos_otel.lifecycle.erasure import Layout, erase_layout, sdk_layout
    from aibos_otel.lifecycle.rewrite import LineResult

    plain = sdk_layout(backup)
    oldest = sorted(backup.glob("*.jsonl.gz"))[0]  # the first file the erasure reads
    moved = backup / "archive" / oldest.name
    calls = 0

    def archive_then_read(line: bytes, matches: Sequence[Match], window: Window) -> LineResult | None:
        nonlocal calls
        calls += 1
        if calls == 1:
            moved.parent.mkdir()
            os.replace(oldest, moved)
        return plain.filter_line(line, matches, window)

    layout = Layout(backup, plain.wanted, plain.is_active, archive_then_read, plain.subdirs)
    report = erase_layout(layout, [Match("user.id", "u-1")])
    assert not oldest.exists() and moved.exists()
    assert moved in [f.path for f in report.files if f.rewritten]
    assert not [
        r
        for p in all_files(backup)
        if not p.name.endswith(".jsonl")
        for r in read_records(p)
        if user_of(r) == "u-1"
    ]
