//! XML-RPC.
//!
//! Pairs covered: `encode_call` -> `decode_call`, `encode_response` -> `decode_response` (both
//! encodings), `encode_fault` -> `decode_response`, and a writer here -> `decode_call` for what
//! other clients send (untyped strings, `i4`/`i8`, word booleans, ISO dates, wrapped base64,
//! comments, references, CDATA, Latin-1). On fuzzed input, whatever `decode_call` accepts must
//! survive `encode_call` -> `decode_call` unchanged.

use passlink::value::{Fault, Value};
use passlink::xml::Encoding;
use passlink::xmlrpc;

use super::values::{
    HandBuilt, any_member_name, any_value, assert_same, dates_writable, param_values, write_base64,
    write_datetime, write_double, write_int, xmlrpc_expected,
};
use super::xml::{XmlWriter, prolog};
use super::*;

fn xmlrpc_method(rng: &mut Rng) -> String {
    loop {
        let m = if rng.one_in(2) {
            format!("xmlStorageSystem.{}", plain_name(rng))
        } else {
            any_string(rng, 16)
        };
        if !legal(&m).trim().is_empty() {
            return m;
        }
    }
}

/// Writes `value` as an XML-RPC `<value>` in one of the forms some client used.
fn xmlrpc_write(w: &mut XmlWriter, rng: &mut Rng, value: &Value) {
    w.raw("<value>");
    match value {
        Value::String(s) => match rng.below(4) {
            // Untyped: the text itself, whitespace and all.
            0 => w.text(rng, s),
            1 if s.is_empty() => w.raw("<string/>"),
            _ => {
                w.ws(rng);
                w.raw("<string>");
                w.text(rng, s);
                w.raw("</string>");
                w.ws(rng);
            }
        },
        Value::Int(i) => {
            let tag = if i32::try_from(*i).is_ok() {
                rng.pick(&["int", "i4", "i8", "ex:i8"])
            } else {
                rng.pick(&["i8", "ex:i8", "int"])
            };
            w.raw(&format!("<{tag}>{}</{tag}>", write_int(rng, *i)));
        }
        Value::Bool(b) => {
            let text = if *b {
                rng.pick(&["1", "true", "True", " TRUE "])
            } else {
                rng.pick(&["0", "false", "False", "\n0\n"])
            };
            w.raw(&format!("<boolean>{text}</boolean>"));
        }
        Value::Double(d) => w.raw(&format!("<double>{}</double>", write_double(rng, *d))),
        Value::DateTime(secs) => w.raw(&format!(
            "<dateTime.iso8601>{}</dateTime.iso8601>",
            write_datetime(rng, *secs)
        )),
        Value::Base64(bytes) => w.raw(&format!("<base64>{}</base64>", write_base64(rng, bytes))),
        Value::Nil => w.raw(rng.pick(&[
            "<nil/>",
            "<ex:nil/>",
            "<ex:nil xmlns:ex=\"http://ws.apache.org/xmlrpc/namespaces/extensions\"/>",
        ])),
        Value::Struct(members) => {
            w.ws(rng);
            if members.is_empty() && rng.one_in(2) {
                w.raw("<struct/>");
            } else {
                w.raw("<struct>");
                for (name, member) in members {
                    w.ws(rng);
                    w.raw("<member>");
                    let write_name = |w: &mut XmlWriter, rng: &mut Rng| {
                        w.ws(rng);
                        w.raw("<name>");
                        w.text(rng, name);
                        w.raw("</name>");
                    };
                    if rng.one_in(4) {
                        w.ws(rng);
                        xmlrpc_write(w, rng, member);
                        write_name(w, rng);
                    } else {
                        write_name(w, rng);
                        w.ws(rng);
                        xmlrpc_write(w, rng, member);
                    }
                    w.ws(rng);
                    w.raw("</member>");
                }
                w.ws(rng);
                w.raw("</struct>");
            }
            w.ws(rng);
        }
        Value::Array(items) => {
            w.ws(rng);
            if items.is_empty() && rng.one_in(2) {
                w.raw(rng.pick(&["<array/>", "<array><data/></array>"]));
            } else {
                w.raw("<array>");
                w.ws(rng);
                w.raw("<data>");
                for item in items {
                    w.ws(rng);
                    xmlrpc_write(w, rng, item);
                }
                w.ws(rng);
                w.raw("</data>");
                w.ws(rng);
                w.raw("</array>");
            }
            w.ws(rng);
        }
    }
    w.raw("</value>");
}

