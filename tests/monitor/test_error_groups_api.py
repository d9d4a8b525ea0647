"""The error-group API and CLI: filters, sort, pagination, state actions (token-protected), bulk,
merge/unmerge, and hostile input bounded."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import pytest

from aibos_otel.cli import main
from aibos_otel.monitor.server import Monitor
from aibos_otel.policy.model import PolicyError, parse_policy

from .otlp_builders import exception_attrs, logs_request, record
from .test_receiver import grpc_export

TOKEN = "s3cret"


def call(
    monitor: Monitor, method: str, path: str, body: Any = None, token: str | None = TOKEN
) -> tuple[int, Any]:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(
        f"http://127.0.0.1:{monitor.api_port}{path}", data=data, method=method, headers=headers
    )
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


def send(
    monitor: Monitor,
    exc_type: str,
    message: str,
    *,
    service: str = "shop",
    release: str = "1.0",
    n: int = 1,
    env: str = "prod",
    attrs: dict[str, object] | None = None,
) -> None:
    assert monitor.grpc_port
    records = [
        record("failed", "error", attributes={**exception_attrs(exc_type, message), **(attrs or {})})
        for _ in range(n)
    ]
    req = logs_request(records, service=service, environment=env, extra_resource={"service.version": release})
    grpc_export(monitor.grpc_port, req.SerializeToString(), (("authorization", f"Bearer {TOKEN}"),))


def groups(monitor: Monitor, query: str = "") -> list[dict[str, Any]]:
    status, body = call(monitor, "GET", f"/api/errors?{query}")
    assert status == 200, body
    return list(body["errors"])


@pytest.fixture
def mon(monitor_factory: Any) -> Monitor:
    m: Monitor = monitor_factory(bearer_token=TOKEN)
    send(m, "KeyError", "missing sku", release="1.1", n=3)
    send(m, "TimeoutError", "db timeout", service="billing", release="2.0", env="staging")
    send(m, "ValueError", "bad 100% input_x", n=2)
    return m


def test_filters_sort_and_pagination(mon: Monitor) -> None:
    assert {g["type"] for g in groups(mon, "service=billing")} == {"TimeoutError"}
    assert {g["type"] for g in groups(mon, "environment=staging")} == {"TimeoutError"}
    assert {g["type"] for g in groups(mon, "release=1.1")} == {"KeyError"}
    assert {g["type"] for g in groups(mon, "q=timeout")} == {"TimeoutError"}
    assert {g["type"] for g in groups(mon, "q=100%25")} == {"ValueError"}  # % is a character, not a wildcard
    assert groups(mon, "q=_x%25z") == []
    assert [g["count"] for g in groups(mon, "sort=count")] == [3, 2, 1]
    status, first = call(mon, "GET", "/api/errors?sort=count&limit=2")
    assert status == 200 and len(first["errors"]) == 2 and first["next_cursor"]
    status, rest = call(mon, "GET", f"/api/errors?sort=count&limit=2&cursor={first['next_cursor']}")
    assert [g["count"] for g in rest["errors"]] == [1] and rest["next_cursor"] is None
    # a cursor of one order is refused by another
    assert call(mon, "GET", f"/api/errors?limit=2&cursor={first['next_cursor']}")[0] == 400
    assert {g["state"] for g in groups(mon, "state=new")} == {"new"} and len(groups(mon, "state=new")) == 3


def test_actions_need_the_token_and_are_recorded(mon: Monitor) -> None:
    [key] = [g["fingerprint"] for g in groups(mon, "q=sku")]
    assert call(mon, "POST", f"/api/errors/{key}/resolve", {"release": "1.2"}, token=None)[0] == 401
    status, group = call(mon, "POST", f"/api/errors/{key}/resolve", {"release": "1.2", "actor": "ana"})
    assert status == 200 and group["state"] == "resolved-in-release"
    assert group["state_detail"] == {"mode": "release", "release": "1.2"}
    send(mon, "KeyError", "missing sku", release="1.1")
    assert groups(mon, "q=sku")[0]["state"] == "resolved-in-release"
    send(mon, "KeyError", "missing sku", release="1.3")
    assert groups(mon, "q=sku")[0]["state"] == "regressed"
    status, detail = call(mon, "GET", f"/api/errors/{key}")
    assert [t["actor"] for t in detail["transitions"]] == ["system", "ana"]
    assert detail["releases"] == {"1.1": 4, "1.3": 1} and sum(h["count"] for h in detail["histogram"]) == 5
    status, group = call(mon, "POST", f"/api/errors/{key}/ignore", {"count": 2})
    assert group["state"] == "ignored" and group["state_detail"]["until_count"] == 7
    assert call(mon, "POST", f"/api/errors/{key}/reopen", {})[1]["state"] == "ongoing"


def test_bulk_changes_and_bounds(mon: Monitor) -> None:
    keys = [g["fingerprint"] for g in groups(mon)]
    status, body = call(
        mon, "POST", "/api/errors/bulk", {"ids": [*keys, "nope"], "action": "ignore", "for": "1h"}
    )
    assert status == 200 and sorted(body["changed"]) == sorted(keys) and body["unknown"] == ["nope"]
    assert {g["state"] for g in groups(mon)} == {"ignored"}
    assert call(mon, "POST", "/api/errors/bulk", {"ids": ["x"] * 101, "action": "reopen"})[0] == 400
    assert call(mon, "POST", "/api/errors/bulk", {"ids": keys, "action": "delete"})[0] == 400
    assert call(mon, "POST", "/api/errors/bulk", {"ids": [1, 2], "action": "reopen"})[0] == 400
    assert call(mon, "POST", f"/api/errors/{keys[0]}/ignore", {"for": "9999d"})[0] == 400
    assert call(mon, "POST", f"/api/errors/{keys[0]}/ignore", {"count": 5, "for": "1h"})[0] == 400
    assert call(mon, "POST", f"/api/errors/{keys[0]}/resolve", {"actor": "x\x1b[2J"})[0] == 400
    assert call(mon, "GET", "/api/errors?q=" + "a" * 201)[0] == 400
    assert call(mon, "GET", "/api/errors?state=bogus")[0] == 400
    assert call(mon, "GET", "/api/errors?sort=fingerprint;drop")[0] == 400


def test_merge_and_unmerge_through_the_api(mon: Monitor) -> None:
    by_type = {g["type"]: g["fingerprint"] for g in groups(mon)}
    target, source = by_type["KeyError"], by_type["ValueError"]
    assert call(mon, "POST", f"/api/errors/{target}/merge", {"ids": [source]}, token=None)[0] == 401
    status, body = call(mon, "POST", f"/api/errors/{target}/merge", {"ids": [source]})
    assert status == 200 and body["merged"] == [source] and body["group"]["count"] == 5
    send(mon, "ValueError", "bad 100% input_x")  # counts into the target (and is its newest sample)
    assert {g["fingerprint"]: g["count"] for g in groups(mon)} == {target: 6, by_type["TimeoutError"]: 1}
    assert call(mon, "GET", f"/api/errors/{target}")[1]["merged"] == [source]
    status, body = call(mon, "POST", f"/api/errors/{source}/unmerge", {})
    assert status == 200 and body["from"] == target
    counts = {g["fingerprint"]: g["count"] for g in groups(mon)}
    assert counts == {target: 4, by_type["TimeoutError"]: 1, source: 2}


def test_grouping_rule_merges_two_exceptions_and_counts_users(monitor_factory: Any) -> None:
    policy = parse_policy(
        """
