"""The clean gate (``aibos_otel/redaction/gate.py``, ``native/src/gate.rs``) is a proof, never a
guess: a text it calls clean is one no detector and no key rule can touch, every detector that
matches a text is among the candidates it names, and a redactor with the gate gives exactly
what one without it gives.

The texts are the catalogue's own examples and negatives, each embedded in every log style of
``test_log_styles``, cut at every length (the shape gates' bounds are where a wrong gate would
show), in upper and lower case, with other separators; and random short ASCII lines.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aibos_otel.redaction import Redactor
from aibos_otel.redaction.catalogue import KEY_RULES, all_detectors
from aibos_otel.redaction.gate import MAX_GATED_CHARS, build_clean_gate
from tests.redaction.test_log_styles import SENSITIVE_KEYS, STYLES

PROFILES = ["secrets", "pci", "gdpr", "hipaa"]
native = pytest.importorskip("aibos_otel_native") if not os.environ.get("CI") else None


@pytest.fixture(scope="module")
def gated() -> Redactor:
    redactor = Redactor(PROFILES, use_hyperscan=False)
    assert redactor.scanner.gated
    return redactor


@pytest.fixture(scope="module")
def ungated() -> Redactor:
    redactor = Redactor(PROFILES, use_hyperscan=False)
    redactor.scanner._gate = None  # the reference: every text takes the first pass
    return redactor


def _catalogue_texts() -> list[str]:
    texts: list[str] = []
    for detector in all_detectors():
        texts.extend(detector.examples)
        texts.extend(detector.negatives)
    for rule in KEY_RULES:
        texts.extend(getattr(rule, "examples", ()))
    return [t for t in dict.fromkeys(texts) if t]


CATALOGUE = _catalogue_texts()


def _variants(text: str) -> list[str]:
    out = [text, text.lower(), text.upper(), text.replace(" ", "\t"), text.replace("-", "_")]
    out.extend(text[:cut] for cut in range(1, len(text)))
    out.extend(text[cut:] for cut in range(1, len(text)))
    return out


def _assert_same(gated: Redactor, ungated: Redactor, texts: list[str]) -> int:
    """Each text redacts alike with and without the gate; every text the gate proves clean is
    one the ungated engine leaves alone; and every detector whose regex finds a match (keyword
    rule applied) is among the gate's candidates. Returns how many the gate proved clean."""
    gate = gated.scanner._gate
    assert gate is not None
    proven = 0
    wrong: list[str] = []
    for text in texts:
        found = gate(text) if len(text) <= MAX_GATED_CHARS else None
        if found == []:
            proven += 1
            result = ungated.redact(text)
            if result.counts or result.text != text:
                wrong.append(f"gate called {text!r} clean; the engine finds {dict(result.counts)}")
        if found is not None:
            wrong.extend(_left_out(found, gated, ungated, text, "gate"))
        wrong.extend(_differs(gated, ungated, text))
    assert wrong == [], "\n".join(wrong[:20])
    return proven


def _left_out(found: list[int], redactor: Redactor, ungated: Redactor, text: str, who: str) -> list[str]:
    """A message when a detector with a validated finding in ``text`` is not among ``found``."""
    named = {redactor.detectors[i].id for i in found if i < len(redactor.detectors)}
    missed = sorted(_finders(ungated, text) - named)
    return [f"{who} left out {missed} for {text!r}"] if missed else []


def _differs(redactor: Redactor, ungated: Redactor, text: str) -> list[str]:
    """A message when ``redactor`` redacts ``text`` otherwise than the ungated engine."""
    ours, theirs = redactor.redact_text(text), ungated.redact_text(text)
    return [f"{text!r}: {ours!r} != {theirs!r}"] if ours != theirs else []


