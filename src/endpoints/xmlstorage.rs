//! xmlStorageSystem over HTTP: XML-RPC at `/RPC2`, SOAP 1.1 at `/xmlStorageSystem` (and its
//! WSDL), `changes.xml` and the initial resources. Each exchange sniffs the codec, decodes the
//! call within the request's share of decode memory, runs it ([`dispatch::call`]) and encodes
//! the answer or fault in the same codec.

use super::worker::Worker;
use crate::clock;
use crate::http::{Request, Response};
use crate::metrics::{self, Outcome};
use crate::value::{Call, Fault, Value};
use crate::xml::{Allowance, Encoding};
use crate::xss::dispatch;
use crate::xss::env::{Caller, Env};
use crate::xss::{changes, methods, weblog};
use crate::{soap, xmlrpc};

/// `GET /initialResources/<name>.opml`, served without authentication.
pub fn serve_initial_resource(_ctx: &mut Worker, req: &Request) -> Response {
    let name = req
        .path()
        .strip_prefix("/initialResources/")
        .and_then(|n| n.strip_suffix(".opml"));
    match methods::INITIAL_RESOURCES
        .iter()
        .find(|(stem, _)| Some(*stem) == name)
    {
        Some((_, opml)) => {
            Response::new(200).with_body("text/x-opml; charset=utf-8", opml.as_bytes().to_vec())
        }
        None => Response::text(404, "not found"),
    }
}

/// `GET /weblogUpdates/changes.xml`: recently pinged weblogs, newest first.
pub fn serve_changes(ctx: &mut Worker, _req: &Request) -> Response {
    let pings = match weblog::recent(&ctx.db) {
        Ok(pings) => pings,
        Err(e) => {
            log::error!("changes.xml: {e}");
            return Response::text(503, "database unavailable");
        }
    };
    let now = clock::unix_now();
    let entries: Vec<changes::Entry<'_>> = pings
        .iter()
        .map(|p| changes::Entry {
            name: &p.name,
            url: &p.url,
            seconds_ago: now - p.at,
        })
        .collect();
    let xml = changes::encode(&clock::http_date(now), &entries);
    Response::new(200).with_body("text/xml; charset=utf-8", xml)
}

/// Which codec a body is in, from its root element.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Codec {
    XmlRpc,
    Soap,
}

/// Sniffs the root element: `methodCall` is XML-RPC, `Envelope` (any prefix) is SOAP.
fn sniff(body: &[u8]) -> Option<Codec> {
    let mut rest = body.strip_prefix(b"\xef\xbb\xbf").unwrap_or(body);
    loop {
        let start = rest.iter().position(|b| !b.is_ascii_whitespace())?;
        rest = &rest[start..];
        if rest.starts_with(b"<?") || rest.starts_with(b"<!--") || rest.starts_with(b"<!") {
            let close: &[u8] = if rest.starts_with(b"<!--") {
                b"-->"
            } else {
                b">"
            };
            let end = rest.windows(close.len()).position(|w| w == close)?;
            rest = &rest[end + close.len()..];
            continue;
        }
        let name_end = rest
            .iter()
            .position(|b| b.is_ascii_whitespace() || *b == b'>' || *b == b'/')
            .unwrap_or(rest.len());
        let name = rest.get(1..name_end)?;
        let local = name.rsplit(|b| *b == b':').next().unwrap_or(name);
        return match local {
            b"methodCall" => Some(Codec::XmlRpc),
            b"Envelope" => Some(Codec::Soap),
            _ => None,
        };
    }
}

fn caller_of(req: &Request) -> Caller<'_> {
    Caller {
        ip: req.client,
        user_agent: req.header("User-Agent").unwrap_or(""),
    }
}

/// Runs a decoded call with the handles the methods take, borrowed from the worker.
fn run_call(ctx: &mut Worker, req: &Request, call: &Call) -> Result<Value, Fault> {
    let config = ctx.shared.config();
    let policy = ctx.shared.policy();
    let shared = &*ctx.shared;
    let mut env = Env {
        db: &mut ctx.db,
        config: &config.xmlstorage,
        urls: &shared.urls,
        credentials: &shared.credentials,
        reset: &*shared.reset,
        notifier: &shared.notifier,
        note: &mut ctx.note,
        policy: &policy,
        throttle: &shared.throttle,
        audit: &shared.audit,
    };
    dispatch::call(&mut env, &caller_of(req), call)
}

/// `POST /RPC2`: XML-RPC, or SOAP if the body is an envelope. XML-RPC faults go out with
/// HTTP 200, because davexmlrpc and Python treat any other status as a transport error.
pub fn handle_rpc2(ctx: &mut Worker, req: &Request) -> Response {
    match sniff(&req.body) {
        Some(Codec::Soap) => soap_exchange(ctx, req),
        _ => xmlrpc_exchange(ctx, req),
    }
}

