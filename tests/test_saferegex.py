"""External patterns run on RE2: hostile ones are cheap or refused with a reason."""

import pytest

from aibos_otel.saferegex import MAX_PATTERN_LENGTH, UnsafePatternError, compile_anchored, compile_external


def test_exponential_pattern_is_linear_on_re2() -> None:
    # On `re` this search takes seconds (doubling with each extra "a"); RE2 answers at once. The
    # assertion is on the answer; the input size (10 000) would not finish on `re` within any
    # pytest timeout, so a backtracking engine fails this test by timing out.
    assert compile_external("(a+)+$", what="t").search("a" * 10_000 + "!") is None


def test_back_reference_is_refused_naming_the_field() -> None:
    with pytest.raises(UnsafePatternError, match=r"silence matcher 'x'.*RE2.*invalid escape"):
        compile_external(r"(a)\1", what="silence matcher 'x'")


def test_too_long_pattern_is_refused() -> None:
    with pytest.raises(UnsafePatternError, match="limit"):
        compile_external("a" * (MAX_PATTERN_LENGTH + 1), what="t")


def test_anchored_matches_whole_value_like_alertmanager() -> None:
    pattern = compile_anchored("api|web", what="t")
    assert pattern.fullmatch("api") and pattern.search("web")
    assert pattern.search("api-gateway") is None


def test_ignore_case() -> None:
    assert compile_external("token", what="t", ignore_case=True).search("X-TOKEN")
    assert compile_external("token", what="t").search("X-TOKEN") is None
