"""Fuzzing the receivers (hypothesis): malformed, mutated, oversize and mislabelled payloads over
real sockets. Every answer is a proper status, and the server keeps serving good requests."""

from __future__ import annotations

import gzip
import json
import urllib.request
from typing import Any

import grpc
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aibos_otel.monitor.server import Monitor

from .otlp_builders import exception_attrs, logs_request, record
from .test_receiver import LOGS_METHOD, http_post

LIMIT = 256 * 1024
GOOD = logs_request(
    [
        record("hello", "info"),
        record("boom", "error", attributes=exception_attrs("E", "boom"), trace_id=b"\x01" * 16),
    ],
    extra_resource={"k8s.pod.name": "p-1"},
).SerializeToString()


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(GOOD)
    for _ in range(draw(st.integers(1, 8))):
        op = draw(st.sampled_from(["flip", "cut", "insert", "dup"]))
        i = draw(st.integers(0, max(len(data) - 1, 0)))
        if op == "flip" and data:
            data[i] ^= draw(st.integers(1, 255))
        elif op == "cut":
            del data[i : i + draw(st.integers(1, 40))]
        elif op == "insert":
            data[i:i] = draw(st.binary(min_size=1, max_size=20))
        else:
            data[i:i] = data[i : i + draw(st.integers(1, 60))]
    return bytes(data)


payloads = st.one_of(st.binary(max_size=2048), mutated(), st.just(b""), st.just(b"\x0a\xff\xff\xff\xff\x0f"))
json_payloads = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "resourceLogs",
                    "scopeLogs",
                    "logRecords",
                    "body",
                    "traceId",
                    "spanId",
                    "stringValue",
                    "attributes",
                    "key",
                    "value",
                    "severityNumber",
                    "timeUnixNano",
                    "kvlistValue",
                    "values",
                ]
            ),
            children,
            max_size=4,
        )
    ),
    max_leaves=30,
)


def _server_still_good(monitor: Monitor) -> None:
    assert monitor.grpc_port and monitor.http_port
    with grpc.insecure_channel(f"127.0.0.1:{monitor.grpc_port}") as channel:
        channel.unary_unary(LOGS_METHOD)(GOOD, timeout=10)
    assert (
        http_post(monitor.http_port, "/v1/logs", GOOD, {"Content-Type": "application/x-protobuf"})[0] == 200
    )
    with urllib.request.urlopen(f"http://127.0.0.1:{monitor.api_port}/healthz", timeout=5) as resp:
        assert resp.status == 200


def test_fuzz_grpc(monitor_factory: Any) -> None:
    monitor: Monitor = monitor_factory(max_message_bytes=LIMIT)
    channel = grpc.insecure_channel(f"127.0.0.1:{monitor.grpc_port}")
    export = channel.unary_unary(LOGS_METHOD)
    traces = channel.unary_unary("/opentelemetry.proto.collector.trace.v1.TraceService/Export")
    seen: set[grpc.StatusCode] = set()

    @settings(max_examples=250, deadline=None, suppress_health_check=list(HealthCheck))
    @given(payloads, st.booleans())
    def one(data: bytes, as_traces: bool) -> None:
        try:
            (traces if as_traces else export)(data, timeout=10)
            seen.add(grpc.StatusCode.OK)
        except grpc.RpcError as exc:
            assert exc.code() in (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.RESOURCE_EXHAUSTED), exc
            seen.add(exc.code())

    try:
        one()
        for size in (LIMIT + 1, 4 * LIMIT):  # oversize
            try:
                export(b"\x0a" + b"\x00" * size, timeout=10)
                raise AssertionError("oversize accepted")
            except grpc.RpcError as exc:
                assert exc.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert grpc.StatusCode.INVALID_ARGUMENT in seen
    finally:
        channel.close()
    _server_still_good(monitor)


