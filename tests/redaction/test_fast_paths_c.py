"""The speed paths of issue 12 (line c) give what the general code gives."""

from __future__ import annotations

import re

import pytest

from aibos_otel.redaction import Redactor
from aibos_otel.redaction.views import _INVISIBLE, _rewrite, unicode_view

ZW = "\u200b"
SHY = "\u00ad"

TEXTS = [
    "",
    "plain ascii",
    f"sk_live_{ZW}abc",
    f"{ZW}start and end{SHY}",
    f"a{ZW}{ZW}{SHY}b c{ZW}d" * 50,
    f"card 4111{ZW}1111{SHY}1111{ZW}1111 end",
    f"\u00e9{ZW}\u00a0x{ZW}",
]


@pytest.mark.parametrize("text", TEXTS)
@pytest.mark.parametrize("replace", ["", "-", "XY"])
def test_constant_rewrite_matches_the_general_loop(text: str, replace: str) -> None:
    fast = _rewrite(text, _INVISIBLE, replace, None)
    # a function replacement takes the general, per-match loop
    slow = _rewrite(text, _INVISIBLE, lambda _match: replace, None)
    assert (fast is None) == (slow is None)
    if fast is None or slow is None:
        return
    assert fast.text == slow.text
    for start in range(len(fast.text) + 1):
        for end in range(start, min(len(fast.text), start + 6) + 1):
            assert fast.span_to_raw(start, end) == slow.span_to_raw(start, end)


def test_constant_rewrite_skips_matches_equal_to_the_replacement() -> None:
    pattern = re.compile("-+")
    fast = _rewrite("a-b--c", pattern, "-", None)
    slow = _rewrite("a-b--c", pattern, lambda _match: "-", None)
    assert fast is not None and slow is not None
    assert fast.text == slow.text == "a-b-c"
    assert [fast.span_to_raw(i, i + 1) for i in range(5)] == [slow.span_to_raw(i, i + 1) for i in range(5)]


def test_unicode_view_maps_a_split_key_back_to_its_raw_span() -> None:
    text = f"x sk_live_{ZW}abc{SHY}def y"
    view = unicode_view(text)
    assert view is not None
    assert view.text == "x sk_live_abcdef y"
    start = view.text.index("sk_")
    assert view.span_to_raw(start, start + 14) == (2, 18)


@pytest.mark.parametrize(
    "strategies",
    [{}, {"pci": "partial"}, {"*": "hash"}, {"secrets": "drop"}, {"credit-card": "partial", "*": "mask"}],
)
def test_apply_per_region_strategies(strategies: dict[str, str]) -> None:
    """Many regions of a few detectors: every region replaced as its strategy says, counts and
    the drop flag as the strategies give them."""
    redactor = Redactor(strategy=strategies, hash_key=b"k" * 32, use_hyperscan=False)
    one = "card 4111 1111 1111 1111 password=Summer2611!Qx mail a.b@example.com | "
    single = redactor.redact(one)
    many = redactor.redact(one * 40)
    assert many.text == single.text * 40
    assert many.counts == {k: v * 40 for k, v in single.counts.items()}
    assert many.drop == single.drop == (strategies.get("secrets") == "drop")
    assert single.counts, "the line has findings"


def test_short_flags_still_found_with_a_tool_word() -> None:
    redactor = Redactor(use_hyperscan=False)
    assert "Hunter22x" not in redactor.redact_text("run mysqldump -u root -pHunter22x db")
    assert "Hunter22x" not in redactor.redact_text("sshpass -p Hunter22x ssh host")
    # without a tool name "-p" is an ordinary flag
    assert "8080" in redactor.redact_text("serve -p 8080")


def test_secret_dependent_replacements_are_per_region() -> None:
    """hash and partial depend on the secret: not reused from the detector's first region."""
    hashed = Redactor(strategy={"*": "hash"}, hash_key=b"k" * 32, use_hyperscan=False)
    text = hashed.redact_text("password=Summer2611!Qx password=Winter2612!Zy")
    markers = re.findall(r"\[HMAC:[^\]]+\]", text)
    assert len(markers) == 2 and markers[0] != markers[1]
    partial = Redactor(strategy={"pci": "partial"}, use_hyperscan=False)
    text = partial.redact_text("card 4111 1111 1111 1111 and 5500 0000 0000 0004")
    assert "411111******1111" in text and "550000******0004" in text
