//! The OPS envelope: bytes to a typed request, and a typed reply to bytes. Lenient the way
//! real XCP clients need (either quote style, DOCTYPE or none, `dt_scalar` wrapping,
//! self-closing items, any case for action and object), and safe: the DOCTYPE is removed
//! unread before parsing, so its internal subset can declare nothing and nothing is fetched.

use std::fmt;

use crate::xml::{self, Element};

/// One value of OPS data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OpsValue {
    Scalar(String),
    Assoc(Vec<(String, OpsValue)>),
    /// Items in key order (0, 1, 2, …), whatever order they came in.
    Array(Vec<OpsValue>),
}

impl OpsValue {
    pub fn get(&self, key: &str) -> Option<&OpsValue> {
        match self {
            OpsValue::Assoc(items) => items.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    pub fn get_str(&self, key: &str) -> Option<&str> {
        match self.get(key)? {
            OpsValue::Scalar(s) => Some(s),
            _ => None,
        }
    }
}

/// A decoded request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpsRequest {
    pub protocol: Option<String>,
    pub action: String,
    pub object: String,
    /// The top-level `dt_assoc` of the data block.
    pub top: OpsValue,
    pub msg_id: Option<String>,
}

impl OpsRequest {
    pub fn action_is(&self, action: &str) -> bool {
        self.action.eq_ignore_ascii_case(action)
    }

    pub fn object_is(&self, object: &str) -> bool {
        self.object.eq_ignore_ascii_case(object)
    }

    /// The `attributes` assoc, if any.
    pub fn attributes(&self) -> Option<&OpsValue> {
        self.top.get("attributes")
    }

    /// A scalar parameter read at the top level first, then inside `attributes`: clients put
    /// `domain`, `username` and `cookie` in either place.
    pub fn param(&self, key: &str) -> Option<&str> {
        self.top
            .get_str(key)
            .or_else(|| self.attributes().and_then(|a| a.get_str(key)))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvelopeError(String);

impl fmt::Display for EnvelopeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for EnvelopeError {}

fn err(message: impl Into<String>) -> EnvelopeError {
    EnvelopeError(message.into())
}

/// Removes a `<!DOCTYPE …>` declaration (internal subset included) without interpreting it.
fn strip_doctype(text: &str) -> Result<String, EnvelopeError> {
    let Some(start) = text.find("<!DOCTYPE") else {
        return Ok(text.to_string());
    };
    // Only a DOCTYPE before the root element (after at most the XML declaration) is one.
    let before = text[..start].trim();
    let declaration_only = before.is_empty()
        || (before.starts_with("<?") && before.ends_with("?>") && before.matches('<').count() == 1);
    if !declaration_only {
        return Err(err("a DOCTYPE may only come before the root element"));
    }
    let mut depth = 0usize;
    let mut quote: Option<char> = None;
    for (i, c) in text[start..].char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '[') => depth += 1,
            (None, ']') => depth = depth.saturating_sub(1),
            (None, '>') if depth == 0 => {
                let end = start + i + 1;
                return Ok(format!("{}{}", &text[..start], &text[end..]));
            }
            _ => {}
        }
    }
    Err(err("unterminated DOCTYPE"))
}

/// Decodes an `OPS_envelope`. `max_depth` caps element nesting.
pub fn decode(body: &[u8], max_depth: usize) -> Result<OpsRequest, EnvelopeError> {
    let (text, _) = xml::decode_body(body).map_err(|e| err(format!("malformed envelope: {e}")))?;
    let text = strip_doctype(&text)?;
    let root =
        xml::parse_str(&text, max_depth).map_err(|e| err(format!("malformed envelope: {e}")))?;
    if root.local_name() != "OPS_envelope" {
        return Err(err(format!(
            "the root element is <{}>, not <OPS_envelope>",
            xml::truncate(root.local_name(), 40)
        )));
    }
    let msg_id = root
        .elements()
        .find(|e| e.local_name() == "header")
        .and_then(|h| h.elements().find(|e| e.local_name() == "msg_id"))
        .map(|e| e.text().trim().to_string());
    let data_block = child(child(&root, "body")?, "data_block")?;
    let assoc = data_block
        .elements()
        .next()
        .ok_or_else(|| err("<data_block> is empty"))?;
    let top = value_of(assoc)?;
    if !matches!(top, OpsValue::Assoc(_)) {
        return Err(err("<data_block> must hold a <dt_assoc>"));
    }
    let scalar = |key: &str| top.get_str(key).map(|s| s.trim().to_string());
    let action = scalar("action").filter(|s| !s.is_empty());
    let object = scalar("object").filter(|s| !s.is_empty());
    let (Some(action), Some(object)) = (action, object) else {
        return Err(err("the request names no action or no object"));
    };
    Ok(OpsRequest {
        protocol: scalar("protocol"),
        action,
        object,
        msg_id,
        top,
    })
}

