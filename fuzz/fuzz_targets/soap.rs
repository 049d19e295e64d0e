//! `passlink::soap::decode_call` on arbitrary bytes.
//!
//! Invariants: no panic; a decoded call names its method and every parameter, and re-encodes
//! (as a response in the request's encoding and as a call) without panicking; a refused
//! request's fault encodes too, as the server sends it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use passlink::soap::{decode_call, encode_call, encode_fault, encode_response};
use passlink::value::{Fault, Value};

fuzz_target!(|data: &[u8]| {
    match decode_call(data) {
        Ok((call, encoding)) => {
            assert!(call.params.iter().all(|p| p.name.is_some()));
            let named: Vec<(&str, Value)> = call
                .params
                .iter()
                .map(|p| (p.name.as_deref().unwrap_or_default(), p.value.clone()))
                .collect();
            let result = Value::Struct(
                named
                    .iter()
                    .map(|(n, v)| ((*n).to_owned(), v.clone()))
                    .collect(),
            );
            let response = encode_response(&call.method, &result, encoding);
            assert!(!response.is_empty());
            let _ = encode_call(&call.method, &named);
            let _ = encode_fault(&Fault::server(call.method.clone()));
        }
        Err(fault) => {
            let _ = encode_fault(&fault);
        }
    }
});
