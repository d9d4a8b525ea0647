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

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use regex::bytes::{Regex, RegexBuilder};

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
    fn may_match(
        &self,
        text: &[u8],
        digits: usize,
        has_upper: bool,
        present: &[bool; 128],
    ) -> bool {
        if text.len() < self.min_width
            || digits < self.min_digits
            || (self.needs_upper && !has_upper)
        {
            return false;
        }
        if !self.required.iter().all(|&c| present[c as usize]) {
            return false;
        }
        self.run_min == 0 || longest_run(text, &self.run_class, self.run_min) >= self.run_min
    }
}

/// The longest run of `class` bytes in `text`, or `enough` as soon as one that long is seen.
fn longest_run(text: &[u8], class: &[bool; 128], enough: usize) -> usize {
    let mut best = 0;
    let mut run = 0;
    for &byte in text {
        if class[byte as usize] {
            run += 1;
            if run >= enough {
                return run;
            }
        } else {
            best = best.max(run);
            run = 0;
        }
    }
    best.max(run)
}

/// `CleanGate(keywords, owners, shapes, always, supersets, max_checks)`: `keywords` are
/// lower-case ASCII words and `owners[k]` the indexes (into `shapes`) of the detectors keyword
/// `k` lets run; `always` are the indexes of detectors that run without a keyword. Each shape is
/// `(min_width, min_digits, needs_upper, required_chars, run_class, run_min)`; all zeros and
/// empty strings pass always. `supersets[i]` is a regex (Rust syntax, bytes, ASCII) that matches
/// wherever detector `i` can (or `None`); `max_checks` bounds how many run on one text.
#[pyclass(frozen, module = "aibos_otel_native")]
pub struct CleanGate {
    keywords: Option<AhoCorasick>,
    owners: Vec<Vec<usize>>,
    shapes: Vec<Shape>,
    always: Vec<usize>,
    supersets: Vec<Option<Regex>>,
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
            features.present[byte.to_ascii_lowercase() as usize] = true;
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
        let automaton = if keywords.is_empty() {
            None
        } else {
            Some(
                AhoCorasickBuilder::new()
                    .ascii_case_insensitive(true)
                    .match_kind(MatchKind::Standard)
                    .build(&keywords)
                    .map_err(|e| PyValueError::new_err(format!("keyword automaton: {e}")))?,
            )
        };
        let compiled: Vec<Option<Regex>> = supersets
            .iter()
            .map(|p| p.as_deref().and_then(compile))
            .collect();
        // A superset that does not compile (or was not given) leaves its detector checked by the
        // shape gates alone: a text that fits them is a candidate, as in the first pass.
        let unchecked = (0..compiled.len())
            .filter(|&i| supersets[i].is_some() && compiled[i].is_none())
            .collect();
        Ok(CleanGate {
            keywords: automaton,
            owners,
            shapes,
            always,
            supersets: compiled,
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
    /// fit their shapes (the caller's first pass is cheaper for such texts).
    fn first_pass(&self, text: &str) -> Option<Vec<usize>> {
        let bytes = text.as_bytes();
        if !bytes.is_ascii() {
            return None;
        }
        let features = Features::of(bytes);
        let mut fitting: Vec<usize> = Vec::new();
        let mut judged = vec![false; self.shapes.len()];
        let mut judge = |index: usize, fitting: &mut Vec<usize>| {
            if !judged[index] {
                judged[index] = true;
                if self.shapes[index].may_match(
                    bytes,
                    features.digits,
                    features.has_upper,
                    &features.present,
                ) {
                    fitting.push(index);
                }
            }
        };
        for &index in &self.always {
            judge(index, &mut fitting);
        }
        if let Some(automaton) = &self.keywords {
            for found in automaton.find_overlapping_iter(bytes) {
                for &index in &self.owners[found.pattern().as_usize()] {
                    judge(index, &mut fitting);
                }
            }
        }
        if fitting.len() > self.max_checks {
            return None;
        }
        fitting.retain(|&index| match self.supersets.get(index) {
            Some(Some(regex)) => regex.is_match(bytes),
            _ => true,
        });
        fitting.sort_unstable();
        Some(fitting)
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
                shape.may_match(
                    bytes,
                    features.digits,
                    features.has_upper,
                    &features.present,
                ) && match self.supersets.get(index) {
                    Some(Some(regex)) => regex.is_match(bytes),
                    _ => true,
                }
            })
            .collect()
    }
}

/// A superset regex, compiled for bytes with ASCII classes. Its lazy DFA cache is kept small:
/// there is one per detector and thread, and short texts need few states.
fn compile(pattern: &str) -> Option<Regex> {
    RegexBuilder::new(pattern)
        .unicode(false)
        .size_limit(8 << 20)
        .dfa_size_limit(256 << 10)
        .build()
        .ok()
}
