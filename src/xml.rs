//! XML plumbing shared by the codecs: turning request bytes into text, reading that text
//! safely ([`reader`], one event at a time, for the streaming decoders; [`tree`] builds a small
//! element tree from the same events), bounding the memory a decode may use ([`Allowance`]),
//! and the escaping, transcoding and date formats the writers need.
//!
//! Safety is the point of this module. Request bodies come from anyone on the network, so the
//! reader refuses every DTD (no entity can be declared, so none can be expanded and nothing
//! external is ever fetched), knows only the five predefined entities and character references,
//! caps element nesting so a deep document cannot exhaust the stack of the codecs' recursive
//! decoders, and reports every problem as an [`XmlError`] instead of panicking. A decode's
//! memory is charged to an [`Allowance`]: at most a few times the body, whatever its shape.

use crate::clock::days_from_civil;
use std::borrow::Cow;
use std::fmt;

mod allowance;
pub mod reader;
mod tree;

pub use allowance::{Allowance, DECODE_FACTOR};
pub use reader::{Attribute, Event, MAX_NODES, Reader, Start, split_qname};
pub use tree::{Document, Element, Node, parse, parse_str, parse_str_within};

/// The XML Schema instance namespace (`xsi:type`, `xsi:nil`).
pub const XSI: &str = "http://www.w3.org/2001/XMLSchema-instance";
/// The XML Schema namespace (`xsd:string`, `xsd:int`, ...).
pub const XSD: &str = "http://www.w3.org/2001/XMLSchema";
/// The namespace bound to the reserved `xml` prefix.
const XML_NS: &str = "http://www.w3.org/XML/1998/namespace";

/// The character encoding of a request body, which the response follows so that a client that
/// only copes with one encoding (Radio UserLand and ISO-8859-1) gets that one back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Utf8,
    Latin1,
}

impl Encoding {
    /// The name written in the XML declaration and in a `charset` parameter.
    pub fn label(self) -> &'static str {
        match self {
            Encoding::Utf8 => "UTF-8",
            Encoding::Latin1 => "ISO-8859-1",
        }
    }
}

/// Why a body could not be decoded or parsed. The message is meant for the client, so it names
/// the problem without echoing large parts of the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XmlError {
    message: String,
    kind: ErrorKind,
}

/// What kind of problem an [`XmlError`] is, for the codecs to answer it in the right form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The document is not acceptable XML.
    Malformed,
    /// The document would cost more memory to decode than a document of its size may.
    TooLarge,
    /// The memory shared by all decodes was taken: not the document's fault; try again.
    Busy,
}

impl XmlError {
    fn new(message: impl Into<String>) -> XmlError {
        XmlError {
            message: message.into(),
            kind: ErrorKind::Malformed,
        }
    }

    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The decode was refused because the memory shared by all decodes was taken, not because
    /// of the document: the client may try again shortly (a server-side fault).
    pub fn is_busy(&self) -> bool {
        self.kind == ErrorKind::Busy
    }
}

impl fmt::Display for XmlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for XmlError {}

/// Turns a request body into text, following its XML declaration.
///
/// A UTF-8 byte order mark or a declared UTF-8 (or US-ASCII, a subset) body must be valid UTF-8;
/// a declared ISO-8859-1 body is mapped byte for byte. A body that declares no encoding is UTF-8
/// when it is valid UTF-8 and ISO-8859-1 otherwise, because Radio UserLand sent Latin-1 text
/// without saying so and PyCS had to guess the same way. Any other declared encoding is refused
/// rather than misread.
pub fn decode_body(body: &[u8]) -> Result<(Cow<'_, str>, Encoding), XmlError> {
    if body.starts_with(&[0xFE, 0xFF]) || body.starts_with(&[0xFF, 0xFE]) {
        return Err(XmlError::new("UTF-16 bodies are not supported; send UTF-8"));
    }
    let (body, bom) = match body.strip_prefix(&[0xEF, 0xBB, 0xBF]) {
        Some(rest) => (rest, true),
        None => (body, false),
    };
    let declared = declared_encoding(body)?;
    let encoding = match (bom, declared) {
        (true, Some(Encoding::Latin1)) => {
            return Err(XmlError::new(
                "the body starts with a UTF-8 byte order mark but declares ISO-8859-1",
            ));
        }
        (true, _) => Some(Encoding::Utf8),
        (false, declared) => declared,
    };
    match encoding {
        Some(Encoding::Utf8) => match std::str::from_utf8(body) {
            Ok(text) => Ok((Cow::Borrowed(text), Encoding::Utf8)),
            Err(e) => Err(XmlError::new(format!(
                "the body is declared UTF-8 but is not valid UTF-8 (at byte {})",
                e.valid_up_to()
            ))),
        },
        Some(Encoding::Latin1) => Ok((Cow::Owned(latin1_to_string(body)), Encoding::Latin1)),
        None => match std::str::from_utf8(body) {
            Ok(text) => Ok((Cow::Borrowed(text), Encoding::Utf8)),
            Err(_) => Ok((Cow::Owned(latin1_to_string(body)), Encoding::Latin1)),
        },
    }
}

