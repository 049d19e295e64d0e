//! `passlink::xmlrpc::decode_call` on arbitrary bytes.
//!
//! Invariants: no panic; a decoded call has a non-empty method name, and its parameters
//! re-encode (as a response in the request's encoding, as a call, and the method name as a
//! fault) without panicking; a refused request's fault encodes too, as the server sends it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use passlink::value::{Fault, Value};
use passlink::xml::Encoding;
use passlink::xmlrpc::{decode_call, encode_call, encode_fault, encode_response};

fuzz_target!(|data: &[u8]| {
    match decode_call(data) {
        Ok((call, encoding)) => {
            assert!(!call.method.is_empty());
            assert!(call.params.iter().all(|p| p.name.is_none()));
            let values: Vec<Value> = call.params.into_iter().map(|p| p.value).collect();
            let response = encode_response(&Value::Array(values.clone()), encoding);
            assert!(!response.is_empty());
            let _ = encode_call(&call.method, &values);
            let _ = encode_fault(&Fault::server(call.method), encoding);
        }
        Err(fault) => {
            let _ = encode_fault(&fault, Encoding::Utf8);
            let _ = encode_fault(&fault, Encoding::Latin1);
        }
    }
});
