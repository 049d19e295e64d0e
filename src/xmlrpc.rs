//! The XML-RPC codec: `<methodCall>` bytes to a [`Call`], and a [`Value`] or [`Fault`] back to
//! `<methodResponse>` bytes. Also the client side (`encode_call`, `decode_response`) that the
//! notification callbacks and the tests use.
//!
//! Decoding follows what real clients sent rather than the letter of the spec: untyped
//! `<value>` strings (Frontier, Radio), `<i4>`/`<int>`/`<i8>`, `true`/`false` booleans, base64
//! with line breaks, and both the classic and the ISO 8601 date forms. Encoding is as strict as
//! the strictest client (XML-RPC.NET in dasBlog): every string in `<string>`, ints in `<int>`,
//! booleans as `1`/`0`, classic dates.

use std::borrow::Cow;

use crate::value::{Call, Fault, Param, Value};
use crate::xml::{self, Allowance, Encoding, ErrorKind, Event, Reader, Start, XmlError};

/// The deepest element nesting accepted in a request; the decoder recurses once per level.
const MAX_DEPTH: usize = 64;

/// Decodes a `<methodCall>` body. Returns the call and the body's encoding, which the response
/// should use. Every problem, from bad bytes to a bad `<int>`, is a protocol fault. The decode
/// may use [`xml::DECODE_FACTOR`] times the body's size in memory (see
/// [`decode_call_within`]).
pub fn decode_call(body: &[u8]) -> Result<(Call, Encoding), Fault> {
    decode_call_within(body, &mut Allowance::for_body(body.len()))
}

/// [`decode_call`], charging what the values cost to `memory`. The body is read one event at
/// a time straight into the values: no element tree is built.
pub fn decode_call_within(
    body: &[u8],
    memory: &mut Allowance<'_>,
) -> Result<(Call, Encoding), Fault> {
    let request = |what: String| Fault::protocol(format!("malformed XML-RPC request: {what}"));
    let (text, encoding) = xml::decode_body(body).map_err(|e| request(e.to_string()))?;
    if let Cow::Owned(converted) = &text {
        memory
            .charge(converted.len())
            .map_err(|e| refused("request", e))?;
    }
    let mut reader = Reader::new(&text, MAX_DEPTH).map_err(|e| request(e.to_string()))?;
    let mut stream = Stream {
        reader: &mut reader,
        memory,
        document: "request",
    };
    let call = method_call(&mut stream);
    let call = stream.conclude(call)?;
    Ok((call, encoding))
}

/// Decodes a `<methodResponse>`: `Ok` with the returned value, or `Err` with the fault the
/// server sent. A body that is not a well-formed response is a protocol fault (code 1).
///
/// XML-RPC faults do not say whose fault it is; the returned [`Fault::client`] follows this
/// crate's convention that code 2 ([`Fault::server`]) is the server's and any other code the
/// client's, so that faults this crate encodes decode to themselves.
pub fn decode_response(body: &[u8]) -> Result<Value, Fault> {
    let malformed = |what: String| Fault::protocol(format!("malformed XML-RPC response: {what}"));
    let (text, _) = xml::decode_body(body).map_err(|e| malformed(e.to_string()))?;
    let mut reader = Reader::new(&text, MAX_DEPTH).map_err(|e| malformed(e.to_string()))?;
    let mut memory = Allowance::for_body(body.len());
    let mut stream = Stream {
        reader: &mut reader,
        memory: &mut memory,
        document: "response",
    };
    let response = method_response(&mut stream);
    let response = stream.conclude(response)?;
    let (kind, value) = response;
    if kind == ResponseKind::Params {
        return Ok(value);
    }
    let code = match value.member("faultCode") {
        Some(Value::Int(code)) => i32::try_from(*code).ok(),
        _ => None,
    };
    let message = match value.member("faultString") {
        Some(Value::String(s)) => Some(s.clone()),
        _ => None,
    };
    match (code, message) {
        (Some(code), Some(message)) => Err(Fault {
            code,
            message,
            client: code != Fault::server("").code,
        }),
        _ => Err(malformed(
            "a <fault> without an int faultCode and a string faultString".to_owned(),
        )),
    }
}

/// A decode that cannot go on, and why.
enum Stop {
    /// The XML itself is not acceptable (or the memory for it is not there).
    Xml(XmlError),
    /// The XML is fine but is not an XML-RPC call or response.
    Fault(Fault),
}

impl From<XmlError> for Stop {
    fn from(e: XmlError) -> Stop {
        Stop::Xml(e)
    }
}

impl From<Fault> for Stop {
    fn from(f: Fault) -> Stop {
        Stop::Fault(f)
    }
}

/// A request (or response) refused for the memory it would take, or because that memory is
/// taken by other requests now.
fn refused(document: &str, e: XmlError) -> Fault {
    match e.kind() {
        ErrorKind::Busy => Fault::server(format!("server busy: {e}")),
        ErrorKind::TooLarge => Fault::protocol(format!("XML-RPC {document} refused: {e}")),
        ErrorKind::Malformed => Fault::protocol(format!("malformed XML-RPC {document}: {e}")),
    }
}

/// The reader and the memory allowance of one decode.
struct Stream<'s, 't, 'm> {
    reader: &'s mut Reader<'t>,
    memory: &'s mut Allowance<'m>,
    /// `request` or `response`.
    document: &'static str,
}

