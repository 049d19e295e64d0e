//! The OPS envelope: bytes to a typed request, and a typed reply to bytes. Lenient the way
//! real XCP clients need (either quote style, DOCTYPE or none, `dt_scalar` wrapping,
//! self-closing items, any case for action and object), and safe: the DOCTYPE is removed
//! unread before parsing, so its internal subset can declare nothing and nothing is fetched.
//!
//! Parsing goes through [`crate::xml`]'s parser rather than a second one built on quick-xml
//! here: that parser already refuses every DTD, knows only the five predefined entities and
//! character references, caps nesting and node count, and is fuzzed, and one audited parser
//! is easier to keep safe than two. This module only cuts the DOCTYPE out first, because OPS
//! clients are required to send one.
//!
//! The codec knows nothing of commands or storage: it turns an envelope into an [`OpsRequest`]
//! and an [`OpsReply`] into an envelope.

use std::collections::HashSet;
use std::fmt;

use std::borrow::Cow;

use md5::{Digest, Md5};
use subtle::ConstantTimeEq;

use crate::hex::hex;
use crate::xml::{self, Allowance, Element, XmlError};

/// One value of OPS data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OpsValue {
    /// Text, from a bare `<item>` or a `dt_scalar`/`dt_scalarref`, exactly as sent.
    Scalar(String),
    /// A `dt_assoc`: keys in document order (order carries no meaning in OPS, but keeping it
    /// makes replies deterministic). Keys are unique.
    Assoc(Vec<(String, OpsValue)>),
    /// A `dt_array`: items with their numeric keys, sorted by key whatever order they came in,
    /// as every OPS decoder places array items by key rather than by position. Keys are
    /// unique but need not be contiguous.
    Array(Vec<(usize, OpsValue)>),
}

impl OpsValue {
    /// The value under `key` (case-sensitive, as OPS keys are) in an assoc; `None` for a
    /// missing key or a value that is not an assoc.
    pub fn get(&self, key: &str) -> Option<&OpsValue> {
        match self {
            OpsValue::Assoc(items) => items.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The scalar under `key` in an assoc; `None` when missing or not a scalar.
    pub fn get_str(&self, key: &str) -> Option<&str> {
        self.get(key)?.as_str()
    }

    /// The text of a scalar.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            OpsValue::Scalar(s) => Some(s),
            _ => None,
        }
    }

    /// The item with numeric key `index` in an array.
    pub fn at(&self, index: usize) -> Option<&OpsValue> {
        match self {
            OpsValue::Array(items) => items.iter().find(|(k, _)| *k == index).map(|(_, v)| v),
            _ => None,
        }
    }
}

/// A decoded request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpsRequest {
    /// The top-level `protocol` item (`XCP`), trimmed; checking it is the caller's business.
    pub protocol: Option<String>,
    /// The top-level `action` item, trimmed, in the case the client sent.
    pub action: String,
    /// The top-level `object` item, trimmed, in the case the client sent.
    pub object: String,
    /// The `attributes` assoc; an empty assoc when the request has none (or sent it as an
    /// empty item), so commands need not tell "absent" from "empty".
    pub attributes: OpsValue,
    /// The whole top-level `dt_assoc` of the data block, for items clients put beside
    /// `attributes` (`domain`, `username`, `cookie`, `registrant_ip`…).
    pub top: OpsValue,
    /// `header/msg_id` (the PHP toolkit sends one), trimmed.
    pub msg_id: Option<String>,
    /// `header/msg_type` (the PHP toolkit sends `standard`), trimmed.
    pub msg_type: Option<String>,
    /// `header/version` (always `0.9` in practice), trimmed.
    pub version: Option<String>,
}

impl OpsRequest {
    /// Whether the action is `action`, ignoring ASCII case: the docs write `send_password`,
    /// the common clients send `SEND_PASSWORD`.
    pub fn action_is(&self, action: &str) -> bool {
        self.action.eq_ignore_ascii_case(action)
    }

    /// Whether the object is `object`, ignoring ASCII case (see [`OpsRequest::action_is`]).
    pub fn object_is(&self, object: &str) -> bool {
        self.object.eq_ignore_ascii_case(object)
    }

    /// A scalar parameter read at the top level first, then inside `attributes`: clients put
    /// `domain`, `username` and `cookie` in either place. The value is as sent (not trimmed).
    pub fn param(&self, key: &str) -> Option<&str> {
        self.top
            .get_str(key)
            .or_else(|| self.attributes.get_str(key))
    }
}

/// Why a body is not an acceptable OPS request. Every message names the problem without
/// echoing more than a few dozen characters of the input, since it goes back to the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnvelopeError {
    /// Not well-formed or not acceptable XML: bad or unsupported encoding, a syntax error, an
    /// entity other than the predefined five, nesting deeper than the limit, and so on.
    Xml(XmlError),
    /// A DOCTYPE that could not be skipped because it never ends.
    UnterminatedDoctype,
    /// Well-formed XML, but not shaped like an OPS envelope (root, `body`, `data_block`).
    NotAnEnvelope(String),
    /// A `dt_assoc`/`dt_array`/`item` structure the OPS grammar does not allow.
    BadData(String),
    /// The top-level item with this name (`action` or `object`) is missing, empty or not a
    /// scalar.
    Missing(&'static str),
}

impl fmt::Display for EnvelopeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EnvelopeError::Xml(e) => write!(f, "malformed envelope: {e}"),
            EnvelopeError::UnterminatedDoctype => {
                f.write_str("malformed envelope: unterminated DOCTYPE")
            }
            EnvelopeError::NotAnEnvelope(why) => write!(f, "not an OPS envelope: {why}"),
            EnvelopeError::BadData(why) => write!(f, "invalid OPS data: {why}"),
            EnvelopeError::Missing(key) => {
                write!(
                    f,
                    "the request has no {key} (a top-level item key=\"{key}\")"
                )
            }
        }
    }
}

