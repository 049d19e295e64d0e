//! `passlink::xcp::envelope::decode` (with the server's depth limit, 32) on arbitrary bytes.
//!
//! Invariants: no panic; a decoded request has non-empty, trimmed `action` and `object` and
//! an assoc of attributes; a reply built from it (as `xcp::exchange` builds one: the object
//! cut to 64 characters, attributes echoed back) encodes, and that reply decodes again to the
//! same object (upper-cased) and the same attributes, since every OPS client reads the
//! replies this server writes. No decoded key or value holds a character XML 1.0 forbids: the
//! encoder drops those, so they could not come back (crashes/ops/roundtrip-raw-control-char.xml
//! was this target's first finding, a raw NUL that the parser let through until 50f0590).
#![no_main]

use libfuzzer_sys::fuzz_target;
use passlink::xcp::envelope::{OpsReply, OpsValue, decode, encode_reply};
use passlink::xml::is_xml_char;

const MAX_DEPTH: usize = 32;

/// Whether every key and scalar in `value` is made of characters XML allows.
fn only_xml_chars(value: &OpsValue) -> bool {
    let text = |s: &str| s.chars().all(is_xml_char);
    match value {
        OpsValue::Scalar(s) => text(s),
        OpsValue::Assoc(items) => items.iter().all(|(k, v)| text(k) && only_xml_chars(v)),
        OpsValue::Array(items) => items.iter().all(|(_, v)| only_xml_chars(v)),
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(request) = decode(data, MAX_DEPTH) else {
        return;
    };
    assert!(!request.action.is_empty() && request.action.trim() == request.action);
    assert!(!request.object.is_empty() && request.object.trim() == request.object);
    let OpsValue::Assoc(attributes) = request.attributes.clone() else {
        panic!("attributes decoded as {:?}", request.attributes);
    };
    let _ = (
        request.action_is("get"),
        request.object_is("domain"),
        request.param("domain"),
    );
    let reply = OpsReply {
        object: request.object.chars().take(64).collect(),
        is_success: attributes.len() % 2 == 0,
        response_code: 200,
        response_text: request.action.clone(),
        attributes,
    };
    let bytes = encode_reply(&reply);
    assert!(
        only_xml_chars(&request.top),
        "a character XML forbids was decoded"
    );
    let back = match decode(&bytes, MAX_DEPTH) {
        Ok(back) => back,
        Err(e) => panic!(
            "the reply does not decode: {e}\n{}",
            String::from_utf8_lossy(&bytes)
        ),
    };
    assert_eq!(back.action, "REPLY");
    assert_eq!(back.object, reply.object.to_ascii_uppercase().trim());
    assert_eq!(back.attributes, OpsValue::Assoc(reply.attributes));
});