impl<'t> Stream<'_, 't, '_> {
    /// The next event. The reader ends every element it starts before the document ends, so
    /// the end of the document inside an element cannot happen; it is reported all the same.
    fn next(&mut self) -> Result<Event<'t>, Stop> {
        match self.reader.read()? {
            Some(event) => Ok(event),
            None => Err(self.malformed("unexpected end of document").into()),
        }
    }

    fn malformed(&self, what: impl std::fmt::Display) -> Fault {
        Fault::protocol(format!("malformed XML-RPC {}: {what}", self.document))
    }

    fn charge(&mut self, bytes: usize) -> Result<(), Stop> {
        self.memory.charge(bytes).map_err(Stop::Xml)
    }

    /// The next child element of the element being read, after its start; `None` at its end.
    /// Text between children is skipped, and `significant` set if any is not whitespace.
    fn next_child(&mut self, significant: &mut bool) -> Result<Option<Start<'t>>, Stop> {
        loop {
            match self.next()? {
                Event::Text(t) => *significant |= !is_whitespace(&t),
                Event::Start(child) => return Ok(Some(child)),
                Event::End => return Ok(None),
            }
        }
    }

    /// The text of an element whose start was just read, through its end. A child element is
    /// an error, which `on_element` words.
    fn text_only(&mut self, on_element: impl FnOnce(&Start<'_>) -> Fault) -> Result<String, Stop> {
        let mut text = String::new();
        loop {
            match self.next()? {
                Event::Text(t) => {
                    self.charge(t.len())?;
                    text.push_str(&t);
                }
                Event::Start(inner) => return Err(on_element(&inner).into()),
                Event::End => return Ok(text),
            }
        }
    }

    /// The outcome of a decode: on success the rest of the document is read (it may hold
    /// only comments and whitespace); on a problem with the call, the rest is read too, and
    /// a document that is not even well-formed is reported as such.
    fn conclude<T>(&mut self, result: Result<T, Stop>) -> Result<T, Fault> {
        let document = self.document;
        let stop = match result {
            Ok(value) => match self.reader.finish() {
                Ok(()) => return Ok(value),
                Err(e) => Stop::Xml(e),
            },
            Err(stop) => stop,
        };
        match stop {
            Stop::Xml(e) if e.kind() == ErrorKind::Malformed => Err(refused(document, e)),
            Stop::Xml(e) if e.is_busy() => Err(refused(document, e)),
            other => match self.reader.finish() {
                Err(e) if e.kind() == ErrorKind::Malformed => Err(refused(document, e)),
                _ => Err(match other {
                    Stop::Xml(e) => refused(document, e),
                    Stop::Fault(f) => f,
                }),
            },
        }
    }
}

fn is_whitespace(text: &str) -> bool {
    text.chars().all(xml::is_xml_whitespace)
}

/// `<methodCall>`, from the root element's start.
fn method_call(s: &mut Stream<'_, '_, '_>) -> Result<Call, Stop> {
    let Event::Start(root) = s.next()? else {
        return Err(s.malformed("no root element").into());
    };
    if root.name() != "methodCall" {
        return Err(s
            .malformed(format_args!(
                "the root element is <{}>, not <methodCall>",
                xml::truncate(root.name(), 40)
            ))
            .into());
    }
    let mut method: Option<String> = None;
    let mut params: Option<Vec<Param>> = None;
    let mut significant = false;
    while let Some(child) = s.next_child(&mut significant)? {
        match child.name() {
            "methodName" if method.is_none() => {
                let name = s.text_only(|_| {
                    Fault::protocol("malformed XML-RPC request: an element inside <methodName>")
                })?;
                method = Some(name.trim().to_owned());
            }
            "params" if params.is_none() => params = Some(param_list(s)?),
            "methodName" | "params" => {
                return Err(s
                    .malformed(format_args!("more than one <{}>", child.name()))
                    .into());
            }
            other => {
                return Err(s
                    .malformed(format_args!(
                        "unexpected <{}> in <methodCall>",
                        xml::truncate(other, 40)
                    ))
                    .into());
            }
        }
    }
    if significant {
        return Err(s.malformed("text directly inside <methodCall>").into());
    }
    let method = method
        .filter(|m| !m.is_empty())
        .ok_or_else(|| s.malformed("no <methodName>"))?;
    Ok(Call {
        method,
        params: params.unwrap_or_default(),
    })
}

