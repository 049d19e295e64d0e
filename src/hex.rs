//! Hex and MD5 hex: the xmlStorageSystem wire credential is the lower-case MD5 hex of the
//! password, and tokens and keys are written in hex.

use md5::{Digest, Md5};

/// The lower-case hex MD5 of `text`.
pub fn md5_hex(text: &[u8]) -> String {
    hex(&Md5::digest(text))
}

pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// The value of one hex digit (any case); `None` for anything else. Decoders use it rather than
/// `u8::from_str_radix`, which also takes a sign (`%+1`).
pub fn digit_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Whether `text` is already an MD5 hex digest (any case).
pub fn is_md5_hex(text: &str) -> bool {
    text.len() == 32 && text.bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn md5_of_asdf_matches_pycs() {
        assert_eq!(md5_hex(b"asdf"), "912ec803b2ce49e4a541068d495ab570");
        assert!(is_md5_hex("912EC803B2CE49E4A541068D495AB570"));
        assert!(!is_md5_hex("912ec803b2ce49e4a541068d495ab57"));
        assert_eq!(hex(&[0, 15, 255]), "000fff");
    }
}
