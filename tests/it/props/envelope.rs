//! OPS (XCP) envelopes.
//!
//! There is no request encoder, so requests are written here (DOCTYPEs with and without an
//! internal subset, either quote style, `dt_scalar`/`dt_scalarref` wrappers, self-closing items,
//! array items out of order and without keys, Latin-1) and decoded. Replies go through
//! `encode_reply` and must be well-formed for quick-xml as well as decode back with `decode`.

use passlink::xcp::envelope::{self, OpsReply, OpsValue};

use super::xml::{XmlWriter, prolog};
use super::*;

/// OPS envelopes: both captured clients and the canned reply.
fn ops_fixtures() -> Vec<Vec<u8>> {
    let seeds: Vec<Vec<u8>> = fixture_dir("opensrs")
        .into_iter()
        .filter(|(name, _)| name.ends_with(".xml"))
        .map(|(_, b)| b)
        .collect();
    assert!(seeds.len() >= 3, "OPS fixtures missing");
    seeds
}

/// A random OPS value; `legal_only` keeps to characters XML can carry.
fn any_ops(rng: &mut Rng, depth: usize, legal_only: bool) -> OpsValue {
    let text = |rng: &mut Rng, max: usize| {
        let s = any_string(rng, max);
        if legal_only { legal(&s) } else { s }
    };
    if depth == 0 || rng.one_in(2) {
        return OpsValue::Scalar(text(rng, 20));
    }
    let n = rng.below(5);
    if rng.one_in(2) {
        let mut keys: Vec<String> = Vec::new();
        while keys.len() < n {
            let k = if rng.one_in(3) {
                plain_name(rng)
            } else {
                text(rng, 8)
            };
            // Keys must stay distinct once the encoder has dropped illegal characters.
            if !keys.iter().any(|seen| legal(seen) == legal(&k)) {
                keys.push(k);
            }
        }
        OpsValue::Assoc(
            keys.into_iter()
                .map(|k| (k, any_ops(rng, depth - 1, legal_only)))
                .collect(),
        )
    } else {
        let mut keys: Vec<usize> = Vec::new();
        while keys.len() < n {
            let k = if rng.one_in(2) {
                rng.below(6)
            } else {
                rng.below(1_000_000)
            };
            if !keys.contains(&k) {
                keys.push(k);
            }
        }
        keys.sort_unstable();
        OpsValue::Array(
            keys.into_iter()
                .map(|k| (k, any_ops(rng, depth - 1, legal_only)))
                .collect(),
        )
    }
}

/// Writes `<item key=...>value</item>` (or, for an array item whose key is its position,
/// sometimes without the key).
fn ops_write_item(w: &mut XmlWriter, rng: &mut Rng, key: Option<&str>, value: &OpsValue) {
    w.raw("<item");
    if let Some(key) = key {
        w.raw(rng.pick(&[" key=", " key = "]));
        w.attribute(rng, key);
    }
    match value {
        OpsValue::Scalar(s) if s.is_empty() && rng.one_in(2) => {
            w.raw(rng.pick(&["/>", " />"]));
            return;
        }
        OpsValue::Scalar(s) => {
            w.raw(">");
            match rng.below(4) {
                0 => {
                    let wrapper = rng.pick(&["dt_scalar", "dt_scalarref"]);
                    w.ws(rng);
                    w.raw(&format!("<{wrapper}>"));
                    w.text(rng, s);
                    w.raw(&format!("</{wrapper}>"));
                    w.ws(rng);
                }
                _ => w.text(rng, s),
            }
        }
        OpsValue::Assoc(_) | OpsValue::Array(_) => {
            w.raw(">");
            w.ws(rng);
            // The DTD lets a dt_scalar wrap one more dt_*.
            let wrapped = rng.one_in(8);
            if wrapped {
                w.raw("<dt_scalar>");
            }
            ops_write_value(w, rng, value);
            if wrapped {
                w.raw("</dt_scalar>");
            }
            w.ws(rng);
        }
    }
    w.raw("</item>");
}