fn latin1_to_string(bytes: &[u8]) -> String {
    bytes.iter().map(|&b| char::from(b)).collect()
}

/// Reads the `encoding` pseudo-attribute of a leading XML declaration, if there is one. Leading
/// whitespace is skipped because some clients send a newline before the declaration.
fn declared_encoding(body: &[u8]) -> Result<Option<Encoding>, XmlError> {
    let start = body
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(body.len());
    let rest = &body[start..];
    if !rest.starts_with(b"<?xml") || !rest.get(5).is_some_and(|b| b.is_ascii_whitespace()) {
        return Ok(None);
    }
    let Some(end) = rest.windows(2).position(|w| w == b"?>") else {
        return Err(XmlError::new("unterminated XML declaration"));
    };
    // The declaration is ASCII by definition; anything else in it is not a valid declaration.
    let Ok(decl) = std::str::from_utf8(&rest[5..end]) else {
        return Err(XmlError::new("invalid XML declaration"));
    };
    let Some(pos) = decl.find("encoding") else {
        return Ok(None);
    };
    let after = decl[pos + "encoding".len()..].trim_start();
    let Some(after) = after.strip_prefix('=') else {
        return Err(XmlError::new("invalid encoding in the XML declaration"));
    };
    let after = after.trim_start();
    let quote = match after.chars().next() {
        Some(q @ ('"' | '\'')) => q,
        _ => return Err(XmlError::new("invalid encoding in the XML declaration")),
    };
    let inner = &after[1..];
    let Some(close) = inner.find(quote) else {
        return Err(XmlError::new("invalid encoding in the XML declaration"));
    };
    let value = &inner[..close];
    match value.to_ascii_lowercase().as_str() {
        "utf-8" | "utf8" | "us-ascii" | "ascii" => Ok(Some(Encoding::Utf8)),
        "iso-8859-1" | "iso8859-1" | "iso_8859-1" | "latin1" | "latin-1" | "l1" | "iso-ir-100"
        | "cp819" | "ibm819" => Ok(Some(Encoding::Latin1)),
        _ => Err(XmlError::new(format!(
            "unsupported encoding \"{}\"; use UTF-8 or ISO-8859-1",
            truncate(value, 40)
        ))),
    }
}

/// Shortens a piece of client input for an error message.
pub fn truncate(s: &str, max_chars: usize) -> Cow<'_, str> {
    match s.char_indices().nth(max_chars) {
        Some((i, _)) => Cow::Owned(format!("{}...", &s[..i])),
        None => Cow::Borrowed(s),
    }
}

/// Whitespace as XML defines it (`S`): space, tab, CR, LF.
pub fn is_xml_whitespace(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

/// Whether `c` may appear in an XML 1.0 document at all (the `Char` production).
pub fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// Appends `s` escaped for element content. Characters XML 1.0 forbids are dropped (they
/// cannot be sent at all), and CR is written as `&#13;` so the receiver's line-end
/// normalisation does not turn it into LF.
pub fn escape_text(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\r' => out.push_str("&#13;"),
            c if is_xml_char(c) => out.push(c),
            _ => {}
        }
    }
}

/// Appends `s` escaped for a double-quoted attribute value; whitespace other than space is
/// written as a reference so attribute normalisation keeps it.
pub fn escape_attribute(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' => out.push_str("&#9;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            c if is_xml_char(c) => out.push(c),
            _ => {}
        }
    }
}

