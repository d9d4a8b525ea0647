"""Issue 11, findings 8 and 9: `aibos-otel retention enforce` and `aibos-otel erase` act only on
regular files directly inside a marked backup directory and its real archive/, never through a
symbolic link, never overwrite, report a bad entry and go on, and print names escaped."""

from __future__ import annotations

import gzip
import json
import os
import time
from pathlib import Path

import pytest

from aibos_otel.cli import main
from aibos_otel.lifecycle.collector_backup import erase_collector_backup
from aibos_otel.lifecycle.erasure import Match
from aibos_otel.lifecycle.retention import DAY
from aibos_otel.sdk.file_backup import MARKER_NAME
from tests.lifecycle_erasure.support import read_records, snapshot, user_of, write_backup
from tests.support.otlp_receiver import GrpcReceiver

FORGED = "erased  999 of 999 record(s) in shadow.jsonl.gz"  # a line a name must not forge


def _old(path: Path, days: float) -> Path:
    moment = time.time() - days * DAY
    os.utime(path, (moment, moment), follow_symlinks=False)
    return path


def _rotated(directory: Path, level: str, n: int, *, days: float = 400, data: bytes = b'{"m":1}\n') -> Path:
    """A rotated file named as the writer names it, ``days`` old."""
    path = directory / f"{level}-20260101T0000000000{n:02d}.jsonl.gz"
    path.write_bytes(gzip.compress(data))
    return _old(path, days)


def _marked(directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / MARKER_NAME).write_text("marker\n")
    return directory


def _enforce(directory: Path, *extra: str) -> int:
    return main(["retention", "enforce", "--dir", str(directory), *extra])


# --- retention ----------------------------------------------------------------------------------


