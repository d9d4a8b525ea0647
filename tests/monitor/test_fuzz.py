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
        st.one_of(payloads, json_payloads.map(lambda v: json.dumps(v).encode())),
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
        == 400
    )
    _server_still_good(monitor)