/// Serialises a finished document in `encoding`. For ISO-8859-1, characters above U+00FF
/// become character references, which is only correct in text and attribute values: the
/// writers keep every name and all markup ASCII so that this holds.
pub fn encode_document(text: &str, encoding: Encoding) -> Vec<u8> {
    match encoding {
        Encoding::Utf8 => text.as_bytes().to_vec(),
        Encoding::Latin1 => {
            let mut out = Vec::with_capacity(text.len());
            for c in text.chars() {
                match u8::try_from(u32::from(c)) {
                    Ok(b) => out.push(b),
                    Err(_) => out.extend_from_slice(format!("&#{};", u32::from(c)).as_bytes()),
                }
            }
            out
        }
    }
}

/// The XML declaration for `encoding`, newline included.
pub fn declaration(encoding: Encoding) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"{}\"?>\n",
        encoding.label()
    )
}

/// Parses the date-times clients send: XML-RPC's classic `20020326T12:00:00` and ISO 8601 /
/// `xsd:dateTime` (`2019-03-04T05:06:07.123Z`, `...+02:00`), either date form with either time
/// form (`HH:MM:SS` or `HHMMSS`). A fraction is dropped; a missing zone means UTC. Returns Unix
/// seconds, or `None` for anything else, including out-of-range fields.
pub fn parse_datetime(s: &str) -> Option<i64> {
    let s = s.trim();
    let (date, rest) = s.split_once(['T', 't'])?;
    let (year, month, day) = match date.len() {
        8 => (
            digits(date.get(0..4)?)?,
            digits(date.get(4..6)?)?,
            digits(date.get(6..8)?)?,
        ),
        10 if date.as_bytes()[4] == b'-' && date.as_bytes()[7] == b'-' => (
            digits(date.get(0..4)?)?,
            digits(date.get(5..7)?)?,
            digits(date.get(8..10)?)?,
        ),
        _ => return None,
    };
    // The time runs until the fraction or the zone.
    let time_end = rest
        .find(['.', ',', 'Z', 'z', '+', '-'])
        .unwrap_or(rest.len());
    let (time, mut tail) = rest.split_at(time_end);
    let (hour, minute, second) = match time.len() {
        8 if time.as_bytes()[2] == b':' && time.as_bytes()[5] == b':' => (
            digits(time.get(0..2)?)?,
            digits(time.get(3..5)?)?,
            digits(time.get(6..8)?)?,
        ),
        6 => (
            digits(time.get(0..2)?)?,
            digits(time.get(2..4)?)?,
            digits(time.get(4..6)?)?,
        ),
        _ => return None,
    };
    if let Some(fraction) = tail.strip_prefix(['.', ',']) {
        let end = fraction
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(fraction.len());
        if end == 0 {
            return None;
        }
        tail = &fraction[end..];
    }
    let offset = match tail {
        "" | "Z" | "z" => 0,
        _ => {
            let sign = match tail.as_bytes()[0] {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let zone = &tail[1..];
            let (h, m) = match zone.len() {
                2 => (digits(zone)?, 0),
                4 => (digits(zone.get(0..2)?)?, digits(zone.get(2..4)?)?),
                5 if zone.as_bytes()[2] == b':' => {
                    (digits(zone.get(0..2)?)?, digits(zone.get(3..5)?)?)
                }
                _ => return None,
            };
            if h > 23 || m > 59 {
                return None;
            }
            sign * (h * 3600 + m * 60)
        }
    };
    if !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let days = days_from_civil(year, month, day);
    Some(days * 86_400 + hour * 3600 + minute * 60 + second - offset)
}

/// Parses a run of ASCII digits (and nothing else).
fn digits(s: &str) -> Option<i64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// The civil date and time of Unix seconds: (year, month, day, hour, minute, second).
fn civil_from_unix(secs: i64) -> (i64, i64, i64, i64, i64, i64) {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day, rem / 3600, rem % 3600 / 60, rem % 60)
}