#[derive(Debug)]
struct XmlRpcCase {
    method: String,
    params: Vec<Value>,
    encoding: Encoding,
}

fn xmlrpc_case(rng: &mut Rng) -> XmlRpcCase {
    XmlRpcCase {
        method: xmlrpc_method(rng),
        params: (0..rng.below(5))
            .map(|_| any_value(rng, 3, &mut any_member_name))
            .collect(),
        encoding: if rng.one_in(2) {
            Encoding::Utf8
        } else {
            Encoding::Latin1
        },
    }
}

#[test]
fn xmlrpc_encoded_calls_round_trip() {
    check(
        "xmlrpc_encoded_calls_round_trip",
        1500,
        xmlrpc_case,
        |case| {
            let body = xmlrpc::encode_call(&case.method, &case.params);
            let (call, encoding) = xmlrpc::decode_call(&body)
                .unwrap_or_else(|f| panic!("{f:?} for {:?}", Bytes(body.clone())));
            assert_eq!(encoding, Encoding::Utf8);
            assert_eq!(call.method, legal(&case.method).trim());
            assert!(call.params.iter().all(|p| p.name.is_none()));
            let expected: Vec<Value> = case.params.iter().map(xmlrpc_expected).collect();
            assert_same(&param_values(&call), &expected, "params");
        },
    );
}

#[test]
fn xmlrpc_responses_and_faults_round_trip() {
    check(
        "xmlrpc_responses_and_faults_round_trip",
        1500,
        |rng| {
            let case = xmlrpc_case(rng);
            let value = any_value(rng, 3, &mut any_member_name);
            let fault = Fault {
                code: rng.next_u64() as i32,
                message: any_string(rng, 30),
                client: rng.one_in(2),
            };
            (value, fault, case.encoding)
        },
        |(value, fault, encoding)| {
            let body = xmlrpc::encode_response(value, *encoding);
            let decoded = xmlrpc::decode_response(&body)
                .unwrap_or_else(|f| panic!("{f:?} for {:?}", Bytes(body.clone())));
            assert_same(&[decoded], &[xmlrpc_expected(value)], "response");

            let body = xmlrpc::encode_fault(fault, *encoding);
            let decoded = xmlrpc::decode_response(&body).expect_err("a fault decodes as Err");
            assert_eq!(decoded.code, fault.code);
            assert_eq!(decoded.message, legal(&fault.message));
            // XML-RPC cannot carry whose fault it is; the decoder's convention is code 2.
            assert_eq!(decoded.client, fault.code != 2);
        },
    );
}

fn xmlrpc_hand_built(rng: &mut Rng) -> HandBuilt {
    let latin1 = rng.one_in(3);
    let method = legal(&xmlrpc_method(rng)).trim().to_owned();
    let params: Vec<Value> = (0..rng.below(5))
        .map(|_| xmlrpc_expected(&any_value(rng, 3, &mut any_member_name)))
        .collect();
    let (before, decl) = prolog(rng, latin1);
    let mut w = XmlWriter::new(latin1);
    w.raw(&decl);
    w.ws(rng);
    w.raw("<methodCall>");
    w.ws(rng);
    w.raw("<methodName>");
    w.raw(rng.pick(&["", " ", "\n\t"]));
    w.text(rng, &method);
    w.raw(rng.pick(&["", " ", "\r\n"]));
    w.raw("</methodName>");
    w.ws(rng);
    if params.is_empty() && rng.one_in(2) {
        w.raw(rng.pick(&["", "<params/>"]));
    } else {
        w.raw("<params>");
        for param in &params {
            w.ws(rng);
            w.raw("<param>");
            w.ws(rng);
            xmlrpc_write(&mut w, rng, param);
            w.ws(rng);
            w.raw("</param>");
        }
        w.ws(rng);
        w.raw("</params>");
    }
    w.ws(rng);
    w.raw("</methodCall>");
    w.ws(rng);
    let mut body = before;
    body.extend(w.into_bytes());
    HandBuilt {
        body: Bytes(body),
        method,
        params: params.into_iter().map(|v| (String::new(), v)).collect(),
        encoding: if latin1 {
            Encoding::Latin1
        } else {
            Encoding::Utf8
        },
    }
}

