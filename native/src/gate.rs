//! The redaction engine's clean gate: the first pass for a short ASCII text, with the GIL held --
//! which detectors may match it (none: the text is proven clean).
//!
//! Why it exists: the `hyperscan` wheel releases the GIL around every scan. On the logging
//! thread that is one release per record, and a worker thread that wants the GIL (the batch
//! exporter) is woken by each release, loses the race to take it back, and sleeps again:
//! measured at 10-14 us of CPU per log call, more than the rest of the redaction stage
//! (benchmarks/sdk_overhead.py). Most records are clean and hold none of the catalogue's
//! keywords, so a necessary condition checked here -- with the GIL held -- answers them without
//! calling Hyperscan at all; anything it cannot prove clean goes to the first pass as before.
//!
//! A detector can match only if it runs -- it needs no keyword, or one of its keywords occurs
//! (ASCII case-insensitively; the scanner's keyword rule) -- and all of its shape gates hold:
//! the text is at least its shortest match long, has at least its minimum of ASCII digits, has
//! an upper-case letter if every match has one, holds every character every match holds, and
//! has a run of at least `run_min` characters of its `run_class` (the gates the Go processor uses, rendered from the
//! same Python patterns). A detector that runs and fits then has its superset regex tried (a
//! rewrite of its pattern that matches wherever it can: aibos_otel/redaction/superset.py); the
//! ones left are the candidates.
//!
//! Most log lines let the same few dozen detectors run: those without keywords, and those with a
//! one-character keyword (`.`, `:`, `-`) -- the "common" detectors. Their supersets are one lazy
//! DFA, one pass over the text for all of them (0.3-1 us on a 160-byte line, where one regex
//! each cost 0.3-0.9 us apiece and some, judged by the regex crate's literal heuristics, up to
//! 20 us); it runs first and only the detectors it names have their run gate counted.
//!
//! A lazy DFA builds its states as the text needs them, and a hostile text (random printable
//! bytes) needs a new one at nearly every byte: 1 us a byte, 5 ms for 4 KB, where Hyperscan takes
//! 0.1 ms. So the gate walks the DFA itself and gives up -- declines the text, which then takes
//! the Hyperscan pass -- once a text has needed more than `NEW_STATE_BUDGET` slow steps. The
//! states built stay cached: ordinary lines of a new shape are judged after a few declines.

use crate::words::words_automaton;
use aho_corasick::AhoCorasick;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use regex::bytes::{Regex, RegexBuilder};
use regex_automata::hybrid::dfa::{Cache, DFA};
use regex_automata::nfa::thompson;
use regex_automata::util::syntax;
use regex_automata::{Input, MatchKind as SetMatchKind};
use std::sync::Mutex;

/// Slow steps (a state built, or a step out of a match state) one text may take in the common
/// set's DFA before the gate declines it. An ordinary line on a warm cache takes none.
const NEW_STATE_BUDGET: usize = 32;

/// A common detector whose run gate asks for this long a run (a 44-character token, a 27-character
/// Discord id) stays out of the set: the gate rules it out on most lines by itself, and its
/// counted repeat, combined with the set's others, multiplies the DFA's states on every hex id
/// (a trace-id line needed 25 new states a line cold, and 3.6 still after 2 000 lines; 6 and 0.1
/// without them).
const SET_RUN_MIN_LIMIT: usize = 16;

/// One detector's shape gates.
struct Shape {
    min_width: usize,
    min_digits: usize,
    needs_upper: bool,
    required: Vec<u8>,
    run_class: [bool; 128],
    run_min: usize,
}

impl Shape {
    fn may_match(&self, text: &[u8], features: &Features) -> bool {
        self.counts_fit(text, features) && self.run_fits(text)
    }

    /// The gates read off the text's counts (length, digits, case, characters present): cheap.
    fn counts_fit(&self, text: &[u8], features: &Features) -> bool {
        text.len() >= self.min_width
            && features.digits >= self.min_digits
            && (!self.needs_upper || features.has_upper)
            && self.required.iter().all(|&c| features.present[c as usize])
    }

    /// The run gate: one pass over the text.
    fn run_fits(&self, text: &[u8]) -> bool {
        has_run(text, &self.run_class, self.run_min)
    }
}

