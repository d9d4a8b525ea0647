"""Finding detector matches in text: a cheap first pass, then the detectors' own regexes.

The first pass only narrows *which* detectors to run; the final answer always comes from the
detector's Python regex, keyword check, context check and validator. So the two first passes
give identical results:

* fast path -- one Hyperscan database of every pattern compiled in prefilter mode (a superset
  of what the Python regex matches, per the Hyperscan docs), one scan per text, used for
  ASCII text when the ``hyperscan`` wheel is importable;
* pure-``re`` path -- one alternation of every detector's literal keywords, searched in the
  lower-cased text; detectors without keywords always run.

A detector runs only when one of its keywords occurs in the text (or it has none), in both
paths; the test suite runs every catalogue example through both.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import os
import re
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

from aibos_otel.redaction.anchors import matches_at_starts, word_starts
from aibos_otel.redaction.detector import Detector
from aibos_otel.redaction.gate import (
    MAX_CHECKS,
    MAX_CHECKS_WITHOUT_HYPERSCAN,
    MAX_GATED_CHARS,
    CleanGate,
    build_clean_gate,
)
from aibos_otel.redaction.surrogate import lower_case_safe, nul_blind, stand_in


class Finding(NamedTuple):
    """One validated match: the span of the secret and the detector that found it.

    A named tuple, not a frozen dataclass: a keyword-dense 1 MB line makes 100 000 of them, and
    a frozen dataclass's ``__init__`` (``object.__setattr__`` per field) cost 1.16 us each
    against 0.39 (80 ms of that line's 0.5 s)."""

    start: int
    end: int
    detector: Detector


class Scanner:
    """Finds validated matches of a fixed set of detectors. Thread-safe after construction."""

    def __init__(
        self,
        detectors: Sequence[Detector],
        *,
        use_hyperscan: bool | None = None,
        trigger_words: Sequence[str] = (),
        trigger_expression: str | None = None,
        clean_gate: bool = True,
    ) -> None:
        self.detectors: tuple[Detector, ...] = tuple(detectors)
        for detector in self.detectors:
            _ = detector.regex  # compile every pattern now, once (never per record)
        # Group numbers, not names: custom detectors run on RE2, whose match objects take only
        # numbers; ``re`` takes both.
        self._secret_groups = [
            tuple(number for name, number in d.regex.groupindex.items() if name.startswith("secret")) or (0,)
            for d in self.detectors
        ]
        # The trigger: one more candidate index (after the detectors) reported when a word of
        # the key-aware layer, a percent-escape or a non-ASCII character occurs, so one first
        # pass also tells the engine whether the key layer or a canonical view has work.
        self.trigger = len(self.detectors)
        # Detectors whose every match begins with a literal word: tried only where one starts.
        self._starts = [word_starts(d) for d in self.detectors]
        self._trigger_words = tuple(dict.fromkeys((*trigger_words, "%")))
        # Hyperscan's form of the trigger may be tighter than the words ("pan" not in "span").
        literal = "|".join(re.escape(word) for word in self._trigger_words if word != "%")
        self._trigger_expression = (trigger_expression or literal) + "|%[0-9A-Fa-f]{2}"
        # A detector's context words (one must precede the match) are keywords too: when none
        # occurs anywhere in the text the detector cannot fire, so it need not run.
        self._keywords = [d.keywords or tuple(w.lower() for w in d.context) for d in self.detectors]
        self._keywords.append(self._trigger_words)
        self._always: list[int] = [i for i, words in enumerate(self._keywords) if not words]
        self._min_digits = [d.min_digits for d in self.detectors] + [0]
        self._digit_gated = any(self._min_digits)
        self._index_keywords()
        # Proves most clean short lines clean with the GIL held (see gate.py for why).
        native_gate = self._build_gate(use_hyperscan) if clean_gate else None
        self._gate = native_gate.first_pass if native_gate is not None else None
        self._refine = native_gate.refine if native_gate is not None else None
        self._gate_misses = 0  # texts in a row the gate could not prove clean
        self._gate_rest = 0  # texts left before the gate is tried again
        self._hs: _HyperscanPrefilter | None = None
        self._nul_seeing: list[int] | None = None  # see _stand_in_candidates
        self._ready = threading.Event()
        # Read once: a background compile stores where the cache was when it started, not
        # wherever AIBOS_CACHE_DIR points by the time it finishes.
        self._cache_dir = cache_dir()
        if use_hyperscan is None and importlib.util.find_spec("hyperscan") is not None:
            # Auto mode: a database compiled by an earlier run loads in milliseconds; otherwise
            # compile it in the background (up to seconds on a busy machine) and use the
            # pure-re first pass, which gives the same results, until it is ready.
            self._hs = _HyperscanPrefilter.build(
                self.detectors, self._cache_dir, cached_only=True, trigger=self._trigger_expression
            )
            if self._hs is None:
                threading.Thread(
                    target=self._compile_in_background, name="aibos-redaction-compile", daemon=True
                ).start()
                return
        elif use_hyperscan:
            self._hs = _HyperscanPrefilter.build(
                self.detectors, self._cache_dir, trigger=self._trigger_expression
            )
            if self._hs is None:
                raise RuntimeError("hyperscan requested but not available")
        self._ready.set()

    def _index_keywords(self) -> None:
        """The pure-``re`` first pass's tables: which detectors each keyword lets run, the
        one-character keywords, and one trie-shaped regex for the rest."""
        by_keyword: dict[str, set[int]] = {}
        for index, words in enumerate(self._keywords):
            for keyword in words:
                by_keyword.setdefault(keyword, set()).add(index)
        # The alternation reports non-overlapping, longest-first matches; a keyword found also
        # stands for every shorter keyword inside it ("sk-ant-" contains "sk-").
        self._by_keyword = {
            keyword: set().union(*(ids for other, ids in by_keyword.items() if other in keyword))
            for keyword in by_keyword
        }
        # Single characters are tested with ``in``; the rest go into one regex shaped as a trie,
        # so each text position tries one branch per first character, not every keyword.
        self._char_keywords = [k for k in by_keyword if len(k) == 1]
        multi_char = [k for k in by_keyword if len(k) > 1]
        # A zero-width lookahead at every position reports overlapping keywords too.
        self._keyword_re = re.compile(f"(?=({_trie_regex(multi_char)}))") if multi_char else None

    def _build_gate(self, use_hyperscan: bool | None) -> CleanGate | None:
        """The native clean gate, checking fewer supersets when Hyperscan takes what it declines."""
        hyperscan_expected = use_hyperscan is not False and importlib.util.find_spec("hyperscan") is not None
        return build_clean_gate(
            self.detectors,
            self._keywords,
            self._trigger_expression,
            MAX_CHECKS if hyperscan_expected else MAX_CHECKS_WITHOUT_HYPERSCAN,
        )

    def _compile_in_background(self) -> None:
        try:
            self._hs = _HyperscanPrefilter.build(
                self.detectors, self._cache_dir, trigger=self._trigger_expression
            )
        except Exception:  # the pure-re first pass stays in use; results are the same
            self._hs = None
        finally:
            self._ready.set()

    def wait_ready(self, timeout: float | None = None) -> bool:
        """Wait until the first pass is final (the Hyperscan database compiled, or not used)."""
        return self._ready.wait(timeout)

    @property
    def gated(self) -> bool:
        """Whether the clean gate (the native extension) runs before the first pass."""
        return self._gate is not None

    @property
    def engine(self) -> str:
        """``hyperscan`` or ``re``: which first pass this scanner uses for ASCII text."""
        return "hyperscan" if self._hs is not None else "re"

    # -- first pass ------------------------------------------------------------------------

    def candidates(self, text: str) -> list[int]:
        """Indexes of detectors that may match ``text`` (sorted); keyword rule applied. The
        last may be :attr:`trigger` (not a detector: the key layer or a view has work)."""
        gate = self._gate
        if gate is not None and len(text) <= MAX_GATED_CHARS:
            if self._gate_rest:
                self._gate_rest -= 1
            else:
                found = gate(text)
                if found is not None:
                    self._gate_misses = 0
                    return found
                self._gate_misses += 1
                if self._gate_misses >= GATE_PATIENCE:
                    # This traffic is not the kind the gate judges (non-ASCII, or texts that fit
                    # many shapes): rest it, then try again. Only speed depends on it; results
                    # are the same with or without the gate. Unlocked counters: a lost update
                    # between threads only moves when the gate is tried.
                    self._gate_misses, self._gate_rest = 0, GATE_REST
        if self._hs is not None and text.isascii():
            hits = self._hs.scan(text)
            if not hits:
                return []
            lowered = text.lower()
            trigger = self.trigger  # its expression is literal: a hit needs no second look
            found = [i for i in sorted(hits) if i == trigger or self._keywords_present(i, lowered)]
            if found and found[0] != trigger and self._refine is not None:
                # Hyperscan's prefilter loosens repeats; the superset DFAs do less so and often
                # rule out its hits (a hex trace id is no high-entropy token). On a long text a
                # walk costs about 1 ms per MB and a Python regex it rules out 30-60 ms (1 MB of
                # digit groups: 4 candidates -> 1); a walk over its state budget rules nothing out.
                return self._refine(text, found)
            return found
        if self._hs is not None and lower_case_safe(text):
            return self._stand_in_candidates(text)
        return self._keyword_candidates(text)

    def _stand_in_candidates(self, text: str) -> list[int]:
        """The Hyperscan first pass for a non-ASCII text, over its ASCII stand-in (see
        surrogate.py for why this is a superset of what can match the text itself)."""
        assert self._hs is not None
        if self._nul_seeing is None:
            # Worked out on the first non-ASCII text, not at start-up (it parses every pattern).
            self._nul_seeing = [i for i, d in enumerate(self.detectors) if not nul_blind(d)]
        hits = self._hs.scan_bytes(stand_in(text))
        hits.update(self._nul_seeing)
        hits.add(self.trigger)  # the unicode view has work
        lowered = text.lower()
        trigger = self.trigger
        return [i for i in sorted(hits) if i == trigger or self._keywords_present(i, lowered)]

    def keyword_filter(self, candidates: list[int], text: str) -> list[int]:
        """The candidates (found in a larger text) whose keywords occur in ``text``."""
        lowered = text.lower()
        trigger = self.trigger
        return [
            i
            for i in candidates
            if self._keywords_present(i, lowered) or (i == trigger and not text.isascii())
        ]

    def _keyword_candidates(self, text: str) -> list[int]:
        found: set[int] = set(self._always)
        if not text.isascii():
            found.add(self.trigger)  # the unicode view has work
        lowered = text.lower()
        by_keyword = self._by_keyword
        for char in self._char_keywords:
            if char in lowered:
                found.update(by_keyword[char])
        if self._keyword_re is not None:
            for keyword in set(self._keyword_re.findall(lowered)):
                found.update(by_keyword[keyword])
        if self._digit_gated:
            digits = len(_ASCII_DIGITS.findall(text))
            minimums = self._min_digits
            return sorted(i for i in found if minimums[i] <= digits)
        return sorted(found)

    def _keywords_present(self, index: int, lowered: str) -> bool:
        keywords = self._keywords[index]
        return not keywords or any(k in lowered for k in keywords)

    # -- second pass -----------------------------------------------------------------------

    def find(self, text: str, *, candidates: list[int] | None = None) -> list[Finding]:
        """Every validated finding in ``text``. Validator exceptions propagate (the caller
        fails closed)."""
        return [
            Finding(start, end, detector)
            for start, end, detector in self.find_spans(text, candidates=candidates)
        ]

    def find_spans(
        self, text: str, *, candidates: list[int] | None = None
    ) -> list[tuple[int, int, Detector]]:
        """:meth:`find` as plain ``(start, end, detector)`` tuples, which the engine uses: a
        named tuple cost 0.4 us more per finding, and an e-mail-dense 1 MB line has 111 000."""
        indexes = self.candidates(text) if candidates is None else candidates
        findings: list[tuple[int, int, Detector]] = []
        lowered: str | None = None
        trigger = self.trigger
        verdicts: dict[tuple[int, str], int] = {}
        ascii_text = text.isascii()
        for index in indexes:
            if index == trigger:
                continue
            detector = self.detectors[index]
            groups = self._secret_groups[index]
            starts = self._starts[index]
            if starts is not None and ascii_text:
                matches = matches_at_starts(detector.regex, text, starts.find(text))
            else:
                matches = detector.regex.finditer(text)
            for match in matches:
                start = end = -1
                for group in groups:
                    start, end = match.span(group)
                    if start >= 0:
                        break
                if start < 0 or end <= start:
                    continue
                if detector.context:
                    if lowered is None:
                        lowered = text.lower()
                    window = lowered[max(0, match.start() - detector.context_window) : match.start()]
                    if not any(word in window for word in detector.context):
                        continue
                if detector.validator is not None:
                    end = self._validated_end(detector, text, start, end, verdicts)
                    if end < 0:
                        continue
                findings.append((start, end, detector))
        return findings

    @staticmethod
    def _validated_end(
        detector: Detector, text: str, start: int, end: int, verdicts: dict[tuple[int, str], int]
    ) -> int:
        """The end of the validated secret at ``start`` (the match shrunk at a group separator
        when the detector allows it), or -1. Memoised per matched string within one text:
        validators are pure, and a hostile line repeats one candidate thousands of times
        (1 MB of ``4111 1111 1111 1112 `` is 50 000 failed Luhn checks and shrinks)."""
        candidate = text[start:end]
        key = (id(detector), candidate)
        known = verdicts.get(key)
        if known is not None:
            return start + known if known >= 0 else -1
        assert detector.validator is not None
        if detector.validator(candidate):
            found = end
        else:
            found = _shrink(detector, text, start, end) if detector.shrink else -1
        if len(verdicts) < _MAX_VERDICTS:
            verdicts[key] = found - start if found >= 0 else -1
        return found


_ASCII_DIGITS = re.compile(r"[0-9]")
# A text the clean gate does not judge costs its call (about 0.1 us, more when many shapes fit)
# on top of the Hyperscan pass; after this many such texts in a row it rests for GATE_REST texts.
GATE_PATIENCE = 64
GATE_REST = 1024
_MAX_VERDICTS = 4096  # distinct candidates remembered per text (bounded memory on a 1 MB line)


def _trie_regex(words: Sequence[str]) -> str:
    """One regex matching any of ``words`` (longest first at each position), built as a trie."""
    trie: dict[str, Any] = {}
    for word in words:
        node = trie
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}  # end of a word

    def emit(node: dict[str, Any]) -> str:
        branches = [re.escape(char) + emit(child) for char, child in sorted(node.items()) if char]
        optional = "" in node
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        return f"(?:{body})?" if optional else body

    return emit(trie)


