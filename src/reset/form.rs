//! The reset page's form, as the browser posts it (`application/x-www-form-urlencoded`): a
//! codec, bytes in and typed fields out.

use std::fmt;

/// Longest form body read: two passwords of at most 128 characters, percent-encoded, fit many
/// times over. The route declares it too, so a longer body is refused before it is read.
pub const MAX_FORM_BYTES: usize = 8 * 1024;

/// Why a form could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormError {
    TooLarge,
    FieldTwice,
    BadPercent,
    NotUtf8,
}

impl fmt::Display for FormError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FormError::TooLarge => "the form is too large",
            FormError::FieldTwice => "a field was sent twice",
            FormError::BadPercent => "bad percent-encoding",
            FormError::NotUtf8 => "the form is not UTF-8",
        })
    }
}

impl std::error::Error for FormError {}

/// The submitted form.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct FormData {
    pub password: String,
    pub password2: String,
    pub csrf: String,
}

/// Parses an `application/x-www-form-urlencoded` body. Unknown fields are ignored; a field
/// given twice, bad percent-encoding or invalid UTF-8 is an error.
pub fn parse_form(body: &[u8]) -> Result<FormData, FormError> {
    if body.len() > MAX_FORM_BYTES {
        return Err(FormError::TooLarge);
    }
    let mut form = FormData::default();
    let mut seen = [false; 3];
    for pair in body.split(|&b| b == b'&').filter(|p| !p.is_empty()) {
        let (name, value) = match pair.iter().position(|&b| b == b'=') {
            Some(i) => (&pair[..i], &pair[i + 1..]),
            None => (pair, &[][..]),
        };
        let (slot, n) = match percent_decode(name)?.as_str() {
            "password" => (&mut form.password, 0),
            "password2" => (&mut form.password2, 1),
            "csrf" => (&mut form.csrf, 2),
            _ => continue,
        };
        if seen[n] {
            return Err(FormError::FieldTwice);
        }
        seen[n] = true;
        *slot = percent_decode(value)?;
    }
    Ok(form)
}

fn percent_decode(bytes: &[u8]) -> Result<String, FormError> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes.get(i + 1..i + 3).ok_or(FormError::BadPercent)?;
                // from_str_radix alone would take `%+1` (a sign) as a byte (found by fuzzing).
                if !hex.iter().all(u8::is_ascii_hexdigit) {
                    return Err(FormError::BadPercent);
                }
                let hex = std::str::from_utf8(hex).map_err(|_| FormError::BadPercent)?;
                out.push(u8::from_str_radix(hex, 16).map_err(|_| FormError::BadPercent)?);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|_| FormError::NotUtf8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_bodies() {
        let f = parse_form(b"csrf=ab&password=a+b%21&password2=a%20b!&other=x").unwrap();
        assert_eq!(
            f,
            FormData {
                password: "a b!".into(),
                password2: "a b!".into(),
                csrf: "ab".into()
            }
        );
        assert_eq!(parse_form(b"").unwrap(), FormData::default());
        assert!(parse_form(b"password=a&password=b").is_err());
        assert!(parse_form(b"password=%zz").is_err());
        assert!(parse_form(b"password=%4").is_err());
        assert!(parse_form(b"password=%+1").is_err());
        assert!(parse_form(b"password=%ff").is_err());
        assert!(parse_form(&vec![b'a'; MAX_FORM_BYTES + 1]).is_err());
        assert_eq!(parse_form(b"password").unwrap().password, "");
    }
}