impl std::error::Error for EnvelopeError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            EnvelopeError::Xml(e) => Some(e),
            _ => None,
        }
    }
}

impl From<XmlError> for EnvelopeError {
    fn from(e: XmlError) -> EnvelopeError {
        EnvelopeError::Xml(e)
    }
}

fn bad_data(message: impl Into<String>) -> EnvelopeError {
    EnvelopeError::BadData(message.into())
}

/// Cuts a DOCTYPE declaration out of the prolog without interpreting any of it, so the XML
/// parser (which refuses DTDs) never sees it and nothing it declares can take effect.
///
/// Only the prolog is searched: whitespace, the XML declaration, comments and processing
/// instructions may come before the DOCTYPE. A DOCTYPE anywhere else is left in place for the
/// parser to refuse, and the text `<!DOCTYPE` inside a CDATA section of a value is untouched.
fn strip_doctype(text: &str) -> Result<String, EnvelopeError> {
    let bytes = text.as_bytes();
    let mut i = 0;
    loop {
        while bytes.get(i).is_some_and(u8::is_ascii_whitespace) {
            i += 1;
        }
        let rest = &text[i..];
        if rest.starts_with("<!DOCTYPE") {
            let end = i + doctype_len(rest)?;
            return Ok(format!("{}{}", &text[..i], &text[end..]));
        }
        let skip = if rest.starts_with("<!--") {
            rest.find("-->").map(|e| e + 3)
        } else if rest.starts_with("<?") {
            rest.find("?>").map(|e| e + 2)
        } else {
            // The root element, or something the parser will report.
            return Ok(text.to_string());
        };
        match skip {
            Some(len) => i += len,
            // An unterminated comment or PI: the parser reports it better.
            None => return Ok(text.to_string()),
        }
    }
}

/// The length in bytes of the DOCTYPE declaration at the start of `text`, internal subset
/// included. Quoted literals, and comments and processing instructions in the subset, are
/// skipped whole, so a `>` or `]` (or a lone apostrophe in a comment) inside them does not
/// end the declaration early. Every delimiter is ASCII, so each index is a char boundary.
fn doctype_len(text: &str) -> Result<usize, EnvelopeError> {
    let bytes = text.as_bytes();
    let mut i = "<!DOCTYPE".len();
    let mut in_subset = false;
    // Finds `needle` at or after `from`, giving the index just past it.
    let past = |from: usize, needle: &str| {
        text.get(from..)
            .and_then(|rest| rest.find(needle))
            .map(|at| from + at + needle.len())
            .ok_or(EnvelopeError::UnterminatedDoctype)
    };
    loop {
        let Some(&b) = bytes.get(i) else {
            return Err(EnvelopeError::UnterminatedDoctype);
        };
        i = match b {
            b'"' => past(i + 1, "\"")?,
            b'\'' => past(i + 1, "'")?,
            b'<' if in_subset && text[i..].starts_with("<!--") => past(i + 4, "-->")?,
            b'<' if in_subset && text[i..].starts_with("<?") => past(i + 2, "?>")?,
            b'[' if !in_subset => {
                in_subset = true;
                i + 1
            }
            b']' if in_subset => {
                in_subset = false;
                i + 1
            }
            b'>' if !in_subset => return Ok(i + 1),
            _ => i + 1,
        };
    }
}

/// Decodes an `OPS_envelope`.
///
/// `max_depth` caps element nesting, the root being depth 1 (a captured `send_password` is 7
/// deep; the server passes 32). It also bounds this module's recursion, so it must stay
/// small.
///
/// Whitespace: text between elements is ignored; the text of a scalar is kept exactly as sent
/// (after XML's own line-end normalisation), because the notes (§2.6) say not to trim values
/// and a real reply carries a multi-line `response_text`. Only the routing items (`protocol`,
/// `action`, `object`) and the header fields are trimmed, since they are identifiers.
pub fn decode(body: &[u8], max_depth: usize) -> Result<OpsRequest, EnvelopeError> {
    decode_within(body, max_depth, &mut Allowance::for_body(body.len()))
}