def _shrink(detector: Detector, text: str, start: int, end: int) -> int:
    """The end of the longest prefix of ``text[start:end]``, cut at a group separator, that the
    validator accepts; -1 when none does."""
    assert detector.validator is not None
    candidate = text[start:end]
    minimum = detector.min_digits
    while True:
        cut = max(candidate.rfind(" "), candidate.rfind("-"))
        if cut <= 0:
            return -1
        candidate = candidate[:cut]
        if minimum and len(_ASCII_DIGITS.findall(candidate)) < minimum:
            return -1  # too few digits left for this detector: every shorter prefix too
        if detector.validator(candidate):
            return start + len(candidate)


class _HyperscanPrefilter:
    """One Hyperscan block-mode database over all detector patterns (prefilter mode)."""

    def __init__(self, hs: Any, database: Any, fallback: list[int], ids: list[int]) -> None:
        self._hs = hs
        self._database = database
        self._fallback = fallback  # detectors whose pattern Hyperscan cannot take: always candidates
        self._ids = ids
        self._scratch_template = hs.Scratch(database) if database is not None else None
        self._local = threading.local()

    @classmethod
    def build(
        cls,
        detectors: Sequence[Detector],
        directory: Path | None,
        *,
        cached_only: bool = False,
        trigger: str = "",
    ) -> _HyperscanPrefilter | None:
        """The prefilter for ``detectors``, from the cache in ``directory`` (``None``: no cache)
        or compiled (and then stored there); ``None`` without Hyperscan or, with ``cached_only``,
        when it is not cached."""
        try:
            import hyperscan
        except ImportError:  # no wheel for this platform: the pure-re path gives the same results
            return None
        flags_base = (
            hyperscan.HS_FLAG_PREFILTER | hyperscan.HS_FLAG_SINGLEMATCH | hyperscan.HS_FLAG_ALLOWEMPTY
        )
        expressions: list[bytes] = []
        ids: list[int] = []
        flags: list[int] = []
        fallback: list[int] = []
        for index, detector in enumerate(detectors):
            if not detector.pattern.isascii():
                fallback.append(index)
                continue
            expression, caseless = prefilter_expression(detector)
            expressions.append(expression.encode("ascii"))
            ids.append(index)
            flags.append(flags_base | (hyperscan.HS_FLAG_CASELESS if caseless else 0))
        if trigger:
            # The trigger (id: one past the detectors): a key-layer word or a percent-escape.
            expressions.append(trigger.lstrip("|").encode("ascii"))
            ids.append(len(detectors))
            flags.append(flags_base | hyperscan.HS_FLAG_CASELESS)
        cache_key = _cache_key(hyperscan, expressions, ids, flags, fallback)
        cached = _load_cached(hyperscan, directory, cache_key)
        if cached is not None:
            database, fallback, ids = cached
            return cls(hyperscan, database, fallback, ids)
        if cached_only:
            return None
        database = _compile(hyperscan, expressions, ids, flags)
        if database is None and expressions:
            # Some pattern is beyond Hyperscan: find which (slow, rare), keep the rest.
            keep = [
                n for n in range(len(expressions)) if _compile(hyperscan, [expressions[n]], [0], [flags[n]])
            ]
            fallback.extend(ids[n] for n in range(len(expressions)) if n not in keep)
            expressions = [expressions[n] for n in keep]
            flags = [flags[n] for n in keep]
            ids = [ids[n] for n in keep]
            database = _compile(hyperscan, expressions, ids, flags)
        _store_cached(hyperscan, directory, cache_key, database, fallback=fallback, ids=ids)
        return cls(hyperscan, database, fallback, ids)

    def scan(self, text: str) -> set[int]:
        return self.scan_bytes(text.encode("ascii"))

    def scan_bytes(self, data: bytes) -> set[int]:
        hits: set[int] = set(self._fallback) if self._fallback else set()
        if self._database is None:
            return hits
        scratch = getattr(self._local, "scratch", None)
        if scratch is None:
            scratch = self._scratch_template.clone()  # type: ignore[union-attr]
            self._local.scratch = scratch

        self._database.scan(data, match_event_handler=_on_match, context=hits, scratch=scratch)
        return hits


