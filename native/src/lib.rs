//! The aibos monitor's hot path over OTLP logs, in one pass over the request bytes (and, in
//! `gate` and `words`, the redaction engine's clean gate and word starts).
//!
//! The Python ingest path has already decoded (and so validated) the request with upb; this
//! module decodes the same bytes into a *partial view* (prost skips every field the view does
//! not name) and returns, per scope, the record indices grouped by severity number, the records
//! that carry `alert.*` or `exception.*` attributes, the count of records with invalid ids, and
//! the batch's latency histogram. Python then touches only the records that need a step of
//! their own (a rule feed, an error group, an alert); the rest are counted here.

mod gate;
mod keys;
mod words;

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyTuple};

// Why a walker over the wire format and not prost-derived view structs: decoding into structs
// allocates for every attribute key and id (about ten allocations per record) and measured
// 355 ns per record, as much as the Python it replaces; this walker borrows slices of the
// request and measured about a tenth of that. The wire format is the protobuf encoding spec
// (varints, 64/32-bit fixed, length-delimited); upb has validated the request before this runs,
// so anything unexpected here is reported as an error and Python takes its own path.

const WIRE_VARINT: u64 = 0;
const WIRE_FIXED64: u64 = 1;
const WIRE_LEN: u64 = 2;
const WIRE_FIXED32: u64 = 5;

#[derive(Debug)]
struct Malformed(&'static str);

/// A cursor over one message's bytes.
struct Fields<'a> {
    buf: &'a [u8],
}

/// One field: its number and its payload.
enum Value<'a> {
    Varint(u64),
    Fixed64(u64),
    Bytes(&'a [u8]),
    Other,
}

impl<'a> Fields<'a> {
    fn new(buf: &'a [u8]) -> Self {
        Fields { buf }
    }

    fn varint(&mut self) -> Result<u64, Malformed> {
        if let Some((&first, rest)) = self.buf.split_first() {
            if first < 0x80 {
                // one byte: tags, lengths and small values, nearly every varint in OTLP
                self.buf = rest;
                return Ok(u64::from(first));
            }
        }
        let mut value: u64 = 0;
        for (i, byte) in self.buf.iter().enumerate().take(10) {
            value |= u64::from(byte & 0x7f) << (7 * i);
            if byte & 0x80 == 0 {
                self.buf = &self.buf[i + 1..];
                return Ok(value);
            }
        }
        Err(Malformed("bad varint"))
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], Malformed> {
        if n > self.buf.len() {
            return Err(Malformed("field runs past the end of its message"));
        }
        let (head, tail) = self.buf.split_at(n);
        self.buf = tail;
        Ok(head)
    }

    /// The next field, or `None` at the end of the message.
    fn next_field(&mut self) -> Result<Option<(u64, Value<'a>)>, Malformed> {
        if self.buf.is_empty() {
            return Ok(None);
        }
        let key = self.varint()?;
        let (number, wire) = (key >> 3, key & 7);
        let value = match wire {
            WIRE_VARINT => Value::Varint(self.varint()?),
            WIRE_FIXED64 => {
                let b = self.take(8)?;
                Value::Fixed64(u64::from_le_bytes(
                    b.try_into().map_err(|_| Malformed("fixed64"))?,
                ))
            }
            WIRE_LEN => {
                let n = usize::try_from(self.varint()?).map_err(|_| Malformed("length"))?;
                Value::Bytes(self.take(n)?)
            }
            WIRE_FIXED32 => {
                self.take(4)?;
                Value::Other
            }
            _ => return Err(Malformed("group or unknown wire type")),
        };
        Ok(Some((number, value)))
    }
}

/// The `exception.*` attributes the monitor reads, in this order.
const EXCEPTION_NAMES: [&[u8]; 4] = [b"type", b"message", b"stacktrace", b"fingerprint"];

/// What the scan needs of one `LogRecord`.
#[derive(Default)]
struct Record<'a> {
    time: u64,
    observed: u64,
    severity: i64,
    ids_ok: bool,
    alert: bool,
    exception: bool,
    /// `exception.type`, `.message`, `.stacktrace`, `.fingerprint` when each is a plain string
    exception_text: [&'a [u8]; 4],
    /// false when one of them is not a plain string value: Python reads the attributes itself
    exception_plain: bool,
}

