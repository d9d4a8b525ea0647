"""Distinct affected users per error group, in bounded memory: exact up to a bound, HyperLogLog beyond.

Users are kept as 64-bit hashes (BLAKE2b) of ``enduser.id`` / ``user.id``, never the ids
themselves, so the store holds no personal identifier. Up to :data:`EXACT_LIMIT` hashes the count
is exact; past it the hashes are folded into a HyperLogLog sketch (Flajolet et al. 2007, with the
small-range linear counting of Heule et al. 2013) with 2^14 one-byte registers: 16 KiB per group,
standard error 1.04/sqrt(2^14) = 0.81 %.

Written here rather than taken from a library: none of ``datasketch``, ``hyperloglog`` or
``datasketches`` is installed, adding one is a new dependency for ~60 lines, and the sketch must
be persisted as a blob the store controls (its byte layout is this module's, versioned by the
first byte).
"""

from __future__ import annotations

import hashlib
import math
from array import array

EXACT_LIMIT = 1000
"""Distinct users counted exactly (8 bytes each) before the sketch takes over."""
P = 14
M = 1 << P
_ALPHA = 0.7213 / (1 + 1.079 / M)
_EXACT, _SKETCH = b"E", b"H"
MAX_USER_ID_CHARS = 256


def user_hash(user_id: str) -> int:
    """The 64-bit hash a user is kept as."""
    digest = hashlib.blake2b(user_id[:MAX_USER_ID_CHARS].encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


class UserCounter:
    """The distinct users of one group."""

    __slots__ = ("_exact", "_registers")

    def __init__(self) -> None:
        self._exact: set[int] | None = set()
        self._registers: bytearray | None = None

    def add(self, hashes: set[int]) -> bool:
        """Add users (as :func:`user_hash` values); whether the state changed."""
        if self._exact is not None:
            before = len(self._exact)
            self._exact |= hashes
            if len(self._exact) <= EXACT_LIMIT:
                return len(self._exact) != before
            folded, self._exact = self._exact, None
            self._registers = bytearray(M)
            hashes = folded
        assert self._registers is not None
        registers, changed = self._registers, False
        for h in hashes:
            index = h >> (64 - P)
            rest = h & ((1 << (64 - P)) - 1)
            rank = (64 - P) - rest.bit_length() + 1
            if rank > registers[index]:
                registers[index] = rank
                changed = True
        return changed

    def count(self) -> int:
        """Exact below the bound, estimated above it."""
        if self._exact is not None:
            return len(self._exact)
        assert self._registers is not None
        registers = self._registers
        estimate = _ALPHA * M * M / sum(2.0**-r for r in registers)
        zeros = registers.count(0)
        if estimate <= 2.5 * M and zeros:
            estimate = M * math.log(M / zeros)  # linear counting: better for small counts
        return round(estimate)

    def to_bytes(self) -> bytes:
        """The persisted form (first byte: the layout)."""
        if self._exact is not None:
            return _EXACT + array("Q", sorted(self._exact)).tobytes()
        assert self._registers is not None
        return _SKETCH + bytes(self._registers)

    @classmethod
    def from_bytes(cls, blob: bytes | None) -> UserCounter:
        """Read :meth:`to_bytes` (empty for ``None`` or an unknown layout)."""
        counter = cls()
        if not blob:
            return counter
        if blob[:1] == _EXACT and (len(blob) - 1) % 8 == 0:
            values = array("Q")
            values.frombytes(blob[1:])
            counter._exact = set(values)
        elif blob[:1] == _SKETCH and len(blob) == M + 1:
            counter._exact, counter._registers = None, bytearray(blob[1:])
        return counter