#[test]
fn xmlrpc_hand_built_calls_decode() {
    check(
        "xmlrpc_hand_built_calls_decode",
        1500,
        xmlrpc_hand_built,
        |case| {
            let (call, encoding) =
                xmlrpc::decode_call(&case.body.0).unwrap_or_else(|f| panic!("{f:?}"));
            assert_eq!(encoding, case.encoding);
            assert_eq!(call.method, case.method);
            let expected: Vec<Value> = case.params.iter().map(|(_, v)| v.clone()).collect();
            assert_same(&param_values(&call), &expected, "params");
        },
    );
}

fn xmlrpc_seeds() -> Vec<Vec<u8>> {
    let mut rng = Rng(3);
    let mut seeds = Vec::new();
    for _ in 0..10 {
        let case = xmlrpc_case(&mut rng);
        seeds.push(xmlrpc::encode_call(&case.method, &case.params));
        seeds.push(xmlrpc_hand_built(&mut rng).body.0);
        let value = any_value(&mut rng, 3, &mut any_member_name);
        seeds.push(xmlrpc::encode_response(&value, case.encoding));
    }
    seeds.push(xmlrpc::encode_fault(
        &Fault::protocol("no <such> method"),
        Encoding::Utf8,
    ));
    seeds.extend(soap_fixtures().into_iter().take(2));
    seeds
}

#[test]
fn xmlrpc_decoders_never_panic_and_accepted_calls_are_stable() {
    let seeds = xmlrpc_seeds();
    check(
        "xmlrpc_decoders_never_panic_and_accepted_calls_are_stable",
        3000,
        |rng| fuzz_input(rng, &seeds, XML_TOKENS),
        |input| {
            match xmlrpc::decode_response(&input.0) {
                Ok(value) if dates_writable(&value) => {
                    let body = xmlrpc::encode_response(&value, Encoding::Utf8);
                    let again = xmlrpc::decode_response(&body).unwrap_or_else(|f| {
                        panic!(
                            "re-encoded response refused: {f:?}\n{:?}",
                            Bytes(body.clone())
                        )
                    });
                    assert_same(&[again], &[xmlrpc_expected(&value)], "re-decoded response");
                }
                Err(fault) => {
                    // Any fault, sent or made up by the decoder, goes back out and in intact.
                    let body = xmlrpc::encode_fault(&fault, Encoding::Utf8);
                    let again = xmlrpc::decode_response(&body).expect_err("a fault");
                    assert_eq!(again.code, fault.code);
                    assert_eq!(again.message, legal(&fault.message));
                }
                _ => {}
            }
            let Ok((call, _)) = xmlrpc::decode_call(&input.0) else {
                return;
            };
            // Whatever was accepted survives this crate's encoder and decoder unchanged, up
            // to what the encoder documents it changes.
            let values = param_values(&call);
            if !values.iter().all(dates_writable) {
                return;
            }
            if legal(&call.method).trim().is_empty() {
                return;
            }
            let body = xmlrpc::encode_call(&call.method, &values);
            let (again, _) = xmlrpc::decode_call(&body).unwrap_or_else(|f| {
                panic!("re-encoded call refused: {f:?}\n{:?}", Bytes(body.clone()))
            });
            assert_eq!(again.method, legal(&call.method).trim());
            let expected: Vec<Value> = values.iter().map(xmlrpc_expected).collect();
            assert_same(&param_values(&again), &expected, "re-decoded params");
        },
    );
}
