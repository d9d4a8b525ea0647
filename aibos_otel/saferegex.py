"""Linear-time regular expressions for every pattern that comes from outside the code.

Silence matchers, policy line filters and label matchers, allowlists and custom redaction
detectors are written by people the process does not trust with its CPU. Python's ``re``
backtracks: ``(a+)+`` against ``"a" * 29 + "!"`` takes seconds, one more ``a`` doubles it. RE2
(``google-re2``) runs in time linear in the input and refuses the constructs that need
backtracking (back-references, look-around), so a hostile pattern is either refused at the
door with a clear message or cheap to run.

The patterns the project ships itself stay on ``re``: they are reviewed, tested against the
corpus, and some use look-around.
"""

from __future__ import annotations

from typing import Protocol

import re2

#: Longest pattern accepted from outside. RE2's program size grows with the pattern; a bound on
#: the text keeps a policy file or an API request from building a huge automaton.
MAX_PATTERN_LENGTH = 2000
#: RE2's memory budget per compiled pattern (bytes). The library default is 8 MiB; a pattern
#: that needs more than this is refused at compile time rather than allowed to grow.
MAX_PROGRAM_MEMORY = 8 << 20


class UnsafePatternError(ValueError):
    """A pattern from outside the code that the linear-time engine refuses, with the reason."""


class SafePattern(Protocol):
    """What a compiled safe pattern offers (the part of ``re.Pattern`` RE2 shares)."""

    @property
    def pattern(self) -> str: ...

    def search(self, text: str) -> object | None: ...

    def fullmatch(self, text: str) -> object | None: ...


def compile_external(pattern: str, *, what: str, ignore_case: bool = False) -> SafePattern:
    """Compile ``pattern`` on RE2, or raise :class:`UnsafePatternError` naming ``what`` it is.

    ``what`` is the user's name for the field ("silence matcher 'service_name'", "policy
    rule 'x' line filter"), so the error says where the bad pattern came from.
    """
    if not isinstance(pattern, str):
        raise UnsafePatternError(f"{what}: a pattern must be a string, not {type(pattern).__name__}")
    if len(pattern) > MAX_PATTERN_LENGTH:
        limit = MAX_PATTERN_LENGTH
        raise UnsafePatternError(f"{what}: pattern is {len(pattern)} characters; the limit is {limit}")
    options = re2.Options()
    options.max_mem = MAX_PROGRAM_MEMORY
    options.case_sensitive = not ignore_case
    # RE2 logs a refused pattern to stderr by default; the error we raise says it instead.
    options.log_errors = False
    try:
        compiled: SafePattern = re2.compile(pattern, options)
    except re2.error as exc:
        reason = exc.args[0] if exc.args else exc
        if isinstance(reason, bytes):
            reason = reason.decode("utf-8", "replace")
        raise UnsafePatternError(
            f"{what}: {pattern!r} is not a pattern the linear-time engine (RE2) accepts: {reason}. "
            "Back-references and look-around are not supported."
        ) from exc
    return compiled


def compile_anchored(pattern: str, *, what: str) -> SafePattern:
    """Compile ``pattern`` anchored at both ends, as Alertmanager and Prometheus matchers are."""
    compile_external(pattern, what=what)  # the error names the user's pattern, not our wrapper
    return compile_external(f"^(?:{pattern})$", what=what)