version: 1
errors:
  grouping:
    - name: db-timeouts
      match: {type: "^(TimeoutError|OperationalError)$", message: "timeout"}
      fingerprint: ["db-timeout"]
    - name: by-tenant
      match: {attributes: {tenant: "^acme$"}}
      fingerprint: ["acme", "{{ default }}"]
"""
    )
    m: Monitor = monitor_factory(policy, bearer_token=TOKEN)
    send(m, "TimeoutError", "db timeout", attrs={"enduser.id": "u1"})
    send(m, "OperationalError", "read timeout", attrs={"user.id": "u2"})
    send(m, "OperationalError", "read timeout", attrs={"user.id": "u2"})
    send(m, "KeyError", "a", attrs={"tenant": "acme"})
    send(m, "ValueError", "b", attrs={"tenant": "acme"})
    found = sorted((g["count"], g["user_count"]) for g in groups(m))
    assert found == [(1, 0), (1, 0), (3, 2)]  # {{ default }} keeps the acme ones apart


def test_grouping_rule_validation_names_line_and_field() -> None:
    with pytest.raises(PolicyError) as err:
        parse_policy(
            """
version: 1
errors:
  grouping:
    - name: bad
      match: {message: "(a+)+\\\\1"}
      fingerprint: ["{{ type }}"]
    - name: empty
      match: {}
      fingerprint: x
  escalation: {factor: 0.5, window: 10s}
"""
        )
    text = str(err.value)
    assert "line 6: errors.grouping[0].match.message: invalid regular expression" in text
    assert "errors.grouping[0].fingerprint[0]" in text and "errors.grouping[1].match" in text
    assert "errors.escalation.factor" in text and "line 11: errors.escalation.window" in text


def test_cli_filters_and_actions(mon: Monitor, tmp_path: Any, capsys: pytest.CaptureFixture[str]) -> None:
    data = str(mon.settings.data_dir)
    assert main(["errors", "--data-dir", data, "--service", "billing"]) == 0
    out = capsys.readouterr().out
    assert "TimeoutError" in out and "KeyError" not in out and "STATE" in out
    [key] = [g["fingerprint"] for g in groups(mon, "service=billing")]
    api = f"http://127.0.0.1:{mon.api_port}"
    assert main(["errors", "ignore", key, "--count", "100", "--api", api]) == 1  # no token
    capsys.readouterr()
    assert main(["errors", "ignore", key, "--count", "100", "--api", api, "--token", TOKEN]) == 0
    assert "ignored" in capsys.readouterr().out
    assert main(["errors", "--data-dir", data, "--state", "ignored"]) == 0
    assert "TimeoutError" in capsys.readouterr().out
    assert main(["errors", "resolve", key, "--next-release", "--api", api, "--token", TOKEN]) == 0
    assert main(["errors", "reopen", key, "--api", api, "--token", TOKEN]) == 0
    [group] = groups(mon, "service=billing")
    assert group["state"] == "ongoing"
    actors = {t["actor"] for t in call(mon, "GET", f"/api/errors/{key}")[1]["transitions"]}
    assert len(actors) == 1 and next(iter(actors)).startswith("cli:")
    assert main(["errors", "--data-dir", data, "--state", "nope"]) == 2