def _finders(redactor: Redactor, text: str) -> set[str]:
    """Ids of the detectors with a validated finding in ``text`` when every detector the
    keyword rule lets run is tried (no first pass at all)."""
    scanner = redactor.scanner
    lowered = text.lower()
    every = [i for i in range(len(redactor.detectors)) if scanner._keywords_present(i, lowered)]
    return {finding.detector.id for finding in scanner.find(text, candidates=every)}


def test_every_catalogue_example_and_negative_cut_and_recased(gated: Redactor, ungated: Redactor) -> None:
    texts = [variant for text in CATALOGUE for variant in _variants(text)]
    proven = _assert_same(gated, ungated, texts)
    assert 0 < proven < len(texts)  # the gate both decides and declines


@pytest.mark.parametrize("style", STYLES, ids=str)
def test_catalogue_texts_in_every_log_style(style: str, gated: Redactor, ungated: Redactor) -> None:
    render = STYLES[style]
    texts = []
    for index, text in enumerate(CATALOGUE):
        rendered = render(SENSITIVE_KEYS[index % len(SENSITIVE_KEYS)], text)
        if rendered is not None:
            texts.append(rendered)
        plain = render("note", text)  # not a credential name: the shape alone must decide
        if plain is not None:
            texts.append(plain)
    _assert_same(gated, ungated, texts)


@functools.cache
def _with_hyperscan() -> Redactor:
    redactor = Redactor(PROFILES)
    assert redactor.scanner.wait_ready(timeout=600)
    if redactor.scanner.engine != "hyperscan":
        pytest.skip("hyperscan is not installed")
    return redactor


def test_hyperscan_hits_refined_by_the_gate_keep_every_finder(ungated: Redactor) -> None:
    """Texts the gate declines take Hyperscan, whose hits the gate's shapes and supersets then
    narrow (``CleanGate.refine``): every detector with a finding must survive the narrowing."""
    redactor = _with_hyperscan()
    gate = redactor.scanner._gate
    assert gate is not None
    texts = [variant for text in CATALOGUE for variant in _variants(text) if variant.isascii()]
    declined = narrowed = 0
    wrong: list[str] = []
    for text in texts:
        if len(text) > MAX_GATED_CHARS or gate(text) is not None:
            continue
        declined += 1
        found = redactor.scanner.candidates(text)
        unrefined = {i for i in redactor.scanner._hs.scan(text)}  # type: ignore[union-attr]
        narrowed += len(found) < len(unrefined)
        wrong.extend(_left_out(found, redactor, ungated, text, "refined hits"))
        wrong.extend(_differs(redactor, ungated, text))
    assert wrong == [], "\n".join(wrong[:20])
    assert declined > 100 and narrowed > 10  # the path is taken, and it narrows


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=127), max_size=160))
def test_random_ascii_lines(gated: Redactor, ungated: Redactor, text: str) -> None:
    _assert_same(gated, ungated, [text])


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            ["user", "order", "GET", "/api/v1", "ok", "200", "12ms", "-", "=", ":", " ", "id", "."]
        )
        | st.integers(0, 10**12).map(str),
        max_size=12,
    )
)
def test_random_log_like_lines(gated: Redactor, ungated: Redactor, words: list[str]) -> None:
    _assert_same(gated, ungated, [" ".join(words), "".join(words)])


def _judged(gate: Callable[[str], list[int] | None], line: str) -> list[int] | None:
    """The gate's answer once its lazy DFA has the states ``line`` needs: a walk that needs more
    new states than its budget declines, and the states it built stay cached."""
    answer = None
    for _ in range(20):
        answer = gate(line)
        if answer is not None:
            break
    return answer