def test_retention_never_moves_into_a_symlinked_archive(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    backup, outside = _marked(tmp_path / "backup"), tmp_path / "outside"
    outside.mkdir()
    (backup / "archive").symlink_to(outside)
    due = _rotated(backup, "info", 1)
    victim = outside / due.name
    victim.write_bytes(b"someone else's file")

    code = _enforce(backup)
    out = capsys.readouterr().out
    assert victim.read_bytes() == b"someone else's file"  # not overwritten through the link
    assert due.exists()  # left where it was
    assert f"skipped {backup / 'archive'}: a symbolic link, not followed" in out
    assert "0 file(s) processed" in out
    assert code == 1


def test_retention_never_deletes_through_a_symlinked_archive(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    backup, outside = _marked(tmp_path / "backup"), tmp_path / "outside"
    outside.mkdir()
    (backup / "archive").symlink_to(outside)
    victim = _rotated(outside, "info", 1)

    code = _enforce(backup, "--archive-days", "30")
    assert victim.exists()
    assert "a symbolic link, not followed" in capsys.readouterr().out
    assert code == 1


def test_retention_never_overwrites_a_file_in_the_archive(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    backup = _marked(tmp_path / "backup")
    (backup / "archive").mkdir()
    due = _rotated(backup, "warn", 1, data=b'{"new":1}\n')
    existing = backup / "archive" / due.name
    existing.write_bytes(b"archived earlier")
    other = _rotated(backup, "warn", 2)

    code = _enforce(backup)
    out = capsys.readouterr().out
    assert existing.read_bytes() == b"archived earlier"
    assert due.exists() and gzip.decompress(due.read_bytes()) == b'{"new":1}\n'
    assert f"skipped {due}: {existing} exists already; not overwritten" in out
    assert not other.exists() and (backup / "archive" / other.name).exists()  # the run went on
    assert "1 file(s) processed" in out and "1 skipped" in out
    assert code == 1


def test_a_directory_named_like_a_rotated_file_is_reported_and_the_run_goes_on(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    backup = _marked(tmp_path / "backup")
    odd = backup / "debug-20260101T000000000001.jsonl.gz"
    odd.mkdir()
    _old(odd, 400)
    link = backup / "debug-20260101T000000000002.jsonl.gz"
    link.symlink_to(tmp_path / "elsewhere.gz")
    after = [_rotated(backup, "debug", 3), _rotated(backup, "trace", 4)]

    code = _enforce(backup)
    out = capsys.readouterr().out
    assert odd.is_dir() and link.is_symlink()
    assert not any(p.exists() for p in after)  # the files after the bad entries were handled
    assert f"skipped {odd}: a directory, not a backup file" in out
    assert f"skipped {link}: a symbolic link, not followed" in out
    assert code == 1  # some entries were skipped: not a clean run
    assert all(f"deleted {p}" in out for p in after)
    assert out.splitlines()[-1] == f"2 file(s) processed in {backup}; 2 skipped (see above)"


def test_retention_refuses_a_directory_the_backup_did_not_mark(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stranger = tmp_path / "reports"
    stranger.mkdir()
    old = _rotated(stranger, "debug", 1)
    report = stranger / "debug-quarterly-report.jsonl.gz"
    report.write_bytes(b"q3")
    _old(report, 400)

    code = _enforce(stranger)
    err = capsys.readouterr().err
    assert "not marked as an aibos-otel file backup" in err and "--force" in err
    assert old.exists() and report.exists()
    assert code == 2

    code = _enforce(stranger, "--force")
    assert not old.exists()
    assert report.exists()  # not a name the writer gives: never the backup's to delete
    assert code == 0


def test_retention_prints_names_escaped(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    backup = _marked(tmp_path / f"bk\x1b[2J\n{FORGED}")
    _rotated(backup, "debug", 1)
    code = _enforce(backup)
    out = capsys.readouterr().out
    assert "\x1b" not in out
    assert not [line for line in out.splitlines() if line.startswith(FORGED)]
    assert f"bk\\x1b[2J\\n{FORGED}" in out
    assert code == 0
    assert len(out.splitlines()) == 2  # one deletion, one summary


# --- erase --------------------------------------------------------------------------------------


@pytest.fixture
def backup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "backup"
    write_backup(directory, monkeypatch)
    return directory


def _erase(directory: Path, *extra: str) -> int:
    return main(["erase", "--match", "user.id=u-1", "--backup-dir", str(directory), *extra])


def _u1(path: Path) -> int:
    return sum(1 for r in read_records(path) if user_of(r) == "u-1")


def test_erase_does_not_rewrite_a_symlinked_rotated_file(
    backup: Path, tmp_path: Path, audit_receiver: GrpcReceiver, capsys: pytest.CaptureFixture[str]
) -> None:
    rotated = sorted(backup.glob("*.jsonl.gz"))
    real = tmp_path / "real.jsonl.gz"
    os.replace(rotated[0], real)
    rotated[0].symlink_to(real)
    data, held = real.read_bytes(), _u1(real)
    assert held

    code = _erase(backup, "--include-active")
    out = capsys.readouterr().out
    assert rotated[0].is_symlink() and os.readlink(rotated[0]) == str(real)
    assert real.read_bytes() == data
    assert f"error   {rotated[0]}: a symbolic link, not followed (file left unchanged)" in out
    assert f" in {rotated[0]}\n" not in out  # never reported as erased
    assert f"erased {40 - held} record(s)" in out and "1 file(s) failed" in out
    assert not [p for p in rotated[1:] if _u1(p)]  # the real files were erased
    assert code == 1  # incomplete: the linked file still holds records


def test_erase_does_not_follow_a_symlinked_archive(
    backup: Path, tmp_path: Path, audit_receiver: GrpcReceiver, capsys: pytest.CaptureFixture[str]
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    victim = outside / "info-20250101T000000000000.jsonl.gz"
    os.replace(sorted(backup.glob("info-*.jsonl.gz"))[0], victim)
    data = victim.read_bytes()
    assert _u1(victim)
    (backup / "archive").symlink_to(outside)

    code = _erase(backup, "--include-active")
    out = capsys.readouterr().out
    assert victim.read_bytes() == data
    assert f"error   {backup / 'archive'}: a symbolic link, not followed" in out
    assert code == 1


def test_erase_skips_a_file_with_another_hard_link(
    backup: Path, tmp_path: Path, audit_receiver: GrpcReceiver, capsys: pytest.CaptureFixture[str]
) -> None:
    inside = sorted(backup.glob("*.jsonl.gz"))[0]
    other = tmp_path / "other-name.gz"
    os.link(inside, other)
    data = other.read_bytes()

    code = _erase(backup, "--include-active")
    out = capsys.readouterr().out
    assert other.read_bytes() == data and inside.read_bytes() == data
    assert f"skipped {inside}: " in out and "2 hard links" in out
    assert code == 1


def test_erase_refuses_a_directory_the_backup_did_not_mark(
    backup: Path, audit_receiver: GrpcReceiver, capsys: pytest.CaptureFixture[str]
) -> None:
    (backup / MARKER_NAME).unlink(missing_ok=True)  # as a backup older than the marker
    before = snapshot(backup)
    code = _erase(backup, "--include-active")
    err = capsys.readouterr().err
    assert "not marked as an aibos-otel file backup" in err and "--force" in err
    assert code == 2
    assert snapshot(backup) == before

    code = _erase(backup, "--include-active", "--force")
    assert "erased 40 record(s)" in capsys.readouterr().out
    assert code == 0


def test_erase_prints_names_escaped(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    audit_receiver: GrpcReceiver,
    capsys: pytest.CaptureFixture[str],
) -> None:
    directory = tmp_path / f"bk\x1b]0;owned\x07\n{FORGED}"
    write_backup(directory, monkeypatch)
    stray = directory / f"info-x\n{FORGED}.jsonl.gz"  # not a name the writer gives
    stray.write_bytes(gzip.compress(b'{"attributes":{"user.id":"u-1"}}\n'))

    code = _erase(directory, "--include-active")
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\x07" not in out
    assert not [line for line in out.splitlines() if line.startswith(FORGED)]
    assert "bk\\x1b]0;owned\\x07\\n" in out
    assert code == 0
    assert _u1(stray) == 1  # never listed, so never rewritten


def test_collector_backup_erasure_touches_only_its_own_regular_files(tmp_path: Path) -> None:
    def line(user: str) -> bytes:
        record = {"timeUnixNano": "1", "attributes": [{"key": "user.id", "value": {"stringValue": user}}]}
        return json.dumps({"resourceLogs": [{"scopeLogs": [{"logRecords": [record]}]}]}).encode() + b"\n"

    directory, outside = tmp_path / "collector", tmp_path / "outside"
    directory.mkdir()
    outside.mkdir()
    active = directory / "logs.jsonl"
    active.write_bytes(line("u-1") + line("u-2"))
    rotated = directory / "logs-2026-01-01T00-00-00.000.jsonl"
    rotated.write_bytes(line("u-1"))
    real = outside / "target.jsonl"
    real.write_bytes(line("u-1"))
    linked = directory / "logs-2026-01-02T00-00-00.000.jsonl"
    linked.symlink_to(real)
    notes = directory / "logs-notes.jsonl"  # not a name the exporter's rotation gives
    notes.write_bytes(line("u-1"))

    report = erase_collector_backup(active, [Match("user.id", "u-1")], include_active=True, held_open=set)
    assert {f.path for f in report.files if f.rewritten} == {active, rotated}
    assert [(f.path, f.error) for f in report.errors] == [(linked, "a symbolic link, not followed")]
    assert linked.is_symlink() and real.read_bytes() == line("u-1")
    assert notes.read_bytes() == line("u-1")
    assert active.read_bytes() == line("u-2") and rotated.read_bytes() == b""
