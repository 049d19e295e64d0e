//! The text side of XML: the body's encoding, the error every XML problem is reported as,
//! escaping and writing documents, and the lexical forms of the values the codecs carry
//! (dates, numbers, base64, element names).

use std::borrow::Cow;
use std::fmt;

use crate::clock::days_from_civil;

/// The XML Schema instance namespace (`xsi:type`, `xsi:nil`).
pub const XSI: &str = "http://www.w3.org/2001/XMLSchema-instance";
/// The XML Schema namespace (`xsd:string`, `xsd:int`, ...).
pub const XSD: &str = "http://www.w3.org/2001/XMLSchema";
/// The namespace bound to the reserved `xml` prefix.
pub(super) const XML_NS: &str = "http://www.w3.org/XML/1998/namespace";

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
    pub(super) message: String,
    pub(super) kind: ErrorKind,
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
    pub(super) fn new(message: impl Into<String>) -> XmlError {
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

pub(super) fn latin1_to_string(bytes: &[u8]) -> String {
    bytes.iter().map(|&b| char::from(b)).collect()
}

/// Reads the `encoding` pseudo-attribute of a leading XML declaration, if there is one. Leading
/// whitespace is skipped because some clients send a newline before the declaration.
pub(super) fn declared_encoding(body: &[u8]) -> Result<Option<Encoding>, XmlError> {
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
pub(super) fn digits(s: &str) -> Option<i64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

pub(super) fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

pub(super) fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// The civil date and time of Unix seconds: (year, month, day, hour, minute, second).
pub(super) fn civil_from_unix(secs: i64) -> (i64, i64, i64, i64, i64, i64) {
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
pub(super) fn is_plain_ncname(name: &str) -> bool {
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
