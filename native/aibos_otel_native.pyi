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

class CleanGate:
    """A proof that no redaction detector can match a short ASCII text (``native/src/gate.rs``)."""

    def __init__(
        self,
        keywords: list[str],
        owners: list[list[int]],
        shapes: list[tuple[int, int, bool, str, str, int]],
        always: list[int],
    ) -> None: ...
    def proves_clean(self, text: str) -> bool:
        """True when ``text`` is ASCII and no detector that may run on it fits its shape."""