def prefilter_expression(detector: Detector) -> tuple[str, bool]:
    """The Hyperscan expression for a detector and whether it is caseless: its pattern with
    loosened repeats; for a detector that needs a context word, that word first, then at most
    ``context_window`` characters, then the pattern -- still a superset of what can match, and
    it keeps digit-only shapes (PESEL, BSN, IMEI ...) from flagging every number."""
    pattern = relax_repeats(detector.pattern)
    if not detector.context:
        return pattern, detector.ignore_case
    if pattern.startswith("(?i)"):
        pattern = pattern[4:]
    words = "|".join(re.escape(word) for word in detector.context)
    return f"(?:{words})[\\s\\S]{{0,{detector.context_window}}}(?:{pattern})", True


_REPEAT = re.compile(r"(?<!\\)\{(\d+)(?:,(\d*))?\}")
# Why 16: a lower bound of N makes Hyperscan track N positions of every state that can start
# the repeat; at 48 a 1 MB line of zero-width or keyword-dense text took 0.8 s in the combined
# scan, at 16 it takes 28 ms (benchmarks/redaction_large_lines.py). The prefilter only needs a
# superset; Python's regex still checks the real bounds.
_MAX_PREFILTER_REPEAT = 16


def relax_repeats(pattern: str) -> str:
    """Loosen counted repeats for the Hyperscan prefilter (``{36,255}`` -> ``{36,}``,
    ``{100,400}`` -> ``{16,}``).

    Large bounded repeats make Hyperscan's automata big and its scans slow; a looser
    pattern matches a superset, which is all a prefilter needs (Python's regex decides)."""

    def loosen(match: re.Match[str]) -> str:
        low = min(int(match.group(1)), _MAX_PREFILTER_REPEAT)
        return f"{{{low},}}"

    return _REPEAT.sub(loosen, pattern)


