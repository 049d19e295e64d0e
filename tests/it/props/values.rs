//! Values for the XML-RPC and SOAP codecs.

use passlink::clock::days_from_civil;
use passlink::value::{Call, Value};
use passlink::xml::{self, Encoding};

use super::*;

/// The first and last second XML-RPC and `xsd:dateTime` can write with a four-digit year.
fn datetime_bounds() -> (i64, i64) {
    (
        days_from_civil(0, 1, 1) * 86_400,
        days_from_civil(10_000, 1, 1) * 86_400 - 1,
    )
}

fn any_int(rng: &mut Rng) -> i64 {
    match rng.below(6) {
        0 => rng.below(100) as i64 - 50,
        1 => rng.pick(&[
            0,
            i64::from(i32::MIN),
            i64::from(i32::MAX),
            i64::from(i32::MAX) + 1,
            i64::MIN,
            i64::MAX,
        ]),
        2 => rng.next_u64() as i64,
        _ => rng.next_u64() as i32 as i64,
    }
}

fn any_double(rng: &mut Rng) -> f64 {
    loop {
        let d = match rng.below(6) {
            0 => (rng.below(2001) as f64 - 1000.0) / 8.0,
            1 => rng.pick(&[
                0.0,
                -0.0,
                f64::INFINITY,
                f64::NEG_INFINITY,
                f64::MAX,
                f64::MIN_POSITIVE,
                5e-324,
                1e21,
                0.1,
                -12.214,
            ]),
            _ => f64::from_bits(rng.next_u64()),
        };
        if !d.is_nan() {
            return d;
        }
    }
}

fn any_datetime(rng: &mut Rng) -> i64 {
    let (lo, hi) = datetime_bounds();
    match rng.below(4) {
        0 => rng.pick(&[lo, hi, 0, -1, 951_782_400]),
        _ => lo + (rng.next_u64() % (hi - lo + 1) as u64) as i64,
    }
}

/// A random value tree at most `depth` containers deep; struct member names come from `name`.
pub(super) fn any_value(
    rng: &mut Rng,
    depth: usize,
    name: &mut dyn FnMut(&mut Rng) -> String,
) -> Value {
    if depth > 0 && rng.one_in(3) {
        let n = rng.below(5);
        return if rng.one_in(2) {
            Value::Array((0..n).map(|_| any_value(rng, depth - 1, name)).collect())
        } else {
            Value::Struct(
                (0..n)
                    .map(|_| (name(rng), any_value(rng, depth - 1, name)))
                    .collect(),
            )
        };
    }
    match rng.below(9) {
        0 => Value::Int(any_int(rng)),
        1 => Value::Bool(rng.one_in(2)),
        2 => Value::Double(any_double(rng)),
        3 => Value::DateTime(any_datetime(rng)),
        4 => {
            let n = rng.below(40);
            Value::Base64(rng.bytes(n))
        }
        5 => Value::Nil,
        _ => Value::String(any_string(rng, 24)),
    }
}

/// Struct member names for XML-RPC: anything.
pub(super) fn any_member_name(rng: &mut Rng) -> String {
    if rng.one_in(3) {
        plain_name(rng)
    } else {
        any_string(rng, 10)
    }
}