// A field with a known number but another wire type is an unknown field to protobuf decoders
// (upb keeps it as such); the arms below therefore ignore it, as upb does.
fn read_record(buf: &[u8]) -> Result<Record<'_>, Malformed> {
    let mut record = Record {
        ids_ok: true,
        exception_plain: true,
        ..Record::default()
    };
    let mut fields = Fields::new(buf);
    while let Some((number, value)) = fields.next_field()? {
        match (number, value) {
            (1, Value::Fixed64(v)) => record.time = v,
            (11, Value::Fixed64(v)) => record.observed = v,
            // int32 enum: negative values arrive as 10-byte varints of the sign-extended value
            (2, Value::Varint(v)) => record.severity = i64::from(v as i32),
            (9, Value::Bytes(b)) => record.ids_ok &= matches!(b.len(), 0 | 16),
            (10, Value::Bytes(b)) => record.ids_ok &= matches!(b.len(), 0 | 8),
            (6, Value::Bytes(kv)) => {
                let (key, value) = attribute(kv)?;
                record.alert |= key.starts_with(b"alert.");
                if let Some(name) = key.strip_prefix(b"exception.") {
                    record.exception = true;
                    if let Some(slot) = EXCEPTION_NAMES.iter().position(|n| *n == name) {
                        match value.map(string_value).transpose()?.flatten() {
                            Some(text) => record.exception_text[slot] = text,
                            None => record.exception_plain = false,
                        }
                    }
                }
            }
            _ => {}
        }
    }
    Ok(record)
}

/// A `KeyValue`'s key and value bytes (fields 1 and 2; the last of each wins, as in protobuf).
fn attribute(kv: &[u8]) -> Result<(&[u8], Option<&[u8]>), Malformed> {
    // Encoders write the key first and short keys take a one-byte length: read it directly.
    if let [0x0a, len, rest @ ..] = kv {
        let len = usize::from(*len);
        if len < 0x80 && len <= rest.len() {
            // then nothing, or just the value (field 2): what encoders write; anything else
            // (a second key, unknown fields) takes the general path below
            let mut after = Fields::new(&rest[len..]);
            match after.next_field()? {
                None => return Ok((&rest[..len], None)),
                Some((2, Value::Bytes(v))) if after.buf.is_empty() => {
                    return Ok((&rest[..len], Some(v)))
                }
                _ => {}
            }
        }
    }
    let mut key: &[u8] = b"";
    let mut value = None;
    let mut fields = Fields::new(kv);
    while let Some((n, v)) = fields.next_field()? {
        match (n, v) {
            (1, Value::Bytes(k)) => key = k,
            (2, Value::Bytes(v)) => value = Some(v),
            _ => {}
        }
    }
    Ok((key, value))
}

/// An `AnyValue` holding only `string_value` (field 1): its bytes; anything else: `None`.
fn string_value(any: &[u8]) -> Result<Option<&[u8]>, Malformed> {
    let mut text = None;
    let mut fields = Fields::new(any);
    while let Some((n, v)) = fields.next_field()? {
        match (n, v) {
            (1, Value::Bytes(s)) => text = Some(s),
            _ => return Ok(None),
        }
    }
    Ok(text)
}

/// Each repeated message field `number` of `buf`, in order.
fn each_message<'a>(
    buf: &'a [u8],
    number: u64,
    mut f: impl FnMut(&'a [u8]) -> Result<(), Malformed>,
) -> Result<(), Malformed> {
    let mut fields = Fields::new(buf);
    while let Some((n, value)) = fields.next_field()? {
        if let (true, Value::Bytes(b)) = (n == number, value) {
            f(b)?; // with another wire type it is an unknown field to protobuf decoders: skipped
        }
    }
    Ok(())
}