/// `POST /xmlStorageSystem`: SOAP 1.1, or XML-RPC if the body is a methodCall.
pub fn handle_soap(ctx: &mut Worker, req: &Request) -> Response {
    match sniff(&req.body) {
        Some(Codec::XmlRpc) => xmlrpc_exchange(ctx, req),
        _ => soap_exchange(ctx, req),
    }
}

fn xmlrpc_exchange(ctx: &mut Worker, req: &Request) -> Response {
    let hold = ctx.shared.decode_memory();
    let mut take = |bytes: usize| hold.grow(bytes as u64).is_ok();
    let mut memory = Allowance::for_body(req.body.len()).with_pool(&mut take);
    let body = match xmlrpc::decode_call_within(&req.body, &mut memory) {
        Ok((decoded, encoding)) => match run_call(ctx, req, &decoded) {
            Ok(value) => xmlrpc::encode_response(&value, encoding),
            Err(fault) => xmlrpc::encode_fault(&fault, encoding),
        },
        Err(fault) => {
            ctx.note.method(metrics::OTHER);
            ctx.note.outcome(Outcome::Fault);
            xmlrpc::encode_fault(&fault, Encoding::Utf8)
        }
    };
    Response::new(200).with_body("text/xml", body)
}

fn soap_exchange(ctx: &mut Worker, req: &Request) -> Response {
    let hold = ctx.shared.decode_memory();
    let mut take = |bytes: usize| hold.grow(bytes as u64).is_ok();
    let mut memory = Allowance::for_body(req.body.len()).with_pool(&mut take);
    let decoded = soap::decode_call_within(&req.body, &mut memory);
    if decoded.is_err() {
        ctx.note.method(metrics::OTHER);
        ctx.note.outcome(Outcome::Fault);
    }
    let outcome = decoded.and_then(|(decoded, encoding)| {
        let value = run_call(ctx, req, &decoded)?;
        let op = decoded.method.rsplit('.').next().unwrap_or(&decoded.method);
        Ok(soap::encode_response(op, &value, encoding))
    });
    match outcome {
        Ok(body) => Response::new(200).with_body("text/xml; charset=utf-8", body),
        // SOAP 1.1 §6.2: a Fault goes out with 500.
        Err(fault) => {
            Response::new(500).with_body("text/xml; charset=utf-8", soap::encode_fault(&fault))
        }
    }
}

/// 404 on a listener that does not serve xmlStorageSystem: an XML-RPC or SOAP fault for a POST
/// (whichever the body is), plain text otherwise.
pub fn not_served(req: &Request) -> Response {
    let fault = Fault::protocol("xmlStorageSystem is not served on this address");
    if req.method != "POST" {
        return Response::text(404, &fault.message);
    }
    let soap_path = req.path() == "/xmlStorageSystem";
    match sniff(&req.body) {
        Some(Codec::Soap) => {
            Response::new(404).with_body("text/xml; charset=utf-8", soap::encode_fault(&fault))
        }
        Some(Codec::XmlRpc) => {
            Response::new(404).with_body("text/xml", xmlrpc::encode_fault(&fault, Encoding::Utf8))
        }
        None if soap_path => {
            Response::new(404).with_body("text/xml; charset=utf-8", soap::encode_fault(&fault))
        }
        None => {
            Response::new(404).with_body("text/xml", xmlrpc::encode_fault(&fault, Encoding::Utf8))
        }
    }
}

/// `GET /xmlStorageSystem?wsdl` (or `GET /xmlStorageSystem`): the WSDL 1.1 description.
pub fn handle_wsdl(ctx: &mut Worker, req: &Request) -> Response {
    if req.query() == Some("xsd=soapenc") {
        return Response::new(200).with_body(
            "text/xml; charset=utf-8",
            soap::ENCODING_SCHEMA.as_bytes().to_vec(),
        );
    }
    let endpoint = format!("{}/xmlStorageSystem", ctx.shared.urls.xmlstorage);
    Response::new(200).with_body(
        "text/xml; charset=utf-8",
        soap::wsdl(dispatch::METHODS.iter().map(|m| &m.spec), &endpoint).into_bytes(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffing_the_root_element() {
        assert_eq!(
            sniff(b"<?xml version='1.0'?>\n<methodCall>"),
            Some(Codec::XmlRpc)
        );
        assert_eq!(
            sniff(b"\xef\xbb\xbf<!-- hi --><soap:Envelope xmlns:soap='x'>"),
            Some(Codec::Soap)
        );
        assert_eq!(sniff(b"<OPS_envelope>"), None);
        assert_eq!(sniff(b""), None);
    }
}