/// Maps every string and struct member name of `value` with `string` and `member`, and every
/// int with `int`.
pub(super) fn map_value(
    value: &Value,
    string: &dyn Fn(&str) -> String,
    member: &dyn Fn(&str) -> String,
    int: &dyn Fn(i64) -> Value,
) -> Value {
    match value {
        Value::String(s) => Value::String(string(s)),
        Value::Int(i) => int(*i),
        Value::Struct(members) => Value::Struct(
            members
                .iter()
                .map(|(n, v)| (member(n), map_value(v, string, member, int)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|v| map_value(v, string, member, int))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// What XML-RPC's encoder makes of `value`: illegal characters dropped from strings and member
/// names, and ints beyond 32 bits sent as doubles (as documented in `write_value`).
pub(super) fn xmlrpc_expected(value: &Value) -> Value {
    map_value(value, &legal, &legal, &|i| match i32::try_from(i) {
        Ok(_) => Value::Int(i),
        Err(_) => Value::Double(i as f64),
    })
}

/// What SOAP's encoder makes of `value`: illegal characters dropped from strings, and member
/// names turned into element names by `xml::element_name` (which the decoder does not undo).
pub(super) fn soap_expected(value: &Value) -> Value {
    map_value(
        value,
        &legal,
        &|n| xml::element_name(n).into_owned(),
        &Value::Int,
    )
}

/// Equality that counts NaN as equal to NaN (decoded inputs may hold one).
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Double(x), Value::Double(y)) => x == y || (x.is_nan() && y.is_nan()),
        (Value::Array(xs), Value::Array(ys)) => {
            xs.len() == ys.len() && xs.iter().zip(ys).all(|(x, y)| same(x, y))
        }
        (Value::Struct(xs), Value::Struct(ys)) => {
            xs.len() == ys.len()
                && xs
                    .iter()
                    .zip(ys)
                    .all(|((n, x), (m, y))| n == m && same(x, y))
        }
        _ => a == b,
    }
}

pub(super) fn assert_same(actual: &[Value], expected: &[Value], context: &str) {
    assert!(
        actual.len() == expected.len() && actual.iter().zip(expected).all(|(a, e)| same(a, e)),
        "{context}\n  decoded:  {actual:?}\n  expected: {expected:?}"
    );
}

pub(super) fn param_values(call: &Call) -> Vec<Value> {
    call.params.iter().map(|p| p.value.clone()).collect()
}

/// Whether every date in `value` has a four-digit year, which is all the encoders can write.
pub(super) fn dates_writable(value: &Value) -> bool {
    let (lo, hi) = datetime_bounds();
    match value {
        Value::DateTime(secs) => (lo..=hi).contains(secs),
        Value::Array(items) => items.iter().all(dates_writable),
        Value::Struct(members) => members.iter().all(|(_, v)| dates_writable(v)),
        _ => true,
    }
}

/// A date in one of the forms the decoders accept: classic XML-RPC or ISO 8601, with or
/// without a zone, a fraction or an offset (the local time then shifted to match).
pub(super) fn write_datetime(rng: &mut Rng, secs: i64) -> String {
    let (lo, hi) = datetime_bounds();
    let offset_minutes: i64 = rng.pick(&[0, 60, -60, 330, -570, 14 * 60, -(23 * 60 + 59)]);
    let local = secs + offset_minutes * 60;
    if !(lo..=hi).contains(&local) || rng.one_in(3) {
        return if rng.one_in(2) {
            xml::format_xmlrpc_datetime(secs)
        } else {
            xml::format_iso_datetime(secs)
        };
    }
    // "YYYY-MM-DDTHH:MM:SSZ", as a base to rewrite.
    let iso = xml::format_iso_datetime(local);
    let (date, time) = iso.trim_end_matches('Z').split_once('T').unwrap();
    let date = if rng.one_in(2) {
        date.replace('-', "")
    } else {
        date.to_owned()
    };
    let time = if rng.one_in(3) {
        time.replace(':', "")
    } else {
        time.to_owned()
    };
    let fraction = if rng.one_in(3) { ".123456" } else { "" };
    let zone = if offset_minutes == 0 {
        rng.pick(&["", "Z", "z", "+00:00", "-0000"]).to_string()
    } else {
        let sign = if offset_minutes < 0 { '-' } else { '+' };
        let m = offset_minutes.abs();
        let colon = if rng.one_in(2) { ":" } else { "" };
        format!("{sign}{:02}{colon}{:02}", m / 60, m % 60)
    };
    let t = if rng.one_in(4) { 't' } else { 'T' };
    let pad = if rng.one_in(4) { " " } else { "" };
    format!("{pad}{date}{t}{time}{fraction}{zone}{pad}")
}

/// A double in one of the forms the decoders accept.
pub(super) fn write_double(rng: &mut Rng, d: f64) -> String {
    if d.is_infinite() {
        return if d > 0.0 {
            rng.pick(&["INF", "+INF"]).to_string()
        } else {
            "-INF".to_owned()
        };
    }
    match rng.below(4) {
        0 => format!("{d:e}"),
        1 => format!("{d:E}"),
        2 => format!(" {d} "),
        _ => format!("{d}"),
    }
}

/// Base64 the way old clients wrote it: line breaks anywhere, padding sometimes left out.
pub(super) fn write_base64(rng: &mut Rng, bytes: &[u8]) -> String {
    let mut encoded = xml::encode_base64(bytes);
    if rng.one_in(3) {
        encoded = encoded.trim_end_matches('=').to_owned();
    }
    let mut out = String::new();
    for (i, c) in encoded.chars().enumerate() {
        if i > 0 && rng.one_in(10) {
            out.push_str(rng.pick(&["\n", "\r\n", " ", "\t"]));
        }
        out.push(c);
    }
    out
}

pub(super) fn write_int(rng: &mut Rng, i: i64) -> String {
    let sign = if i >= 0 && rng.one_in(4) { "+" } else { "" };
    let pad = rng.pick(&["", "", " ", "\n "]);
    format!("{pad}{sign}{i}{pad}")
}

#[derive(Debug)]
pub(super) struct HandBuilt {
    pub(super) body: Bytes,
    pub(super) method: String,
    pub(super) params: Vec<(String, Value)>,
    pub(super) encoding: Encoding,
}