def test_typical_clean_lines_skip_the_first_pass(gated: Redactor) -> None:
    gate = gated.scanner._gate
    assert gate is not None
    for line in (
        "user 42 logged in",
        "user 10000 logged in",
        "cache warmed in 812 ms",
        "shutting down",
        "trace_id=4bf92f3577b34da6a3ce929d0e0e4736 span_id=00f067aa0ba902b7 GET /api/v1/orders/7 200",
    ):
        assert _judged(gate, line) == [], line
    hs_scanner = _with_hyperscan().scanner
    assert hs_scanner._gate is not None
    for line in (
        "2024-05-01T12:00:00.123Z took 12.50 ms for order 8812 200 12",
        "2024-05-15T16:24:01.123Z DEBUG [worker-9] request_id=req-108555 "
        "trace_id=8d79d89a0da0c41aebb8f010b8e9a5b5 span_id=ab89c3049787a5d3 GET /api/v1/orders/108555 200",
        "2024-05-08T21:39:01.123Z INFO  deployed commit 30491f1668fd1be6943e9de264f9cb5d9ef7b990 "
        "to prod-eu-west-1 (canary 10%)",
    ):
        # Timestamps, decimals and hex ids fit the shapes of a dozen detectors without keywords
        # (or with one-character ones): one set pass over their supersets proves them clean, with
        # or without Hyperscan behind the gate.
        assert _judged(gate, line) == [], line
        assert _judged(hs_scanner._gate, line) == [], line
    for line in ("password=hunter2", "card 4111111111111111", "ping alice@example.com", "x%3D1"):
        assert gate(line) != [], line  # candidates named, or declined (many shapes fit)
        assert _with_hyperscan().scanner.candidates(line), line
    assert gate("caf\u00e9") is None  # not ASCII: the gate does not judge it


def test_a_detector_without_readable_gates_is_never_proven_absent() -> None:
    from aibos_otel.redaction.detector import Detector

    # A pattern sre_parse cannot read (RE2 named-group syntax): its shape passes every text.
    odd = Detector(id="odd", category="secrets", pattern=r"(?P<secret>zz\d+)", description="x")
    object.__setattr__(odd, "pattern", r"(?P<secret>zz\d+")  # unbalanced: the analysis fails
    gate = build_clean_gate([odd], [()])
    assert gate is not None
    assert gate.first_pass("anything at all") == [0]


def test_a_superset_the_regex_crate_refuses_leaves_its_detector_a_candidate() -> None:
    from aibos_otel_native import CleanGate

    shape = (0, 0, False, "", "", 0)
    gate = CleanGate([], [], [shape, shape], [0, 1], ["(?:zz", "zz[0-9]+"])
    assert gate.unchecked == [0]
    assert gate.first_pass("no match here") == [0]
    assert gate.first_pass("zz42") == [0, 1]


def test_every_built_in_detector_and_the_trigger_get_a_superset() -> None:
    from aibos_otel.redaction.superset import superset_pattern

    for detector in all_detectors():
        assert superset_pattern(detector), detector.id
    redactor = Redactor(PROFILES, use_hyperscan=False)
    gate = redactor.scanner._gate
    assert gate is not None
    assert gate.__self__.unchecked == []  # type: ignore[attr-defined]


def test_a_text_fitting_too_many_shapes_goes_to_the_first_pass() -> None:
    from aibos_otel_native import CleanGate

    from aibos_otel.redaction.gate import MAX_CHECKS

    shape = (0, 0, False, "", "", 0)
    # Detectors a longer keyword lets run are checked one regex each, at most MAX_CHECKS of them.
    count = MAX_CHECKS + 1
    gate = CleanGate(["abc"], [list(range(count))], [shape] * count, [], ["zz"] * count, MAX_CHECKS)
    assert gate.first_pass("abc") is None
    fewer = CleanGate(["abc"], [list(range(MAX_CHECKS))], [shape] * MAX_CHECKS, [], ["zz"] * MAX_CHECKS)
    assert fewer.first_pass("abc") == []
    assert fewer.first_pass("abc zz") == list(range(MAX_CHECKS))


