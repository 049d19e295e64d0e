//! The reset form.

use passlink::reset::form::{FormData, parse_form};

use super::*;

const FORM_TOKENS: &[&str] = &[
    "%",
    "%2",
    "%zz",
    "%C3",
    "%A9",
    "%FF",
    "%00",
    "+",
    "&",
    "=",
    "&&",
    "password",
    "password2",
    "csrf",
    "password=",
    "&csrf=",
    "%70assword",
];

/// Percent-encodes `s` for a form, randomly: space as `+` or `%20`, either hex case, safe
/// bytes sometimes encoded anyway, UTF-8 and control bytes sometimes left raw.
fn form_encode(rng: &mut Rng, s: &str, is_value: bool) -> Vec<u8> {
    let mut out = Vec::new();
    let percent = |rng: &mut Rng, out: &mut Vec<u8>, b: u8| {
        let hex = if rng.one_in(2) {
            format!("%{b:02X}")
        } else {
            format!("%{b:02x}")
        };
        out.extend_from_slice(hex.as_bytes());
    };
    for &b in s.as_bytes() {
        match b {
            b' ' if rng.one_in(2) => out.push(b'+'),
            b'&' | b'+' | b'%' | b' ' => percent(rng, &mut out, b),
            // In a value everything after the first `=` is the value.
            b'=' if is_value && rng.one_in(2) => out.push(b),
            b'=' => percent(rng, &mut out, b),
            _ if rng.one_in(5) => percent(rng, &mut out, b),
            _ => out.push(b),
        }
    }
    out
}

#[derive(Debug)]
struct FormCase {
    body: Bytes,
    expected: FormData,
    /// The body with one field sent twice, which must be refused.
    duplicated: Option<Bytes>,
}

fn form_case(rng: &mut Rng) -> FormCase {
    let mut expected = FormData::default();
    // (name, value as written) pairs.
    let mut pairs: Vec<Vec<u8>> = Vec::new();
    let mut known: Vec<Vec<u8>> = Vec::new();
    for (i, field) in ["password", "password2", "csrf"].into_iter().enumerate() {
        if rng.one_in(5) {
            continue;
        }
        let value = if i == 2 && rng.one_in(2) {
            format!("{:016x}{:016x}", rng.next_u64(), rng.next_u64())
        } else {
            any_string(rng, 30)
        };
        let mut pair = form_encode(rng, field, false);
        if value.is_empty() && rng.one_in(2) {
            // A field without `=` is an empty value.
        } else {
            pair.push(b'=');
            pair.extend(form_encode(rng, &value, true));
        }
        match i {
            0 => expected.password = value,
            1 => expected.password2 = value,
            _ => expected.csrf = value,
        }
        known.push(pair.clone());
        pairs.push(pair);
    }
    for _ in 0..rng.below(4) {
        // Unknown fields are ignored, whatever their value.
        let name = format!(
            "{}{}",
            rng.pick(&["submit", "Password", "password_", "x", "csrf2", "é"]),
            rng.below(10)
        );
        let mut pair = form_encode(rng, &name, false);
        pair.push(b'=');
        let value = any_string(rng, 10);
        pair.extend(form_encode(rng, &value, true));
        pairs.push(pair);
    }
    rng.shuffle(&mut pairs);
    let join = |rng: &mut Rng, pairs: &[Vec<u8>]| {
        let mut body = Vec::new();
        for pair in pairs {
            body.extend_from_slice(rng.pick(&[&b"&"[..], b"&", b"&&"]));
            body.extend_from_slice(pair);
        }
        if !body.is_empty() && rng.one_in(2) {
            body.remove(0);
            if body.first() == Some(&b'&') && rng.one_in(2) {
                body.remove(0);
            }
        }
        if rng.one_in(4) {
            body.push(b'&');
        }
        body
    };
    let body = join(rng, &pairs);
    let duplicated = (!known.is_empty()).then(|| {
        let mut twice = pairs.clone();
        let again = known[rng.below(known.len())].clone();
        let at = rng.below(twice.len() + 1);
        twice.insert(at, again);
        Bytes(join(rng, &twice))
    });
    FormCase {
        body: Bytes(body),
        expected,
        duplicated,
    }
}

#[test]
fn reset_form_round_trips() {
    check("reset_form_round_trips", 3000, form_case, |case| {
        // Bodies stay far below the 8 KiB limit.
        assert!(case.body.0.len() < 4096);
        assert_eq!(parse_form(&case.body.0).as_ref(), Ok(&case.expected));
        if let Some(twice) = &case.duplicated {
            assert_eq!(
                parse_form(&twice.0).map_err(|e| e.to_string()),
                Err("a field was sent twice".to_string())
            );
        }
    });
}

#[test]
fn reset_form_parser_never_panics() {
    let mut seeds = Vec::new();
    let mut rng = Rng(6);
    for _ in 0..20 {
        seeds.push(form_case(&mut rng).body.0);
    }
    check(
        "reset_form_parser_never_panics",
        5000,
        |rng| {
            if rng.one_in(50) {
                // Around the size limit.
                let n = rng.range(8 * 1024 - 2, 8 * 1024 + 2);
                Bytes(vec![b'a'; n])
            } else {
                fuzz_input(rng, &seeds, FORM_TOKENS)
            }
        },
        |input| {
            if let Ok(form) = parse_form(&input.0) {
                assert!(input.0.len() <= 8 * 1024);
                // Decoded fields are never longer than what was sent.
                let decoded = form.password.len() + form.password2.len() + form.csrf.len();
                assert!(decoded <= input.0.len());
            }
        },
    );
}
