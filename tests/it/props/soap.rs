//! SOAP.
//!
//! Pairs covered: `encode_call` -> `decode_call` (the only SOAP encode/decode pair; responses
//! and faults have no decoder here), and a writer here -> `decode_call` for what other toolkits
//! send (any prefixes, the 1999/2000 schema namespaces, `SOAP-ENC:` types, `hexBinary`, untyped
//! values inferred from their shape, `href` multi-references, Latin-1). On fuzzed input,
//! whatever `decode_call` accepts must survive `encode_call` -> `decode_call`.

use passlink::soap;
use passlink::value::{Call, Value};
use passlink::xml::{self, Encoding};

use super::values::{
    HandBuilt, any_member_name, any_value, assert_same, dates_writable, map_value, soap_expected,
    write_base64, write_datetime, write_double, write_int,
};
use super::xml::{XmlWriter, prolog};
use super::*;

#[derive(Debug)]
struct SoapCase {
    operation: String,
    params: Vec<(String, Value)>,
}

fn soap_case(rng: &mut Rng) -> SoapCase {
    SoapCase {
        operation: if rng.one_in(2) {
            plain_name(rng)
        } else {
            any_string(rng, 12)
        },
        params: (0..rng.below(5))
            .map(|_| (plain_name(rng), any_value(rng, 3, &mut any_member_name)))
            .collect(),
    }
}

fn soap_params(call: &Call) -> Vec<(String, Value)> {
    call.params
        .iter()
        .map(|p| (p.name.clone().unwrap_or_default(), p.value.clone()))
        .collect()
}

fn assert_same_params(actual: &[(String, Value)], expected: &[(String, Value)]) {
    let names = |ps: &[(String, Value)]| ps.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
    assert_eq!(names(actual), names(expected), "parameter names");
    let values = |ps: &[(String, Value)]| ps.iter().map(|(_, v)| v.clone()).collect::<Vec<_>>();
    assert_same(&values(actual), &values(expected), "parameter values");
}

#[test]
fn soap_encoded_calls_round_trip() {
    check("soap_encoded_calls_round_trip", 1500, soap_case, |case| {
        let params: Vec<(&str, Value)> = case
            .params
            .iter()
            .map(|(n, v)| (n.as_str(), v.clone()))
            .collect();
        let body = soap::encode_call(&case.operation, &params);
        let (call, encoding) = soap::decode_call(&body)
            .unwrap_or_else(|f| panic!("{f:?} for {:?}", Bytes(body.clone())));
        assert_eq!(encoding, Encoding::Utf8);
        assert_eq!(call.method, xml::element_name(&case.operation));
        let expected: Vec<(String, Value)> = case
            .params
            .iter()
            .map(|(n, v)| (n.clone(), soap_expected(v)))
            .collect();
        assert_same_params(&soap_params(&call), &expected);
    });
}

/// Prefixes and namespaces for one hand-built envelope.
struct SoapStyle {
    env: &'static str,
    xsi: &'static str,
    xsd: &'static str,
    enc: &'static str,
    /// Referenced values, written after the method element inside the Body.
    refs: Vec<String>,
    next_id: usize,
}