fn ops_write_value(w: &mut XmlWriter, rng: &mut Rng, value: &OpsValue) {
    match value {
        OpsValue::Scalar(s) => w.text(rng, s),
        OpsValue::Assoc(items) => {
            w.raw("<dt_assoc>");
            for (k, v) in items {
                w.ws(rng);
                ops_write_item(w, rng, Some(k), v);
            }
            w.ws(rng);
            w.raw("</dt_assoc>");
        }
        OpsValue::Array(items) => {
            w.raw("<dt_array>");
            let mut order: Vec<usize> = (0..items.len()).collect();
            rng.shuffle(&mut order);
            for (position, &i) in order.iter().enumerate() {
                let (k, v) = &items[i];
                w.ws(rng);
                if *k == position && rng.one_in(2) {
                    ops_write_item(w, rng, None, v);
                } else {
                    let pad = rng.pick(&["", " ", "\t"]);
                    ops_write_item(w, rng, Some(&format!("{pad}{k}{pad}")), v);
                }
            }
            w.ws(rng);
            w.raw("</dt_array>");
        }
    }
}

#[derive(Debug)]
struct OpsCase {
    body: Bytes,
    top: OpsValue,
    action: String,
    object: String,
    protocol: Option<String>,
    attributes: OpsValue,
    msg_id: Option<String>,
}

fn routing_text(rng: &mut Rng, words: &[&str]) -> String {
    loop {
        let s = if rng.one_in(2) {
            let pad = rng.pick(&["", " ", "\n  ", "\t"]);
            format!("{pad}{}{pad}", rng.pick(words))
        } else {
            legal(&any_string(rng, 10))
        };
        if !s.trim().is_empty() {
            return s;
        }
    }
}

fn ops_case(rng: &mut Rng) -> OpsCase {
    let latin1 = rng.one_in(3);
    let action = routing_text(rng, &["SEND_PASSWORD", "send_password", "lookup"]);
    let object = routing_text(rng, &["DOMAIN", "domain", "user"]);
    let protocol = rng.one_in(2).then(|| routing_text(rng, &["XCP"]));
    let attributes = match rng.below(4) {
        0 => None,
        1 => Some(OpsValue::Scalar(rng.pick(&["", " ", "\n"]).to_string())),
        _ => Some(match any_ops(rng, 3, true) {
            a @ OpsValue::Assoc(_) => a,
            other => OpsValue::Assoc(vec![("domain_name".to_owned(), other)]),
        }),
    };
    let mut top: Vec<(String, OpsValue)> = vec![
        ("action".to_owned(), OpsValue::Scalar(action.clone())),
        ("object".to_owned(), OpsValue::Scalar(object.clone())),
    ];
    if let Some(p) = &protocol {
        top.push(("protocol".to_owned(), OpsValue::Scalar(p.clone())));
    }
    if let Some(a) = &attributes {
        top.push(("attributes".to_owned(), a.clone()));
    }
    for _ in 0..rng.below(4) {
        let key = plain_name(rng);
        if !top.iter().any(|(k, _)| *k == key) {
            top.push((key, any_ops(rng, 2, true)));
        }
    }
    rng.shuffle(&mut top);
    let top = OpsValue::Assoc(top);
    let msg_id = rng.one_in(2).then(|| format!("{:x}", rng.next_u64()));

    let (before, decl) = prolog(rng, latin1);
    let mut w = XmlWriter::new(latin1);
    w.raw(&decl);
    w.ws(rng);
    w.raw(rng.pick(&[
        "",
        "<!DOCTYPE OPS_envelope SYSTEM 'ops.dtd'>",
        "<!DOCTYPE OPS_envelope SYSTEM \"ops.dtd\">",
        concat!(
            "<!DOCTYPE OPS_envelope [<!ELEMENT item (#PCDATA)> <!-- ']>' -->",
            " <!ATTLIST item key CDATA \">]\">]>"
        ),
    ]));
    w.ws(rng);
    w.raw("<OPS_envelope>");
    w.ws(rng);
    if msg_id.is_some() || rng.one_in(2) {
        w.raw("<header>");
        w.ws(rng);
        w.raw("<version> 0.9 </version>");
        if let Some(id) = &msg_id {
            w.ws(rng);
            w.raw(&format!("<msg_id>\n{id}\n</msg_id>"));
        }
        w.ws(rng);
        w.raw("</header>");
        w.ws(rng);
    }
    w.raw("<body>");
    w.ws(rng);
    w.raw("<data_block>");
    w.ws(rng);
    ops_write_value(&mut w, rng, &top);
    w.ws(rng);
    w.raw("</data_block>");
    w.ws(rng);
    w.raw("</body>");
    w.ws(rng);
    w.raw("</OPS_envelope>");
    w.ws(rng);
    let mut body = before;
    body.extend(w.into_bytes());

    let expected_attributes = match attributes {
        Some(a @ OpsValue::Assoc(_)) => a,
        _ => OpsValue::Assoc(Vec::new()),
    };
    OpsCase {
        body: Bytes(body),
        top,
        action: action.trim().to_owned(),
        object: object.trim().to_owned(),
        protocol: protocol.map(|p| p.trim().to_owned()),
        attributes: expected_attributes,
        msg_id,
    }
}