/// `<params>`, after its start: each `<param>` holds one value.
fn param_list(s: &mut Stream<'_, '_, '_>) -> Result<Vec<Param>, Stop> {
    let mut list = Vec::new();
    let mut significant = false;
    while let Some(param) = s.next_child(&mut significant)? {
        if param.name() != "param" {
            return Err(s
                .malformed(format_args!(
                    "unexpected <{}> in <params>",
                    xml::truncate(param.name(), 40)
                ))
                .into());
        }
        let place = format!("param {}", list.len() + 1);
        s.charge(std::mem::size_of::<Param>())?;
        let value = only_value(s, "param", &place)?;
        list.push(Param { name: None, value });
    }
    if significant {
        return Err(s.malformed("text directly inside <params>").into());
    }
    Ok(list)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ResponseKind {
    Params,
    Fault,
}

/// `<methodResponse>`, from the root element's start: one `<params>` with one `<param>`, or
/// one `<fault>`.
fn method_response(s: &mut Stream<'_, '_, '_>) -> Result<(ResponseKind, Value), Stop> {
    let Event::Start(root) = s.next()? else {
        return Err(s.malformed("no root element").into());
    };
    if root.name() != "methodResponse" {
        return Err(s
            .malformed(format_args!(
                "the root element is <{}>, not <methodResponse>",
                xml::truncate(root.name(), 40)
            ))
            .into());
    }
    let one = "<methodResponse> must hold one <params> or one <fault>";
    let mut found: Option<(ResponseKind, Value)> = None;
    while let Some(child) = s.next_child(&mut false)? {
        if found.is_some() {
            return Err(s.malformed(one).into());
        }
        found = Some(match child.name() {
            "params" => (ResponseKind::Params, response_params(s)?),
            "fault" => (ResponseKind::Fault, only_value(s, "fault", "the fault")?),
            other => {
                return Err(s
                    .malformed(format_args!(
                        "unexpected <{}> in <methodResponse>",
                        xml::truncate(other, 40)
                    ))
                    .into());
            }
        });
    }
    found.ok_or_else(|| s.malformed(one).into())
}

/// A response's `<params>`, after its start: exactly one `<param>`.
fn response_params(s: &mut Stream<'_, '_, '_>) -> Result<Value, Stop> {
    let one = "<params> must hold exactly one <param>";
    let mut found = None;
    while let Some(param) = s.next_child(&mut false)? {
        if found.is_some() || param.name() != "param" {
            return Err(s.malformed(one).into());
        }
        found = Some(only_value(s, "param", "the response")?);
    }
    found.ok_or_else(|| s.malformed(one).into())
}

/// The single `<value>` child of a `<param>` (or of a `<fault>`), after the parent's start.
fn only_value(s: &mut Stream<'_, '_, '_>, parent: &str, place: &str) -> Result<Value, Stop> {
    let exactly_one = |s: &Stream<'_, '_, '_>| {
        s.malformed(format_args!(
            "<{parent}> must hold exactly one <value> in {place}"
        ))
    };
    let mut found = None;
    let mut significant = false;
    while let Some(value) = s.next_child(&mut significant)? {
        if found.is_some() || value.name() != "value" {
            return Err(exactly_one(s).into());
        }
        found = Some(decode_value(s, place)?);
    }
    match found {
        Some(value) if !significant => Ok(value),
        _ => Err(exactly_one(s).into()),
    }
}

/// Decodes one `<value>` element, after its start, through its end. `place` names where it
/// is, for error messages.
fn decode_value(s: &mut Stream<'_, '_, '_>, place: &str) -> Result<Value, Stop> {
    let in_place = |s: &Stream<'_, '_, '_>, what: std::fmt::Arguments<'_>| {
        s.malformed(format_args!("{what} in {place}"))
    };
    // Untyped text is a string, whitespace and all; beside a type element it must be blank.
    let mut text = String::new();
    let mut significant = false;
    let mut typed: Option<(Value, String)> = None;
    loop {
        match s.next()? {
            Event::Text(t) => {
                significant |= !is_whitespace(&t);
                if typed.is_none() {
                    s.charge(t.len())?;
                    text.push_str(&t);
                }
            }
            Event::Start(inner) => {
                if typed.is_some() {
                    return Err(
                        in_place(s, format_args!("more than one type inside a <value>")).into(),
                    );
                }
                s.memory.release(text.len());
                text = String::new();
                let name = inner.name().to_owned();
                typed = Some((typed_value(s, &inner, place)?, name));
            }
            Event::End => break,
        }
    }
    match typed {
        None => Ok(Value::String(text)),
        Some((_, name)) if significant => Err(in_place(
            s,
            format_args!("text beside <{}> in a <value>", xml::truncate(&name, 40)),
        )
        .into()),
        Some((value, _)) => Ok(value),
    }
}

/// The type element inside a `<value>` (`<int>`, `<struct>`, ...), after its start.
fn typed_value(s: &mut Stream<'_, '_, '_>, typed: &Start<'_>, place: &str) -> Result<Value, Stop> {
    // Type names are matched without their prefix so that the Apache extensions (`ex:nil`,
    // `ex:i8`) are understood whether or not the client declared the `ex` namespace.
    let kind = typed.local_name();
    match kind {
        "struct" => return decode_struct(s, place),
        "array" => return decode_array(s, place),
        "nil" => {
            s.reader.skip()?;
            return Ok(Value::Nil);
        }
        _ => {}
    }
    let typed_name = typed.name();
    let document = s.document;
    let text = s.text_only(|inner| {
        Fault::protocol(format!(
            "malformed XML-RPC {document}: unexpected <{}> inside <{}> in {place}",
            xml::truncate(inner.name(), 40),
            xml::truncate(typed_name, 40)
        ))
    })?;
    let invalid = || {
        Fault::protocol(format!(
            "invalid {kind} value \"{}\" in {place}",
            xml::truncate(&text, 40)
        ))
    };
    let value = match kind {
        "string" => return Ok(Value::String(text)),
        "int" | "i4" | "i8" => xml::parse_int(&text).map(Value::Int).ok_or_else(invalid),
        "boolean" => match text.trim() {
            "1" => Ok(Value::Bool(true)),
            "0" => Ok(Value::Bool(false)),
            t if t.eq_ignore_ascii_case("true") => Ok(Value::Bool(true)),
            t if t.eq_ignore_ascii_case("false") => Ok(Value::Bool(false)),
            _ => Err(invalid()),
        },
        "double" => xml::parse_double(&text)
            .map(Value::Double)
            .ok_or_else(invalid),
        "dateTime.iso8601" => xml::parse_datetime(&text)
            .map(Value::DateTime)
            .ok_or_else(invalid),
        "base64" => {
            // The decoded bytes are charged, the text they came from given back.
            s.charge(text.len() / 4 * 3)?;
            xml::decode_base64(&text)
                .map(Value::Base64)
                .map_err(|e| Fault::protocol(format!("invalid base64 value in {place}: {e}")))
        }
        other => Err(Fault::protocol(format!(
            "unknown value type <{}> in {place}",
            xml::truncate(other, 40)
        ))),
    };
    s.memory.release(text.len());
    Ok(value?)
}