/// [`decode`], charging the memory the decode takes (the text, the element tree and the values)
/// to `memory`, so that a hostile body of the largest size costs at most a few times its size.
pub fn decode_within(
    body: &[u8],
    max_depth: usize,
    memory: &mut Allowance<'_>,
) -> Result<OpsRequest, EnvelopeError> {
    let (text, _) = xml::decode_body(body)?;
    if let Cow::Owned(converted) = &text {
        memory.charge(converted.len())?;
    }
    // The text without its DOCTYPE is a copy.
    memory.charge(text.len())?;
    let text = strip_doctype(&text)?;
    let root = xml::parse_str_within(&text, max_depth, memory)?;
    if root.local_name() != "OPS_envelope" {
        return Err(EnvelopeError::NotAnEnvelope(format!(
            "the root element is <{}>, not <OPS_envelope>",
            xml::truncate(root.local_name(), 40)
        )));
    }
    let header = root.elements().find(|e| e.local_name() == "header");
    let header_field = |name: &str| {
        header
            .and_then(|h| h.elements().find(|e| e.local_name() == name))
            .map(|e| e.text().trim().to_string())
    };
    let data_block = child(child(&root, "body")?, "data_block")?;
    let mut blocks = data_block.elements();
    let (Some(first), None) = (blocks.next(), blocks.next()) else {
        return Err(EnvelopeError::NotAnEnvelope(
            "<data_block> must hold exactly one <dt_assoc>".into(),
        ));
    };
    if data_block.has_significant_text() {
        return Err(EnvelopeError::NotAnEnvelope(
            "<data_block> holds text beside its <dt_assoc>".into(),
        ));
    }
    let top = value_of(first, memory)?;
    if !matches!(top, OpsValue::Assoc(_)) {
        return Err(EnvelopeError::NotAnEnvelope(
            "<data_block> must hold a <dt_assoc>".into(),
        ));
    }
    let routing = |key: &'static str| {
        top.get_str(key)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    let action = routing("action").ok_or(EnvelopeError::Missing("action"))?;
    let object = routing("object").ok_or(EnvelopeError::Missing("object"))?;
    let attributes = match top.get("attributes") {
        None => OpsValue::Assoc(Vec::new()),
        Some(OpsValue::Scalar(s)) if s.trim().is_empty() => OpsValue::Assoc(Vec::new()),
        Some(a @ OpsValue::Assoc(_)) => {
            // A copy: charged like what it copies (at most what the values cost already).
            memory.charge(deep_size(a))?;
            a.clone()
        }
        Some(_) => return Err(bad_data("the attributes item must be a <dt_assoc>")),
    };
    Ok(OpsRequest {
        protocol: routing("protocol"),
        action,
        object,
        attributes,
        msg_id: header_field("msg_id"),
        msg_type: header_field("msg_type"),
        version: header_field("version"),
        top,
    })
}

fn child<'a>(parent: &'a Element, name: &str) -> Result<&'a Element, EnvelopeError> {
    parent
        .elements()
        .find(|e| e.local_name() == name)
        .ok_or_else(|| {
            EnvelopeError::NotAnEnvelope(format!("<{}> has no <{name}>", parent.local_name()))
        })
}

/// The value of a `dt_*` element.
fn value_of(element: &Element, memory: &mut Allowance<'_>) -> Result<OpsValue, EnvelopeError> {
    match element.local_name() {
        "dt_assoc" => {
            let mut seen = HashSet::new();
            let mut items = Vec::new();
            for item in items_of(element)? {
                let key = item
                    .attribute("key")
                    .ok_or_else(|| bad_data("an <item> in a <dt_assoc> has no key"))?;
                if !seen.insert(key) {
                    return Err(bad_data(format!(
                        "the key \"{}\" appears twice in one <dt_assoc>",
                        xml::truncate(key, 40)
                    )));
                }
                memory.charge(std::mem::size_of::<(String, OpsValue)>() + key.len())?;
                items.push((key.to_string(), content_value(item, memory)?));
            }
            Ok(OpsValue::Assoc(items))
        }
        "dt_array" => {
            let mut items: Vec<(usize, OpsValue)> = Vec::new();
            for (position, item) in items_of(element)?.enumerate() {
                // The DTD requires a key; an item without one goes where it stands.
                let index = match item.attribute("key") {
                    Some(k) => k.trim().parse::<usize>().map_err(|_| {
                        bad_data(format!(
                            "the array key \"{}\" is not a number",
                            xml::truncate(k, 40)
                        ))
                    })?,
                    None => position,
                };
                memory.charge(std::mem::size_of::<(usize, OpsValue)>())?;
                items.push((index, content_value(item, memory)?));
            }
            items.sort_by_key(|(k, _)| *k);
            if items.windows(2).any(|w| w[0].0 == w[1].0) {
                return Err(bad_data("an array key appears twice in one <dt_array>"));
            }
            Ok(OpsValue::Array(items))
        }
        // Wrappers around a scalar (or, as the DTD allows, around one more `dt_*`).
        "dt_scalar" | "dt_scalarref" => content_value(element, memory),
        other => Err(bad_data(format!(
            "unexpected element <{}> where a dt_assoc, dt_array or dt_scalar belongs",
            xml::truncate(other, 40)
        ))),
    }
}

/// The memory a value takes, itself and all it holds.
fn deep_size(value: &OpsValue) -> usize {
    std::mem::size_of::<OpsValue>()
        + match value {
            OpsValue::Scalar(s) => s.len(),
            OpsValue::Assoc(items) => items.iter().map(|(k, v)| k.len() + deep_size(v)).sum(),
            OpsValue::Array(items) => items.iter().map(|(_, v)| 8 + deep_size(v)).sum(),
        }
}

/// The `<item>` children of a `dt_assoc`/`dt_array`, refusing anything else inside it.
fn items_of(element: &Element) -> Result<impl Iterator<Item = &Element>, EnvelopeError> {
    if element.has_significant_text() {
        return Err(bad_data(format!(
            "<{}> holds text outside its items",
            element.local_name()
        )));
    }
    if let Some(other) = element.elements().find(|e| e.local_name() != "item") {
        return Err(bad_data(format!(
            "<{}> in <{}> where only <item> belongs",
            xml::truncate(other.local_name(), 40),
            element.local_name()
        )));
    }
    Ok(element.elements())
}

/// The value held by an `<item>`, `<dt_scalar>` or `<dt_scalarref>`: its one `dt_*` child, or
/// else its text (empty for `<item key="x"/>`). Text beside an element, or two elements, has
/// no meaning in OPS and is refused rather than half-read.
fn content_value(element: &Element, memory: &mut Allowance<'_>) -> Result<OpsValue, EnvelopeError> {
    let mut inner = element.elements();
    match (inner.next(), inner.next()) {
        (None, _) => {
            let text = element.text();
            memory.charge(text.len())?;
            Ok(OpsValue::Scalar(text.into_owned()))
        }
        (Some(value), None) if !element.has_significant_text() => value_of(value, memory),
        _ => Err(bad_data(format!(
            "<{}> must hold either text or one value, not both or several",
            element.local_name()
        ))),
    }
}