#[test]
fn ops_hand_built_requests_decode() {
    check("ops_hand_built_requests_decode", 1500, ops_case, |case| {
        let req = envelope::decode(&case.body.0, passlink::xcp::MAX_DEPTH)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(req.action, case.action);
        assert_eq!(req.object, case.object);
        assert_eq!(req.protocol, case.protocol);
        assert_eq!(req.msg_id, case.msg_id);
        assert_eq!(req.attributes, case.attributes);
        assert_eq!(req.top, case.top);
    });
}

#[derive(Debug)]
struct ReplyCase {
    reply: OpsReply,
}

fn reply_case(rng: &mut Rng) -> ReplyCase {
    let object = loop {
        let o = if rng.one_in(2) {
            rng.pick(&["domain", "USER", "cookie"]).to_string()
        } else {
            any_string(rng, 10)
        };
        if !legal(&o).trim().is_empty() {
            break o;
        }
    };
    let attributes = match any_ops(rng, 3, false) {
        OpsValue::Assoc(items) => items,
        other => vec![("value".to_owned(), other)],
    };
    ReplyCase {
        reply: OpsReply {
            object,
            is_success: rng.one_in(2),
            response_code: rng.pick(&[200, 210, 415, 465, 0, u16::MAX]),
            response_text: any_string(rng, 40),
            attributes: if rng.one_in(4) {
                Vec::new()
            } else {
                attributes
            },
        },
    }
}

/// `value` as the encoder sends it: illegal characters dropped from keys and text.
fn ops_legal(value: &OpsValue) -> OpsValue {
    match value {
        OpsValue::Scalar(s) => OpsValue::Scalar(legal(s)),
        OpsValue::Assoc(items) => OpsValue::Assoc(
            items
                .iter()
                .map(|(k, v)| (legal(k), ops_legal(v)))
                .collect(),
        ),
        OpsValue::Array(items) => {
            OpsValue::Array(items.iter().map(|(k, v)| (*k, ops_legal(v))).collect())
        }
    }
}

/// The keys and scalar texts of `items`, in document order.
fn ops_flatten(items: &[(String, OpsValue)], keys: &mut Vec<String>, texts: &mut Vec<String>) {
    for (k, v) in items {
        keys.push(k.clone());
        match v {
            OpsValue::Scalar(s) => texts.push(s.clone()),
            OpsValue::Assoc(inner) => ops_flatten(inner, keys, texts),
            OpsValue::Array(inner) => {
                let inner: Vec<(String, OpsValue)> = inner
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.clone()))
                    .collect();
                ops_flatten(&inner, keys, texts);
            }
        }
    }
}

/// Reads `doc` with quick-xml alone, failing on anything not well-formed, and returns the
/// `key` of every `<item>` and the text of every `<item>` without child elements, in
/// document order.
fn quick_xml_items(doc: &str) -> (Vec<String>, Vec<String>) {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(doc);
    reader.config_mut().check_end_names = true;
    let mut keys = Vec::new();
    let mut texts = Vec::new();
    // For every open element: its name, whether it has child elements, and its text.
    let mut open: Vec<(String, bool, String)> = Vec::new();
    let mut roots = 0;
    loop {
        let event = reader
            .read_event()
            .unwrap_or_else(|e| panic!("not well-formed at {}: {e}", reader.error_position()));
        match event {
            Event::Start(ref e) | Event::Empty(ref e) => {
                let name = e.name().as_ref().to_owned();
                if open.is_empty() {
                    roots += 1;
                }
                if let Some(parent) = open.last_mut() {
                    parent.1 = true;
                }
                for attribute in e.attributes() {
                    let attribute = attribute.expect("a well-formed attribute");
                    let value = attribute
                        .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                        .expect("a well-formed attribute value");
                    if name == "item" && attribute.key.as_ref() == "key" {
                        keys.push(value.into_owned());
                    }
                }
                let empty = matches!(event, Event::Empty(_));
                if empty && name == "item" {
                    texts.push(String::new());
                } else if !empty {
                    open.push((name, false, String::new()));
                }
            }
            Event::End(_) => {
                let (name, has_elements, text) = open.pop().expect("an end tag without a start");
                if name == "item" && !has_elements {
                    texts.push(text);
                }
            }
            Event::Text(t) => {
                let content = t.xml10_content();
                match open.last_mut() {
                    Some(parent) => parent.2.push_str(&content),
                    None => assert!(content.chars().all(|c| " \t\r\n".contains(c))),
                }
            }
            Event::CData(c) => open
                .last_mut()
                .expect("CDATA in an element")
                .2
                .push_str(&c.xml10_content()),
            Event::GeneralRef(r) => {
                let c = match r.resolve_char_ref().expect("a valid character reference") {
                    Some(c) => c,
                    None => match &*r {
                        "lt" => '<',
                        "gt" => '>',
                        "amp" => '&',
                        "apos" => '\'',
                        "quot" => '"',
                        other => panic!("undefined entity &{other};"),
                    },
                };
                assert!(is_xml_char(c), "a reference to an illegal character");
                open.last_mut()
                    .expect("a reference in an element")
                    .2
                    .push(c);
            }
            Event::Eof => break,
            Event::Decl(_) | Event::DocType(_) | Event::Comment(_) | Event::PI(_) => {}
        }
    }
    assert!(open.is_empty(), "unclosed elements at the end");
    assert_eq!(roots, 1, "one root element");
    (keys, texts)
}

