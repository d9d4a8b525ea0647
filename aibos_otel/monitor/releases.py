"""Ordering of releases (``service.version``), for "resolved in release R" and regressions.

PEP 440 versions are compared with ``packaging.version`` (already installed: a dependency of
``opentelemetry-instrumentation``; pure Python, no parsing of our own). Strings that are not PEP
440 (``2024.06.1-hotfix``, ``git-3f2a1c``, ``v1.2.3-rc.1``) fall back to a natural order: split into
runs of digits and of other characters, digits compared as numbers, so ``build-10`` is newer than
``build-9``. A PEP 440 version and a non-PEP 440 string are compared by the fallback on both.
"""

from __future__ import annotations

import re
from functools import lru_cache

from packaging.version import InvalidVersion, Version

MAX_RELEASE_CHARS = 128
"""Longer ``service.version`` values are cut: a release name is a short label."""
_RUNS = re.compile(r"\d+|\D+")


@lru_cache(maxsize=4096)
def _pep440(text: str) -> Version | None:
    try:
        return Version(text)
    except InvalidVersion:
        return None


def _natural(text: str) -> tuple[tuple[int, int | str], ...]:
    # (0, number) sorts before (1, text) so "1.10" > "1.9" and "1.2" < "1.2a" stay natural
    return tuple((0, int(run)) if run.isdigit() else (1, run) for run in _RUNS.findall(text.lower()))


def compare(a: str, b: str) -> int:
    """-1, 0 or 1 as release ``a`` is older than, the same as or newer than ``b``."""
    if a == b:
        return 0
    va, vb = _pep440(a), _pep440(b)
    if va is not None and vb is not None:
        return (va > vb) - (va < vb)
    na, nb = _natural(a), _natural(b)
    return (na > nb) - (na < nb)


def newest(releases: list[str]) -> str:
    """The newest of ``releases`` ("" when empty)."""
    best = ""
    for release in releases:
        if release and (not best or compare(release, best) > 0):
            best = release
    return best