/// Whether `text` holds a run of at least `min` bytes of `class` (ASCII; other bytes are in no
/// class). A run that long covers one of every `min`-th positions, so only those are probed and
/// a probe in the class is grown both ways: about `len / min` probes on a line without such a
/// run, where a byte-by-byte scan took 60 % of the gate's own time.
fn has_run(text: &[u8], class: &[bool; 128], min: usize) -> bool {
    let member = |byte: u8| class.get(usize::from(byte)).copied().unwrap_or(false);
    if min == 0 {
        return true;
    }
    let mut probe = min - 1;
    while probe < text.len() {
        if !member(text[probe]) {
            probe += min;
            continue;
        }
        let mut start = probe;
        while start > 0 && member(text[start - 1]) && probe + 1 - start < min {
            start -= 1;
        }
        let mut end = probe + 1;
        while end < text.len() && end - start < min && member(text[end]) {
            end += 1;
        }
        if end - start >= min {
            return true;
        }
        // text[end] is outside the class (or the text ends): a long enough run starts after it
        // and so covers end + min, or a later probe.
        probe = end + min;
    }
    false
}

/// `CleanGate(keywords, owners, shapes, always, supersets, max_checks)`: `keywords` are
/// lower-case ASCII words and `owners[k]` the indexes (into `shapes`) of the detectors keyword
/// `k` lets run; `always` are the indexes of detectors that run without a keyword. Each shape is
/// `(min_width, min_digits, needs_upper, required_chars, run_class, run_min)`; all zeros and
/// empty strings pass always. `supersets[i]` is a regex (Rust syntax, bytes, ASCII) that matches
/// wherever detector `i` can (or `None`); `max_checks` bounds how many of the regexes of detectors
/// outside the common set run on one text.
#[pyclass(frozen, module = "aibos_otel_native")]
pub struct CleanGate {
    /// The keywords longer than one character (ASCII case-insensitive); `owners[k]` are the
    /// detectors keyword `k` lets run.
    keywords: Option<AhoCorasick>,
    owners: Vec<Vec<usize>>,
    /// One-character keywords (lower-case) and the detectors each lets run. They occur in most
    /// lines: read off the text's character table, not counted as automaton matches one by one.
    char_owners: Vec<(u8, Vec<usize>)>,
    shapes: Vec<Shape>,
    always: Vec<usize>,
    supersets: Vec<Option<Superset>>,
    /// The common detectors' supersets (see the module docs) as one DFA; its pattern `k` is
    /// detector `set_members[k]`, and `in_set[i]` says whether detector `i` is one of them.
    common: Option<LazySet>,
    set_members: Vec<usize>,
    in_set: Vec<bool>,
    unchecked: Vec<usize>,
    max_checks: usize,
}

type ShapeSpec = (usize, usize, bool, String, String, usize);

fn ascii_set(chars: &str, what: &str) -> PyResult<[bool; 128]> {
    let mut set = [false; 128];
    for byte in chars.bytes() {
        if !byte.is_ascii() {
            return Err(PyValueError::new_err(format!("{what} must be ASCII")));
        }
        set[byte as usize] = true;
    }
    Ok(set)
}

fn parse_shape(
    (min_width, min_digits, needs_upper, required, run_class, run_min): ShapeSpec,
) -> PyResult<Shape> {
    let required_set = ascii_set(&required, "required_chars")?;
    Ok(Shape {
        min_width,
        min_digits,
        needs_upper,
        required: (0u8..128).filter(|&c| required_set[c as usize]).collect(),
        run_class: ascii_set(&run_class, "run_class")?,
        run_min,
    })
}

/// What the shapes are checked against, worked out once per text.
struct Features {
    digits: usize,
    has_upper: bool,
    present: [bool; 128],
}

impl Features {
    fn of(bytes: &[u8]) -> Self {
        let mut features = Features {
            digits: 0,
            has_upper: false,
            present: [false; 128],
        };
        for &byte in bytes {
            features.digits += usize::from(byte.is_ascii_digit());
            features.has_upper |= byte.is_ascii_uppercase();
            // A non-ASCII byte (refine is documented for ASCII texts, but must not panic on
            // others) is in no class and no keyword: the table has ASCII slots only.
            if let Some(slot) = features
                .present
                .get_mut(usize::from(byte.to_ascii_lowercase()))
            {
                *slot = true;
            }
        }
        features
    }
}