fn child<'a>(parent: &'a Element, name: &str) -> Result<&'a Element, EnvelopeError> {
    parent
        .elements()
        .find(|e| e.local_name() == name)
        .ok_or_else(|| err(format!("<{}> has no <{name}>", parent.local_name())))
}

/// The value inside an `<item>` (or a bare `dt_*` element).
fn value_of(element: &Element) -> Result<OpsValue, EnvelopeError> {
    match element.local_name() {
        "dt_assoc" => {
            let mut items = Vec::new();
            for item in element.elements() {
                let key = item
                    .attribute("key")
                    .ok_or_else(|| err("an <item> in <dt_assoc> has no key"))?;
                items.push((key.to_string(), item_value(item)?));
            }
            Ok(OpsValue::Assoc(items))
        }
        "dt_array" => {
            let mut items: Vec<(usize, OpsValue)> = Vec::new();
            for (position, item) in element.elements().enumerate() {
                let key = match item.attribute("key") {
                    Some(k) => k
                        .trim()
                        .parse::<usize>()
                        .map_err(|_| err(format!("array key {k:?} is not a number")))?,
                    None => position,
                };
                items.push((key, item_value(item)?));
            }
            items.sort_by_key(|(k, _)| *k);
            Ok(OpsValue::Array(items.into_iter().map(|(_, v)| v).collect()))
        }
        "dt_scalar" | "dt_scalarref" => Ok(OpsValue::Scalar(element.text().into_owned())),
        other => Err(err(format!(
            "unexpected element <{}>",
            xml::truncate(other, 40)
        ))),
    }
}

/// An `<item>`'s value: a nested `dt_*` element, or its text (empty for `<item key="x"/>`).
fn item_value(item: &Element) -> Result<OpsValue, EnvelopeError> {
    match item.elements().next() {
        Some(inner) => value_of(inner),
        None => Ok(OpsValue::Scalar(item.text().into_owned())),
    }
}

/// A reply to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpsReply {
    pub object: String,
    pub is_success: bool,
    pub response_code: u16,
    pub response_text: String,
    pub attributes: Vec<(String, OpsValue)>,
}

/// Text for XML: all five special characters escaped and characters XML forbids (controls)
/// dropped, as Tucows' own codec did.
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
            for (i, v) in items.iter().enumerate() {
                push_item(out, indent + 2, &i.to_string(), v);
            }
            out.push_str(&format!("{pad} </dt_array>\n{pad}"));
        }
    }
    out.push_str("</item>\n");
}

