"""Hypothesis strategies producing valid secrets and PII, and clean log text."""

from __future__ import annotations

import base64
import json

from hypothesis import strategies as st

from aibos_otel.redaction.validators import _BBAN_SHAPES, IBAN_LENGTHS, luhn_ok

_LOWER = "abcdefghijklmnopqrstuvwxyz"


def _luhn_complete(body: str) -> str:
    for check in "0123456789":
        if luhn_ok(body + check):
            return body + check
    raise AssertionError("unreachable")


@st.composite
def card_numbers(draw: st.DrawFn) -> str:
    """A Luhn-valid Visa, Mastercard, Amex or Discover number, maybe grouped by 4."""
    prefix, length = draw(
        st.sampled_from(
            [("4", 16), ("51", 16), ("55", 16), ("2221", 16), ("34", 15), ("37", 15), ("6011", 16), ("4", 19)]
        )
    )
    middle = draw(st.text("0123456789", min_size=length - len(prefix) - 1, max_size=length - len(prefix) - 1))
    number = _luhn_complete(prefix + middle)
    if len(set(number)) == 1:
        number = _luhn_complete(prefix + "1" * (len(middle) - 1) + "2")
    separator = draw(st.sampled_from(["", " ", "-"]))
    if separator and length == 16:
        return separator.join(number[i : i + 4] for i in range(0, 16, 4))
    return number


_CLASS = {"n": "0123456789", "a": "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "c": "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"}


@st.composite
def ibans(draw: st.DrawFn) -> str:
    """A valid IBAN (shape, length and mod-97 check digits) for a country with a known shape."""
    import re

    country = draw(st.sampled_from(sorted(_BBAN_SHAPES)))
    bban = ""
    for count, kind in re.findall(r"(\d+)([nac])", _BBAN_SHAPES[country]):
        bban += draw(st.text(_CLASS[kind], min_size=int(count), max_size=int(count)))
    assert len(bban) + 4 == IBAN_LENGTHS[country]
    numeric = "".join(str(int(c, 36)) for c in bban + country + "00")
    check = 98 - int(numeric) % 97
    iban = f"{country}{check:02d}{bban}"
    if draw(st.booleans()):
        iban = " ".join(iban[i : i + 4] for i in range(0, len(iban), 4))
    return iban


@st.composite
def emails(draw: st.DrawFn) -> str:
    local = draw(st.text(_LOWER + "0123456789", min_size=1, max_size=12))
    local += draw(st.sampled_from(["", ".ops", "+tag", "_x"]))
    domain = draw(st.text(_LOWER, min_size=2, max_size=10))
    tld = draw(st.sampled_from(["com", "io", "de", "co.uk", "org", "dev"]))
    return f"{local}@{domain}.{tld}"


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@st.composite
def jwts(draw: st.DrawFn) -> str:
    header = {"alg": draw(st.sampled_from(["HS256", "RS256", "ES256"])), "typ": "JWT"}
    payload = {"sub": draw(st.text(_LOWER, min_size=3, max_size=12)), "iat": draw(st.integers(1e9, 2e9))}
    signature = draw(st.binary(min_size=32, max_size=64))
    return ".".join(
        [_b64url(json.dumps(header).encode()), _b64url(json.dumps(payload).encode()), _b64url(signature)]
    )


@st.composite
def aws_access_keys(draw: st.DrawFn) -> str:
    prefix = draw(st.sampled_from(["AKIA", "ASIA"]))
    body = draw(st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", min_size=16, max_size=16))
    return prefix + body


def log_words() -> st.SearchStrategy[str]:
    """Clean log prose: short lower-case words and spaces (no digits, no token shapes)."""
    word = st.text(_LOWER, min_size=1, max_size=8)
    return st.lists(word, min_size=0, max_size=12).map(" ".join)


_WORDS = (
    "request", "order", "payment", "failed", "completed", "retry", "timeout", "cache", "job", "worker",
    "queue", "batch", "export", "sync", "update", "render", "config", "loaded", "version", "build",
    "deploy", "service", "handler", "client", "server", "upstream", "status", "error", "warning", "span",
)  # fmt: skip


@st.composite
def clean_log_lines(draw: st.DrawFn) -> str:
    """Log lines made of the shapes clean logs are full of: words, small numbers, hex ids
    (trace/span/commit), UUIDs, versions, durations, paths, times and key=number fields."""
    hexdigit = "0123456789abcdef"
    piece = st.one_of(
        st.sampled_from(_WORDS),
        st.integers(0, 99999).map(str),
        st.sampled_from([8, 16, 32, 40, 64]).flatmap(lambda n: st.text(hexdigit, min_size=n, max_size=n)),
        st.uuids().map(str).map(lambda u: f"request_id={u}"),
        st.tuples(st.integers(0, 9), st.integers(0, 40), st.integers(0, 99)).map(
            lambda v: f"v{v[0]}.{v[1]}.{v[2]}"
        ),
        st.integers(1, 5000).map(lambda n: f"{n}ms"),
        st.tuples(st.sampled_from(_WORDS), st.integers(1, 99999)).map(lambda p: f"/api/v1/{p[0]}/{p[1]}"),
        st.tuples(st.integers(0, 23), st.integers(0, 59), st.integers(0, 59)).map(
            lambda t: f"{t[0]:02d}:{t[1]:02d}:{t[2]:02d}"
        ),
        st.tuples(st.sampled_from(_WORDS), st.integers(0, 99999)).map(lambda p: f"{p[0]}={p[1]}"),
    )
    pieces = draw(st.lists(piece, min_size=1, max_size=12))
    return "2024-05-01T12:00:00.123Z INFO " + " ".join(pieces)
