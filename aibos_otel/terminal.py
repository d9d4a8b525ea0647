"""Outside data made safe to print on a terminal.

File names, exception types and messages, service names and labels come from processes and
users the operator does not control. Printed as they are, an ``ESC [ 2 J`` clears the screen, an
OSC sequence sets the window title (or, on some terminals, writes the clipboard), a newline
forges a line of a command's report and a bidi override makes ``txt.exe`` read as ``exe.txt``.
:func:`escape` turns every such character into visible text (``\\x1b``, ``\\n``, ``\\u202e``) so
the operator sees what was there and nothing acts on the terminal. Pure stdlib, no imports from
the rest of the package: the SDK, the monitor and the lifecycle commands all use it.
"""

from __future__ import annotations

import re

# C0 controls (newline and tab included: one value must stay one line), DEL, C1 controls (0x9b
# is a one-byte CSI on terminals that honour 8-bit controls), the bidi embeddings, overrides and
# isolates, the implicit direction marks, and the line/paragraph separators that some terminals
# and log viewers break lines on. Lone surrogates (undecodable bytes of a file name, kept by
# Python's surrogateescape) would make print() raise, so they are shown as the byte they stand for.
_UNSAFE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\udc80-\udcff]"
)
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _visible(match: re.Match[str]) -> str:
    char = match.group(0)
    code = ord(char)
    if char in _NAMED:
        return _NAMED[char]
    if 0xDC80 <= code <= 0xDCFF:
        return f"\\x{code - 0xDC00:02x}"
    if code <= 0xFF:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}"


def escape(value: object) -> str:
    """``str(value)`` with every terminal control, bidi control and undecodable byte shown as an
    escape (``\\x1b``, ``\\n``, ``\\u202e``); printable text, including non-ASCII letters, is kept.

    A backslash is kept as it is, so the output is for reading, not for parsing back.
    """
    text = value if isinstance(value, str) else str(value)
    return _UNSAFE.sub(_visible, text)