/// XML-RPC's classic `YYYYMMDDTHH:MM:SS`, in UTC: the only form every old client parses.
pub fn format_xmlrpc_datetime(secs: i64) -> String {
    let (y, mo, d, h, mi, s) = civil_from_unix(secs);
    format!("{y:04}{mo:02}{d:02}T{h:02}:{mi:02}:{s:02}")
}

/// `xsd:dateTime` in UTC with an explicit `Z`.
pub fn format_iso_datetime(secs: i64) -> String {
    let (y, mo, d, h, mi, s) = civil_from_unix(secs);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
}

/// Formats a double the way both XML-RPC and `xsd:double` read it: plain decimal digits, no
/// exponent, and the `xsd` spellings for the non-finite values (Python's `float` accepts them).
pub fn format_double(d: f64) -> String {
    if d.is_nan() {
        "NaN".to_owned()
    } else if d.is_infinite() {
        if d > 0.0 { "INF" } else { "-INF" }.to_owned()
    } else {
        format!("{d}")
    }
}

/// Parses a double: optional sign, digits with an optional point and exponent, or the `xsd`
/// spellings `INF`, `-INF`, `NaN`. Rust's own parser also takes `inf` and `infinity`, which no
/// XML type allows, hence the explicit check.
pub fn parse_double(s: &str) -> Option<f64> {
    let s = s.trim();
    match s {
        "INF" | "+INF" => return Some(f64::INFINITY),
        "-INF" => return Some(f64::NEG_INFINITY),
        "NaN" => return Some(f64::NAN),
        _ => {}
    }
    let ok = !s.is_empty()
        && s.bytes().any(|b| b.is_ascii_digit())
        && s.bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'+' | b'-' | b'.' | b'e' | b'E'));
    if !ok {
        return None;
    }
    s.parse().ok()
}