/// A reply to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpsReply {
    /// The request's object; sent upper-cased, as the real server does.
    pub object: String,
    pub is_success: bool,
    pub response_code: u16,
    pub response_text: String,
    /// Sent as an `attributes` assoc only when not empty.
    pub attributes: Vec<(String, OpsValue)>,
}

/// Text for XML, keys and values alike: all five special characters escaped and characters
/// XML forbids (controls other than tab, CR and LF) dropped, as Tucows' own codec did. Tab,
/// CR and LF go out as character references, which every XML parser turns back into the
/// same characters.
fn push_text(out: &mut String, text: &str) {
    xml::escape_attribute(out, text);
}

fn push_item(out: &mut String, indent: usize, key: &str, value: &OpsValue) {
    let pad = " ".repeat(indent);
    out.push_str(&pad);
    out.push_str("<item key=\"");
    push_text(out, key);
    out.push_str("\">");
    match value {
        OpsValue::Scalar(s) => push_text(out, s),
        OpsValue::Assoc(items) => {
            out.push_str(&format!("\n{pad} <dt_assoc>\n"));
            for (k, v) in items {
                push_item(out, indent + 2, k, v);
            }
            out.push_str(&format!("{pad} </dt_assoc>\n{pad}"));
        }
        OpsValue::Array(items) => {
            out.push_str(&format!("\n{pad} <dt_array>\n"));
            for (k, v) in items {
                push_item(out, indent + 2, &k.to_string(), v);
            }
            out.push_str(&format!("{pad} </dt_array>\n{pad}"));
        }
    }
    out.push_str("</item>\n");
}

/// Encodes a reply envelope in the layout of the docs and the real server (`canned-reply.xml`):
/// protocol XCP, action REPLY, the object upper-cased, `is_success` as 1 or 0, and
/// `attributes` only when there are any.
pub fn encode_reply(reply: &OpsReply) -> Vec<u8> {
    let mut out = String::from(
        "<?xml version='1.0' encoding='UTF-8' standalone='no' ?>\n\
         <!DOCTYPE OPS_envelope SYSTEM 'ops.dtd'>\n<OPS_envelope>\n <header>\n  \
         <version>0.9</version>\n </header>\n <body>\n  <data_block>\n   <dt_assoc>\n",
    );
    let scalar = |s: &str| OpsValue::Scalar(s.to_string());
    push_item(&mut out, 4, "protocol", &scalar("XCP"));
    push_item(&mut out, 4, "action", &scalar("REPLY"));
    push_item(
        &mut out,
        4,
        "object",
        &scalar(&reply.object.to_ascii_uppercase()),
    );
    push_item(
        &mut out,
        4,
        "is_success",
        &scalar(if reply.is_success { "1" } else { "0" }),
    );
    push_item(
        &mut out,
        4,
        "response_code",
        &scalar(&reply.response_code.to_string()),
    );
    push_item(&mut out, 4, "response_text", &scalar(&reply.response_text));
    if !reply.attributes.is_empty() {
        push_item(
            &mut out,
            4,
            "attributes",
            &OpsValue::Assoc(reply.attributes.clone()),
        );
    }
    out.push_str("   </dt_assoc>\n  </data_block>\n </body>\n</OPS_envelope>\n");
    out.into_bytes()
}

/// Whether a body is meant as an OPS envelope: its root element is named `OPS_envelope`
/// (after the declaration, comments and a DOCTYPE, which all fit in the first 4 KiB).
pub fn looks_like_envelope(body: &[u8]) -> bool {
    let head = &body[..body.len().min(4096)];
    head.windows(13).any(|w| w == b"<OPS_envelope")
}

/// The request signature OpenSRS defines: `md5_hex(md5_hex(body ‖ key) ‖ key)`, lower case.
pub fn signature(body: &[u8], key: &str) -> String {
    let mut inner = Md5::new();
    inner.update(body);
    inner.update(key.as_bytes());
    let mut outer = Md5::new();
    outer.update(hex(&inner.finalize()).as_bytes());
    outer.update(key.as_bytes());
    hex(&outer.finalize())
}

