"""Typing for the Rust extension (``native/src/lib.rs``)."""

def scan_logs(
    raw: bytes, receive_ns: int, bounds: list[int]
) -> tuple[
    list[tuple[int, int, dict[int, list[int]], list[int], dict[int, tuple[str, str, str, str] | None], int]],
    list[int],
    int,
]:
    """Scan an ``ExportLogsServiceRequest``: per scope ``(resource, scope, by_severity, alert
    indices, exceptions, rejected)``, then the latency buckets and the latency sum."""