#[test]
fn ops_replies_are_well_formed_and_decode() {
    check(
        "ops_replies_are_well_formed_and_decode",
        1500,
        reply_case,
        |case| {
            let reply = &case.reply;
            let body = envelope::encode_reply(reply);
            let text = std::str::from_utf8(&body).expect("replies are UTF-8");
            assert!(
                text.chars().all(is_xml_char),
                "an illegal character in the reply"
            );

            let attributes: Vec<(String, OpsValue)> = reply
                .attributes
                .iter()
                .map(|(k, v)| (legal(k), ops_legal(v)))
                .collect();
            let object = legal(&reply.object.to_ascii_uppercase());
            let response_text = legal(&reply.response_text);
            let scalar = |s: &str| OpsValue::Scalar(s.to_owned());
            let mut top = vec![
                ("protocol".to_owned(), scalar("XCP")),
                ("action".to_owned(), scalar("REPLY")),
                ("object".to_owned(), scalar(&object)),
                (
                    "is_success".to_owned(),
                    scalar(if reply.is_success { "1" } else { "0" }),
                ),
                (
                    "response_code".to_owned(),
                    scalar(&reply.response_code.to_string()),
                ),
                ("response_text".to_owned(), scalar(&response_text)),
            ];
            if !attributes.is_empty() {
                top.push(("attributes".to_owned(), OpsValue::Assoc(attributes.clone())));
            }

            // quick-xml, knowing nothing of OPS, reads the same keys and texts.
            let (keys, texts) = quick_xml_items(text);
            let (mut expected_keys, mut expected_texts) = (Vec::new(), Vec::new());
            ops_flatten(&top, &mut expected_keys, &mut expected_texts);
            assert_eq!(keys, expected_keys, "item keys as quick-xml reads them");
            assert_eq!(texts, expected_texts, "item texts as quick-xml reads them");

            // And the crate's own decoder reads the reply as a request would be read.
            let decoded =
                envelope::decode(&body, passlink::xcp::MAX_DEPTH).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(decoded.action, "REPLY");
            assert_eq!(decoded.object, object.trim());
            assert_eq!(decoded.protocol.as_deref(), Some("XCP"));
            assert_eq!(decoded.top, OpsValue::Assoc(top));
            assert_eq!(decoded.attributes, OpsValue::Assoc(attributes));
        },
    );
}

#[test]
fn ops_decoder_never_panics() {
    let mut seeds = ops_fixtures();
    let mut rng = Rng(5);
    for _ in 0..10 {
        seeds.push(ops_case(&mut rng).body.0);
        seeds.push(envelope::encode_reply(&reply_case(&mut rng).reply));
    }
    check(
        "ops_decoder_never_panics",
        3000,
        |rng| fuzz_input(rng, &seeds, XML_TOKENS),
        |input| {
            if let Ok(req) = envelope::decode(&input.0, passlink::xcp::MAX_DEPTH) {
                assert!(!req.action.trim().is_empty() && req.action == req.action.trim());
                assert!(!req.object.trim().is_empty() && req.object == req.object.trim());
                assert!(matches!(req.attributes, OpsValue::Assoc(_)));
                assert!(matches!(req.top, OpsValue::Assoc(_)));
                let _ = req.param("domain");
            }
        },
    );
}