/// Encodes a reply envelope: protocol XCP, action REPLY, the object upper-cased, and
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

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Vec<u8> {
        std::fs::read(format!(
            "{}/tests/fixtures/opensrs/{name}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap()
    }

    #[test]
    fn both_captured_clients_decode() {
        for client in ["net-opensrs", "php-toolkit"] {
            let req = decode(&fixture(&format!("{client}-send_password.body.xml")), 32).unwrap();
            assert!(req.action_is("send_password"), "{client}: {req:?}");
            assert!(req.object_is("domain"), "{client}");
            assert!(req.protocol.as_deref().unwrap().eq_ignore_ascii_case("xcp"));
            assert_eq!(req.param("domain_name"), Some("example.info"), "{client}");
        }
    }

    fn envelope(items: &str) -> String {
        format!(
            "<?xml version=\"1.0\"?><OPS_envelope><header><version>0.9</version></header>\
             <body><data_block><dt_assoc>{items}</dt_assoc></data_block></body></OPS_envelope>"
        )
    }

    #[test]
    fn tolerant_decoding() {
        let text = envelope(
            "<item key=\"protocol\" class=\"x\"><dt_scalar>XCP</dt_scalar></item>\
             <item key=\"action\">SET</item><item key=\"object\">cookie</item>\
             <item key=\"cookie\"><dt_scalarref>c00kie</dt_scalarref></item>\
             <item key=\"attributes\"><dt_assoc><item key=\"domain\">a.com</item>\
             <item key=\"reg_password\"/>\
             <item key=\"list\"><dt_array><item key=\"1\">b</item><item key=\"0\">a</item>\
             </dt_array></item></dt_assoc></item>",
        );
        let req = decode(text.as_bytes(), 32).unwrap();
        assert!(req.action_is("set") && req.object_is("COOKIE"));
        assert_eq!(req.param("cookie"), Some("c00kie"));
        assert_eq!(req.param("domain"), Some("a.com"));
        assert_eq!(req.param("reg_password"), Some(""));
        assert_eq!(
            req.attributes().unwrap().get("list"),
            Some(&OpsValue::Array(vec![
                OpsValue::Scalar("a".into()),
                OpsValue::Scalar("b".into())
            ]))
        );
        let single = text.replace("<?xml version=\"1.0\"?>", "<?xml version='1.0' encoding='UTF-8' standalone='no' ?>\n<!DOCTYPE OPS_envelope SYSTEM 'ops.dtd'>");
        assert!(decode(single.as_bytes(), 32).is_ok());
    }

    #[test]
    fn hostile_envelopes_are_refused_or_harmless() {
        let laughs = format!(
            "<?xml version=\"1.0\"?><!DOCTYPE OPS_envelope [<!ENTITY lol \"lol\">\
             <!ENTITY lol2 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">]>{}",
            envelope(
                "<item key=\"protocol\">XCP</item><item key=\"action\">&lol2;</item>\
                 <item key=\"object\">domain</item>"
            )
            .trim_start_matches("<?xml version=\"1.0\"?>")
        );
        let result = decode(laughs.as_bytes(), 32);
        assert!(
            result.is_err(),
            "undeclared entity must not expand: {result:?}"
        );
        let xxe = laughs.replace(
            "<!ENTITY lol \"lol\">",
            "<!ENTITY lol SYSTEM \"file:///etc/passwd\">",
        );
        assert!(decode(xxe.as_bytes(), 32).is_err());
        let deep = envelope(&format!(
            "<item key=\"action\">x</item><item key=\"object\">y</item><item key=\"a\">{}x{}</item>",
            "<dt_assoc><item key=\"a\">".repeat(20),
            "</item></dt_assoc>".repeat(20)
        ));
        assert!(decode(deep.as_bytes(), 32).is_err());
        for bad in ["", "garbage", "<OPS_envelope>", "<other/>", &envelope("")] {
            assert!(decode(bad.as_bytes(), 32).is_err(), "{bad}");
        }
    }

    #[test]
    fn replies_escape_and_upper_case() {
        let reply = OpsReply {
            object: "domain".into(),
            is_success: false,
            response_code: 465,
            response_text: "bad <value> & \u{1}more".into(),
            attributes: Vec::new(),
        };
        let text = String::from_utf8(encode_reply(&reply)).unwrap();
        assert!(
            text.contains("<item key=\"object\">DOMAIN</item>"),
            "{text}"
        );
        assert!(text.contains("bad &lt;value&gt; &amp; more"), "{text}");
        assert!(!text.contains("attributes"), "{text}");
        let with = OpsReply {
            attributes: vec![("cookie".into(), OpsValue::Scalar("c".into()))],
            ..reply
        };
        let text = String::from_utf8(encode_reply(&with)).unwrap();
        // A reply parses back with the same decoder.
        let back = decode(text.as_bytes(), 32).unwrap();
        assert!(back.action_is("reply"));
        assert_eq!(back.param("cookie"), Some("c"));
        assert_eq!(back.top.get_str("response_code"), Some("465"));
    }
}