/// Compares a request's `X-Signature` with the expected one in constant time, ignoring case.
pub fn signature_matches(body: &[u8], key: &str, given: &str) -> bool {
    let expected = signature(body, key);
    let given = given.trim().to_ascii_lowercase();
    expected.len() == given.len() && bool::from(expected.as_bytes().ct_eq(given.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xml::testing::{XorShift, mutate};

    fn fixture(name: &str) -> Vec<u8> {
        std::fs::read(format!(
            "{}/tests/fixtures/opensrs/{name}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap()
    }

    const CLIENTS: [&str; 2] = ["net-opensrs", "php-toolkit"];

    fn scalar(s: &str) -> OpsValue {
        OpsValue::Scalar(s.into())
    }

    #[test]
    fn both_captured_clients_decode() {
        for client in CLIENTS {
            let req = decode(&fixture(&format!("{client}-send_password.body.xml")), 32).unwrap();
            assert_eq!(req.action, "SEND_PASSWORD", "{client}");
            assert!(req.action_is("send_password"), "{client}: {req:?}");
            assert_eq!(req.object, "DOMAIN", "{client}");
            assert!(req.object_is("domain"), "{client}");
            assert_eq!(req.protocol.as_deref(), Some("XCP"), "{client}");
            assert_eq!(req.version.as_deref(), Some("0.9"), "{client}");
            let a = &req.attributes;
            assert_eq!(a.get_str("domain_name"), Some("example.info"), "{client}");
            assert_eq!(a.get_str("send_to"), Some("owner"), "{client}");
            assert_eq!(a.get_str("sub_user"), Some("0"), "{client}");
            assert_eq!(req.param("domain_name"), Some("example.info"), "{client}");
            assert_eq!(req.top.get("attributes"), Some(&req.attributes));
        }
        let php = decode(&fixture("php-toolkit-send_password.body.xml"), 32).unwrap();
        assert_eq!(php.msg_id.as_deref(), Some("6b03803d7ee641"));
        assert_eq!(php.msg_type.as_deref(), Some("standard"));
        let perl = decode(&fixture("net-opensrs-send_password.body.xml"), 32).unwrap();
        assert_eq!((perl.msg_id, perl.msg_type), (None, None));
    }

    /// The `.body.xml` files are exactly the bytes after the blank line of the captured
    /// request, its Content-Length long, and sign to the captured X-Signature.
    #[test]
    fn captured_bodies_are_the_signed_bytes() {
        for client in CLIENTS {
            let body = fixture(&format!("{client}-send_password.body.xml"));
            let http = fixture(&format!("{client}-send_password.request.http"));
            let split = http.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
            let head = String::from_utf8(http[..split].to_vec()).unwrap();
            assert_eq!(&http[split + 4..], &body[..], "{client}");
            let header = |name: &str| {
                head.lines()
                    .find_map(|l| l.strip_prefix(name))
                    .unwrap()
                    .trim()
                    .to_string()
            };
            let length: usize = header("Content-Length:").parse().unwrap();
            assert_eq!(length, body.len(), "{client}");
            let record =
                String::from_utf8(fixture(&format!("{client}-send_password.signature.txt")))
                    .unwrap();
            let sig = record
                .lines()
                .find_map(|l| l.strip_prefix("x_signature="))
                .unwrap();
            assert_eq!(header("X-Signature:"), sig, "{client}");
            assert_eq!(signature(&body, "testkey123"), sig, "{client}");
            assert!(signature_matches(&body, "testkey123", &sig.to_uppercase()));
            assert!(!signature_matches(&body, "testkey123", &sig[..31]));
            assert!(!signature_matches(
                &body[..body.len() - 1],
                "testkey123",
                sig
            ));
        }
    }

    /// Wraps top-level items in an envelope with a double-quoted declaration and no DOCTYPE
    /// (the Ruby gem's shape).
    fn envelope(items: &str) -> String {
        format!(
            "<?xml version=\"1.0\"?><OPS_envelope><header><version>0.9</version></header>\
             <body><data_block><dt_assoc>{items}</dt_assoc></data_block></body></OPS_envelope>"
        )
    }

    const ROUTING: &str = "<item key=\"protocol\">XCP</item><item key=\"action\">GET</item>\
                           <item key=\"object\">domain</item>";

    fn decode_items(items: &str) -> Result<OpsRequest, EnvelopeError> {
        decode(envelope(items).as_bytes(), 32)
    }

    #[test]
    fn tolerant_decoding() {
        let text = envelope(
            "<item key=\"protocol\" class=\"x\"><dt_scalar>XCP</dt_scalar></item>\
             <item key=\"action\">SET</item><item key=\"object\">cookie</item>\
             <item key=\"cookie\"><dt_scalarref>c00kie</dt_scalarref></item>\
             <item key=\"attributes\" class=\"HASH\"><dt_assoc><item key=\"domain\">a.com</item>\
             <item key=\"reg_password\"/>\
             <item key=\"list\"><dt_array><item key=\"2\">c</item><item key=\"0\">a</item>\
             <item key=\"1\" class=\"Str\"><dt_scalar>b</dt_scalar></item>\
             </dt_array></item></dt_assoc></item>",
        );
        let req = decode(text.as_bytes(), 32).unwrap();
        assert!(req.action_is("set") && req.action_is("SET") && req.object_is("COOKIE"));
        assert_eq!(req.protocol.as_deref(), Some("XCP"));
        assert_eq!(req.param("cookie"), Some("c00kie"));
        assert_eq!(req.param("domain"), Some("a.com"));
        assert_eq!(req.param("reg_password"), Some(""));
        let list = req.attributes.get("list").unwrap();
        assert_eq!(
            list,
            &OpsValue::Array(vec![(0, scalar("a")), (1, scalar("b")), (2, scalar("c"))])
        );
        assert_eq!(list.at(2), Some(&scalar("c")));
        // The published preamble, single-quoted, with the DOCTYPE.
        let single = text.replace(
            "<?xml version=\"1.0\"?>",
            "<?xml version='1.0' encoding='UTF-8' standalone='no' ?>\n\
             <!DOCTYPE OPS_envelope SYSTEM 'ops.dtd'>\n",
        );
        assert_eq!(decode(single.as_bytes(), 32).unwrap(), req);
        // Comments, a BOM and leading whitespace in the prolog.
        let prolog = text.replace(
            "<?xml version=\"1.0\"?>",
            "\u{FEFF}\n<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<!-- hi -->\
             <!DOCTYPE OPS_envelope PUBLIC \"-//x\" \"ops.dtd\">",
        );
        assert_eq!(decode(prolog.as_bytes(), 32).unwrap(), req);
    }

    #[test]
    fn keys_are_case_sensitive_but_routing_is_not() {
        let req = decode_items(
            "<item key=\"protocol\">xcp</item><item key=\"action\">\n Send_Password \n</item>\
             <item key=\"object\">dOmAiN</item><item key=\"Domain\">x</item>",
        )
        .unwrap();
        assert_eq!(req.action, "Send_Password");
        assert!(req.action_is("SEND_PASSWORD") && req.object_is("domain"));
        assert_eq!(req.param("domain"), None);
        assert_eq!(req.param("Domain"), Some("x"));
        assert_eq!(req.attributes, OpsValue::Assoc(Vec::new()));
    }

    #[test]
    fn params_at_the_top_level_or_in_attributes() {
        let inside = decode_items(&format!(
            "{ROUTING}<item key=\"attributes\"><dt_assoc><item key=\"domain\">in.com</item>\
             <item key=\"username\">u1</item><item key=\"cookie\">c1</item></dt_assoc></item>"
        ))
        .unwrap();
        let outside = decode_items(&format!(
            "{ROUTING}<item key=\"domain\">top.com</item><item key=\"username\">u0</item>\
             <item key=\"cookie\">c0</item><item key=\"attributes\"><dt_assoc>\
             <item key=\"domain\">in.com</item></dt_assoc></item>"
        ))
        .unwrap();
        assert_eq!(inside.param("domain"), Some("in.com"));
        assert_eq!(inside.param("username"), Some("u1"));
        assert_eq!(inside.param("cookie"), Some("c1"));
        // The top level wins.
        assert_eq!(outside.param("domain"), Some("top.com"));
        assert_eq!(outside.param("username"), Some("u0"));
        assert_eq!(outside.param("cookie"), Some("c0"));
        assert_eq!(outside.attributes.get_str("domain"), Some("in.com"));
        // An empty attributes item is an empty assoc.
        let empty = decode_items(&format!("{ROUTING}<item key=\"attributes\"/>")).unwrap();
        assert_eq!(empty.attributes, OpsValue::Assoc(Vec::new()));
        let php_empty = decode_items(&format!(
            "{ROUTING}<item key=\"attributes\"><dt_assoc>\n</dt_assoc></item>"
        ))
        .unwrap();
        assert_eq!(php_empty.attributes, OpsValue::Assoc(Vec::new()));
    }

    #[test]
    fn value_text_is_kept_as_sent() {
        let req = decode_items(&format!(
            "{ROUTING}\n  <item key=\"attributes\">\n <dt_assoc>\n\
             <item key=\"text\">  two\n lines &amp; &lt;&gt;&quot;&apos; &#233;&#x263A; </item>\
             <item key=\"cdata\"><![CDATA[<raw> & ]]></item>\
             <item key=\"wrapped\"><dt_scalar> w </dt_scalar></item>\n\
             <item key=\"blank\">   </item><item key=\"nested\">\n  <dt_assoc>\n\
             <item key=\"a\"><dt_array>\n<item key=\"0\"/>\n</dt_array></item>\n\
             </dt_assoc>\n  </item>\n </dt_assoc></item>"
        ))
        .unwrap();
        let a = &req.attributes;
        assert_eq!(a.get_str("text"), Some("  two\n lines & <>\"' é☺ "));
        assert_eq!(a.get_str("cdata"), Some("<raw> & "));
        assert_eq!(a.get_str("wrapped"), Some(" w "));
        assert_eq!(a.get_str("blank"), Some("   "));
        assert_eq!(
            a.get("nested"),
            Some(&OpsValue::Assoc(vec![(
                "a".into(),
                OpsValue::Array(vec![(0, scalar(""))])
            )]))
        );
    }

    #[test]
    fn latin1_bodies() {
        let declared = envelope(&format!("{ROUTING}<item key=\"name\">Ren\u{e9}</item>")).replace(
            "<?xml version=\"1.0\"?>",
            "<?xml version='1.0' encoding='ISO-8859-1'?>",
        );
        let latin1: Vec<u8> = declared.chars().map(|c| c as u8).collect();
        let req = decode(&latin1, 32).unwrap();
        assert_eq!(req.param("name"), Some("René"));
        // Undeclared and not UTF-8: read as Latin-1.
        let undeclared: Vec<u8> =
            envelope(&format!("{ROUTING}<item key=\"name\">Ren\u{e9}</item>"))
                .chars()
                .map(|c| c as u8)
                .collect();
        assert_eq!(decode(&undeclared, 32).unwrap().param("name"), Some("René"));
        // Declared UTF-8 but not: refused, not guessed.
        let lying: Vec<u8> = declared
            .replace("ISO-8859-1", "UTF-8")
            .chars()
            .map(|c| c as u8)
            .collect();
        assert!(matches!(decode(&lying, 32), Err(EnvelopeError::Xml(_))));
    }

    const LAUGHS: &str = "<?xml version=\"1.0\"?>\n<!DOCTYPE OPS_envelope [\n\
        <!ENTITY lol \"lol\">\n\
        <!ENTITY lol1 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">\n\
        <!ENTITY lol2 \"&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;\">\n\
        <!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">\n\
        <!ENTITY lol4 \"&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;\">\n\
        <!ENTITY lol5 \"&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;\">\n\
        <!ENTITY lol6 \"&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;\">\n\
        <!ENTITY lol7 \"&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;\">\n\
        <!ENTITY lol8 \"&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;\">\n\
        <!ENTITY lol9 \"&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;\">\n\
        ]>\n";

    fn after_doctype(doctype: &str, items: &str) -> String {
        format!(
            "{doctype}{}",
            envelope(items).trim_start_matches("<?xml version=\"1.0\"?>")
        )
    }

    #[test]
    fn entities_are_never_expanded() {
        let used = after_doctype(
            LAUGHS,
            &format!("{ROUTING}<item key=\"domain\">&lol9;</item>"),
        );
        match decode(used.as_bytes(), 32) {
            Err(e) => assert!(e.to_string().contains("lol9"), "{e}"),
            Ok(req) => assert!(!format!("{req:?}").contains("lollol"), "{req:?}"),
        }
        assert!(decode(used.as_bytes(), 32).is_err());
        // Declared but unused: the DOCTYPE is skipped and the request is fine.
        let unused = after_doctype(LAUGHS, ROUTING);
        let req = decode(unused.as_bytes(), 32).unwrap();
        assert!(!format!("{req:?}").contains("lol"));
        // An entity in an attribute value is refused the same way.
        let in_key = after_doctype(LAUGHS, &format!("{ROUTING}<item key=\"&lol9;\">x</item>"));
        assert!(decode(in_key.as_bytes(), 32).is_err());
    }

    #[test]
    fn external_entities_are_never_fetched() {
        let doctype = "<!DOCTYPE OPS_envelope SYSTEM \"http://127.0.0.1:9/ops.dtd\" [\n\
            <!ENTITY xxe SYSTEM \"file:///etc/passwd\">\n\
            <!ENTITY % remote SYSTEM \"http://127.0.0.1:9/evil.dtd\">\n%remote;\n\
            <!-- a comment's apostrophe ' and ]> do not end it -->\n\
            <?pi ]> ?>\n<!ENTITY quoted \"]>\">\n]>";
        let used = after_doctype(doctype, &format!("{ROUTING}<item key=\"x\">&xxe;</item>"));
        let e = decode(used.as_bytes(), 32).unwrap_err();
        assert!(e.to_string().contains("&xxe;"), "{e}");
        let unused = after_doctype(doctype, ROUTING);
        assert!(decode(unused.as_bytes(), 32).unwrap().action_is("get"));
        // A DOCTYPE after the root, or a second one, reaches the parser, which refuses it.
        let late = format!("{}<!DOCTYPE x>", envelope(ROUTING));
        assert!(decode(late.as_bytes(), 32).is_err());
        let twice = after_doctype("<!DOCTYPE a><!DOCTYPE b>", ROUTING);
        assert!(decode(twice.as_bytes(), 32).is_err());
        // `<!DOCTYPE` as text in a value is just text.
        let text = envelope(&format!(
            "{ROUTING}<item key=\"x\"><![CDATA[<!DOCTYPE x>]]></item>"
        ));
        assert_eq!(
            decode(text.as_bytes(), 32).unwrap().param("x"),
            Some("<!DOCTYPE x>")
        );
        for unterminated in [
            "<!DOCTYPE a [",
            "<!DOCTYPE a \"",
            "<!DOCTYPE a [<!-- ]>",
            "<!DOCTYPE",
        ] {
            assert_eq!(
                decode(unterminated.as_bytes(), 32),
                Err(EnvelopeError::UnterminatedDoctype)
            );
        }
    }

    /// An envelope nested exactly `depth` elements deep (at least 5): `OPS_envelope`, `body`,
    /// `data_block`, `dt_assoc` and an `item`, then assoc/item pairs, then a `dt_scalar`
    /// wrapper when one more level is needed.
    fn nested(depth: usize) -> String {
        let pairs = (depth - 5) / 2;
        let value = if (depth - 5) % 2 == 1 {
            "<dt_scalar>x</dt_scalar>"
        } else {
            "x"
        };
        envelope(&format!(
            "{ROUTING}<item key=\"a\">{}{value}{}</item>",
            "<dt_assoc><item key=\"a\">".repeat(pairs),
            "</item></dt_assoc>".repeat(pairs)
        ))
    }

    #[test]
    fn nesting_is_capped() {
        assert!(decode(nested(32).as_bytes(), 32).is_ok());
        assert!(decode(nested(31).as_bytes(), 32).is_ok());
        let e = decode(nested(33).as_bytes(), 32).unwrap_err();
        assert!(matches!(e, EnvelopeError::Xml(_)), "{e:?}");
        assert!(e.to_string().contains("nested more than 32"), "{e}");
        assert!(decode(nested(2000).as_bytes(), 32).is_err());
    }

    #[test]
    fn malformed_and_wrong_envelopes_are_refused() {
        let full = envelope(ROUTING);
        let cases: Vec<(String, &str)> = vec![
            (String::new(), "malformed envelope"),
            ("garbage".into(), "malformed envelope"),
            ("\u{0}\u{1}\u{2}".into(), "malformed envelope"),
            ("<OPS_envelope>".into(), "malformed envelope"),
            (full[..full.len() - 3].into(), "malformed envelope"),
            (full.replace("</item>", "</itm>"), "malformed envelope"),
            ("<other/>".into(), "not <OPS_envelope>"),
            ("<OPS_envelope/>".into(), "has no <body>"),
            (
                "<OPS_envelope><body/></OPS_envelope>".into(),
                "has no <data_block>",
            ),
            (
                "<OPS_envelope><body><data_block/></body></OPS_envelope>".into(),
                "exactly one",
            ),
            (
                "<OPS_envelope><body><data_block><dt_scalar>x</dt_scalar></data_block>\
                 </body></OPS_envelope>"
                    .into(),
                "must hold a <dt_assoc>",
            ),
            (envelope(""), "no action"),
            (envelope("<item key=\"action\">x</item>"), "no object"),
            (
                envelope("<item key=\"action\"> </item><item key=\"object\">d</item>"),
                "no action",
            ),
            (
                envelope("<item key=\"action\"><dt_assoc/></item><item key=\"object\">d</item>"),
                "no action",
            ),
            (envelope(&format!("{ROUTING}<item>x</item>")), "has no key"),
            (
                envelope(&format!("{ROUTING}<item key=\"action\">again</item>")),
                "appears twice",
            ),
            (
                envelope(&format!(
                    "{ROUTING}<item key=\"l\"><dt_array><item key=\"x\"/></dt_array></item>"
                )),
                "is not a number",
            ),
            (
                envelope(&format!(
                    "{ROUTING}<item key=\"l\"><dt_array><item key=\"1\"/><item key=\"1\"/>\
                     </dt_array></item>"
                )),
                "appears twice",
            ),
            (
                envelope(&format!(
                    "{ROUTING}<item key=\"l\"><dt_array><item key=\"99999999999999999999999\"/>\
                     </dt_array></item>"
                )),
                "is not a number",
            ),
            (
                envelope(&format!("{ROUTING}<item key=\"x\"><b/></item>")),
                "<b>",
            ),
            (envelope(&format!("{ROUTING}<junk/>")), "only <item>"),
            (
                envelope(&format!(
                    "{ROUTING}<item key=\"x\">t<dt_scalar>v</dt_scalar></item>"
                )),
                "not both",
            ),
            (
                envelope(&format!("{ROUTING}<item key=\"attributes\">text</item>")),
                "attributes item",
            ),
            (
                envelope(&format!("{ROUTING}<item key=\"x\">&unknown;</item>")),
                "undefined entity",
            ),
            (
                "\u{FEFF}<?xml version='1.0' encoding='EBCDIC'?><a/>".into(),
                "unsupported",
            ),
        ];
        for (body, expected) in cases {
            let e = decode(body.as_bytes(), 32).unwrap_err();
            assert!(e.to_string().contains(expected), "{body:?}: {e}");
        }
        // Every truncation of a real capture is refused, not half-read.
        let capture = fixture("php-toolkit-send_password.body.xml");
        for len in (0..capture.len() - 20).step_by(7) {
            assert!(decode(&capture[..len], 32).is_err(), "{len}");
        }
    }

    #[test]
    fn random_and_mutated_input_never_panics() {
        let mut seeds: Vec<Vec<u8>> = CLIENTS
            .iter()
            .map(|c| fixture(&format!("{c}-send_password.body.xml")))
            .collect();
        seeds.push(fixture("canned-reply.xml"));
        seeds.push(nested(32).into_bytes());
        seeds.push(after_doctype(LAUGHS, ROUTING).into_bytes());
        seeds.push(
            envelope(&format!(
                "{ROUTING}<item key=\"l\"><dt_array><item key=\"1\"><dt_scalarref>a\
                 </dt_scalarref></item><item key=\"0\"/></dt_array></item>"
            ))
            .into_bytes(),
        );
        let mut rng = XorShift::new(0x0b5e_55ed);
        for round in 0..4000 {
            let input = if round % 5 == 4 {
                let n = rng.below(300);
                rng.bytes(n)
            } else {
                let seed = &seeds[rng.below(seeds.len())];
                mutate(&mut rng, seed)
            };
            if let Err(e) = decode(&input, 32) {
                assert!(!e.to_string().is_empty());
            }
        }
    }

    #[test]
    fn the_reply_matches_the_canned_one() {
        let reply = OpsReply {
            object: "domain".into(),
            is_success: true,
            response_code: 200,
            response_text: "Message sent".into(),
            attributes: Vec::new(),
        };
        assert_eq!(
            String::from_utf8(encode_reply(&reply)).unwrap(),
            String::from_utf8(fixture("canned-reply.xml")).unwrap()
        );
    }

    #[test]
    fn replies_escape_and_upper_case() {
        let reply = OpsReply {
            object: "domain".into(),
            is_success: false,
            response_code: 465,
            response_text: "bad <value> & \"quoted\" 'x' \u{1}more\u{b}\u{1f}".into(),
            attributes: Vec::new(),
        };
        let text = String::from_utf8(encode_reply(&reply)).unwrap();
        assert!(
            text.contains("<item key=\"object\">DOMAIN</item>"),
            "{text}"
        );
        assert!(text.contains("<item key=\"is_success\">0</item>"), "{text}");
        assert!(
            text.contains("bad &lt;value&gt; &amp; &quot;quoted&quot; &apos;x&apos; more</item>"),
            "{text}"
        );
        assert!(!text.contains("attributes"), "{text}");
        assert!(!text.chars().any(|c| c.is_control() && c != '\n'), "{text}");
        let back = decode(text.as_bytes(), 32).unwrap();
        assert_eq!(back.attributes, OpsValue::Assoc(Vec::new()));
        assert_eq!(
            back.top.get_str("response_text"),
            Some("bad <value> & \"quoted\" 'x' more")
        );
    }

    #[test]
    fn replies_round_trip_through_the_decoder() {
        let attributes = vec![
            ("cookie".to_string(), scalar("c")),
            ("k<&\"'>".to_string(), scalar("multi\nline\ttext\r")),
            ("empty".to_string(), scalar("")),
            (
                "nested".to_string(),
                OpsValue::Assoc(vec![
                    (
                        "list".to_string(),
                        OpsValue::Array(vec![(0, scalar("a")), (3, scalar("d"))]),
                    ),
                    ("none".to_string(), OpsValue::Assoc(Vec::new())),
                ]),
            ),
        ];
        let reply = OpsReply {
            object: "Cookie".into(),
            is_success: true,
            response_code: 200,
            response_text: "Command completed successfully".into(),
            attributes: attributes.clone(),
        };
        let back = decode(&encode_reply(&reply), 32).unwrap();
        assert!(back.action == "REPLY" && back.object == "COOKIE");
        assert_eq!(back.protocol.as_deref(), Some("XCP"));
        assert_eq!(back.version.as_deref(), Some("0.9"));
        assert_eq!(back.top.get_str("is_success"), Some("1"));
        assert_eq!(back.top.get_str("response_code"), Some("200"));
        assert_eq!(back.attributes, OpsValue::Assoc(attributes));
        assert_eq!(back.param("cookie"), Some("c"));
    }
}
