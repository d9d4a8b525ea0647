//! The key layer's walk over an ASCII text: every keyword hit, the key around it, and -- for the
//! common `key=value` with a bare value -- the value, as `KeyValueFinder.find_spans` in
//! aibos_otel/redaction/keyvalue.py reads them.
//!
//! Why: on a keyword-dense line the Python loop cost about 2.6 us per hit (three regex calls,
//! slicing, trimming); a 1 MB line of `password=x token=y` has 105 000 hits. Here the text work
//! is done in one pass; Python keeps what needs its tables: the key-name rules, the allowlist,
//! the inert-value check and the other syntaxes (`_value_after`).

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, MatchKind};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

/// Longest key head and tail read around a keyword (keyvalue.MAX_KEY).
const MAX_KEY: usize = 64;
/// Longest bare value (keyvalue.MAX_VALUE).
const MAX_VALUE: usize = 1024;

/// `[A-Za-z0-9_.\-]`: the characters of a key.
fn is_key(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'_' | b'.' | b'-')
}

/// Python's `\s` on an ASCII str: space, \t \n \v \f \r and the separators \x1c-\x1f.
fn is_space(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t'..=b'\r' | 0x1c..=0x1f)
}

/// `[^\s;"'`]`: a bare value's characters.
fn is_bare(byte: u8) -> bool {
    !is_space(byte) && !matches!(byte, b';' | b'"' | b'\'' | b'`')
}

/// A bare value's first character: also none of `\ ( { [` (other syntaxes), nor `=` or `>`.
fn is_bare_first(byte: u8) -> bool {
    is_bare(byte) && !matches!(byte, b'\\' | b'(' | b'{' | b'[' | b'=' | b'>')
}

/// One keyword hit as Python continues it: the key `[start, end)` and, on the fast path, the
/// bare value `[value_start, value_end)`; `value_start` is -1 when Python's `_value_after`
/// must read the value (another syntax, a quoted key, a query string).
type Hit = (usize, usize, isize, isize);

/// `KeyHits(words)`: the key layer's keywords (lower-case ASCII).
#[pyclass(frozen, module = "aibos_otel_native")]
pub struct KeyHits {
    automaton: AhoCorasick,
}

#[pymethods]
impl KeyHits {
    #[new]
    fn new(words: Vec<String>) -> PyResult<Self> {
        let bad =
            |w: &String| w.is_empty() || !w.is_ascii() || w.bytes().any(|b| b.is_ascii_uppercase());
        if words.is_empty() || words.iter().any(bad) {
            return Err(PyValueError::new_err(
                "words must be non-empty lower-case ASCII",
            ));
        }
        let automaton = AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::LeftmostLongest)
            .kind(Some(AhoCorasickKind::DFA))
            .build(&words)
            .map_err(|e| PyValueError::new_err(format!("key automaton: {e}")))?;
        Ok(KeyHits { automaton })
    }

    /// Every keyword hit of the ASCII `text` that starts past the previous hit's key, in order.
    fn scan(&self, text: &str) -> PyResult<Vec<Hit>> {
        if !text.is_ascii() {
            return Err(PyValueError::new_err("KeyHits.scan takes ASCII text"));
        }
        Ok(scan(&self.automaton, text.as_bytes()))
    }
}

fn scan(automaton: &AhoCorasick, text: &[u8]) -> Vec<Hit> {
    let mut hits = Vec::new();
    let mut key_end = 0usize;
    for found in automaton.find_iter(text) {
        let mut start = found.start();
        if start < key_end {
            continue; // a second keyword inside the key already looked at
        }
        let floor = start.saturating_sub(MAX_KEY);
        while start > floor && is_key(text[start - 1]) {
            start -= 1;
        }
        let mut tail = found.end();
        let tail_limit = (found.end() + MAX_KEY).min(text.len());
        while tail < tail_limit && is_key(text[tail]) {
            tail += 1;
        }
        key_end = tail;
        let mut end = tail;
        while end > start && matches!(text[end - 1], b'.' | b'-') {
            end -= 1;
        }
        let key = &text[start..end];
        if key.iter().all(|b| matches!(b, b'-' | b'_' | b'.')) || text[..start].ends_with(b"${") {
            continue;
        }
        let quoted_or_query =
            start > 0 && matches!(text[start - 1], b'"' | b'\'' | b'`' | b'?' | b'&');
        let value = if end == tail && !quoted_or_query {
            bare_value(text, tail)
        } else {
            None
        };
        match value {
            Some((value_start, value_end)) => {
                hits.push((start, end, value_start as isize, value_end as isize))
            }
            None if end == tail && !quoted_or_query && bare_follows(text, tail) => {} // a value of trailers only, or a call
            None => hits.push((start, end, -1, -1)),
        }
    }
    hits
}

/// Whether `=` and a bare value follow the key at `tail` (the fast path applies).
fn bare_follows(text: &[u8], tail: usize) -> bool {
    tail + 1 < text.len() && text[tail] == b'=' && is_bare_first(text[tail + 1])
}

/// The bare value after `key=` at `tail`, trimmed of closing brackets and punctuation, if the
/// fast path applies and leaves a value that is not followed by `(` (a call).
fn bare_value(text: &[u8], tail: usize) -> Option<(usize, usize)> {
    if !bare_follows(text, tail) {
        return None;
    }
    let start = tail + 1;
    let limit = (start + MAX_VALUE).min(text.len());
    let mut end = start + 1;
    while end < limit && is_bare(text[end]) {
        end += 1;
    }
    while end > start
        && matches!(
            text[end - 1],
            b',' | b')' | b']' | b'}' | b'>' | b'.' | b':'
        )
    {
        end -= 1;
    }
    if end == start || text.get(end) == Some(&b'(') {
        return None;
    }
    Some((start, end))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hits(words: &[&str], text: &str) -> Vec<Hit> {
        let words: Vec<String> = words.iter().map(|w| w.to_string()).collect();
        let automaton = AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::LeftmostLongest)
            .build(&words)
            .unwrap();
        scan(&automaton, text.as_bytes())
    }

    #[test]
    fn bare_values_and_other_syntaxes() {
        assert_eq!(
            hits(&["password"], "db_password=s3cr3t, x"),
            vec![(0, 11, 12, 18)]
        );
        assert_eq!(hits(&["password"], "password: x"), vec![(0, 8, -1, -1)]);
        assert_eq!(hits(&["password"], "\"password\"=x"), vec![(1, 9, -1, -1)]);
        // "f(x" is inert (a call) to Python, which checks it; the walk only reads it.
        assert_eq!(hits(&["password"], "password=f(x)"), vec![(0, 8, 9, 12)]);
        assert_eq!(hits(&["password"], "password=),"), vec![]);
        assert_eq!(hits(&["password"], "${password}"), vec![]);
        assert_eq!(hits(&["token"], "token.=x"), vec![(0, 5, -1, -1)]);
    }
}
