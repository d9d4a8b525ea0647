"""Stable error fingerprints from an exception's type, stack trace text and message.

Shared by the SDK (which fingerprints records as they are logged) and the monitor (which
fingerprints records that arrive without one), so it is pure standard library and works on
the *text* of ``exception.stacktrace`` as OpenTelemetry carries it, not on live objects.

What makes two errors "the same bug":
- the exception type of every exception in the chain (``raise X from Y`` and implicit
  context), outermost last, and
- the in-app call path: for each frame, the file (last two path components) and function,
  in order, without line numbers, so that moving code or editing the file above keeps the
  fingerprint. Library and standard-library frames are left out when in-app frames exist,
  so that upgrading a dependency does not regroup every error. Consecutive repeats of a frame
  (recursion) count once.
- The message is used only when there is no stack at all, and then with numbers, hex ids,
  UUIDs and quoted strings replaced by placeholders, so "user 42 not found" and
  "user 43 not found" group together.
"""

from __future__ import annotations

import functools
import hashlib
import re

_FRAME = re.compile(r'^\s*File "(?P<path>[^"]+)", line \d+, in (?P<func>.+?)\s*$')
_CHAIN_SEPARATORS = (
    "The above exception was the direct cause of the following exception:",
    "During handling of the above exception, another exception occurred:",
)
_LIBRARY_MARKERS = ("site-packages", "dist-packages", "/lib/python3", "\\lib\\python3", "<frozen ")
_EXCEPTION_LINE = re.compile(r"^(?P<type>[A-Za-z_][\w.]*)(?::|$)")

_VARIABLE_PARTS = re.compile(
    r"""
      [0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}  # uuid
    | 0x[0-9a-fA-F]+                                                                # hex address
    | \b[0-9a-fA-F]{12,}\b                                                          # long hex id
    | '[^']*' | "[^"]*"                                                             # quoted values
    | \d+(?:\.\d+)?                                                                 # numbers
    """,
    re.VERBOSE,
)


def normalize_message(message: str) -> str:
    """Replace the variable parts of an error message (numbers, ids, quoted values) with ``<*>``."""
    return _VARIABLE_PARTS.sub("<*>", message).strip()


def _short_path(path: str) -> str:
    parts = re.split(r"[\\/]", path)
    tail = "/".join(parts[-2:])
    return tail.removesuffix(".py")


def _is_library(path: str) -> bool:
    return path.startswith("<") or any(marker in path for marker in _LIBRARY_MARKERS)


def _sections(stacktrace: str) -> list[tuple[str, list[tuple[str, str]]]]:
    """Split a formatted traceback into (exception type, frames) per chained exception."""
    sections: list[tuple[str, list[tuple[str, str]]]] = []
    frames: list[tuple[str, str]] = []
    in_traceback = False
    for raw_line in stacktrace.splitlines():
        line = raw_line.rstrip()
        if not line:
            continue
        if line.startswith("Traceback (most recent call last):"):
            frames, in_traceback = [], True
            continue
        if line.strip() in _CHAIN_SEPARATORS:
            continue
        frame = _FRAME.match(line)
        if frame:
            frames.append((frame.group("path"), frame.group("func")))
            continue
        if in_traceback and not line.startswith((" ", "\t")):
            match = _EXCEPTION_LINE.match(line)
            if match:
                sections.append((match.group("type").rsplit(".", 1)[-1], frames))
                frames, in_traceback = [], False
    return sections


def _call_path(frames: list[tuple[str, str]]) -> list[str]:
    in_app = [f for f in frames if not _is_library(f[0])]
    chosen = in_app or frames
    path: list[str] = []
    for file_path, func in chosen:
        key = f"{_short_path(file_path)}:{func}"
        if not path or path[-1] != key:
            path.append(key)
    return path


@functools.lru_cache(maxsize=4096)
def fingerprint(exc_type: str, stacktrace: str, message: str) -> str:
    """Return a 32-hex-digit fingerprint that groups occurrences of the same bug.

    ``exc_type`` is the exception's type name (qualified or not), ``stacktrace`` the text of
    ``traceback.format_exception`` (may be empty), ``message`` the exception message.
    Memoised: the same error tends to repeat, and parsing its stack each time is the costliest
    step of handling an error record (in the SDK and in the monitor alike).
    """
    outer_type = exc_type.rsplit(".", 1)[-1] if exc_type else ""
    parts: list[str] = []
    has_frames = False
    for section_type, frames in _sections(stacktrace or ""):
        call_path = _call_path(frames)
        has_frames = has_frames or bool(call_path)
        parts.extend([section_type, *call_path, "|"])
    if not has_frames:
        # No frames at all: group by type and the message's constant words.
        parts.append(normalize_message(message or ""))
    key = "\n".join([outer_type, *parts])
    return hashlib.sha256(key.encode("utf-8", "replace")).hexdigest()[:32]


@functools.lru_cache(maxsize=4096)
def group_fingerprint(exception_fingerprint: str, service: str) -> str:
    """The fingerprint of a per-service error group: the exception's fingerprint and the
    service's name (``service.name``), so the same bug in two services is two groups.

    Same length and alphabet as :func:`fingerprint`; cached because a busy error stream repeats
    the same few pairs.
    """
    key = f"service\0{service}\0{exception_fingerprint}"
    return hashlib.sha256(key.encode("utf-8", "replace")).hexdigest()[:32]