/// `<struct>`, after its start: `<member>`s of one `<name>` and one `<value>`.
fn decode_struct(s: &mut Stream<'_, '_, '_>, place: &str) -> Result<Value, Stop> {
    let not_a_member = |s: &Stream<'_, '_, '_>| {
        s.malformed(format_args!(
            "a <struct> child that is not a <member> in {place}"
        ))
    };
    let mut members = Vec::new();
    let mut significant = false;
    while let Some(member) = s.next_child(&mut significant)? {
        if member.name() != "member" {
            return Err(not_a_member(s).into());
        }
        s.charge(std::mem::size_of::<(String, Value)>())?;
        members.push(decode_member(s, place)?);
    }
    if significant {
        return Err(s
            .malformed(format_args!("text directly inside <struct> in {place}"))
            .into());
    }
    Ok(Value::Struct(members))
}

/// `<member>`, after its start: one `<name>` and one `<value>`, in either order.
fn decode_member(s: &mut Stream<'_, '_, '_>, place: &str) -> Result<(String, Value), Stop> {
    let document = s.document;
    let not_one_each = move || {
        Fault::protocol(format!(
            "malformed XML-RPC {document}: a <member> that is not one <name> and one <value> \
             in {place}"
        ))
    };
    let mut name = None;
    let mut value = None;
    let mut significant = false;
    while let Some(part) = s.next_child(&mut significant)? {
        match part.name() {
            "name" if name.is_none() => name = Some(s.text_only(|_| not_one_each())?),
            "value" if value.is_none() => value = Some(decode_value(s, place)?),
            _ => return Err(not_one_each().into()),
        }
    }
    if significant {
        return Err(s
            .malformed(format_args!(
                "a <struct> child that is not a <member> in {place}"
            ))
            .into());
    }
    match (name, value) {
        (Some(name), Some(value)) => Ok((name, value)),
        _ => Err(s
            .malformed(format_args!(
                "a <member> without <name> or <value> in {place}"
            ))
            .into()),
    }
}

/// `<array>`, after its start: one `<data>` of `<value>`s (or nothing, read as empty).
fn decode_array(s: &mut Stream<'_, '_, '_>, place: &str) -> Result<Value, Stop> {
    let mut items: Option<Vec<Value>> = None;
    let mut significant = false;
    while let Some(data) = s.next_child(&mut significant)? {
        if items.is_some() || data.name() != "data" {
            return Err(s
                .malformed(format_args!("an <array> that is not one <data> in {place}"))
                .into());
        }
        items = Some(decode_data(s, place)?);
    }
    if significant {
        return Err(s
            .malformed(format_args!("text directly inside <array> in {place}"))
            .into());
    }
    Ok(Value::Array(items.unwrap_or_default()))
}

/// `<data>`, after its start: `<value>`s.
fn decode_data(s: &mut Stream<'_, '_, '_>, place: &str) -> Result<Vec<Value>, Stop> {
    let mut items = Vec::new();
    let mut significant = false;
    while let Some(value) = s.next_child(&mut significant)? {
        if value.name() != "value" {
            return Err(s
                .malformed(format_args!(
                    "a <data> child that is not a <value> in {place}"
                ))
                .into());
        }
        s.charge(std::mem::size_of::<Value>())?;
        items.push(decode_value(s, place)?);
    }
    if significant {
        return Err(s
            .malformed(format_args!("text directly inside <data> in {place}"))
            .into());
    }
    Ok(items)
}

/// Appends `<value>...</value>` for `value`.
fn write_value(out: &mut String, value: &Value) {
    out.push_str("<value>");
    match value {
        Value::Int(i) => match i32::try_from(*i) {
            Ok(small) => out.push_str(&format!("<int>{small}</int>")),
            // XML-RPC ints are 32 bits; a double carries larger counts exactly up to 2^53.
            Err(_) => out.push_str(&format!("<double>{i}</double>")),
        },
        Value::Bool(b) => out.push_str(if *b {
            "<boolean>1</boolean>"
        } else {
            "<boolean>0</boolean>"
        }),
        Value::String(s) => {
            out.push_str("<string>");
            xml::escape_text(out, s);
            out.push_str("</string>");
        }
        Value::Double(d) => {
            out.push_str("<double>");
            out.push_str(&xml::format_double(*d));
            out.push_str("</double>");
        }
        Value::DateTime(secs) => {
            out.push_str("<dateTime.iso8601>");
            out.push_str(&xml::format_xmlrpc_datetime(*secs));
            out.push_str("</dateTime.iso8601>");
        }
        Value::Base64(bytes) => {
            out.push_str("<base64>");
            out.push_str(&xml::encode_base64(bytes));
            out.push_str("</base64>");
        }
        Value::Struct(members) => {
            out.push_str("<struct>");
            for (name, member) in members {
                out.push_str("<member><name>");
                xml::escape_text(out, name);
                out.push_str("</name>");
                write_value(out, member);
                out.push_str("</member>");
            }
            out.push_str("</struct>");
        }
        Value::Array(items) => {
            out.push_str("<array><data>");
            for item in items {
                write_value(out, item);
            }
            out.push_str("</data></array>");
        }
        Value::Nil => out.push_str("<nil/>"),
    }
    out.push_str("</value>");
}