/// Writes `<name ...>value</name>` in one of the shapes SOAP toolkits use. `extra` goes into
/// the start tag (an `id` for a multi-referenced value).
fn soap_write(
    w: &mut XmlWriter,
    rng: &mut Rng,
    st: &mut SoapStyle,
    name: &str,
    value: &Value,
    extra: &str,
) {
    let (xsi, xsd, enc) = (st.xsi, st.xsd, st.enc);
    // Now and then a value goes out of line, referenced by `href`.
    if extra.is_empty() && !matches!(value, Value::Nil) && rng.one_in(6) {
        st.next_id += 1;
        let id = format!("ref-{}", st.next_id);
        w.raw(&format!("<{name} href=\"#{id}\"/>"));
        let mut out_of_line = XmlWriter::new(w.latin1);
        let element = rng.pick(&["multiRef", "item", "x:Thing"]);
        let extra = if element.starts_with("x:") {
            format!(" id=\"{id}\" xmlns:x=\"urn:x\"")
        } else {
            format!(" id=\"{id}\"")
        };
        soap_write(&mut out_of_line, rng, st, element, value, &extra);
        st.refs.push(out_of_line.out);
        return;
    }
    let typed = |rng: &mut Rng, local: &[&str]| {
        let local = rng.pick(local);
        if rng.one_in(4) {
            format!(" {xsi}:type=\"{enc}:{local}\"")
        } else {
            format!(" {xsi}:type=\"{xsd}:{local}\"")
        }
    };
    match value {
        Value::Nil => {
            let nil = rng.pick(&["1", "true", " true "]);
            w.raw(&format!("<{name}{extra} {xsi}:nil=\"{nil}\"/>"));
        }
        Value::String(s) => {
            let attrs = match rng.below(3) {
                0 => String::new(),
                _ => typed(rng, &["string", "normalizedString", "token", "anyURI"]),
            };
            if s.is_empty() && rng.one_in(2) {
                w.raw(&format!("<{name}{extra}{attrs}/>"));
            } else {
                w.raw(&format!("<{name}{extra}{attrs}>"));
                w.text(rng, s);
                w.raw(&format!("</{name}>"));
            }
        }
        Value::Int(i) => {
            let attrs = typed(rng, &["int", "long", "integer", "short", "unsignedLong"]);
            let text = write_int(rng, *i);
            w.raw(&format!("<{name}{extra}{attrs}>{text}</{name}>"));
        }
        Value::Bool(b) => {
            let attrs = typed(rng, &["boolean"]);
            let text = if *b {
                rng.pick(&["1", "true", " true\n"])
            } else {
                rng.pick(&["0", "false", " 0 "])
            };
            w.raw(&format!("<{name}{extra}{attrs}>{text}</{name}>"));
        }
        Value::Double(d) => {
            let attrs = typed(rng, &["double", "float", "decimal"]);
            let text = write_double(rng, *d);
            w.raw(&format!("<{name}{extra}{attrs}>{text}</{name}>"));
        }
        Value::DateTime(secs) => {
            let attrs = typed(rng, &["dateTime"]);
            let text = write_datetime(rng, *secs);
            w.raw(&format!("<{name}{extra}{attrs}>{text}</{name}>"));
        }
        Value::Base64(bytes) => {
            let (attrs, text) = match rng.below(3) {
                0 => {
                    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
                    let hex = if rng.one_in(2) {
                        hex.to_ascii_uppercase()
                    } else {
                        hex
                    };
                    (format!(" {xsi}:type=\"{xsd}:hexBinary\""), hex)
                }
                1 => (
                    format!(" {xsi}:type=\"{enc}:base64\""),
                    write_base64(rng, bytes),
                ),
                _ => (
                    format!(" {xsi}:type=\"{xsd}:base64Binary\""),
                    write_base64(rng, bytes),
                ),
            };
            w.raw(&format!("<{name}{extra}{attrs}>{text}</{name}>"));
        }
        Value::Struct(members) => {
            // Untyped only where the shape says struct: some member, not all named `item`.
            let inferable = !members.is_empty() && members.iter().any(|(n, _)| n != "item");
            let attrs = if inferable && rng.one_in(2) {
                String::new()
            } else {
                format!(" {xsi}:type=\"{enc}:Struct\"")
            };
            w.raw(&format!("<{name}{extra}{attrs}>"));
            for (member, v) in members {
                w.ws(rng);
                if rng.one_in(5) {
                    // Members are read by local name, whatever their prefix.
                    let prefix = format!("p{}", rng.below(3));
                    let tag = format!("{prefix}:{member}");
                    let declare = format!(" xmlns:{prefix}=\"urn:member\"");
                    soap_write(w, rng, st, &tag, v, &declare);
                } else {
                    soap_write(w, rng, st, member, v, "");
                }
            }
            w.ws(rng);
            w.raw(&format!("</{name}>"));
        }
        Value::Array(items) => {
            let count = items.len();
            let (attrs, any_item_name) = match rng.below(4) {
                0 => (
                    format!(
                        " {xsi}:type=\"{enc}:Array\" {enc}:arrayType=\"{xsd}:anyType[{count}]\""
                    ),
                    true,
                ),
                1 => (format!(" {xsi}:type=\"{enc}:Array\""), true),
                2 => (format!(" {enc}:arrayType=\"{xsd}:string[{count}]\""), true),
                // Untyped, read as an array because every child is an `item`.
                _ if count > 0 => (String::new(), false),
                _ => (format!(" {xsi}:type=\"{enc}:Array\""), true),
            };
            w.raw(&format!("<{name}{extra}{attrs}>"));
            for item in items {
                w.ws(rng);
                let item_name = if any_item_name && rng.one_in(3) {
                    plain_name(rng)
                } else {
                    "item".to_owned()
                };
                soap_write(w, rng, st, &item_name, item, "");
            }
            w.ws(rng);
            w.raw(&format!("</{name}>"));
        }
    }
}

