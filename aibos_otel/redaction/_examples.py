"""Deterministic fake token material for the catalogue's examples (never real credentials)."""

from __future__ import annotations

import hashlib

LOWER = "abcdefghijklmnopqrstuvwxyz"
UPPER = LOWER.upper()
DIGITS = "0123456789"
HEX = "0123456789abcdef"
ALNUM = LOWER + UPPER + DIGITS
LOWER_ALNUM = LOWER + DIGITS
UPPER_ALNUM = UPPER + DIGITS
URLSAFE = ALNUM + "_-"
BASE64 = ALNUM + "+/"
BASE32 = UPPER + "234567"


def fake(alphabet: str, length: int, seed: str) -> str:
    """``length`` characters from ``alphabet``, derived from ``seed`` by SHA-256 (stable)."""
    out: list[str] = []
    counter = 0
    while len(out) < length:
        digest = hashlib.sha256(f"{seed}:{counter}".encode()).digest()
        out.extend(alphabet[b % len(alphabet)] for b in digest)
        counter += 1
    return "".join(out[:length])
