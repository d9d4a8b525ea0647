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
    """The redaction engine's first pass for short ASCII texts, with the GIL held
    (``native/src/gate.rs``): keywords, shape gates, then the detectors' superset regexes as
    lazy DFAs (one shared by the common detectors), each walk on a budget of new states."""

    def __init__(
        self,
        keywords: list[str],
        owners: list[list[int]],
        shapes: list[tuple[int, int, bool, str, str, int]],
        always: list[int],
        supersets: list[str | None] = ...,
        max_checks: int = 32,
    ) -> None: ...
    @property
    def unchecked(self) -> list[int]:
        """Indexes whose superset regex did not compile (checked by their shape gates only)."""
    def first_pass(self, text: str) -> list[int] | None:
        """Sorted indexes of the detectors that may match ``text`` (``[]``: proven clean), or
        ``None`` when ``text`` is not ASCII, too many detectors fit their shapes, or a walk
        needed more new DFA states than its budget."""
    def refine(self, text: str, candidates: list[int]) -> list[int]:
        """``candidates`` without the indexes that do not fit their shape gates or whose
        superset regex does not match ``text``."""

class WordStarts:
    """Where any of a fixed set of ASCII words starts in a text, ASCII case-insensitively
    (``native/src/words.rs``; used by ``aibos_otel/redaction/anchors.py``)."""

    def __init__(self, words: list[str]) -> None: ...
    def find(self, text: str) -> list[int]:
        """The sorted, distinct offsets at which a word starts (overlapping matches too)."""

class KeyHits:
    """The key layer's walk over an ASCII text (``native/src/keys.rs``; used by
    ``aibos_otel/redaction/keyvalue.py``): keyword hits, their keys and bare values."""

    def __init__(self, words: list[str]) -> None: ...
    def scan(self, text: str) -> list[tuple[int, int, int, int]]:
        """Every keyword hit past the previous hit's key, in order: ``(key_start, key_end,
        value_start, value_end)``, the value -1, -1 when another syntax must read it. Raises
        ``ValueError`` on a text that is not ASCII."""
