//! `passlink::reset::form::parse_form` on arbitrary bytes.
//!
//! Invariants: no panic; a parsed form, percent-encoded again, parses to the same form
//! (when the re-encoded body is surely within the size limit the parser enforces).
#![no_main]

use libfuzzer_sys::fuzz_target;
use passlink::reset::form::parse_form;

fn encode(out: &mut String, value: &str) {
    for b in value.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'*' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(form) = parse_form(data) else {
        return;
    };
    let mut body = String::new();
    for (name, value) in [
        ("csrf", &form.csrf),
        ("password", &form.password),
        ("password2", &form.password2),
    ] {
        body.push_str(name);
        body.push('=');
        encode(&mut body, value);
        body.push('&');
    }
    // The parser refuses bodies over its limit (8 KiB, `reset::form::MAX_FORM_BYTES`): compare
    // only when the re-encoded body is no longer than the input or within 1 KiB.
    if body.len() <= data.len().max(1024) {
        assert_eq!(parse_form(body.as_bytes()), Ok(form));
    }
});