def cache_dir() -> Path | None:
    """Where compiled Hyperscan databases are kept between runs (``AIBOS_CACHE_DIR``, else
    ``$XDG_CACHE_HOME/aibos-otel``, else ``~/.cache/aibos-otel``); ``AIBOS_CACHE_DIR=off``
    disables the cache."""
    configured = os.environ.get("AIBOS_CACHE_DIR")
    if configured == "off":
        return None
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "aibos-otel"


def _cache_key(
    hyperscan: Any, expressions: list[bytes], ids: list[int], flags: list[int], fallback: list[int]
) -> str:
    digest = hashlib.sha256(str(getattr(hyperscan, "__version__", "")).encode())
    for expression, id_, flag in zip(expressions, ids, flags, strict=True):
        digest.update(b"%d\0%d\0" % (id_, flag) + expression + b"\0")
    digest.update(repr(fallback).encode())
    return digest.hexdigest()[:32]


def _load_cached(hyperscan: Any, directory: Path | None, key: str) -> tuple[Any, list[int], list[int]] | None:
    if directory is None:
        return None
    try:
        meta = json.loads((directory / f"hs-{key}.json").read_text(encoding="utf-8"))
        blob = (directory / f"hs-{key}.db").read_bytes()
        database = hyperscan.loadb(blob, hyperscan.HS_MODE_BLOCK) if blob else None
    except Exception:  # missing, stale, truncated or from another platform: compile instead
        return None
    with contextlib.suppress(OSError):
        os.utime(directory / f"hs-{key}.db")  # recently used: kept by the pruning in _store_cached
    return database, list(meta["fallback"]), list(meta["ids"])