#[pymethods]
impl CleanGate {
    #[new]
    #[pyo3(signature = (keywords, owners, shapes, always, supersets=Vec::new(), max_checks=32))]
    fn new(
        keywords: Vec<String>,
        owners: Vec<Vec<usize>>,
        shapes: Vec<ShapeSpec>,
        always: Vec<usize>,
        supersets: Vec<Option<String>>,
        max_checks: usize,
    ) -> PyResult<Self> {
        if keywords.iter().any(|k| k.is_empty() || !k.is_ascii()) {
            return Err(PyValueError::new_err("keywords must be non-empty ASCII"));
        }
        if owners.len() != keywords.len() {
            return Err(PyValueError::new_err("one owners list per keyword"));
        }
        if !supersets.is_empty() && supersets.len() != shapes.len() {
            return Err(PyValueError::new_err("one superset (or None) per shape"));
        }
        let shapes = shapes
            .into_iter()
            .map(parse_shape)
            .collect::<PyResult<Vec<_>>>()?;
        if owners
            .iter()
            .flatten()
            .chain(&always)
            .any(|&i| i >= shapes.len())
        {
            return Err(PyValueError::new_err(
                "a detector index out of range of shapes",
            ));
        }
        let (words, owners, char_owners) = split_keywords(keywords, owners);
        let automaton = if words.is_empty() {
            None
        } else {
            Some(words_automaton(&words)?)
        };
        let compiled: Vec<Option<Superset>> = supersets
            .iter()
            .map(|p| p.as_deref().and_then(compile))
            .collect();
        // A superset that does not compile (or was not given) leaves its detector checked by the
        // shape gates alone: a text that fits them is a candidate, as in the first pass.
        let unchecked = (0..compiled.len())
            .filter(|&i| supersets[i].is_some() && compiled[i].is_none())
            .collect();
        let mut common_members: Vec<usize> = always
            .iter()
            .chain(char_owners.iter().flat_map(|(_, owners)| owners))
            .copied()
            .filter(|&i| compiled.get(i).is_some_and(Option::is_some))
            .filter(|&i| shapes[i].run_min < SET_RUN_MIN_LIMIT)
            .collect();
        common_members.sort_unstable();
        common_members.dedup();
        let common_patterns: Vec<&str> = common_members
            .iter()
            .map(|&i| supersets[i].as_deref().unwrap_or(""))
            .collect();
        let common = LazySet::build(&common_patterns, SET_CACHE_BYTES);
        let set_members = if common.is_some() {
            common_members
        } else {
            Vec::new()
        };
        let mut in_set = vec![false; shapes.len()];
        for &index in &set_members {
            in_set[index] = true;
        }
        Ok(CleanGate {
            keywords: automaton,
            owners,
            char_owners,
            shapes,
            always,
            supersets: compiled,
            common,
            set_members,
            in_set,
            unchecked,
            max_checks,
        })
    }

    /// Indexes of the supersets given that did not compile (their detectors get no regex check).
    #[getter]
    fn unchecked(&self) -> Vec<usize> {
        self.unchecked.clone()
    }

    /// The first pass for a short ASCII text, with the GIL held: the sorted indexes of the
    /// detectors that may match `text` -- they run on it (no keyword needed, or a keyword of
    /// theirs occurs), fit their shape, and their superset regex matches. An empty list proves
    /// the text clean. `None` when the text is not ASCII, or more than `max_checks` detectors
    /// outside the common set fit their shapes (the caller's first pass is cheaper for such texts),
    /// or a DFA walk needed more new states than its budget.
    fn first_pass(&self, text: &str) -> Option<Vec<usize>> {
        let bytes = text.as_bytes();
        if !bytes.is_ascii() {
            return None;
        }
        let features = Features::of(bytes);
        let runs = self.running(bytes, &features);
        let mut found: Vec<usize> = Vec::new();
        let mut set_needed = false;
        for (index, _) in runs.iter().enumerate().filter(|(_, &run)| run) {
            if self.in_set[index] {
                // Its run gate waits until the set names it (most common detectors never are).
                set_needed |= self.shapes[index].counts_fit(bytes, &features);
            } else if self.shapes[index].may_match(bytes, &features) {
                found.push(index);
            }
        }
        if found.len() > self.max_checks {
            return None;
        }
        let mut over_budget = false;
        found.retain(|&index| {
            self.superset_matches(index, bytes).unwrap_or_else(|| {
                over_budget = true;
                true
            })
        });
        if over_budget {
            return None; // declined: the caller's first pass judges it
        }
        if let (true, Some(set)) = (set_needed, &self.common) {
            let matched = set.walk(bytes, false)?; // over budget: declined
            for (pattern, _) in matched.iter().enumerate().filter(|(_, &hit)| hit) {
                let index = self.set_members[pattern];
                if runs[index] && self.shapes[index].may_match(bytes, &features) {
                    found.push(index);
                }
            }
        }
        found.sort_unstable();
        Some(found)
    }