def test_fuzz_http(monitor_factory: Any) -> None:
    monitor: Monitor = monitor_factory(max_message_bytes=LIMIT)
    assert monitor.http_port
    port = monitor.http_port

    @settings(max_examples=250, deadline=None, suppress_health_check=list(HealthCheck))
    @given(
        st.one_of(
            payloads,
            json_payloads.map(lambda v: json.dumps(v).encode()),
            # issue 11 finding 4: deep nesting and huge numbers are a 400, not a dropped connection
            st.builds(
                lambda depth, digits: (
                    b'{"resourceLogs": ' + b"[" * depth + b"7" * digits + b"]" * depth + b"}"
                ),
                st.integers(0, 100_000),
                st.integers(1, 6000),
            ),
        ),
        st.sampled_from(
            [
                "application/x-protobuf",
                "application/json",
                "text/plain",
                "",
                "application/json; charset=utf-8",
            ]
        ),
        st.sampled_from(["", "gzip", "deflate", "br"]),
        st.sampled_from(["/v1/logs", "/v1/traces", "/v1/metrics", "/v1/nope"]),
    )
    def one(data: bytes, ctype: str, encoding: str, path: str) -> None:
        body = gzip.compress(data) if encoding == "gzip" else data
        headers = {"Content-Type": ctype} if ctype else {}
        if encoding:
            headers["Content-Encoding"] = encoding
        status, reply, _ = http_post(port, path, body, headers)
        assert status in (200, 400, 404, 415), (status, reply[:200])
        if status in (200, 400) and ctype.startswith("application/json"):
            json.loads(reply)

    one()
    assert (
        http_post(port, "/v1/logs", b"\x00" * (LIMIT + 1), {"Content-Type": "application/x-protobuf"})[0]
        == 413
    )
    bomb = gzip.compress(b"\x00" * (LIMIT * 8))
    assert (
        http_post(
            port, "/v1/logs", bomb, {"Content-Type": "application/x-protobuf", "Content-Encoding": "gzip"}
        )[0]
        == 413  # too large once inflated, as docs/monitor.md says
    )
    _server_still_good(monitor)


# -- the API: silences and the other routes (issue 11) ------------------------------------------
_LABELS = st.sampled_from(["alertname", "service_name", "level", "", "a" * 300, "\x00", "é"])
_PATTERNS = st.one_of(
    st.sampled_from(["(a+)+", ".*", "(a)\\1", "(?=x)", "[", "a{1000}{1000}", "\\", "x" * 3000]),
    st.text(max_size=30),
)
_matcher = st.fixed_dictionaries(
    {"name": _LABELS, "value": _PATTERNS},
    optional={"isRegex": st.one_of(st.booleans(), st.none(), st.integers(), st.text(max_size=3))},
)
_silence = st.fixed_dictionaries(
    {},
    optional={
        "matchers": st.one_of(
            st.lists(_matcher, max_size=40), st.dictionaries(_LABELS, st.text(max_size=5)), json_payloads
        ),
        "starts_at_ns": st.one_of(st.integers(-(2**70), 2**70), st.text(max_size=25), st.floats(), st.none()),
        "ends_at_ns": st.one_of(
            st.integers(-(2**70), 2**70), st.just(10**30), st.text(max_size=25), st.none()
        ),
        "duration": st.one_of(st.sampled_from(["1h", "0s", "99999999999y", "", "5", "1h30m"]), st.integers()),
        "comment": st.one_of(st.text(max_size=20), st.just("c" * 5000), st.integers()),
        "createdBy": st.one_of(st.text(max_size=20), st.lists(st.integers(), max_size=2)),
    },
)


def _hostile_json(draw_depth: int, digits: int) -> bytes:
    return b'{"matchers": ' + b"[" * draw_depth + b"]" * draw_depth + b', "n": ' + b"7" * digits + b"}"


api_bodies = st.one_of(
    _silence.map(lambda v: json.dumps(v).encode()),
    json_payloads.map(lambda v: json.dumps(v).encode()),
    st.binary(max_size=300),
    st.builds(_hostile_json, st.integers(0, 200_000), st.integers(1, 10_000)),
)


def test_fuzz_api(monitor_factory: Any) -> None:
    from .test_api_access import raw

    monitor: Monitor = monitor_factory()
    assert monitor.api_port
    port = monitor.api_port
    statuses: set[int] = set()
    calls: list[int] = []

    @settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
    @given(
        api_bodies,
        st.sampled_from(["POST", "POST", "POST", "GET", "DELETE", "PUT", "OPTIONS", "PATCH"]),
        st.sampled_from(
            [
                "/api/silences",
                "/api/silences/x",
                "/api/errors/x/resolve",
                "/api/errors?limit=abc",
                "/api/nope",
                "/api/alerts?state=all&x=%ff",
            ]
        ),
        st.sampled_from(["application/json", "application/json; charset=utf-8", "text/plain", ""]),
        st.sampled_from([None, "http://evil.example", f"http://127.0.0.1:{port}", "null"]),
    )
    def one(body: bytes, method: str, path: str, ctype: str, origin: str | None) -> None:
        headers = {"Content-Type": ctype} if ctype else {}
        if origin:
            headers["Origin"] = origin
        status, _, reply = raw(
            port, method, path, body if method in ("POST", "PUT", "PATCH") else None, headers
        )
        assert status < 500, (status, method, path, body[:200], reply[:300])
        if status >= 400:
            assert "error" in json.loads(reply), reply[:200]
        statuses.add(status)
        calls.append(status)

    one()
    print(f"api fuzz: {len(calls)} requests, statuses {sorted(statuses)}")
    assert {200, 400} <= statuses, statuses  # the fuzzer reached both good and refused bodies
    _server_still_good(monitor)
