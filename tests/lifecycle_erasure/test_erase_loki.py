"""aibos-otel erase --loki against a local server that answers and records Loki's delete API.

Loki is AGPL-licensed and is never run here; the facts the stand-in follows (204 on POST, the
list on GET, X-Scope-OrgID, RFC 3339 times, no deletes in the future) are in
/work/shared/reference/loki-prometheus-alertmanager.md section 4.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from aibos_otel.cli import main
from aibos_otel.lifecycle.erasure import EraseError, Match
from aibos_otel.lifecycle.loki_delete import delete_query, metadata_name
from tests.lifecycle_erasure.support import (
    RecordingLoki,
    all_files,
    read_records,
    snapshot,
    user_of,
    write_backup,
)
from tests.support.helpers import wait_for
from tests.support.otlp_receiver import GrpcReceiver

SELECTOR = '{service_name="checkout"}'


def _audit_attributes(receiver: GrpcReceiver) -> dict[str, object]:
    assert wait_for(lambda: any(r.scope == "aibos.audit" for r in receiver.store.snapshot()))
    (event,) = [r for r in receiver.store.snapshot() if r.scope == "aibos.audit"]
    return event.attributes


def test_delete_request_has_the_documented_method_path_parameters_and_tenant(
    loki: tuple[str, RecordingLoki], audit_receiver: GrpcReceiver, capsys: pytest.CaptureFixture[str]
) -> None:
    url, recorder = loki
    end = (datetime.now(UTC) - timedelta(hours=1)).replace(microsecond=0)
    code = main(
        [
            "erase",
            "--no-backup",
            "--match",
            "user.id=u-7",
            "--loki",
            url,
            "--selector",
            SELECTOR,
            "--tenant",
            "acme",
            "--start",
            "2026-01-01T00:00:00+01:00",
            "--end",
            end.isoformat(),
        ]
    )
    assert code == 0
    post, listing = recorder.calls
    assert post.method == "POST" and post.path == "/loki/api/v1/delete"
    assert post.params == {
        "query": ['{service_name="checkout"} | user_id="u-7"'],
        "start": ["2025-12-31T23:00:00.000Z"],
        "end": [end.strftime("%Y-%m-%dT%H:%M:%S.000Z")],
    }
    assert post.headers["x-scope-orgid"] == "acme"
    assert listing.method == "GET" and listing.path == "/loki/api/v1/delete"
    assert listing.headers["x-scope-orgid"] == "acme"
    out = capsys.readouterr().out
    assert "Loki delete request req1: received (HTTP 204)" in out
    attributes = _audit_attributes(audit_receiver)
    assert attributes["audit.outcome"] == "success"
    assert attributes["audit.target"] == f"loki:{SELECTOR}"
    assert attributes["loki.request_ids"] == ["req1"]
    assert attributes["loki.requests_sent"] == 1
    assert "u-7" not in repr(attributes)


def test_without_start_the_window_opens_at_the_epoch_and_end_is_left_to_loki(
    loki: tuple[str, RecordingLoki], audit_receiver: GrpcReceiver
) -> None:
    url, recorder = loki
    assert (
        main(["erase", "--no-backup", "--match", "user.id=u-7", "--loki", url, "--selector", SELECTOR]) == 0
    )
    post = recorder.calls[0]
    assert post.params["start"] == ["1970-01-01T00:00:00.000Z"]
    assert "end" not in post.params  # Loki's default: now
    assert "x-scope-orgid" not in post.headers


def test_both_filter_forms_send_two_requests(
    loki: tuple[str, RecordingLoki], audit_receiver: GrpcReceiver
) -> None:
    url, recorder = loki
    argv = ["erase", "--no-backup", "--match", "user.id=u-7", "--match", 'email=a"b@x.io', "--loki", url]
    assert main([*argv, "--selector", SELECTOR, "--loki-filter", "both"]) == 0
    queries = [c.params["query"][0] for c in recorder.calls if c.method == "POST"]
    assert queries == [
        '{service_name="checkout"} | user_id="u-7" | email="a\\"b@x.io"',
        '{service_name="checkout"} |= "u-7" |= "a\\"b@x.io"',
    ]
    assert _audit_attributes(audit_receiver)["loki.request_ids"] == ["req1", "req2"]


def test_a_refusal_from_loki_is_reported_and_the_local_erasure_still_happens(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    loki: tuple[str, RecordingLoki],
    audit_receiver: GrpcReceiver,
    capsys: pytest.CaptureFixture[str],
) -> None:
    backup = tmp_path / "backup"
    write_backup(backup, monkeypatch)
    url, recorder = loki
    recorder.refuse = (400, "deletes in the future are not allowed")
    argv = ["erase", "--match", "user.id=u-1", "--backup-dir", str(backup), "--include-active"]
    assert main([*argv, "--loki", url, "--selector", SELECTOR]) == 1
    err = capsys.readouterr().err
    assert "HTTP 400: deletes in the future are not allowed" in err
    assert not [r for p in all_files(backup) for r in read_records(p) if user_of(r) == "u-1"]
    attributes = _audit_attributes(audit_receiver)
    assert attributes["audit.outcome"] == "partial"
    assert attributes["loki.requests_failed"] == 1


def test_an_unreachable_loki_is_a_clear_error(
    audit_receiver: GrpcReceiver, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.support.helpers import free_port

    url = f"http://127.0.0.1:{free_port()}"
    assert (
        main(["erase", "--no-backup", "--match", "user.id=u-7", "--loki", url, "--selector", SELECTOR]) == 1
    )
    assert "Connection refused" in capsys.readouterr().err
    assert _audit_attributes(audit_receiver)["audit.outcome"] == "failure"


def test_dry_run_sends_nothing(
    loki: tuple[str, RecordingLoki], audit_receiver: GrpcReceiver, capsys: pytest.CaptureFixture[str]
) -> None:
    url, recorder = loki
    argv = ["erase", "--no-backup", "--match", "user.id=u-7", "--loki", url, "--selector", SELECTOR]
    assert main([*argv, "--tenant", "acme", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert f"would send: POST {url}/loki/api/v1/delete?query=" in out and "(X-Scope-OrgID: acme)" in out
    assert recorder.calls == []
    assert audit_receiver.store.snapshot() == []


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--loki", "URL"], "--loki needs --selector"),
        (["--loki", "URL", "--selector", "service_name=checkout"], "expected a stream selector"),
        (["--loki", "URL", "--selector", '{service_name=~".*"}'], "at least one matcher"),
        (["--loki", "loki:3100", "--selector", SELECTOR], "expected an http:// or https:// URL"),
        (["--loki", "URL", "--selector", SELECTOR, "--end", "2999-01-01T00:00:00Z"], "in the future"),
        (
            [
                "--loki",
                "URL",
                "--selector",
                SELECTOR,
                "--start",
                "2026-02-01T00:00:00Z",
                "--end",
                "2026-01-01T00:00:00Z",
            ],
            "--start must be before --end",
        ),
    ],
)
def test_bad_loki_input_changes_nothing_anywhere(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    loki: tuple[str, RecordingLoki],
    extra: list[str],
    message: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    backup = tmp_path / "backup"
    write_backup(backup, monkeypatch, per_user=5)
    before = snapshot(backup)
    url, recorder = loki
    argv = ["erase", "--match", "user.id=u-1", "--backup-dir", str(backup), "--include-active"]
    assert main([*argv, *[url if a == "URL" else a for a in extra]]) == 2
    assert message in capsys.readouterr().err
    assert snapshot(backup) == before
    assert recorder.calls == []


def test_metadata_names_follow_loki_normalisation() -> None:
    assert metadata_name("user.id") == "user_id"
    assert metadata_name("http.request.header.x-user") == "http_request_header_x_user"
    assert metadata_name("1st.key") == "key_1st_key"
    assert metadata_name("_private") == "key_private"
    with pytest.raises(EraseError):
        delete_query(SELECTOR, [])
    assert delete_query(SELECTOR, [Match("a.b", "x\\y\n")]) == '{service_name="checkout"} | a_b="x\\\\y\\n"'


def test_credentials_and_tenant_come_from_the_environment_and_are_never_printed(
    loki: tuple[str, RecordingLoki],
    audit_receiver: GrpcReceiver,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    url, recorder = loki
    monkeypatch.setenv("AIBOS_LOKI_BASIC_AUTH", "12345:glc_s3cret")
    monkeypatch.setenv("LOKI_TENANT", "12345")  # the gateway's variable for the same header
    argv = ["erase", "--no-backup", "--match", "user.id=u-7", "--loki", url, "--selector", SELECTOR]
    assert main([*argv, "--dry-run"]) == 0
    dry = capsys.readouterr().out
    assert "(X-Scope-OrgID: 12345, Authorization: Basic ...)" in dry and "s3cret" not in dry
    assert main(argv) == 0
    out = capsys.readouterr()
    assert "s3cret" not in out.out + out.err
    for call in recorder.calls:
        assert call.headers["authorization"] == "Basic " + base64.b64encode(b"12345:glc_s3cret").decode()
        assert call.headers["x-scope-orgid"] == "12345"
    assert "s3cret" not in repr(_audit_attributes(audit_receiver))

    monkeypatch.setenv("AIBOS_LOKI_BEARER_TOKEN", "t0ken")
    assert main(argv) == 2  # both kinds set: refused before anything is sent
    assert "not both" in capsys.readouterr().err
    monkeypatch.delenv("AIBOS_LOKI_BASIC_AUTH")
    recorder.calls.clear()
    assert main(argv) == 0
    assert {c.headers["authorization"] for c in recorder.calls} == {"Bearer t0ken"}
