"""Parsing OTLP requests (protobuf and OTLP/JSON, optionally gzip) into protobuf messages.

OTLP/JSON differs from protobuf's canonical JSON in one way that matters here: trace and span
ids are hex strings, not base64. They are rewritten before ``json_format`` parses the rest.
"""

from __future__ import annotations

import base64
import json
import zlib
from typing import Any, Literal, TypeVar

from google.protobuf import json_format
from google.protobuf.message import DecodeError, Message
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue

from aibos_otel.monitor.jsonlimits import OTLP_MAX_DEPTH, JsonLimitError, loads_bounded

Signal = Literal["logs", "traces", "metrics"]
REQUEST_TYPES: dict[Signal, type[Message]] = {
    "logs": ExportLogsServiceRequest,
    "traces": ExportTraceServiceRequest,
    "metrics": ExportMetricsServiceRequest,
}
M = TypeVar("M", bound=Message)

_HEX_ID_KEYS = frozenset({"traceId", "spanId", "parentSpanId", "trace_id", "span_id", "parent_span_id"})


class OtlpDecodeError(ValueError):
    """The payload cannot be decoded (malformed, wrong encoding, too large once inflated)."""


class OtlpTooLargeError(OtlpDecodeError):
    """The payload inflates past the size cap (a gzip bomb or just too big): HTTP 413."""


def decompress(body: bytes, encoding: str, limit: int) -> bytes:
    """Undo ``Content-Encoding`` (gzip, deflate or identity), refusing to inflate past ``limit``."""
    encoding = encoding.strip().lower()
    if encoding in ("", "identity"):
        return body
    if encoding not in ("gzip", "deflate"):
        raise OtlpDecodeError(f"unsupported Content-Encoding {encoding!r}")
    wbits = 16 + zlib.MAX_WBITS if encoding == "gzip" else zlib.MAX_WBITS
    inflater = zlib.decompressobj(wbits)
    try:
        out = inflater.decompress(body, limit + 1)
    except zlib.error as exc:
        raise OtlpDecodeError(f"invalid {encoding} data: {exc}") from None
    if len(out) > limit:
        raise OtlpTooLargeError(f"decompressed body exceeds {limit} bytes")
    if not inflater.eof:
        raise OtlpDecodeError(f"truncated {encoding} data")
    return out


def parse_protobuf(message_type: type[M], data: bytes) -> M:
    """Parse binary protobuf; :class:`OtlpDecodeError` when it is not a valid message."""
    message = message_type()
    try:
        message.ParseFromString(data)
    except (DecodeError, RuntimeError, ValueError) as exc:
        raise OtlpDecodeError(f"malformed protobuf: {exc}") from None
    return message


def _hex_ids_to_base64(node: Any) -> Any:
    if isinstance(node, dict):
        out: dict[str, Any] = {}
        for key, value in node.items():
            if key in _HEX_ID_KEYS and isinstance(value, str) and value:
                try:
                    out[key] = base64.b64encode(bytes.fromhex(value)).decode("ascii")
                except ValueError:
                    raise OtlpDecodeError(f"{key} is not a hex string") from None
            else:
                out[key] = _hex_ids_to_base64(value)
        return out
    if isinstance(node, list):
        return [_hex_ids_to_base64(item) for item in node]
    return node


def parse_json(message_type: type[M], data: bytes) -> M:
    """Parse an OTLP/JSON body (hex trace/span ids, camelCase or snake_case field names)."""
    try:
        tree = loads_bounded(data, max_depth=OTLP_MAX_DEPTH)
    except JsonLimitError as exc:
        raise OtlpDecodeError(str(exc)) from None
    if not isinstance(tree, dict):
        raise OtlpDecodeError("an OTLP/JSON body must be a JSON object")
    message = message_type()
    try:
        json_format.ParseDict(_hex_ids_to_base64(tree), message, ignore_unknown_fields=True)
    except (json_format.ParseError, ValueError, TypeError, RecursionError) as exc:
        raise OtlpDecodeError(f"invalid OTLP/JSON: {exc}") from None
    return message


def to_json(message: Message) -> bytes:
    """Serialise a response message as JSON (for OTLP/HTTP JSON clients)."""
    return json_format.MessageToJson(message, indent=None).encode("utf-8")


def any_value(value: AnyValue) -> object:
    """An OTLP ``AnyValue`` as a plain Python value (maps -> dict, arrays -> list)."""
    kind = value.WhichOneof("value")
    if kind is None:
        return None
    if kind == "kvlist_value":
        return {kv.key: any_value(kv.value) for kv in value.kvlist_value.values}
    if kind == "array_value":
        return [any_value(item) for item in value.array_value.values]
    return getattr(value, kind)


def any_text(value: AnyValue) -> str:
    """An ``AnyValue`` as the text a log line would show (strings as is, others as JSON)."""
    kind = value.WhichOneof("value")
    if kind == "string_value":
        return value.string_value
    if kind is None:
        return ""
    plain = any_value(value)
    if isinstance(plain, bytes):
        return plain.hex()
    try:
        return json.dumps(plain, default=str, separators=(",", ":"))
    except (TypeError, ValueError):
        return str(plain)