    /// The candidates of another first pass (Hyperscan's, which runs on texts of any length)
    /// narrowed to those that fit their shape gates and whose superset regex matches `text`;
    /// an index past the shapes (such as the key layer's trigger) is kept. Both passes report
    /// a superset of what can match, so their intersection does too. `text` should be ASCII
    /// (the shapes and regexes judge bytes).
    fn refine(&self, text: &str, candidates: Vec<usize>) -> Vec<usize> {
        let bytes = text.as_bytes();
        let features = Features::of(bytes);
        candidates
            .into_iter()
            .filter(|&index| {
                let Some(shape) = self.shapes.get(index) else {
                    return true;
                };
                shape.may_match(bytes, &features)
                    && self.superset_matches(index, bytes).unwrap_or(true)
            })
            .collect()
    }
}

impl CleanGate {
    /// Which detectors run on the text: no keyword needed, or a keyword of theirs occurs.
    fn running(&self, bytes: &[u8], features: &Features) -> Vec<bool> {
        let mut runs = vec![false; self.shapes.len()];
        for &index in &self.always {
            runs[index] = true;
        }
        for (char, owners) in &self.char_owners {
            if features.present[*char as usize] {
                for &index in owners {
                    runs[index] = true;
                }
            }
        }
        if let Some(automaton) = &self.keywords {
            for found in automaton.find_overlapping_iter(bytes) {
                for &index in &self.owners[found.pattern().as_usize()] {
                    runs[index] = true;
                }
            }
        }
        runs
    }

    /// Whether detector `index`'s own superset regex matches (true when it has none); `None`
    /// when its walk ran out of budget.
    fn superset_matches(&self, index: usize, bytes: &[u8]) -> Option<bool> {
        match self.supersets.get(index) {
            Some(Some(superset)) => superset.is_match(bytes),
            _ => Some(true),
        }
    }
}

type KeywordTables = (Vec<String>, Vec<Vec<usize>>, Vec<(u8, Vec<usize>)>);

/// The keywords longer than one character with their owners, and the one-character keywords
/// (lower-cased, one entry per character) with theirs.
fn split_keywords(keywords: Vec<String>, owners: Vec<Vec<usize>>) -> KeywordTables {
    let mut words = Vec::new();
    let mut word_owners = Vec::new();
    let mut chars: Vec<(u8, Vec<usize>)> = Vec::new();
    for (word, owned) in keywords.into_iter().zip(owners) {
        if let [byte] = word.as_bytes() {
            let byte = byte.to_ascii_lowercase();
            match chars.iter_mut().find(|(c, _)| *c == byte) {
                Some((_, list)) => list.extend(owned),
                None => chars.push((byte, owned)),
            }
        } else {
            words.push(word);
            word_owners.push(owned);
        }
    }
    (words, word_owners, chars)
}

/// Supersets as one lazy DFA (every pattern's matches reported) and the cache of the states it
/// has built. The GIL is held while the gate runs, so the lock is never contended; a second
/// cache is made if it ever is.
struct LazySet {
    dfa: DFA,
    cache: Mutex<Cache>,
}

/// The lazy DFA cache bound for the common set, and for one detector's superset (about 200 of
/// them). Memory grows only as states are built (32 at most a text), and an ordinary line of a
/// known shape builds none: 3 000 hostile 4 KB texts through every DFA grew the process by 2 MB.
/// 64 KB holds a few hundred states of one superset; at 256 KB a hostile text cost twice as much.
const SET_CACHE_BYTES: usize = 2 << 20;
const SINGLE_CACHE_BYTES: usize = 64 << 10;

impl LazySet {
    /// The DFA for `patterns` (`None` when empty or it does not build).
    fn build(patterns: &[&str], cache_bytes: usize) -> Option<LazySet> {
        if patterns.is_empty() {
            return None;
        }
        let dfa = DFA::builder()
            .syntax(syntax::Config::new().unicode(false).utf8(false))
            .thompson(
                thompson::Config::new()
                    .utf8(false)
                    .nfa_size_limit(Some(32 << 20)),
            )
            .configure(
                DFA::config()
                    .match_kind(SetMatchKind::All)
                    .cache_capacity(cache_bytes),
            )
            .build_many(patterns)
            .ok()?;
        let cache = Mutex::new(dfa.create_cache());
        Some(LazySet { dfa, cache })
    }