/// Encodes a successful `<methodResponse>` in `encoding` (the request's, so that a Latin-1
/// client gets Latin-1 back).
pub fn encode_response(value: &Value, encoding: Encoding) -> Vec<u8> {
    let mut out = xml::declaration(encoding);
    out.push_str("<methodResponse><params><param>");
    write_value(&mut out, value);
    out.push_str("</param></params></methodResponse>\n");
    xml::encode_document(&out, encoding)
}

/// Encodes a fault response. The caller sends it with HTTP 200, as PyCS did and as clients
/// expect (davexmlrpc never reads the body of a non-200 reply).
pub fn encode_fault(fault: &Fault, encoding: Encoding) -> Vec<u8> {
    let mut out = xml::declaration(encoding);
    out.push_str("<methodResponse><fault>");
    write_value(
        &mut out,
        &Value::Struct(vec![
            ("faultCode".to_owned(), Value::Int(i64::from(fault.code))),
            (
                "faultString".to_owned(),
                Value::String(fault.message.clone()),
            ),
        ]),
    );
    out.push_str("</fault></methodResponse>\n");
    xml::encode_document(&out, encoding)
}

/// Encodes a `<methodCall>` in UTF-8, for calls this server makes (notifications).
pub fn encode_call(method: &str, params: &[Value]) -> Vec<u8> {
    let mut out = xml::declaration(Encoding::Utf8);
    out.push_str("<methodCall><methodName>");
    xml::escape_text(&mut out, method);
    out.push_str("</methodName><params>");
    for param in params {
        out.push_str("<param>");
        write_value(&mut out, param);
        out.push_str("</param>");
    }
    out.push_str("</params></methodCall>\n");
    out.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::structure;
    use crate::xml::testing::{XorShift, mutate};

    fn call(body: &str) -> Result<Call, Fault> {
        decode_call(body.as_bytes()).map(|(c, _)| c)
    }

    fn one_param(value_xml: &str) -> Result<Value, Fault> {
        let body = format!(
            "<?xml version=\"1.0\"?><methodCall><methodName>m</methodName><params><param>{value_xml}</param></params></methodCall>"
        );
        call(&body).map(|mut c| c.params.remove(0).value)
    }

    fn err(value_xml: &str) -> String {
        one_param(value_xml).unwrap_err().message
    }

    #[test]
    fn every_type_decodes() {
        let cases: Vec<(&str, Value)> = vec![
            ("<value>plain</value>", Value::string("plain")),
            (
                "<value> two  spaces </value>",
                Value::string(" two  spaces "),
            ),
            ("<value/>", Value::string("")),
            ("<value></value>", Value::string("")),
            (
                "<value><string> x\n</string></value>",
                Value::string(" x\n"),
            ),
            ("<value><string/></value>", Value::string("")),
            ("<value><int>-12</int></value>", Value::Int(-12)),
            ("<value><i4> 7 </i4></value>", Value::Int(7)),
            (
                "<value><i8>5000000000</i8></value>",
                Value::Int(5_000_000_000),
            ),
            ("<value><ex:i8>9</ex:i8></value>", Value::Int(9)),
            ("<value><boolean>1</boolean></value>", Value::Bool(true)),
            ("<value><boolean>0</boolean></value>", Value::Bool(false)),
            ("<value><boolean>true</boolean></value>", Value::Bool(true)),
            (
                "<value><boolean>False</boolean></value>",
                Value::Bool(false),
            ),
            ("<value><double>-1.5</double></value>", Value::Double(-1.5)),
            (
                "<value><dateTime.iso8601>20020326T12:00:00</dateTime.iso8601></value>",
                Value::DateTime(1_017_144_000),
            ),
            (
                "<value><dateTime.iso8601>2019-03-04T05:06:07.123Z</dateTime.iso8601></value>",
                Value::DateTime(1_551_675_967),
            ),
            (
                "<value><dateTime.iso8601>2019-03-04T07:06:07+02:00</dateTime.iso8601></value>",
                Value::DateTime(1_551_675_967),
            ),
            (
                "<value><base64>SGVs\n  bG8g\r\nV29y bGQ=\n</base64></value>",
                Value::Base64(b"Hello World".to_vec()),
            ),
            (
                "<value><base64></base64></value>",
                Value::Base64(Vec::new()),
            ),
            ("<value><nil/></value>", Value::Nil),
            (
                "<value><ex:nil xmlns:ex=\"http://ws.apache.org/xmlrpc/namespaces/extensions\"/></value>",
                Value::Nil,
            ),
            ("<value><ex:nil/></value>", Value::Nil),
            (
                "<value>\n <struct>\n  <member><name>a</name><value><int>1</int></value></member>\n  <member>\n<value>x</value><name>b c</name></member>\n </struct>\n</value>",
                structure([("a", Value::Int(1)), ("b c", Value::string("x"))]),
            ),
            ("<value><struct/></value>", Value::Struct(Vec::new())),
            (
                "<value><array>\n<data>\n<value>a</value>\n<value><int>2</int></value></data></array></value>",
                Value::Array(vec![Value::string("a"), Value::Int(2)]),
            ),
            (
                "<value><array><data/></array></value>",
                Value::Array(Vec::new()),
            ),
            ("<value><array/></value>", Value::Array(Vec::new())),
            (
                "<value>a &amp; b &lt;c&gt; &#233;&#x263A;<![CDATA[<raw>]]></value>",
                Value::string("a & b <c> é☺<raw>"),
            ),
        ];
        for (xml, expected) in cases {
            assert_eq!(one_param(xml).unwrap(), expected, "{xml}");
        }
    }

    #[test]
    fn exact_error_messages() {
        let body = "<methodCall><methodName>m</methodName><params><param><value>a</value></param><param><value><int>12x</int></value></param></params></methodCall>";
        assert_eq!(
            call(body).unwrap_err(),
            Fault::protocol("invalid int value \"12x\" in param 2")
        );
        assert_eq!(
            err("<value><boolean>yes</boolean></value>"),
            "invalid boolean value \"yes\" in param 1"
        );
        assert_eq!(
            err("<value><i4>2.5</i4></value>"),
            "invalid i4 value \"2.5\" in param 1"
        );
        assert_eq!(
            err("<value><double>inf</double></value>"),
            "invalid double value \"inf\" in param 1"
        );
        assert_eq!(
            err("<value><dateTime.iso8601>2002-02-30T00:00:00</dateTime.iso8601></value>"),
            "invalid dateTime.iso8601 value \"2002-02-30T00:00:00\" in param 1"
        );
        assert!(
            err("<value><base64>!!!</base64></value>")
                .starts_with("invalid base64 value in param 1: ")
        );
        assert_eq!(
            err("<value><float>1</float></value>"),
            "unknown value type <float> in param 1"
        );
        assert_eq!(
            err("<value><array><data><value><int>x</int></value></data></array></value>"),
            "invalid int value \"x\" in param 1"
        );
        let long = "9".repeat(100);
        let message = err(&format!("<value><int>{long}</int></value>"));
        assert!(message.len() < 80, "{message}");
    }

    #[test]
    fn structural_errors() {
        for bad in [
            "<value><int>1</int><int>2</int></value>",
            "<value>text<int>1</int></value>",
            "<value><int><b/></int></value>",
            "<value><struct><member><name>a</name></member></struct></value>",
            "<value><struct><member><value>1</value></member></struct></value>",
            "<value><struct><foo/></struct></value>",
            "<value><struct>x</struct></value>",
            "<value><array><value>1</value></array></value>",
            "<value><array><data><int>1</int></data></array></value>",
            "<value><array><data/><data/></array></value>",
        ] {
            let message = err(bad);
            assert!(message.starts_with("malformed XML-RPC"), "{bad}: {message}");
        }
        for bad in [
            "<methodCall><params/></methodCall>",
            "<methodCall><methodName> </methodName></methodCall>",
            "<methodCall><methodName>a</methodName><methodName>b</methodName></methodCall>",
            "<methodCall><methodName>a</methodName><params><value>1</value></params></methodCall>",
            "<methodCall><methodName>a</methodName><params><param></param></params></methodCall>",
            "<methodCall><methodName>a</methodName><params><param><value/><value/></param></params></methodCall>",
            "<methodCall><methodName>a</methodName><foo/></methodCall>",
            "<methodCall>x<methodName>a</methodName></methodCall>",
            "<methodResponse/>",
            "<methodCall><methodName>a</methodName>",
            "",
            "\u{0}\u{1}garbage",
        ] {
            let fault = call(bad).unwrap_err();
            assert!(
                fault.message.starts_with("malformed XML-RPC request: "),
                "{bad}: {}",
                fault.message
            );
            assert_eq!(fault.code, 1);
            assert!(fault.client);
        }
        assert_eq!(
            call("<foo/>").unwrap_err().message,
            "malformed XML-RPC request: the root element is <foo>, not <methodCall>"
        );
    }

    #[test]
    fn missing_params_means_none() {
        let c = call("<methodCall><methodName> xmlStorageSystem.ping\n</methodName></methodCall>")
            .unwrap();
        assert_eq!(c.method, "xmlStorageSystem.ping");
        assert!(c.params.is_empty());
        let c = call("<methodCall><methodName>m</methodName><params/></methodCall>").unwrap();
        assert!(c.params.is_empty());
    }

    /// The untyped request from the research notes (S9), comments and all.
    #[test]
    fn s9_untyped_save_multiple_files() {
        let body = r#"<methodCall>
  <methodName>xmlStorageSystem.saveMultipleFiles</methodName>
  <params>
    <param><value><!-- your radio user number, e.g., mine is "122027" --></value></param>
    <param><value><!-- the md5 hash of your radio password as ASCII bytes --></value></param>
    <param>
      <value>
        <array>
          <data><value>/rpctest/test.html</value></data> <!-- location of file -->
        </array>
      </value>
    </param>
    <param>
      <value>
        <array>
          <data><value>Hello World!</value></data> <!-- contents of file -->
        </array>
      </value>
    </param>
  </params>
</methodCall>"#;
        let (c, enc) = decode_call(body.as_bytes()).unwrap();
        assert_eq!(enc, Encoding::Utf8);
        assert_eq!(c.method, "xmlStorageSystem.saveMultipleFiles");
        let values: Vec<Value> = c.params.into_iter().map(|p| p.value).collect();
        assert_eq!(
            values,
            vec![
                Value::string(""),
                Value::string(""),
                Value::Array(vec![Value::string("/rpctest/test.html")]),
                Value::Array(vec![Value::string("Hello World!")]),
            ]
        );
    }

    #[test]
    fn latin1_bodies() {
        let undeclared = b"<?xml version=\"1.0\"?><methodCall><methodName>m</methodName><params><param><value>caf\xe9</value></param></params></methodCall>";
        let (c, enc) = decode_call(undeclared).unwrap();
        assert_eq!(enc, Encoding::Latin1);
        assert_eq!(c.params[0].value, Value::string("café"));

        let declared = b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><methodCall><methodName>m</methodName><params><param><value><string>\xe9t\xe9</string></value></param></params></methodCall>";
        let (c, enc) = decode_call(declared).unwrap();
        assert_eq!(enc, Encoding::Latin1);
        assert_eq!(c.params[0].value, Value::string("été"));

        let bad = b"<?xml version=\"1.0\" encoding=\"UTF-8\"?><methodCall><methodName>m\xe9</methodName></methodCall>";
        assert!(decode_call(bad).is_err());
        let unsupported =
            b"<?xml version=\"1.0\" encoding=\"EBCDIC\"?><methodCall><methodName>m</methodName></methodCall>";
        assert_eq!(
            decode_call(unsupported).unwrap_err().message,
            "malformed XML-RPC request: unsupported encoding \"EBCDIC\"; use UTF-8 or ISO-8859-1"
        );
    }

    #[test]
    fn responses_are_encoded_exactly() {
        let body = encode_response(
            &structure([
                ("flError", Value::Bool(false)),
                ("message", Value::string("a<b & c>")),
                ("n", Value::Int(3)),
                ("big", Value::Int(5_000_000_000)),
                ("d", Value::Double(0.5)),
                ("when", Value::DateTime(1_017_144_000)),
                ("bytes", Value::Base64(b"Hello".to_vec())),
                ("list", Value::Array(vec![Value::string("x"), Value::Nil])),
            ]),
            Encoding::Utf8,
        );
        let text = String::from_utf8(body).unwrap();
        assert_eq!(
            text,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<methodResponse><params><param><value><struct>\
<member><name>flError</name><value><boolean>0</boolean></value></member>\
<member><name>message</name><value><string>a&lt;b &amp; c&gt;</string></value></member>\
<member><name>n</name><value><int>3</int></value></member>\
<member><name>big</name><value><double>5000000000</double></value></member>\
<member><name>d</name><value><double>0.5</double></value></member>\
<member><name>when</name><value><dateTime.iso8601>20020326T12:00:00</dateTime.iso8601></value></member>\
<member><name>bytes</name><value><base64>SGVsbG8=</base64></value></member>\
<member><name>list</name><value><array><data><value><string>x</string></value><value><nil/></value></data></array></value></member>\
</struct></value></param></params></methodResponse>\n"
        );
    }

    #[test]
    fn latin1_responses() {
        let body = encode_response(&Value::string("café ☺\u{1}"), Encoding::Latin1);
        let expected: &[u8] = b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n<methodResponse><params><param><value><string>caf\xe9 &#9786;</string></value></param></params></methodResponse>\n";
        assert_eq!(body, expected);
        assert_eq!(decode_response(&body).unwrap(), Value::string("café ☺"));
    }

    #[test]
    fn round_trips() {
        let nested = structure([
            (
                "s",
                Value::string("  spaced\r\nlines\ttab <&> \"q\" 'a' é ☺ 😀"),
            ),
            ("empty", Value::string("")),
            ("i", Value::Int(i64::from(i32::MIN))),
            ("b", Value::Bool(true)),
            ("d", Value::Double(-12.214)),
            ("t", Value::DateTime(-1)),
            ("bin", Value::Base64((0u8..=255).collect())),
            ("nil", Value::Nil),
            (
                "arr",
                Value::Array(vec![
                    Value::Array(vec![]),
                    structure([("x", Value::Array(vec![Value::Int(1), Value::string("2")]))]),
                    Value::Struct(vec![]),
                ]),
            ),
            ("dup", Value::Int(1)),
            ("dup", Value::Int(2)),
        ]);
        for encoding in [Encoding::Utf8, Encoding::Latin1] {
            let body = encode_response(&nested, encoding);
            assert_eq!(decode_response(&body).unwrap(), nested);
        }
        let params = [nested.clone(), Value::string("x"), Value::Int(-5)];
        let body = encode_call("xmlStorageSystem.ping", &params);
        let (c, enc) = decode_call(&body).unwrap();
        assert_eq!(enc, Encoding::Utf8);
        assert_eq!(c.method, "xmlStorageSystem.ping");
        assert_eq!(
            c.params.into_iter().map(|p| p.value).collect::<Vec<_>>(),
            params
        );
    }

    #[test]
    fn illegal_characters_are_stripped() {
        let body = encode_response(&Value::string("a\u{0}b\u{1B}c\u{FFFF}d"), Encoding::Utf8);
        assert_eq!(decode_response(&body).unwrap(), Value::string("abcd"));
    }

    #[test]
    fn faults_both_ways() {
        let fault = Fault::protocol("xmlStorageSystem method 'foo' not found <&>");
        let body = encode_fault(&fault, Encoding::Utf8);
        let text = String::from_utf8(body.clone()).unwrap();
        assert_eq!(
            text,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<methodResponse><fault><value><struct>\
<member><name>faultCode</name><value><int>1</int></value></member>\
<member><name>faultString</name><value><string>xmlStorageSystem method 'foo' not found &lt;&amp;&gt;</string></value></member>\
</struct></value></fault></methodResponse>\n"
        );
        assert_eq!(decode_response(&body).unwrap_err(), fault);
        let server = Fault::server("disk full é");
        assert_eq!(
            decode_response(&encode_fault(&server, Encoding::Latin1)).unwrap_err(),
            server
        );
        // Python's untyped faultString and <i4> code.
        let python = "<methodResponse><fault><value><struct><member><name>faultCode</name><value><i4>4</i4></value></member><member><name>faultString</name><value>Too many params</value></member></struct></value></fault></methodResponse>";
        let fault = decode_response(python.as_bytes()).unwrap_err();
        assert_eq!((fault.code, fault.message.as_str()), (4, "Too many params"));
    }

    #[test]
    fn malformed_responses() {
        for bad in [
            "",
            "<methodCall/>",
            "<methodResponse/>",
            "<methodResponse><params/></methodResponse>",
            "<methodResponse><params><param><value>a</value></param><param><value>b</value></param></params></methodResponse>",
            "<methodResponse><fault><value><struct/></value></fault></methodResponse>",
            "<methodResponse><params><param><value>a</value></param></params><fault/></methodResponse>",
        ] {
            let fault = decode_response(bad.as_bytes()).unwrap_err();
            assert!(
                fault.message.starts_with("malformed XML-RPC"),
                "{bad}: {}",
                fault.message
            );
        }
    }

    #[test]
    fn entity_attacks_are_faults() {
        let laughs = r#"<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<methodCall><methodName>m</methodName><params><param><value>&lol3;</value></param></params></methodCall>"#;
        assert_eq!(
            call(laughs).unwrap_err(),
            Fault::protocol("malformed XML-RPC request: DTDs are not allowed")
        );
        let xxe = r#"<?xml version="1.0"?><!DOCTYPE m [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><methodCall><methodName>&xxe;</methodName></methodCall>"#;
        assert_eq!(
            call(xxe).unwrap_err(),
            Fault::protocol("malformed XML-RPC request: DTDs are not allowed")
        );
        let undeclared = "<methodCall><methodName>m</methodName><params><param><value>&xxe;</value></param></params></methodCall>";
        assert_eq!(
            call(undeclared).unwrap_err(),
            Fault::protocol("malformed XML-RPC request: undefined entity &xxe;")
        );
    }

    fn nested_arrays(levels: usize) -> String {
        format!(
            "<methodCall><methodName>m</methodName><params><param><value>{}x{}</value></param></params></methodCall>",
            "<array><data><value>".repeat(levels),
            "</value></data></array>".repeat(levels)
        )
    }

    #[test]
    fn depth_is_capped_at_64() {
        // methodCall/params/param/value is 4 levels, each array adds 3: 20 arrays = 64.
        assert!(call(&nested_arrays(20)).is_ok());
        let fault = call(&nested_arrays(21)).unwrap_err();
        assert_eq!(
            fault,
            Fault::protocol(
                "malformed XML-RPC request: elements are nested more than 64 levels deep"
            )
        );
        let exactly_65 = format!(
            "<methodCall><methodName>m</methodName><params><param>{}{}</param></params></methodCall>",
            "<value>".repeat(62),
            "</value>".repeat(62)
        );
        assert!(call(&exactly_65).unwrap_err().message.contains("64 levels"));
        assert!(call(&"<a>".repeat(100_000)).is_err());
    }

    #[test]
    fn garbage_and_truncation_are_faults() {
        let good = encode_call(
            "m",
            &[structure([("a", Value::Array(vec![Value::Int(1)]))])],
        );
        // The last byte is the trailing newline, which a complete document does without.
        for len in 0..good.len() - 1 {
            let result = decode_call(&good[..len]);
            assert!(result.is_err(), "truncated at {len} decoded");
        }
        for garbage in [
            &b"\xff\xfe\x00<"[..],
            b"\x00\x00\x00",
            b"<<<>>>",
            b"<?xml",
            b"<![CDATA[",
        ] {
            assert!(decode_call(garbage).is_err());
        }
    }

    #[test]
    fn random_and_mutated_inputs_never_panic() {
        let seeds: Vec<Vec<u8>> = vec![
            encode_call(
                "xmlStorageSystem.saveMultipleFiles",
                &[
                    Value::string("a@b"),
                    Value::Array(vec![Value::string("x"), Value::Base64(b"yy".to_vec())]),
                    structure([("k", Value::Double(1.5)), ("t", Value::DateTime(0))]),
                    Value::Bool(true),
                    Value::Nil,
                ],
            ),
            encode_response(&Value::Int(5), Encoding::Latin1),
            encode_fault(&Fault::protocol("x"), Encoding::Utf8),
        ];
        let mut rng = XorShift::new(0x5eed_1234_abcd_0001);
        for i in 0..4000 {
            let input = if i % 10 == 0 {
                let len = rng.below(200);
                rng.bytes(len)
            } else {
                let seed = &seeds[rng.below(seeds.len())];
                mutate(&mut rng, seed)
            };
            let _ = decode_call(&input);
            let _ = decode_response(&input);
        }
    }
}
