//! Where words start in a text: every position (overlapping matches too) at which one of a fixed
//! set of ASCII words begins, case-insensitively.
//!
//! Why: a detector whose matches all begin with one of its words (`secret-keyword-value`:
//! `(?i)\b(?:token|key|secret|...)`) is tried by Python's `re` at every position of a text,
//! since `re` skips ahead only to a case-sensitive literal: 6.3 us on a 100-character log line.
//! With the word starts from one Aho-Corasick pass, the redaction scanner tries the regex at
//! those few positions only (aibos_otel/redaction/anchors.py).

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, MatchKind};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

/// One automaton over ASCII `words`, case-insensitive, reporting overlapping matches (also the
/// clean gate's keyword automaton).
pub(crate) fn words_automaton(words: &[String]) -> PyResult<AhoCorasick> {
    AhoCorasickBuilder::new()
        .ascii_case_insensitive(true)
        .match_kind(MatchKind::Standard)
        .kind(Some(AhoCorasickKind::DFA))
        .build(words)
        .map_err(|e| PyValueError::new_err(format!("word automaton: {e}")))
}

/// `WordStarts(words)`: finds where any of `words` (non-empty ASCII) starts, ASCII
/// case-insensitively.
#[pyclass(frozen, module = "aibos_otel_native")]
pub struct WordStarts {
    automaton: AhoCorasick,
}

#[pymethods]
impl WordStarts {
    #[new]
    fn new(words: Vec<String>) -> PyResult<Self> {
        if words.is_empty() || words.iter().any(|w| w.is_empty() || !w.is_ascii()) {
            return Err(PyValueError::new_err("words must be non-empty ASCII"));
        }
        Ok(WordStarts {
            automaton: words_automaton(&words)?,
        })
    }

    /// The sorted, distinct byte offsets at which a word starts in `text` (for an ASCII text,
    /// also its character offsets).
    fn find(&self, text: &str) -> Vec<usize> {
        let mut starts: Vec<usize> = self
            .automaton
            .find_overlapping_iter(text.as_bytes())
            .map(|found| found.start())
            .collect();
        starts.sort_unstable();
        starts.dedup();
        starts
    }
}