def _store_cached(
    hyperscan: Any, directory: Path | None, key: str, database: Any, *, fallback: list[int], ids: list[int]
) -> None:
    if directory is None:
        return
    try:
        directory.mkdir(parents=True, exist_ok=True)
        blob = hyperscan.dumpb(database) if database is not None else b""
        for suffix, data in (("db", blob), ("json", json.dumps({"fallback": fallback, "ids": ids}).encode())):
            final = directory / f"hs-{key}.{suffix}"
            temporary = final.with_name(f"{final.name}.{os.getpid()}.tmp")
            temporary.write_bytes(data)
            os.replace(temporary, final)  # atomic: a concurrent reader sees old or new, never half
        _prune_cache(directory)
    except OSError:
        pass  # a read-only home only costs the compile time next start


CACHE_KEEP = 32
"""Compiled databases kept (least recently used go first): one per distinct detector set, so a
process with custom catalogues, or a test suite, would otherwise grow the cache without end."""


def _prune_cache(directory: Path, keep: int | None = None) -> None:
    keep = CACHE_KEEP if keep is None else keep
    entries = []
    for db in directory.glob("hs-*.db"):
        with contextlib.suppress(OSError):  # removed meanwhile by another process
            entries.append((db.stat().st_mtime, db))
    entries.sort(reverse=True)
    for _, db in entries[keep:]:
        for stale in (db, db.with_suffix(".json")):
            with contextlib.suppress(OSError):
                stale.unlink()


def _on_match(id_: int, _from: int, _to: int, _flags: int, hits: set[int]) -> None:
    hits.add(id_)


def _compile(hyperscan: Any, expressions: list[bytes], ids: list[int], flags: list[int]) -> Any:
    if not expressions:
        return None
    try:
        database = hyperscan.Database()
        database.compile(expressions=expressions, ids=ids, elements=len(expressions), flags=flags)
    except Exception:  # hyperscan.error: unsupported construct or pattern too large
        return None
    return database