fn soap_hand_built(rng: &mut Rng) -> HandBuilt {
    let latin1 = rng.one_in(3);
    let method = plain_name(rng);
    // Member names here are plain, so the decoder gives them back as written.
    let params: Vec<(String, Value)> = (0..rng.below(5))
        .map(|_| {
            let v = any_value(rng, 3, &mut plain_name);
            (
                plain_name(rng),
                map_value(&v, &legal, &str::to_owned, &Value::Int),
            )
        })
        .collect();
    let xsd_ns = rng.pick(&[
        "http://www.w3.org/2001/XMLSchema",
        "http://www.w3.org/1999/XMLSchema",
        "http://www.w3.org/2000/10/XMLSchema",
    ]);
    let xsi_ns = rng.pick(&[
        "http://www.w3.org/2001/XMLSchema-instance",
        "http://www.w3.org/1999/XMLSchema-instance",
        "http://www.w3.org/2000/10/XMLSchema-instance",
    ]);
    let mut st = SoapStyle {
        env: rng.pick(&["SOAP-ENV", "soap", "s", "env", "soapenv"]),
        xsi: rng.pick(&["xsi", "i", "xsi2"]),
        xsd: rng.pick(&["xsd", "xs", "d"]),
        enc: rng.pick(&["SOAP-ENC", "soapenc", "enc"]),
        refs: Vec::new(),
        next_id: 0,
    };
    let (before, decl) = prolog(rng, latin1);
    let mut w = XmlWriter::new(latin1);
    let env = st.env;
    w.raw(&decl);
    w.ws(rng);
    w.raw(&format!(
        "<{env}:Envelope xmlns:{env}=\"http://schemas.xmlsoap.org/soap/envelope/\" \
         xmlns:{}=\"{xsi_ns}\" xmlns:{}=\"{xsd_ns}\" \
         xmlns:{}=\"http://schemas.xmlsoap.org/soap/encoding/\"",
        st.xsi, st.xsd, st.enc
    ));
    if rng.one_in(2) {
        w.raw(&format!(
            " {env}:encodingStyle=\"http://schemas.xmlsoap.org/soap/encoding/\""
        ));
    }
    w.raw(">");
    w.ws(rng);
    if rng.one_in(3) {
        w.raw(&format!(
            "<{env}:Header><t:Transaction xmlns:t=\"urn:t\">5</t:Transaction></{env}:Header>"
        ));
        w.ws(rng);
    }
    w.raw(&format!("<{env}:Body>"));
    w.ws(rng);
    let method_tag = match rng.below(3) {
        0 => {
            w.raw(&format!("<{method} xmlns=\"urn:xmlStorageSystem\">"));
            method.clone()
        }
        _ => {
            let m = rng.pick(&["m", "ns0", "ns1"]);
            w.raw(&format!("<{m}:{method} xmlns:{m}=\"urn:any\">"));
            format!("{m}:{method}")
        }
    };
    for (name, value) in &params {
        w.ws(rng);
        soap_write(&mut w, rng, &mut st, name, value, "");
    }
    w.ws(rng);
    w.raw(&format!("</{method_tag}>"));
    for r in std::mem::take(&mut st.refs) {
        w.ws(rng);
        w.raw(&r);
    }
    w.ws(rng);
    w.raw(&format!("</{env}:Body>"));
    w.ws(rng);
    w.raw(&format!("</{env}:Envelope>"));
    let mut body = before;
    body.extend(w.into_bytes());
    HandBuilt {
        body: Bytes(body),
        method,
        params,
        encoding: if latin1 {
            Encoding::Latin1
        } else {
            Encoding::Utf8
        },
    }
}

#[test]
fn soap_hand_built_calls_decode() {
    check(
        "soap_hand_built_calls_decode",
        1500,
        soap_hand_built,
        |case| {
            let (call, encoding) =
                soap::decode_call(&case.body.0).unwrap_or_else(|f| panic!("{f:?}"));
            assert_eq!(encoding, case.encoding);
            assert_eq!(call.method, case.method);
            assert_same_params(&soap_params(&call), &case.params);
        },
    );
}

#[test]
fn soap_decoder_never_panics_and_accepted_calls_are_stable() {
    let mut seeds = soap_fixtures();
    let mut rng = Rng(4);
    for _ in 0..10 {
        let case = soap_case(&mut rng);
        let params: Vec<(&str, Value)> = case
            .params
            .iter()
            .map(|(n, v)| (n.as_str(), v.clone()))
            .collect();
        seeds.push(soap::encode_call(&case.operation, &params));
        seeds.push(soap_hand_built(&mut rng).body.0);
    }
    check(
        "soap_decoder_never_panics_and_accepted_calls_are_stable",
        3000,
        |rng| fuzz_input(rng, &seeds, XML_TOKENS),
        |input| {
            let Ok((call, _)) = soap::decode_call(&input.0) else {
                return;
            };
            // `encode_call` writes parameter names as they are, so only calls whose names
            // are plain element names can be sent again.
            let params = soap_params(&call);
            let plain = |n: &str| xml::element_name(n) == n;
            if !params.iter().all(|(n, v)| plain(n) && dates_writable(v)) {
                return;
            }
            let refs: Vec<(&str, Value)> = params
                .iter()
                .map(|(n, v)| (n.as_str(), v.clone()))
                .collect();
            let body = soap::encode_call(&call.method, &refs);
            let (again, _) = soap::decode_call(&body).unwrap_or_else(|f| {
                panic!("re-encoded call refused: {f:?}\n{:?}", Bytes(body.clone()))
            });
            assert_eq!(again.method, xml::element_name(&call.method));
            let expected: Vec<(String, Value)> = params
                .iter()
                .map(|(n, v)| (n.clone(), soap_expected(v)))
                .collect();
            assert_same_params(&soap_params(&again), &expected);
        },
    );
}