/// Scan an `ExportLogsServiceRequest`.
///
/// Returns `(scopes, latency_buckets, latency_sum_ns)` where each scope is
/// `(resource_index, scope_index, by_severity, alert_indices, exceptions, rejected)`:
/// `by_severity` maps a severity number to the indices of its records with valid ids, in order;
/// `exceptions` maps the index of each record with `exception.*` attributes to its
/// `(type, message, stacktrace, fingerprint)` strings ("" when absent), or to `None` when one of
/// them is not a plain string value.
/// Latency is `receive_ns - (time or observed time)` for records with a timestamp, bucketed
/// like Python's `bisect_left(bounds, latency)`; zero or negative latency lands in bucket 0 and
/// adds nothing to the sum.
#[pyfunction]
fn scan_logs<'py>(
    py: Python<'py>,
    raw: &Bound<'py, PyBytes>,
    receive_ns: u64,
    bounds: Vec<u64>,
) -> PyResult<Bound<'py, PyTuple>> {
    let mut buckets = vec![0u64; bounds.len() + 1];
    let mut latency_sum: u128 = 0;
    type Exception<'a> = (usize, Option<[&'a [u8]; 4]>);
    // (resource, scope, record indices per severity, alerts, exceptions, rejected)
    type ScopeOut<'a> = (
        usize,
        usize,
        Vec<(i64, Vec<usize>)>,
        Vec<usize>,
        Vec<Exception<'a>>,
        usize,
    );
    let mut scopes_out: Vec<ScopeOut> = Vec::new();
    let mut r = 0usize;
    each_message(raw.as_bytes(), 1, |resource| {
        let mut s = 0usize;
        each_message(resource, 2, |scope| {
            let mut by_severity: Vec<(i64, Vec<usize>)> = Vec::new();
            let mut alerts: Vec<usize> = Vec::new();
            let mut exceptions: Vec<Exception> = Vec::new();
            let mut rejected = 0usize;
            let mut i = 0usize;
            each_message(scope, 2, |bytes| {
                let record = read_record(bytes)?;
                let index = i;
                i += 1;
                if !record.ids_ok {
                    rejected += 1;
                    return Ok(());
                }
                match by_severity.iter_mut().find(|(n, _)| *n == record.severity) {
                    Some((_, indices)) => indices.push(index),
                    None => by_severity.push((record.severity, vec![index])),
                }
                let ts = if record.time != 0 {
                    record.time
                } else {
                    record.observed
                };
                if ts != 0 {
                    if ts < receive_ns {
                        let latency = receive_ns - ts;
                        buckets[bounds.partition_point(|b| *b < latency)] += 1;
                        latency_sum += u128::from(latency);
                    } else {
                        buckets[0] += 1;
                    }
                }
                if record.alert {
                    alerts.push(index);
                }
                if record.exception {
                    exceptions.push((
                        index,
                        record.exception_plain.then_some(record.exception_text),
                    ));
                }
                Ok(())
            })?;
            scopes_out.push((r, s, by_severity, alerts, exceptions, rejected));
            s += 1;
            Ok(())
        })?;
        r += 1;
        Ok(())
    })
    .map_err(|Malformed(why)| {
        PyValueError::new_err(format!("not an ExportLogsServiceRequest: {why}"))
    })?;
    let scopes = PyList::empty(py);
    for (r, s, by_severity, alerts, exceptions, rejected) in scopes_out {
        let severities = PyDict::new(py);
        for (sev, indices) in by_severity {
            severities.set_item(sev, indices)?;
        }
        let texts = PyDict::new(py);
        for (index, text) in exceptions {
            // upb has checked these strings are UTF-8; a failure here falls back to Python's read
            let decoded = text.and_then(|t| {
                let mut out: [&str; 4] = [""; 4];
                for (slot, bytes) in out.iter_mut().zip(t) {
                    *slot = std::str::from_utf8(bytes).ok()?;
                }
                Some(out)
            });
            texts.set_item(index, decoded.map(|[a, b, c, d]| (a, b, c, d)))?;
        }
        scopes.append((r, s, severities, alerts, texts, rejected))?;
    }
    PyTuple::new(
        py,
        [
            scopes.into_any(),
            buckets.into_pyobject(py)?.into_any(),
            latency_sum.into_pyobject(py)?.into_any(),
        ],
    )
}

/// The module `aibos_otel_native`.
#[pymodule]
fn aibos_otel_native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(scan_logs, m)?)?;
    m.add_class::<gate::CleanGate>()?;
    m.add_class::<words::WordStarts>()?;
    m.add_class::<keys::KeyHits>()?;
    Ok(())
}