    /// Which patterns match somewhere in `bytes` (with `first_only`, stops at the first match);
    /// `None` when the walk needed more than `NEW_STATE_BUDGET` slow steps (or gave up).
    fn walk(&self, bytes: &[u8], first_only: bool) -> Option<Vec<bool>> {
        let mut own_cache;
        let mut guard = self.cache.try_lock().ok();
        let cache: &mut Cache = match guard.as_deref_mut() {
            Some(cache) => cache,
            None => {
                own_cache = self.dfa.create_cache();
                &mut own_cache
            }
        };
        let dfa = &self.dfa;
        let mut hits = vec![false; dfa.pattern_len()];
        let mut slow_steps = 0;
        let mut sid = dfa.start_state_forward(cache, &Input::new(bytes)).ok()?;
        for &byte in bytes {
            // The fast step: an untagged state whose transition on this byte is built already.
            let cached = if sid.is_tagged() {
                None
            } else {
                Some(dfa.next_state_untagged(cache, sid, byte)).filter(|next| !next.is_unknown())
            };
            sid = match cached {
                Some(next) => next,
                None => {
                    slow_steps += 1;
                    if slow_steps > NEW_STATE_BUDGET {
                        return None;
                    }
                    dfa.next_state(cache, sid, byte).ok()?
                }
            };
            if sid.is_match() {
                record(dfa, cache, sid, &mut hits);
                if first_only {
                    return Some(hits);
                }
            } else if sid.is_dead() {
                return Some(hits); // no pattern can match from here on
            } else if sid.is_quit() {
                return None;
            }
        }
        sid = dfa.next_eoi_state(cache, sid).ok()?;
        if sid.is_match() {
            record(dfa, cache, sid, &mut hits);
        }
        Some(hits)
    }
}

/// One detector's superset: a lazy DFA walked with the budget, or, for a pattern the DFA cannot
/// take, the regex crate's own engine (linear time, no budget).
enum Superset {
    Lazy(Box<LazySet>),
    Meta(Regex),
}

impl Superset {
    /// Whether it matches somewhere in `bytes`; `None` when the walk ran out of budget.
    fn is_match(&self, bytes: &[u8]) -> Option<bool> {
        match self {
            // The regex crate's own choice of strategy for one pattern cost up to 9 us on a
            // 160-byte line with hex ids (its literal heuristics), against 0.3 us for the walk.
            Superset::Lazy(set) => set.walk(bytes, true).map(|hits| hits[0]),
            Superset::Meta(regex) => Some(regex.is_match(bytes)),
        }
    }
}

/// Marks the patterns a match state reports (matches are reported one byte late, as a DFA does).
fn record(dfa: &DFA, cache: &Cache, sid: regex_automata::hybrid::LazyStateID, hits: &mut [bool]) {
    for index in 0..dfa.match_len(cache, sid) {
        hits[dfa.match_pattern(cache, sid, index).as_usize()] = true;
    }
}

/// A superset regex, for bytes with ASCII classes: a lazy DFA, else the regex crate's engine
/// (`None`: the pattern does not compile at all).
fn compile(pattern: &str) -> Option<Superset> {
    if let Some(set) = LazySet::build(&[pattern], SINGLE_CACHE_BYTES) {
        return Some(Superset::Lazy(Box::new(set)));
    }
    RegexBuilder::new(pattern)
        .unicode(false)
        .size_limit(8 << 20)
        .dfa_size_limit(256 << 10)
        .build()
        .ok()
        .map(Superset::Meta)
}

#[cfg(test)]
mod tests {
    use super::has_run;

    /// The probing agrees with a byte-by-byte count on every short text over a small alphabet.
    #[test]
    fn has_run_agrees_with_counting() {
        let mut class = [false; 128];
        class[usize::from(b'a')] = true;
        for length in 0..=10u32 {
            for bits in 0..(1u32 << length) {
                let text: Vec<u8> = (0..length)
                    .map(|i| if bits >> i & 1 == 1 { b'a' } else { b'b' })
                    .collect();
                let mut longest = 0;
                let mut run = 0;
                for &byte in &text {
                    run = if byte == b'a' { run + 1 } else { 0 };
                    longest = longest.max(run);
                }
                for min in 0..=11 {
                    assert_eq!(
                        has_run(&text, &class, min),
                        longest >= min,
                        "{text:?} {min}"
                    );
                }
            }
        }
        assert!(!has_run("\u{e9}\u{e9}".as_bytes(), &[true; 128], 1)); // non-ASCII bytes: no class
    }
}