/// Parses an integer with an optional sign, surrounding whitespace ignored.
pub fn parse_int(s: &str) -> Option<i64> {
    let s = s.trim();
    let body = s.strip_prefix(['+', '-']).unwrap_or(s);
    if body.is_empty() || !body.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Decodes base64 as clients send it: whitespace and line breaks anywhere, padding optional.
pub fn decode_base64(s: &str) -> Result<Vec<u8>, String> {
    use base64::Engine as _;
    let compact: String = s.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    base64::engine::general_purpose::STANDARD_PAD_INDIFFERENT
        .decode(compact.as_bytes())
        .map_err(|e| e.to_string())
}

/// Encodes base64 with the standard alphabet and padding, on one line.
pub fn encode_base64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Whether `name` can be written as an XML element name as it is (an NCName over ASCII, so
/// the name survives any output encoding).
fn is_plain_ncname(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

/// Turns an arbitrary struct member name into an element name, encoding each character that
/// may not appear (or is not ASCII) as `_xHHHH_` the way .NET's `XmlConvert.EncodeName` does;
/// a literal `_x` is encoded too so the mapping can be reversed. Names that are already plain
/// come back unchanged.
pub fn element_name(name: &str) -> Cow<'_, str> {
    if is_plain_ncname(name) && !name.contains("_x") {
        return Cow::Borrowed(name);
    }
    let mut out = String::with_capacity(name.len() + 8);
    let mut rest = name;
    let mut first = true;
    while let Some(c) = rest.chars().next() {
        let allowed = if first {
            c.is_ascii_alphabetic() || c == '_'
        } else {
            c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')
        };
        let literal_escape = rest.starts_with("_x");
        if allowed && !literal_escape {
            out.push(c);
        } else {
            let code = u32::from(c);
            if code > 0xFFFF {
                out.push_str(&format!("_x{code:08X}_"));
            } else {
                out.push_str(&format!("_x{code:04X}_"));
            }
        }
        rest = &rest[c.len_utf8()..];
        first = false;
    }
    if out.is_empty() {
        out.push('_');
    }
    Cow::Owned(out)
}

/// A tiny deterministic PRNG and an input mutator for the codecs' no-panic tests, so they need
/// no fuzzing crate.
#[cfg(test)]
pub(crate) mod testing {
    /// Marsaglia's xorshift64.
    pub struct XorShift(u64);

    impl XorShift {
        pub fn new(seed: u64) -> XorShift {
            XorShift(seed.max(1))
        }

        pub fn next_u64(&mut self) -> u64 {
            let mut x = self.0;
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            self.0 = x;
            x
        }

        /// A number in `0..n` (0 when `n` is 0).
        pub fn below(&mut self, n: usize) -> usize {
            if n == 0 {
                0
            } else {
                (self.next_u64() % n as u64) as usize
            }
        }

        pub fn bytes(&mut self, n: usize) -> Vec<u8> {
            (0..n).map(|_| self.next_u64() as u8).collect()
        }
    }

    /// Fragments that tend to reach interesting parser states.
    const TOKENS: &[&str] = &[
        "<",
        ">",
        "/>",
        "</",
        "&",
        "&#",
        "&#x",
        ";",
        "&amp;",
        "&#0;",
        "&#x110000;",
        "&lol;",
        "<!DOCTYPE a [<!ENTITY lol \"x\">]>",
        "<![CDATA[",
        "]]>",
        "<!--",
        "-->",
        "<?pi ?>",
        "<?xml version=\"1.0\" encoding=\"latin1\"?>",
        "<value>",
        "</value>",
        "<struct>",
        "<member>",
        "<name>",
        "<array><data>",
        "<int>",
        "<base64>",
        "xmlns:x=\"urn:x\"",
        "xsi:type=\"xsd:int\"",
        "xsi:nil=\"1\"",
        "href=\"#id1\"",
        "id=\"id1\"",
        "SOAP-ENC:arrayType=\"xsd:string[2]\"",
        "\u{FEFF}",
        "\u{0}",
        "\u{e9}",
        "\"",
        "'",
        "=",
    ];

    /// Applies one to four random edits to `seed`: byte flips, deletions, duplications,
    /// truncation, and insertions of [`TOKENS`] or invalid UTF-8.
    pub fn mutate(rng: &mut XorShift, seed: &[u8]) -> Vec<u8> {
        let mut data = seed.to_vec();
        for _ in 0..=rng.below(4) {
            let at = rng.below(data.len() + 1);
            match rng.below(6) {
                0 if at < data.len() => data[at] ^= 1 << rng.below(8),
                1 => {
                    let end = (at + rng.below(16)).min(data.len());
                    data.drain(at..end);
                }
                2 => {
                    let end = (at + rng.below(64)).min(data.len());
                    let copy = data[at..end].to_vec();
                    let to = rng.below(data.len() + 1);
                    data.splice(to..to, copy);
                }
                3 => data.truncate(at),
                4 => {
                    let token = TOKENS[rng.below(TOKENS.len())].as_bytes().to_vec();
                    data.splice(at..at, token);
                }
                _ => {
                    data.splice(at..at, [0xFF, 0xC3]);
                }
            }
        }
        data
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::rc::Rc;

    #[test]
    fn characters_xml_forbids_are_refused() {
        for bad in [
            "<a>x\u{0}y</a>",
            "<a b=\"\u{1}\"/>",
            "<a>\u{1b}</a>",
            "<a>\u{FFFE}</a>",
        ] {
            let err = parse_str(bad, 8).unwrap_err().to_string();
            assert!(err.contains("is not allowed in XML"), "{bad:?}: {err}");
        }
        assert!(parse_str("<a>\ttab\r\nok \u{E000}</a>", 8).is_ok());
    }

    #[test]
    fn utf8_is_the_default_for_valid_utf8() {
        let (text, enc) = decode_body("<a>é</a>".as_bytes()).unwrap();
        assert_eq!(text, "<a>é</a>");
        assert_eq!(enc, Encoding::Utf8);
    }

    #[test]
    fn undeclared_invalid_utf8_is_latin1() {
        let (text, enc) = decode_body(b"<a>\xe9t\xe9</a>").unwrap();
        assert_eq!(text, "<a>été</a>");
        assert_eq!(enc, Encoding::Latin1);
        let (text, enc) = decode_body(b"<?xml version=\"1.0\"?><a>\xe9</a>").unwrap();
        assert_eq!(text, "<?xml version=\"1.0\"?><a>é</a>");
        assert_eq!(enc, Encoding::Latin1);
    }

    #[test]
    fn declared_encodings() {
        let (_, enc) = decode_body(b"<?xml version='1.0' encoding='ISO-8859-1'?><a/>").unwrap();
        assert_eq!(enc, Encoding::Latin1);
        let (_, enc) = decode_body(b"<?xml version=\"1.0\" encoding=\"latin1\"?><a/>").unwrap();
        assert_eq!(enc, Encoding::Latin1);
        let (_, enc) = decode_body(b"<?xml version=\"1.0\" encoding=\"us-ascii\"?><a/>").unwrap();
        assert_eq!(enc, Encoding::Utf8);
        let (_, enc) = decode_body(b"\n<?xml version=\"1.0\" encoding=\"utf-8\" ?><a/>").unwrap();
        assert_eq!(enc, Encoding::Utf8);
        // Declared Latin-1 wins even when the bytes happen to be valid UTF-8.
        let (text, enc) =
            decode_body("<?xml version=\"1.0\" encoding=\"iso-8859-1\"?><a>é</a>".as_bytes())
                .unwrap();
        assert_eq!(enc, Encoding::Latin1);
        assert!(text.contains("Ã©"));
    }

    #[test]
    fn bom_means_utf8() {
        let (text, enc) = decode_body(b"\xEF\xBB\xBF<a>\xC3\xA9</a>").unwrap();
        assert_eq!(text, "<a>é</a>");
        assert_eq!(enc, Encoding::Utf8);
        assert!(decode_body(b"\xEF\xBB\xBF<a>\xe9</a>").is_err());
    }

    #[test]
    fn declared_utf8_must_be_valid() {
        let err =
            decode_body(b"<?xml version=\"1.0\" encoding=\"UTF-8\"?><a>\xe9</a>").unwrap_err();
        assert!(err.to_string().contains("not valid UTF-8"), "{err}");
    }

    #[test]
    fn unsupported_encoding_is_refused() {
        let err = decode_body(b"<?xml version=\"1.0\" encoding=\"Shift_JIS\"?><a/>").unwrap_err();
        assert_eq!(
            err.to_string(),
            "unsupported encoding \"Shift_JIS\"; use UTF-8 or ISO-8859-1"
        );
        assert!(decode_body(b"\xFF\xFE<\0a\0/\0>\0").is_err());
        assert!(decode_body(b"<?xml version=\"1.0\" encoding=\"utf-8").is_err());
    }

    #[test]
    fn parses_a_tree_with_namespaces() {
        let root = parse_str(
            "<a:x xmlns:a='urn:a' xmlns='urn:d' b:y='1' xmlns:b='urn:b'><y>t&amp;<![CDATA[<c>]]>&#65;&#x42;</y><z/></a:x>",
            64,
        )
        .unwrap();
        assert!(root.is("urn:a", "x"));
        assert_eq!(root.attribute_ns("urn:b", "y"), Some("1"));
        let y = root.elements().next().unwrap();
        assert!(y.is("urn:d", "y"));
        assert_eq!(y.text(), "t&<c>AB");
        assert_eq!(
            y.resolve_qname("a:t").unwrap(),
            (Some(Rc::from("urn:a")), "t")
        );
        assert_eq!(
            y.resolve_qname("t").unwrap(),
            (Some(Rc::from("urn:d")), "t")
        );
        assert_eq!(
            y.resolve_qname("xml:lang").unwrap(),
            (Some(Rc::from(XML_NS)), "lang")
        );
        let plain = parse_str("<a><b/></a>", 64).unwrap();
        assert_eq!(plain.resolve_qname("t").unwrap(), (None, "t"));
        // `xmlns=""` undeclares the default namespace again.
        let undeclared = parse_str("<a xmlns='urn:d'><b xmlns=''/></a>", 64).unwrap();
        assert_eq!(undeclared.namespace.as_deref(), Some("urn:d"));
        assert_eq!(undeclared.elements().next().unwrap().namespace, None);
        assert!(y.resolve_qname("q:t").is_err());
    }

    #[test]
    fn leading_whitespace_before_the_declaration_is_tolerated() {
        let doc = parse(
            b"\r\n  <?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n<a>\xe9</a>\n",
            64,
        )
        .unwrap();
        assert_eq!(doc.encoding, Encoding::Latin1);
        assert_eq!(doc.root.text(), "é");
    }

    #[test]
    fn comments_and_pis_are_ignored_and_text_merges() {
        let root = parse_str(
            "<?xml version='1.0'?><!--c--><a>x<!-- y -->z<?pi data?>w</a><!--e-->",
            64,
        )
        .unwrap();
        assert_eq!(root.text(), "xzw");
        assert_eq!(root.children.len(), 1);
    }

    #[test]
    fn line_ends_are_normalised_but_char_refs_kept() {
        let root = parse_str("<a b='x\r\ny\tz'>1\r\n2\r3&#13;</a>", 64).unwrap();
        assert_eq!(root.text(), "1\n2\n3\r");
        assert_eq!(root.attribute("b"), Some("x y z"));
    }

    #[test]
    fn doctype_is_refused() {
        let laughs = r#"<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>
<lolz>&lol2;</lolz>"#;
        assert_eq!(
            parse_str(laughs, 64).unwrap_err().to_string(),
            "DTDs are not allowed"
        );
        let xxe = r#"<!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]><a>&x;</a>"#;
        assert_eq!(
            parse_str(xxe, 64).unwrap_err().to_string(),
            "DTDs are not allowed"
        );
    }

    #[test]
    fn unknown_entities_and_bad_char_refs_are_refused() {
        let err = parse_str("<a>&nbsp;</a>", 64).unwrap_err();
        assert_eq!(err.to_string(), "undefined entity &nbsp;");
        for bad in [
            "&#0;",
            "&#x1;",
            "&#xD800;",
            "&#x110000;",
            "&#99999999999;",
            "&#;",
            "&#x;",
            "&#12a;",
            "&#XFFFF;",
        ] {
            assert!(parse_str(&format!("<a>{bad}</a>"), 64).is_err(), "{bad}");
        }
        assert!(parse_str("<a b='&foo;'/>", 64).is_err());
        assert!(parse_str("<a b='&#0;'/>", 64).is_err());
        assert!(parse_str("<a b='&amp'/>", 64).is_err());
        assert_eq!(
            parse_str("<a b='&lt;&#x263A;'/>", 64)
                .unwrap()
                .attribute("b"),
            Some("<☺")
        );
    }

    #[test]
    fn depth_is_capped() {
        let deep = |n: usize| format!("{}{}", "<a>".repeat(n), "</a>".repeat(n));
        assert!(parse_str(&deep(64), 64).is_ok());
        let err = parse_str(&deep(65), 64).unwrap_err();
        assert_eq!(
            err.to_string(),
            "elements are nested more than 64 levels deep"
        );
        let empty = format!("{}<a/>{}", "<a>".repeat(64), "</a>".repeat(64));
        assert!(parse_str(&empty, 64).is_err());
    }

    #[test]
    fn node_count_is_capped() {
        let many = |n: usize| format!("<a>{}</a>", "<b/>".repeat(n));
        assert!(parse_str(&many(MAX_NODES - 1), 64).is_ok());
        let message = format!("more than {MAX_NODES} elements and attributes");
        assert_eq!(
            parse_str(&many(MAX_NODES), 64).unwrap_err().to_string(),
            message
        );
        let attributes: String = (0..MAX_NODES).map(|i| format!(" a{i}=''")).collect();
        let wide = format!("<a{attributes}/>");
        assert_eq!(parse_str(&wide, 64).unwrap_err().to_string(), message);
    }

    #[test]
    fn malformed_documents_are_errors() {
        for bad in [
            "",
            "   ",
            "text",
            "<a>",
            "<a></b>",
            "<a/><b/>",
            "<a/>junk",
            "</a>",
            "<a><b></a></b>",
            "<a b='1' b='2'/>",
            "<a xmlns:p=''/>",
            "<a b='<'/>",
        ] {
            assert!(parse_str(bad, 64).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn escaping() {
        let mut s = String::new();
        escape_text(&mut s, "a<b>&c\r\n\u{1}\u{FFFE}é");
        assert_eq!(s, "a&lt;b&gt;&amp;c&#13;\né");
        let mut s = String::new();
        escape_attribute(&mut s, "\"'<\t\u{0}");
        assert_eq!(s, "&quot;&apos;&lt;&#9;");
    }

    #[test]
    fn latin1_output_uses_char_refs_above_ff() {
        assert_eq!(encode_document("é☺", Encoding::Latin1), b"\xe9&#9786;");
        assert_eq!(encode_document("é☺", Encoding::Utf8), "é☺".as_bytes());
    }

    #[test]
    fn datetimes() {
        assert_eq!(parse_datetime("19700101T00:00:00"), Some(0));
        assert_eq!(parse_datetime("20020326T12:00:00"), Some(1_017_144_000));
        assert_eq!(parse_datetime("2002-03-26T12:00:00"), Some(1_017_144_000));
        assert_eq!(parse_datetime("20020326T120000"), Some(1_017_144_000));
        assert_eq!(
            parse_datetime("2019-03-04T05:06:07.123Z"),
            Some(1_551_675_967)
        );
        assert_eq!(
            parse_datetime("2019-03-04T07:06:07+02:00"),
            Some(1_551_675_967)
        );
        assert_eq!(
            parse_datetime("2019-03-04T04:06:07-0100"),
            Some(1_551_675_967)
        );
        assert_eq!(
            parse_datetime(" 2026-11-22T23:42:31.109414 "),
            Some(1_795_390_951)
        );
        assert_eq!(parse_datetime("1969-12-31T23:59:59Z"), Some(-1));
        for bad in [
            "",
            "2002-03-26",
            "2002-13-01T00:00:00",
            "2002-02-30T00:00:00",
            "2002-03-26T24:00:00",
            "2002-03-26T12:00",
            "2002-03-26T12:00:00.Z",
            "2002-03-26T12:00:00+2:00",
            "2002-03-26T12:00:00X",
            "20020326T12:0a:00",
            "2002-03-26T12:00:00+24:00",
            "２００２0326T12:00:00",
        ] {
            assert_eq!(parse_datetime(bad), None, "{bad}");
        }
        assert_eq!(format_xmlrpc_datetime(1_017_144_000), "20020326T12:00:00");
        assert_eq!(format_iso_datetime(1_551_675_967), "2019-03-04T05:06:07Z");
        assert_eq!(format_iso_datetime(-1), "1969-12-31T23:59:59Z");
        for secs in [0, 951_782_400, 4_107_542_399, -86_400 * 365 * 400] {
            assert_eq!(parse_datetime(&format_iso_datetime(secs)), Some(secs));
            assert_eq!(parse_datetime(&format_xmlrpc_datetime(secs)), Some(secs));
        }
        // Extreme inputs must not panic.
        let _ = format_iso_datetime(i64::MAX);
        let _ = format_iso_datetime(i64::MIN);
    }

    #[test]
    fn numbers_and_base64() {
        assert_eq!(parse_int(" +42 "), Some(42));
        assert_eq!(parse_int("-7"), Some(-7));
        for bad in ["", "+", "1 2", "12x", "0x10", "99999999999999999999"] {
            assert_eq!(parse_int(bad), None, "{bad}");
        }
        assert_eq!(parse_double("1.5e3"), Some(1500.0));
        assert_eq!(parse_double("-INF"), Some(f64::NEG_INFINITY));
        assert!(parse_double("NaN").is_some_and(f64::is_nan));
        for bad in ["inf", "infinity", "nan", "", "1.2.3x", "e"] {
            assert_eq!(parse_double(bad), None, "{bad}");
        }
        assert_eq!(format_double(1.0), "1");
        assert_eq!(format_double(-0.25), "-0.25");
        assert_eq!(format_double(f64::INFINITY), "INF");
        assert_eq!(decode_base64(" SGVs\nbG8=\r\n").unwrap(), b"Hello");
        assert_eq!(decode_base64("SGVsbG8").unwrap(), b"Hello");
        assert!(decode_base64("SGVsbG8*").is_err());
        assert_eq!(encode_base64(b"Hello"), "SGVsbG8=");
    }

    #[test]
    fn element_names() {
        assert_eq!(element_name("flError"), "flError");
        assert_eq!(element_name("file00001"), "file00001");
        assert_eq!(element_name("1st"), "_x0031_st");
        assert_eq!(element_name("a b"), "a_x0020_b");
        assert_eq!(element_name("é"), "_x00E9_");
        assert_eq!(element_name("a_xb"), "a_x005F_xb");
        assert_eq!(element_name(""), "_");
    }
}