def test_common_detectors_share_one_set_pass_and_are_not_counted() -> None:
    from aibos_otel_native import CleanGate

    # Detectors without keywords, or with a one-character keyword, run on most lines: their
    # supersets are one set, checked in one pass, and never make the gate decline.
    shape = (0, 0, False, "", "", 0)
    count = 40
    owners = [list(range(20, count))]
    gate = CleanGate(["."], owners, [shape] * count, list(range(20)), [f"zz{i}q" for i in range(count)], 2)
    assert gate.first_pass("nothing here") == []
    assert gate.first_pass("zz3q zz25q") == [3]  # 25 needs its keyword, "."
    assert gate.first_pass("zz3q. zz25q") == [3, 25]
    digits = (0, 3, False, "", "0123456789", 3)  # at least three digits, in a run of three
    gate = CleanGate([], [], [digits, shape], [0, 1], ["zz", "zz"], 0)
    assert gate.first_pass("zz 1 2 3") == [1]  # 0's run gate, checked after the set named it
    assert gate.first_pass("zz 123") == [0, 1]


def test_the_gate_rests_on_traffic_it_cannot_prove_and_tries_again() -> None:
    from aibos_otel.redaction.scanner import GATE_PATIENCE, GATE_REST

    redactor = Redactor(PROFILES, use_hyperscan=False)
    real = redactor.scanner._gate
    assert real is not None
    calls: list[str] = []

    unjudged = "order 8812 shipped"

    def declining(text: str) -> list[int] | None:
        """The real gate, except that it declines ``unjudged`` (as it declines a text fitting too
        many shapes)."""
        calls.append(text)
        return None if text == unjudged else real(text)

    redactor.scanner._gate = declining
    for _ in range(GATE_PATIENCE + GATE_REST):
        assert redactor.redact_text(unjudged) == unjudged
    assert len(calls) == GATE_PATIENCE  # then resting
    assert redactor.scanner.candidates("user 42 logged in") == []  # rest over: tried, proven
    assert len(calls) == GATE_PATIENCE + 1


def test_a_text_needing_many_new_dfa_states_is_declined_and_ordinary_lines_warm_up() -> None:
    import random
    import string

    # A fresh gate: its common set's lazy DFA has built no states yet.
    gate = Redactor(PROFILES, use_hyperscan=False).scanner._gate
    assert gate is not None
    rng = random.Random(12)
    hostile = "".join(rng.choice(string.ascii_letters + string.digits + " -.:/") for _ in range(4000))
    # A new state at nearly every byte: the walk stops at its budget and the text goes to the
    # first pass (Hyperscan), instead of costing 1 us a byte with the GIL held.
    assert gate(hostile) is None
    line = "2024-05-15T16:24:01.123Z DEBUG [worker-9] request_id=req-108555 GET /api/v1/orders/108555 200"
    answers = [gate(line) for _ in range(20)]
    # The states a declined walk built stay cached: the line is judged after a few tries.
    assert answers[-1] == [], answers


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet="ab-9 ", max_size=40), st.integers(0, 12))
def test_the_run_gate_finds_a_run_exactly_when_one_is_there(text: str, minimum: int) -> None:
    from aibos_otel_native import CleanGate

    # The gate probes every minimum-th byte and grows the runs it hits (gate.rs, has_run):
    # compared here with a byte-by-byte count.
    longest = run = 0
    for char in text:
        run = run + 1 if char in "a9" else 0
        longest = max(longest, run)
    gate = CleanGate([], [], [(0, 0, False, "", "a9", minimum)], [0], [None])
    assert (gate.first_pass(text) == [0]) == (longest >= minimum), (text, minimum)


def test_refine_on_a_non_ascii_text_does_not_panic(gated: Redactor) -> None:
    # refine is meant for ASCII texts; a non-ASCII byte once indexed past the gate's ASCII
    # character table and panicked (a PanicException out of the extension).
    gate = gated.scanner._gate
    assert gate is not None
    refine = gate.__self__.refine  # type: ignore[attr-defined]
    every = list(range(len(gated.detectors) + 1))
    assert isinstance(refine("card 4111\u00a01111\u2009 caf\u00e9 \U0001f600", every), list)
