//! The SOAP 1.1 codec (rpc/encoded, the style of the xmlStorageSystem spec, SOAPpy and
//! Virtuoso): an `Envelope` to a [`Call`], a [`Value`] or [`Fault`] back to an `Envelope`, and
//! the WSDL that describes the methods.
//!
//! Requests are read by namespace, never by prefix, since every toolkit picks its own
//! prefixes. Parameters are typed by `xsi:type` when the client sends it and inferred from the
//! shape of the element otherwise (document/literal-minded clients such as zeep send none).
//! Responses copy Virtuoso's shape: a `{op}Response` element holding a `Result` whose children
//! are the struct members, each with an `xsi:type`.

use std::borrow::Cow;
use std::collections::HashMap;

use crate::value::{Call, Fault, Kind, MethodSpec, Param, Value};
use crate::xml::{self, Allowance, Encoding, ErrorKind, Event, Reader, Start, XmlError};

/// The namespace of the response elements and of the WSDL's target namespace. Requests may use
/// any namespace for the method element.
pub const NAMESPACE: &str = "urn:xmlStorageSystem";

/// The `SOAPAction` every operation declares, as SOAPpy's xmlStorageSystem client sent it.
pub const SOAP_ACTION: &str = "/xmlStorageSystem";

/// The SOAP 1.1 envelope namespace.
pub const ENVELOPE_NS: &str = "http://schemas.xmlsoap.org/soap/envelope/";
/// The SOAP 1.1 (section 5) encoding namespace: `SOAP-ENC:Array`, `arrayType`, `base64`.
pub const ENCODING_NS: &str = "http://schemas.xmlsoap.org/soap/encoding/";
const SOAP12_ENVELOPE_NS: &str = "http://www.w3.org/2003/05/soap-envelope";

/// Schema namespaces accepted in `xsi:type`: the 2001 recommendation and the drafts that
/// SOAP 1.1-era toolkits (SOAPpy, Frontier) still emit.
const XSD_NAMESPACES: &[&str] = &[
    xml::XSD,
    "http://www.w3.org/1999/XMLSchema",
    "http://www.w3.org/2000/10/XMLSchema",
];
const XSI_NAMESPACES: &[&str] = &[
    xml::XSI,
    "http://www.w3.org/1999/XMLSchema-instance",
    "http://www.w3.org/2000/10/XMLSchema-instance",
];

/// The deepest element nesting accepted, and the deepest value nesting after following
/// `href` references; the decoder recurses once per level.
const MAX_DEPTH: usize = 64;

/// The opening of every envelope this module writes, declaring the prefixes the body uses.
const ENVELOPE_OPEN: &str = concat!(
    "<SOAP-ENV:Envelope",
    " xmlns:SOAP-ENV=\"http://schemas.xmlsoap.org/soap/envelope/\"",
    " xmlns:SOAP-ENC=\"http://schemas.xmlsoap.org/soap/encoding/\"",
    " xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\"",
    " xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\"",
    " SOAP-ENV:encodingStyle=\"http://schemas.xmlsoap.org/soap/encoding/\">",
);

/// Decodes a SOAP 1.1 request. The method is the first element of the `Body`, in any
/// namespace; its child elements are the named parameters. Returns the body's encoding for the
/// response. Every problem is a client fault. The decode may use [`xml::DECODE_FACTOR`] times
/// the body's size in memory (see [`decode_call_within`]).
pub fn decode_call(body: &[u8]) -> Result<(Call, Encoding), Fault> {
    decode_call_within(body, &mut Allowance::for_body(body.len()))
}

/// [`decode_call`], charging what the values cost to `memory`. The body is read one event at
/// a time straight into the values: no element tree is built. Multi-reference values
/// (`href="#id"`, as Apache Axis sends them) are resolved once the whole `Body` has been read.
pub fn decode_call_within(
    body: &[u8],
    memory: &mut Allowance<'_>,
) -> Result<(Call, Encoding), Fault> {
    let (text, encoding) = xml::decode_body(body).map_err(|e| malformed(&e.to_string()))?;
    if let Cow::Owned(converted) = &text {
        memory.charge(converted.len()).map_err(refused)?;
    }
    let mut reader = Reader::new(&text, MAX_DEPTH).map_err(|e| malformed(&e.to_string()))?;
    let mut decoder = Decoder {
        reader: &mut reader,
        memory,
        ids: HashMap::new(),
        elements: 0,
    };
    let decoded = decoder.envelope();
    let call = match decoded {
        Ok((method, params)) => decoder.resolve(method, params),
        Err(stop) => Err(stop),
    };
    let call = decoder.conclude(call)?;
    Ok((call, encoding))
}

fn malformed(what: &str) -> Fault {
    Fault::protocol(format!("malformed SOAP request: {what}"))
}

/// A request refused for the memory it would take, or because that memory is taken now.
fn refused(e: XmlError) -> Fault {
    match e.kind() {
        ErrorKind::Busy => Fault::server(format!("server busy: {e}")),
        ErrorKind::TooLarge => Fault::protocol(format!("SOAP request refused: {e}")),
        ErrorKind::Malformed => malformed(&e.to_string()),
    }
}

/// What `xsi:type` (or its absence) says to do with an element's content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Type {
    String,
    Int,
    Bool,
    Double,
    DateTime,
    Base64,
    Hex,
    Array,
    Struct,
    /// No usable type: look at the element's shape.
    Infer,
}

/// Maps a resolved type name to what the decoder does with it. SOAP-ENC repeats the simple
/// types under its own namespace (`SOAP-ENC:string`), so both namespaces share the table.
fn classify(namespace: Option<&str>, local: &str) -> Type {
    let Some(namespace) = namespace else {
        return Type::Infer;
    };
    let is_encoding = namespace == ENCODING_NS;
    if !is_encoding && !XSD_NAMESPACES.contains(&namespace) {
        return Type::Infer;
    }
    match local {
        "string" | "normalizedString" | "token" | "anyURI" | "language" | "Name" | "NCName"
        | "NMTOKEN" | "ID" | "QName" => Type::String,
        "int" | "integer" | "long" | "short" | "byte" | "unsignedInt" | "unsignedShort"
        | "unsignedByte" | "unsignedLong" | "nonNegativeInteger" | "positiveInteger"
        | "negativeInteger" | "nonPositiveInteger" => Type::Int,
        "boolean" => Type::Bool,
        "double" | "float" | "decimal" => Type::Double,
        "dateTime" => Type::DateTime,
        "base64Binary" => Type::Base64,
        "base64" if is_encoding => Type::Base64,
        "hexBinary" => Type::Hex,
        "Array" if is_encoding => Type::Array,
        "Struct" if is_encoding => Type::Struct,
        _ => Type::Infer,
    }
}

/// A decoded value, or one that still points at a multi-reference element (`href="#id"`)
/// that may come later in the `Body`. Values without references are [`Slot::Done`].
#[derive(Debug, Clone)]
enum Slot {
    Done(Value),
    /// `href="#id"`: a copy of the element with that id, one level deeper.
    Ref(String),
    /// An element with an `id`, kept once among the references' targets: its value, here.
    Kept(String),
    Array(Vec<Slot>),
    Struct(Vec<(String, Slot)>),
}

impl Slot {
    fn array(items: Vec<Slot>) -> Slot {
        if items.iter().all(|s| matches!(s, Slot::Done(_))) {
            Slot::Done(Value::Array(
                items
                    .into_iter()
                    .map(|s| match s {
                        Slot::Done(v) => v,
                        _ => Value::Nil,
                    })
                    .collect(),
            ))
        } else {
            Slot::Array(items)
        }
    }

    fn structure(members: Vec<(String, Slot)>) -> Slot {
        if members.iter().all(|(_, s)| matches!(s, Slot::Done(_))) {
            Slot::Done(Value::Struct(
                members
                    .into_iter()
                    .map(|(n, s)| match s {
                        Slot::Done(v) => (n, v),
                        _ => (n, Value::Nil),
                    })
                    .collect(),
            ))
        } else {
            Slot::Struct(members)
        }
    }
}

/// A decode that cannot go on, and why.
enum Stop {
    /// The XML itself is not acceptable, or the memory for it is not there.
    Xml(XmlError),
    /// The envelope is not a SOAP request: the whole message.
    Fault(Fault),
    /// A value is not acceptable: the message, to which the parameter is added.
    Bad(String),
}

impl From<XmlError> for Stop {
    fn from(e: XmlError) -> Stop {
        Stop::Xml(e)
    }
}

impl Stop {
    /// A [`Stop::Bad`] with the parameter named, as a fault.
    fn in_param(self, param: &str) -> Stop {
        match self {
            Stop::Bad(what) => Stop::Fault(Fault::protocol(format!("{what} in parameter {param}"))),
            other => other,
        }
    }
}

/// Decodes a `Body`'s values as they are read.
struct Decoder<'s, 't, 'm> {
    reader: &'s mut Reader<'t>,
    memory: &'s mut Allowance<'m>,
    /// Elements in the Body that carry an `id`, decoded, the targets of `href="#id"`; the
    /// first of an id wins. A target that could not be decoded keeps its error, which counts
    /// only if something refers to it.
    ids: HashMap<String, Result<Slot, String>>,
    /// Elements in the Body, which bounds how many values references may expand to.
    elements: usize,
}

impl<'t> Decoder<'_, 't, '_> {
    fn next(&mut self) -> Result<Event<'t>, Stop> {
        match self.reader.read()? {
            Some(Event::Start(start)) => {
                self.elements += 1;
                Ok(Event::Start(start))
            }
            Some(event) => Ok(event),
            None => Err(Stop::Fault(malformed("unexpected end of document"))),
        }
    }

    fn charge(&mut self, bytes: usize) -> Result<(), Stop> {
        self.memory.charge(bytes).map_err(Stop::Xml)
    }

    /// The `Envelope`: its first `Body` holds the call; everything else is ignored.
    fn envelope(&mut self) -> Result<(String, Vec<(String, Slot)>), Stop> {
        let Event::Start(root) = self.next()? else {
            return Err(Stop::Fault(malformed("no root element")));
        };
        if !root.is(ENVELOPE_NS, "Envelope") {
            if root.is(SOAP12_ENVELOPE_NS, "Envelope") {
                return Err(Stop::Fault(malformed(
                    "SOAP 1.2 is not supported; send a SOAP 1.1 envelope",
                )));
            }
            return Err(Stop::Fault(malformed(&format!(
                "the root element is <{}>, not a SOAP 1.1 Envelope",
                xml::truncate(root.name(), 40)
            ))));
        }
        let mut call = None;
        loop {
            match self.next()? {
                Event::Start(child) if call.is_none() && child.is(ENVELOPE_NS, "Body") => {
                    self.elements = 1;
                    call = Some(self.body()?);
                }
                Event::Start(_) => self.reader.skip()?,
                Event::Text(_) => {}
                Event::End => break,
            }
        }
        call.ok_or_else(|| Stop::Fault(malformed("no SOAP Body")))
    }

    /// The `Body`, after its start: the method element, then multi-reference elements.
    fn body(&mut self) -> Result<(String, Vec<(String, Slot)>), Stop> {
        let mut call = None;
        loop {
            match self.next()? {
                Event::Start(method) if call.is_none() => call = Some(self.method(&method)?),
                Event::Start(other) => self.scan(&other)?,
                Event::Text(_) => {}
                Event::End => break,
            }
        }
        call.ok_or_else(|| Stop::Fault(malformed("empty SOAP Body")))
    }

    /// The method element, after its start: each child element is a named parameter.
    fn method(&mut self, method: &Start<'_>) -> Result<(String, Vec<(String, Slot)>), Stop> {
        let mut params = Vec::new();
        let mut significant = false;
        loop {
            match self.next()? {
                Event::Start(param) => {
                    let name = param.local_name().to_owned();
                    let slot = self.value(&param).map_err(|stop| stop.in_param(&name))?;
                    self.charge(std::mem::size_of::<Param>() + name.len())?;
                    params.push((name, slot));
                }
                Event::Text(t) => significant |= !is_whitespace(&t),
                Event::End => break,
            }
        }
        if significant {
            return Err(Stop::Fault(malformed(&format!(
                "text directly inside <{}>",
                xml::truncate(method.name(), 40)
            ))));
        }
        Ok((method.local_name().to_owned(), params))
    }

    /// Reads an element that is not a value (after its start), decoding the elements with an
    /// `id` inside it: a reference may point at them.
    fn scan(&mut self, element: &Start<'_>) -> Result<(), Stop> {
        if let Some(id) = element.attribute("id") {
            return self.target(element, id.to_owned());
        }
        self.scan_children()
    }

    fn scan_children(&mut self) -> Result<(), Stop> {
        loop {
            match self.next()? {
                Event::Start(inner) => self.scan(&inner)?,
                Event::Text(_) => {}
                Event::End => return Ok(()),
            }
        }
    }

    /// Decodes an element with an `id` (after its start) as a reference's target. A value it
    /// cannot be is remembered as such, and the rest of the element is read for more targets.
    fn target(&mut self, element: &Start<'_>, id: String) -> Result<(), Stop> {
        let depth = self.reader.depth();
        let decoded = match self.value(element) {
            Ok(slot) => Ok(slot),
            Err(Stop::Bad(what)) => {
                while self.reader.depth() >= depth {
                    match self.next()? {
                        Event::Start(inner) => self.scan(&inner)?,
                        Event::Text(_) | Event::End => {}
                    }
                }
                Err(what)
            }
            Err(other) => return Err(other),
        };
        self.ids.entry(id).or_insert(decoded);
        Ok(())
    }

    /// Decodes one element as a value, after its start, through its end.
    /// An element with an `id` (the first of that id) is kept once, as a reference's target,
    /// and stands for a reference to itself where it is: copying it here too would let nested
    /// ids multiply the memory a document costs, uncounted.
    fn value(&mut self, element: &Start<'_>) -> Result<Slot, Stop> {
        let slot = self.value_inner(element)?;
        match element.attribute("id") {
            Some(id) if !self.ids.contains_key(id) => {
                self.charge(2 * id.len() + std::mem::size_of::<(String, Slot)>())?;
                self.ids.insert(id.to_owned(), Ok(slot));
                Ok(Slot::Kept(id.to_owned()))
            }
            _ => Ok(slot),
        }
    }

    fn value_inner(&mut self, element: &Start<'_>) -> Result<Slot, Stop> {
        if let Some(attribute) = element.attributes.iter().find(|a| a.has_unbound_prefix()) {
            return Err(Stop::Bad(format!(
                "undeclared namespace prefix in attribute {}",
                xml::truncate(&attribute.name, 40)
            )));
        }
        if let Some(target) = element.attribute("href") {
            let Some(id) = target.strip_prefix('#') else {
                return Err(Stop::Bad(format!(
                    "unsupported href \"{}\" (only #id references within the Body)",
                    xml::truncate(target, 40)
                )));
            };
            let id = id.to_owned();
            self.scan_children()?;
            self.charge(id.len())?;
            return Ok(Slot::Ref(id));
        }
        if let Some(nil) = xsi_attribute(element, "nil") {
            match nil.trim() {
                "true" | "1" => {
                    self.scan_children()?;
                    return Ok(Slot::Done(Value::Nil));
                }
                "false" | "0" => {}
                other => {
                    return Err(Stop::Bad(format!(
                        "invalid xsi:nil value \"{}\"",
                        xml::truncate(other, 40)
                    )));
                }
            }
        }
        let (kind, type_name) = match xsi_attribute(element, "type") {
            Some(written) => {
                let (namespace, local) = element
                    .resolve_qname(written)
                    .map_err(|e| Stop::Bad(format!("{e} in xsi:type")))?;
                (classify(namespace.as_deref(), local), written.trim())
            }
            None => (Type::Infer, ""),
        };
        let kind = match kind {
            Type::Infer if element.attribute_ns(ENCODING_NS, "arrayType").is_some() => Type::Array,
            known => known,
        };
        match kind {
            Type::Array | Type::Struct | Type::Infer => self.compound(element, kind),
            scalar => self.scalar(scalar, type_name),
        }
    }

    /// An array, a struct, or an element whose type comes from its shape: an array when all
    /// its children are `item`s, a struct when it has other children, a string when it has
    /// none.
    fn compound(&mut self, element: &Start<'_>, kind: Type) -> Result<Slot, Stop> {
        // A declared array keeps no names; otherwise `None` stands for `item`, so that an
        // inferred array's items cost no name either.
        let mut items: Vec<Slot> = Vec::new();
        let mut named: Vec<(Option<String>, Slot)> = Vec::new();
        let mut text = String::new();
        let mut significant = false;
        loop {
            match self.next()? {
                Event::Start(child) => {
                    if kind == Type::Array {
                        self.charge(std::mem::size_of::<Slot>())?;
                        let slot = self.value(&child)?;
                        items.push(slot);
                    } else {
                        let local = child.local_name();
                        let name = if kind == Type::Infer && local == "item" {
                            None
                        } else {
                            self.charge(local.len())?;
                            Some(local.to_owned())
                        };
                        self.charge(std::mem::size_of::<(Option<String>, Slot)>())?;
                        let slot = self.value(&child)?;
                        named.push((name, slot));
                    }
                    if !text.is_empty() {
                        self.memory.release(text.len());
                        text = String::new();
                    }
                }
                Event::Text(t) => {
                    significant |= !is_whitespace(&t);
                    if kind == Type::Infer && named.is_empty() {
                        self.charge(t.len())?;
                        text.push_str(&t);
                    }
                }
                Event::End => break,
            }
        }
        let kind = match kind {
            Type::Infer if named.is_empty() => return Ok(Slot::Done(Value::String(text))),
            Type::Infer if named.iter().all(|(name, _)| name.is_none()) => {
                items = named.drain(..).map(|(_, slot)| slot).collect();
                Type::Array
            }
            Type::Infer => Type::Struct,
            known => known,
        };
        if significant {
            let what = if kind == Type::Array {
                "items"
            } else {
                "members"
            };
            return Err(Stop::Bad(format!(
                "text beside the {what} of <{}>",
                xml::truncate(element.name(), 40)
            )));
        }
        Ok(if kind == Type::Array {
            Slot::array(items)
        } else {
            Slot::structure(
                named
                    .into_iter()
                    .map(|(name, slot)| (name.unwrap_or_else(|| "item".to_owned()), slot))
                    .collect(),
            )
        })
    }

    /// A scalar of a declared type: its text, with no child element.
    fn scalar(&mut self, kind: Type, type_name: &str) -> Result<Slot, Stop> {
        let mut text = String::new();
        loop {
            match self.next()? {
                Event::Text(t) => {
                    self.charge(t.len())?;
                    text.push_str(&t);
                }
                Event::Start(inner) => {
                    return Err(Stop::Bad(format!(
                        "unexpected element <{}> inside a {} value",
                        xml::truncate(inner.name(), 40),
                        xml::truncate(type_name, 40)
                    )));
                }
                Event::End => break,
            }
        }
        let invalid = || {
            Stop::Bad(format!(
                "invalid {} value \"{}\"",
                xml::truncate(type_name, 40),
                xml::truncate(&text, 40)
            ))
        };
        let value = match kind {
            Type::Int => xml::parse_int(&text).map(Value::Int).ok_or_else(invalid),
            Type::Bool => match text.trim() {
                "true" | "1" => Ok(Value::Bool(true)),
                "false" | "0" => Ok(Value::Bool(false)),
                _ => Err(invalid()),
            },
            Type::Double => xml::parse_double(&text)
                .map(Value::Double)
                .ok_or_else(invalid),
            Type::DateTime => xml::parse_datetime(&text)
                .map(Value::DateTime)
                .ok_or_else(invalid),
            Type::Base64 => {
                self.charge(text.len() / 4 * 3)?;
                xml::decode_base64(&text).map(Value::Base64).map_err(|e| {
                    Stop::Bad(format!(
                        "invalid {} value: {e}",
                        xml::truncate(type_name, 40)
                    ))
                })
            }
            Type::Hex => {
                self.charge(text.len() / 2)?;
                decode_hex(&text).map(Value::Base64).ok_or_else(invalid)
            }
            _ => return Ok(Slot::Done(Value::String(text))),
        };
        self.memory.release(text.len());
        value.map(Slot::Done)
    }

    /// The parameters with every reference replaced by (a copy of) what it points at.
    fn resolve(&mut self, method: String, params: Vec<(String, Slot)>) -> Result<Call, Stop> {
        let mut copies = Copies {
            ids: &self.ids,
            memory: self.memory,
            // How many more values references may produce: a small document can describe a
            // huge value (each level pointing twice at the next); this stops that expansion.
            budget: self.elements.saturating_mul(4).saturating_add(1024),
        };
        let mut resolved = Vec::with_capacity(params.len());
        for (name, slot) in params {
            let value = copies
                .resolve(slot, 1)
                .map_err(|stop| stop.in_param(&name))?;
            resolved.push(Param {
                name: Some(name),
                value,
            });
        }
        Ok(Call {
            method,
            params: resolved,
        })
    }

    /// The outcome of a decode: on success the rest of the document is read (it may hold
    /// only comments and whitespace); on a problem with the call, the rest is read too, and
    /// a document that is not even well-formed is reported as such.
    fn conclude<T>(&mut self, result: Result<T, Stop>) -> Result<T, Fault> {
        let stop = match result {
            Ok(value) => match self.reader.finish() {
                Ok(()) => return Ok(value),
                Err(e) => Stop::Xml(e),
            },
            Err(stop) => stop,
        };
        if let Stop::Xml(e) = &stop
            && matches!(e.kind(), ErrorKind::Malformed | ErrorKind::Busy)
        {
            return Err(refused(e.clone()));
        }
        if let Err(e) = self.reader.finish()
            && e.kind() == ErrorKind::Malformed
        {
            return Err(refused(e));
        }
        Err(match stop {
            Stop::Xml(e) => refused(e),
            Stop::Fault(f) => f,
            // A value's problem always reaches here with its parameter named.
            Stop::Bad(what) => Fault::protocol(what),
        })
    }
}

/// Resolving references: each one becomes a copy of its target, counted against a budget
/// of values and charged to the allowance.
struct Copies<'r, 'm> {
    ids: &'r HashMap<String, Result<Slot, String>>,
    memory: &'r mut Allowance<'m>,
    budget: usize,
}

impl Copies<'_, '_> {
    fn resolve(&mut self, slot: Slot, depth: usize) -> Result<Value, Stop> {
        match slot {
            Slot::Done(value) => Ok(value),
            Slot::Ref(id) => self.follow(&id, depth + 1),
            Slot::Kept(id) => self.follow(&id, depth),
            Slot::Array(items) => items
                .into_iter()
                .map(|item| self.resolve(item, depth + 1))
                .collect::<Result<Vec<_>, _>>()
                .map(Value::Array),
            Slot::Struct(members) => members
                .into_iter()
                .map(|(name, member)| Ok((name, self.resolve(member, depth + 1)?)))
                .collect::<Result<Vec<_>, Stop>>()
                .map(Value::Struct),
        }
    }

    /// A copy of what `#id` refers to, at nesting depth `depth`.
    fn follow(&mut self, id: &str, depth: usize) -> Result<Value, Stop> {
        let ids = self.ids;
        match ids.get(id) {
            None => Err(Stop::Bad(format!(
                "href \"#{}\" refers to no element",
                xml::truncate(id, 40)
            ))),
            Some(Err(what)) => Err(Stop::Bad(what.clone())),
            Some(Ok(slot)) => self.copy_slot(slot, depth),
        }
    }

    /// Counts one more value against the budget and the depth cap.
    fn count(&mut self, depth: usize, heap: usize) -> Result<(), Stop> {
        if depth > MAX_DEPTH {
            return Err(Stop::Bad(format!(
                "values are nested more than {MAX_DEPTH} levels deep"
            )));
        }
        self.budget = self
            .budget
            .checked_sub(1)
            .ok_or_else(|| Stop::Bad("too many values (multi-reference expansion)".to_owned()))?;
        self.memory
            .charge(std::mem::size_of::<Value>() + heap)
            .map_err(Stop::Xml)
    }

    fn copy_slot(&mut self, slot: &Slot, depth: usize) -> Result<Value, Stop> {
        match slot {
            Slot::Done(value) => self.copy_value(value, depth),
            Slot::Ref(id) => {
                self.count(depth, 0)?;
                self.follow(id, depth + 1)
            }
            Slot::Kept(id) => self.follow(id, depth),
            Slot::Array(items) => {
                self.count(depth, 0)?;
                items
                    .iter()
                    .map(|item| self.copy_slot(item, depth + 1))
                    .collect::<Result<Vec<_>, _>>()
                    .map(Value::Array)
            }
            Slot::Struct(members) => {
                self.count(depth, 0)?;
                members
                    .iter()
                    .map(|(name, member)| {
                        self.memory.charge(name.len()).map_err(Stop::Xml)?;
                        Ok((name.clone(), self.copy_slot(member, depth + 1)?))
                    })
                    .collect::<Result<Vec<_>, Stop>>()
                    .map(Value::Struct)
            }
        }
    }

    fn copy_value(&mut self, value: &Value, depth: usize) -> Result<Value, Stop> {
        self.count(depth, scalar_bytes(value))?;
        match value {
            Value::Array(items) => items
                .iter()
                .map(|item| self.copy_value(item, depth + 1))
                .collect::<Result<Vec<_>, _>>()
                .map(Value::Array),
            Value::Struct(members) => members
                .iter()
                .map(|(name, member)| {
                    self.memory.charge(name.len()).map_err(Stop::Xml)?;
                    Ok((name.clone(), self.copy_value(member, depth + 1)?))
                })
                .collect::<Result<Vec<_>, Stop>>()
                .map(Value::Struct),
            scalar => Ok(scalar.clone()),
        }
    }
}

/// The heap bytes of a scalar value.
fn scalar_bytes(value: &Value) -> usize {
    match value {
        Value::String(s) => s.len(),
        Value::Base64(b) => b.len(),
        _ => 0,
    }
}

fn is_whitespace(text: &str) -> bool {
    text.chars().all(xml::is_xml_whitespace)
}

/// An `xsi:` attribute, under any of the schema-instance namespaces.
fn xsi_attribute<'e>(element: &'e Start<'_>, local: &str) -> Option<&'e str> {
    XSI_NAMESPACES
        .iter()
        .find_map(|ns| element.attribute_ns(ns, local))
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    let text = text.trim();
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

/// The `xsi:type` of a scalar value; `None` for structs, arrays and nil, which are written
/// differently.
fn scalar_type(value: &Value) -> Option<&'static str> {
    match value {
        Value::Int(i) if i32::try_from(*i).is_ok() => Some("xsd:int"),
        Value::Int(_) => Some("xsd:long"),
        Value::Bool(_) => Some("xsd:boolean"),
        Value::String(_) => Some("xsd:string"),
        Value::Double(_) => Some("xsd:double"),
        Value::DateTime(_) => Some("xsd:dateTime"),
        Value::Base64(_) => Some("xsd:base64Binary"),
        Value::Struct(_) | Value::Array(_) | Value::Nil => None,
    }
}

/// The item type for `SOAP-ENC:arrayType`: the one type all items share, `xsd:anyType` when
/// they differ, and `xsd:string` for an empty array as Virtuoso writes it. Nil items fit any
/// type.
fn array_item_type(items: &[Value]) -> &'static str {
    let mut common: Option<&'static str> = None;
    for item in items {
        let item_type = match item {
            Value::Nil => continue,
            Value::Struct(_) => "SOAP-ENC:Struct",
            Value::Array(_) => "SOAP-ENC:Array",
            scalar => scalar_type(scalar).unwrap_or("xsd:anyType"),
        };
        match common {
            None => common = Some(item_type),
            Some(t) if t == item_type => {}
            Some(_) => return "xsd:anyType",
        }
    }
    common.unwrap_or("xsd:string")
}

/// Appends `<name ...>value</name>`. `name` must already be a valid element name.
fn write_element(out: &mut String, name: &str, value: &Value) {
    out.push('<');
    out.push_str(name);
    match value {
        Value::Nil => {
            out.push_str(" xsi:nil=\"1\"/>");
            return;
        }
        Value::Struct(members) => {
            // Members need no type, except where the decoder (ours or another's) would
            // otherwise read the struct as something else: an empty element is an empty
            // string, and all-`item` children are an array.
            if members.iter().all(|(member, _)| member == "item") {
                out.push_str(" xsi:type=\"SOAP-ENC:Struct\"");
            }
            out.push('>');
            for (member, value) in members {
                write_element(out, &xml::element_name(member), value);
            }
        }
        Value::Array(items) => {
            out.push_str(&format!(
                " xsi:type=\"SOAP-ENC:Array\" SOAP-ENC:arrayType=\"{}[{}]\">",
                array_item_type(items),
                items.len()
            ));
            for item in items {
                write_element(out, "item", item);
            }
        }
        scalar => {
            out.push_str(" xsi:type=\"");
            out.push_str(scalar_type(scalar).unwrap_or("xsd:anyType"));
            out.push_str("\">");
            match scalar {
                Value::Int(i) => out.push_str(&i.to_string()),
                Value::Bool(b) => out.push(if *b { '1' } else { '0' }),
                Value::String(s) => xml::escape_text(out, s),
                Value::Double(d) => out.push_str(&xml::format_double(*d)),
                Value::DateTime(secs) => out.push_str(&xml::format_iso_datetime(*secs)),
                Value::Base64(bytes) => out.push_str(&xml::encode_base64(bytes)),
                Value::Struct(_) | Value::Array(_) | Value::Nil => {}
            }
        }
    }
    out.push_str("</");
    out.push_str(name);
    out.push('>');
}

/// Encodes a successful response to the operation `method_operation` (the local name, e.g.
/// `getServerCapabilities`) in `encoding`. A struct's members become children of `Result`,
/// anything else is `Result` itself.
pub fn encode_response(method_operation: &str, value: &Value, encoding: Encoding) -> Vec<u8> {
    let operation = xml::element_name(method_operation);
    let mut out = xml::declaration(encoding);
    out.push_str(ENVELOPE_OPEN);
    out.push_str("<SOAP-ENV:Body><m:");
    out.push_str(&operation);
    out.push_str("Response xmlns:m=\"");
    xml::escape_attribute(&mut out, NAMESPACE);
    out.push_str("\">");
    write_element(&mut out, "Result", value);
    out.push_str("</m:");
    out.push_str(&operation);
    out.push_str("Response></SOAP-ENV:Body></SOAP-ENV:Envelope>\n");
    xml::encode_document(&out, encoding)
}

/// The parts of the SOAP 1.1 encoding schema (namespace [`ENCODING_NS`]) that rpc/encoded
/// WSDLs refer to: `Array` with `arrayType`, `Struct`, and the common attributes. It never
/// refers to its own namespace, because zeep would then fetch the original from the network. Served at
/// `/xmlStorageSystem?xsd=soapenc` and imported from there by [`wsdl`].
pub const ENCODING_SCHEMA: &str = r###"<?xml version="1.0" encoding="UTF-8"?>
<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema"
           targetNamespace="http://schemas.xmlsoap.org/soap/encoding/">
 <xs:attribute name="arrayType" type="xs:string"/>
 <xs:attribute name="offset" type="xs:string"/>
 <xs:attribute name="position" type="xs:string"/>
 <xs:complexType name="Array">
  <xs:sequence>
   <xs:any namespace="##any" minOccurs="0" maxOccurs="unbounded" processContents="lax"/>
  </xs:sequence>
  <xs:attribute name="id" type="xs:ID"/>
  <xs:attribute name="href" type="xs:anyURI"/>
  <xs:anyAttribute namespace="##any" processContents="lax"/>
 </xs:complexType>
 <xs:complexType name="Struct">
  <xs:sequence>
   <xs:any namespace="##any" minOccurs="0" maxOccurs="unbounded" processContents="lax"/>
  </xs:sequence>
  <xs:attribute name="id" type="xs:ID"/>
  <xs:attribute name="href" type="xs:anyURI"/>
  <xs:anyAttribute namespace="##any" processContents="lax"/>
 </xs:complexType>
 <xs:simpleType name="base64">
  <xs:restriction base="xs:base64Binary"/>
 </xs:simpleType>
</xs:schema>
"###;

/// Encodes a call of `operation` with named parameters (UTF-8), for change notifications sent
/// to SOAP subscribers.
pub fn encode_call(operation: &str, params: &[(&str, Value)]) -> Vec<u8> {
    let operation = xml::element_name(operation);
    let mut out = xml::declaration(Encoding::Utf8);
    out.push_str(ENVELOPE_OPEN);
    out.push_str("<SOAP-ENV:Body><m:");
    out.push_str(&operation);
    out.push_str(" xmlns:m=\"");
    xml::escape_attribute(&mut out, NAMESPACE);
    out.push_str("\">");
    for (name, value) in params {
        write_element(&mut out, name, value);
    }
    out.push_str("</m:");
    out.push_str(&operation);
    out.push_str("></SOAP-ENV:Body></SOAP-ENV:Envelope>\n");
    xml::encode_document(&out, Encoding::Utf8)
}

/// Encodes a SOAP Fault, `Client` or `Server` after [`Fault::client`]. The caller sends it
/// with HTTP 500, as SOAP 1.1 requires.
pub fn encode_fault(fault: &Fault) -> Vec<u8> {
    let mut out = xml::declaration(Encoding::Utf8);
    out.push_str(ENVELOPE_OPEN);
    out.push_str("<SOAP-ENV:Body><SOAP-ENV:Fault><faultcode>");
    out.push_str(if fault.client {
        "SOAP-ENV:Client"
    } else {
        "SOAP-ENV:Server"
    });
    out.push_str("</faultcode><faultstring>");
    xml::escape_text(&mut out, &fault.message);
    out.push_str("</faultstring><detail/></SOAP-ENV:Fault></SOAP-ENV:Body></SOAP-ENV:Envelope>\n");
    out.into_bytes()
}

/// The schema type a [`Kind`] is published as. Binary content is described as a string
/// because that is what most clients send; base64 is accepted all the same.
fn wsdl_type(kind: Kind) -> &'static str {
    match kind {
        Kind::Int => "xsd:int",
        Kind::Bool => "xsd:boolean",
        Kind::String | Kind::Binary => "xsd:string",
        Kind::DateTime => "xsd:dateTime",
        Kind::Struct | Kind::Any => "xsd:anyType",
        Kind::StringArray | Kind::BinaryArray => "tns:ArrayOfString",
    }
}

/// A WSDL 1.1 document for `methods`: rpc/encoded SOAP 1.1 binding, `soapAction`
/// [`SOAP_ACTION`] everywhere, the service at `endpoint_url`. Each operation's output is one
/// part, `Result`, of a per-method complex type whose members are all optional so that a
/// strict client tolerates a member the server leaves out. Methods sharing an operation name
/// (the same method under two namespaces) are described once.
pub fn wsdl<'a>(methods: impl IntoIterator<Item = &'a MethodSpec>, endpoint_url: &str) -> String {
    let mut seen = std::collections::HashSet::new();
    let methods: Vec<&MethodSpec> = methods
        .into_iter()
        .filter(|m| seen.insert(m.operation()))
        .collect();
    let name = |s: &str| xml::element_name(s).into_owned();

    let mut out = String::new();
    out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    out.push_str(&format!(
        "<definitions name=\"xmlStorageSystem\" targetNamespace=\"{NAMESPACE}\"\n \
         xmlns=\"http://schemas.xmlsoap.org/wsdl/\"\n \
         xmlns:wsdl=\"http://schemas.xmlsoap.org/wsdl/\"\n \
         xmlns:soap=\"http://schemas.xmlsoap.org/wsdl/soap/\"\n \
         xmlns:soapenc=\"{ENCODING_NS}\"\n \
         xmlns:xsd=\"{}\"\n \
         xmlns:tns=\"{NAMESPACE}\">\n",
        xml::XSD
    ));

    // The encoding schema is served by passlink itself, so a client such as zeep can build
    // itself from this WSDL without reaching schemas.xmlsoap.org.
    let mut encoding_schema = String::new();
    xml::escape_attribute(&mut encoding_schema, &format!("{endpoint_url}?xsd=soapenc"));
    out.push_str(&format!(
        " <types>\n  <xsd:schema targetNamespace=\"{NAMESPACE}\">\n   \
         <xsd:import namespace=\"{ENCODING_NS}\" schemaLocation=\"{encoding_schema}\"/>\n   \
         <xsd:import namespace=\"http://schemas.xmlsoap.org/wsdl/\"/>\n   \
         <xsd:complexType name=\"ArrayOfString\">\n    <xsd:complexContent>\n     \
         <xsd:restriction base=\"soapenc:Array\">\n      \
         <xsd:attribute ref=\"soapenc:arrayType\" wsdl:arrayType=\"xsd:string[]\"/>\n     \
         </xsd:restriction>\n    </xsd:complexContent>\n   </xsd:complexType>\n"
    ));
    for method in &methods {
        out.push_str(&format!(
            "   <xsd:complexType name=\"{}Result\">\n    <xsd:all>\n",
            name(method.operation())
        ));
        for (member, kind) in method.returns {
            out.push_str(&format!(
                "     <xsd:element name=\"{}\" type=\"{}\" minOccurs=\"0\"/>\n",
                name(member),
                wsdl_type(*kind)
            ));
        }
        out.push_str("    </xsd:all>\n   </xsd:complexType>\n");
    }
    out.push_str("  </xsd:schema>\n </types>\n");

    for method in &methods {
        let op = name(method.operation());
        out.push_str(&format!(" <message name=\"{op}Request\">\n"));
        for (param, kind) in method.params {
            out.push_str(&format!(
                "  <part name=\"{}\" type=\"{}\"/>\n",
                name(param),
                wsdl_type(*kind)
            ));
        }
        out.push_str(" </message>\n");
        out.push_str(&format!(
            " <message name=\"{op}Response\">\n  <part name=\"Result\" type=\"tns:{op}Result\"/>\n </message>\n"
        ));
    }

    out.push_str(" <portType name=\"xmlStorageSystemPortType\">\n");
    for method in &methods {
        let op = name(method.operation());
        out.push_str(&format!(
            "  <operation name=\"{op}\">\n   <input message=\"tns:{op}Request\"/>\n   \
             <output message=\"tns:{op}Response\"/>\n  </operation>\n"
        ));
    }
    out.push_str(" </portType>\n");

    out.push_str(
        " <binding name=\"xmlStorageSystemBinding\" type=\"tns:xmlStorageSystemPortType\">\n  \
         <soap:binding style=\"rpc\" transport=\"http://schemas.xmlsoap.org/soap/http\"/>\n",
    );
    let body = format!(
        "<soap:body use=\"encoded\" namespace=\"{NAMESPACE}\" encodingStyle=\"{ENCODING_NS}\"/>"
    );
    for method in &methods {
        let op = name(method.operation());
        out.push_str(&format!(
            "  <operation name=\"{op}\">\n   \
             <soap:operation soapAction=\"{SOAP_ACTION}\" style=\"rpc\"/>\n   \
             <input>{body}</input>\n   <output>{body}</output>\n  </operation>\n"
        ));
    }
    out.push_str(" </binding>\n");

    let mut location = String::new();
    xml::escape_attribute(&mut location, endpoint_url);
    out.push_str(&format!(
        " <service name=\"xmlStorageSystem\">\n  \
         <port name=\"xmlStorageSystemPort\" binding=\"tns:xmlStorageSystemBinding\">\n   \
         <soap:address location=\"{location}\"/>\n  </port>\n </service>\n</definitions>\n"
    ));
    out
}

#[cfg(test)]
mod encode_call_tests {
    use super::*;

    #[test]
    fn a_slot_is_the_size_of_a_value() {
        // So that turning a finished array of slots into values reuses its allocation.
        assert_eq!(std::mem::size_of::<Slot>(), std::mem::size_of::<Value>());
    }

    #[test]
    fn an_encoded_call_decodes_back() {
        let body = encode_call("notify", &[("url", Value::string("http://x/a&b"))]);
        let (call, _) = decode_call(&body).unwrap();
        assert_eq!(call.method, "notify");
        assert_eq!(call.params[0].name.as_deref(), Some("url"));
        assert_eq!(call.params[0].value, Value::string("http://x/a&b"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::structure;
    use crate::xml::Element;
    use crate::xml::testing::{XorShift, mutate};

    const SAMPLE: &[MethodSpec] = &[
        MethodSpec {
            name: "xmlStorageSystem.getServerCapabilities",
            params: &[("email", Kind::String), ("password", Kind::String)],
            required: 2,
            returns: &[
                ("flError", Kind::Bool),
                ("message", Kind::String),
                ("ctBytesInUse", Kind::Int),
                ("legalFileExtensions", Kind::StringArray),
                ("community", Kind::Struct),
                ("maxFileSize", Kind::Int),
                ("weblogUpdates", Kind::Any),
                ("yourUpstreamFolderUrl", Kind::String),
            ],
        },
        MethodSpec {
            name: "xmlStorageSystem.saveMultipleFiles",
            params: &[
                ("email", Kind::String),
                ("password", Kind::String),
                ("relativepathList", Kind::StringArray),
                ("fileTextList", Kind::BinaryArray),
            ],
            required: 4,
            returns: &[
                ("flError", Kind::Bool),
                ("message", Kind::String),
                ("urlList", Kind::StringArray),
                ("yourUpstreamFolderUrl", Kind::String),
            ],
        },
        MethodSpec {
            name: "xmlStorageSystem.ping",
            params: &[
                ("email", Kind::String),
                ("password", Kind::String),
                ("status", Kind::Int),
                ("clientPort", Kind::Int),
                ("userinfo", Kind::Any),
            ],
            required: 4,
            returns: &[
                ("flError", Kind::Bool),
                ("message", Kind::String),
                ("yourUpstreamFolderUrl", Kind::String),
            ],
        },
        MethodSpec {
            name: "xmlStorageSystem.getMyDirectory",
            params: &[("email", Kind::String), ("password", Kind::String)],
            required: 2,
            returns: &[
                ("flError", Kind::Bool),
                ("message", Kind::String),
                ("directory", Kind::Struct),
                ("whenLastChecked", Kind::DateTime),
            ],
        },
        // The same operation under a second name is described once.
        MethodSpec {
            name: "radio.ping",
            params: &[],
            required: 0,
            returns: &[],
        },
    ];

    fn fixture(path: &str) -> Vec<u8> {
        let full = format!("{}/tests/fixtures/{path}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read(&full).unwrap_or_else(|e| panic!("{full}: {e}"))
    }

    /// The body of a captured HTTP exchange: everything after the first blank line.
    fn http_body(raw: &[u8]) -> &[u8] {
        let at = raw
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .expect("no blank line");
        &raw[at + 4..]
    }

    fn virtuoso(name: &str) -> Vec<u8> {
        http_body(&fixture(&format!("virtuoso/{name}"))).to_vec()
    }

    fn named(call: &Call) -> Vec<(&str, &Value)> {
        call.params
            .iter()
            .map(|p| (p.name.as_deref().unwrap_or(""), &p.value))
            .collect()
    }

    const MD5: &str = "5ebe2294ecd0e0f08eab7690d2a6ee69";

    #[test]
    fn virtuoso_requests_decode() {
        let s = Value::string;
        type Case = (&'static str, &'static str, Vec<(&'static str, Value)>);
        let cases: Vec<Case> = vec![
            (
                "s01-registerUser-ok.req",
                "registerUser",
                vec![
                    ("email", s("s1@example.com")),
                    ("name", s("Suite One")),
                    ("password", s("secret")),
                    ("clientPort", Value::Int(5335)),
                    ("userAgent", s("Radio")),
                    ("serialNumber", s("")),
                ],
            ),
            (
                "s03-getServerCapabilities-ok.req",
                "getServerCapabilities",
                vec![("email", s("s1@example.com")), ("password", s(MD5))],
            ),
            (
                "s04-getServerCapabilities-badpw.req",
                "getServerCapabilities",
                vec![
                    ("email", s("s1@example.com")),
                    ("password", s("2bda2998d9b0ee197da142a0447f6725")),
                ],
            ),
            (
                "s07-saveMultipleFiles-ok.req",
                "saveMultipleFiles",
                vec![
                    ("email", s("s1@example.com")),
                    ("password", s(MD5)),
                    (
                        "relativepathList",
                        Value::Array(vec![s("index.html"), s("sub/dir/notes.txt")]),
                    ),
                    (
                        "fileTextList",
                        Value::Array(vec![
                            s("<html><body>Hello</body></html>"),
                            s("plain text & <tags>"),
                        ]),
                    ),
                ],
            ),
            (
                "s12-deleteMultipleFiles-mixed.req",
                "deleteMultipleFiles",
                vec![
                    ("email", s("s1@example.com")),
                    ("password", s(MD5)),
                    (
                        "relativepathList",
                        Value::Array(vec![s("index.html"), s("does-not-exist.txt"), s("sub")]),
                    ),
                ],
            ),
            (
                "s15-mailPasswordToUser-known.req",
                "mailPasswordToUser",
                vec![("email", s("s1@example.com"))],
            ),
            (
                "s16-mailPasswordToUser-unknown.req",
                "mailPasswordToUser",
                vec![("email", s("nobody@example.com"))],
            ),
            (
                "s17-unknown-method.req",
                "noSuchMethod",
                vec![("email", s("s1@example.com"))],
            ),
            (
                "s19-getMyDirectory.req",
                "getMyDirectory",
                vec![("email", s("s1@example.com")), ("password", s(MD5))],
            ),
            (
                "s20-ping.req",
                "ping",
                vec![
                    ("email", s("s1@example.com")),
                    ("password", s(MD5)),
                    ("status", Value::Int(0)),
                    ("clientPort", Value::Int(5335)),
                    ("userinfo", s("")),
                ],
            ),
        ];
        for (file, method, params) in cases {
            let (call, encoding) = decode_call(&virtuoso(file)).unwrap();
            assert_eq!(encoding, Encoding::Utf8, "{file}");
            assert_eq!(call.method, method, "{file}");
            let expected: Vec<(&str, &Value)> = params.iter().map(|(n, v)| (*n, v)).collect();
            assert_eq!(named(&call), expected, "{file}");
        }
    }

    /// A response element as the tests read it back: name, xsi:type, arrayType, children.
    #[derive(Debug, PartialEq)]
    struct Shape {
        name: String,
        xsi_type: Option<String>,
        array_type: Option<String>,
        nil: bool,
        children: Vec<Shape>,
    }

    fn shape(element: &Element) -> Shape {
        // Resolve types to `{namespace}local` so prefixes do not matter.
        let resolve = |qname: &str| {
            let (ns, local) = element.resolve_qname(qname).unwrap();
            let prefix = match ns {
                Some(ns) if &*ns == xml::XSD => "xsd",
                Some(ns) if &*ns == ENCODING_NS => "SOAP-ENC",
                _ => "?",
            };
            format!("{prefix}:{local}")
        };
        Shape {
            name: element.local_name().to_owned(),
            xsi_type: element.attribute_ns(xml::XSI, "type").map(resolve),
            array_type: element.attribute_ns(ENCODING_NS, "arrayType").map(|t| {
                let (base, count) = t.split_once('[').unwrap();
                format!("{}[{count}", resolve(base))
            }),
            nil: element.attribute_ns(xml::XSI, "nil").is_some(),
            children: element.elements().map(shape).collect(),
        }
    }

    /// The `Result` element of a response envelope, checking the path to it.
    fn result_of(body: &[u8], operation: &str) -> Element {
        let doc = xml::parse(body, 64).unwrap();
        assert!(doc.root.is(ENVELOPE_NS, "Envelope"));
        let soap_body = doc
            .root
            .elements()
            .find(|e| e.is(ENVELOPE_NS, "Body"))
            .unwrap();
        let response = soap_body.elements().next().unwrap();
        assert_eq!(response.local_name(), format!("{operation}Response"));
        let result = response.elements().next().unwrap();
        assert_eq!(result.local_name(), "Result");
        result.clone()
    }

    /// Member names and types of a result, ignoring array items past the first.
    fn member_types(result: &Element) -> Vec<(String, Option<String>, Option<String>)> {
        shape(result)
            .children
            .into_iter()
            .map(|c| {
                let array_base = c
                    .array_type
                    .map(|t| t.split('[').next().unwrap_or("").to_owned());
                (c.name, c.xsi_type, array_base)
            })
            .collect()
    }

    #[test]
    fn responses_match_virtuoso_shapes() {
        // getServerCapabilities, with the members Virtuoso sends (in its order).
        let ours = encode_response(
            "getServerCapabilities",
            &structure([
                ("community", Value::Array(vec![])),
                ("ctBytesInUse", Value::Int(0)),
                ("flError", Value::Bool(false)),
                ("flSearchableCommunity", Value::Bool(false)),
                (
                    "legalFileExtensions",
                    Value::Array(vec![Value::string("123"), Value::string("3dml")]),
                ),
                ("maxBytesPerUser", Value::Int(41_943_040)),
                ("maxFileSize", Value::Int(1_048_576)),
                ("message", Value::string("Nice to see you again")),
                ("minutesBetweenPings", Value::Int(20)),
                ("staticUrls", Value::Array(vec![])),
                ("urlRankingsByPageReads", Value::string("")),
                ("weblogUpdates", Value::Nil),
                (
                    "yourUpstreamFolderUrl",
                    Value::string("http://127.0.0.1:8890/DAV/s1@example.com/blog/"),
                ),
            ]),
            Encoding::Utf8,
        );
        let theirs = virtuoso("s03-getServerCapabilities-ok.resp");
        let (ours, theirs) = (
            result_of(&ours, "getServerCapabilities"),
            result_of(&theirs, "getServerCapabilities"),
        );
        assert_eq!(member_types(&ours), member_types(&theirs));
        let ours_shape = shape(&ours);
        let extensions = &ours_shape.children[4];
        assert_eq!(extensions.array_type.as_deref(), Some("xsd:string[2]"));
        assert!(
            extensions
                .children
                .iter()
                .all(|i| i.name == "item" && i.xsi_type.as_deref() == Some("xsd:string"))
        );
        assert!(ours_shape.children[11].nil);

        // saveMultipleFiles.
        let ours = encode_response(
            "saveMultipleFiles",
            &structure([
                ("flError", Value::Bool(false)),
                ("message", Value::string("")),
                (
                    "urllist",
                    Value::Array(vec![Value::string("http://a/"), Value::string("http://b/")]),
                ),
                ("yourUpstreamFolderUrl", Value::string("http://a/")),
            ]),
            Encoding::Utf8,
        );
        let theirs = virtuoso("s07-saveMultipleFiles-ok.resp");
        assert_eq!(
            member_types(&result_of(&ours, "saveMultipleFiles")),
            member_types(&result_of(&theirs, "saveMultipleFiles"))
        );

        // deleteMultipleFiles, with an empty string item.
        let ours = encode_response(
            "deleteMultipleFiles",
            &structure([
                ("flError", Value::Bool(false)),
                ("message", Value::string("")),
                (
                    "errorList",
                    Value::Array(vec![
                        Value::string(""),
                        Value::string("/does-not-exist.txt: not found"),
                        Value::string("/sub: not found"),
                    ]),
                ),
            ]),
            Encoding::Utf8,
        );
        let theirs = virtuoso("s12-deleteMultipleFiles-mixed.resp");
        assert_eq!(
            member_types(&result_of(&ours, "deleteMultipleFiles")),
            member_types(&result_of(&theirs, "deleteMultipleFiles"))
        );

        // getMyDirectory: nested structs without xsi:type, dates as xsd:dateTime.
        let ours = encode_response(
            "getMyDirectory",
            &structure([
                (
                    "directory",
                    structure([(
                        "file00001",
                        structure([
                            ("relativePath", Value::string("/sub/dir/notes.txt")),
                            ("size", Value::Int(19)),
                            ("url", Value::string("http://x/notes.txt")),
                            ("whenCreated", Value::DateTime(1_795_390_951)),
                            ("whenLastUploaded", Value::DateTime(1_795_390_951)),
                        ]),
                    )]),
                ),
                ("flError", Value::Bool(false)),
                ("message", Value::string("")),
                ("yourUpstreamFolderUrl", Value::string("http://x/")),
            ]),
            Encoding::Utf8,
        );
        let theirs = virtuoso("s19-getMyDirectory.resp");
        let (ours, theirs) = (
            shape(&result_of(&ours, "getMyDirectory")),
            shape(&result_of(&theirs, "getMyDirectory")),
        );
        assert_eq!(ours, theirs);

        // ping, registerUser and mailPasswordToUser: flat structs.
        for (file, operation, value) in [
            (
                "s20-ping.resp",
                "ping",
                structure([
                    ("flError", Value::Bool(false)),
                    ("message", Value::string("")),
                    ("yourUpstreamFolderUrl", Value::string("http://x/")),
                ]),
            ),
            (
                "s01-registerUser-ok.resp",
                "registerUser",
                structure([
                    ("usernum", Value::string("s1@example.com")),
                    ("flError", Value::Bool(false)),
                    ("message", Value::string("Welcome Suite One")),
                ]),
            ),
            (
                "s15-mailPasswordToUser-known.resp",
                "mailPasswordToUser",
                structure([
                    ("flError", Value::Bool(true)),
                    ("message", Value::string("Mail service is not available.")),
                ]),
            ),
            (
                "s16-mailPasswordToUser-unknown.resp",
                "mailPasswordToUser",
                structure([
                    ("flError", Value::Bool(false)),
                    ("message", Value::string("")),
                ]),
            ),
            (
                "s04-getServerCapabilities-badpw.resp",
                "getServerCapabilities",
                structure([
                    ("flError", Value::Bool(true)),
                    ("message", Value::string("Can't access.")),
                ]),
            ),
        ] {
            let ours = encode_response(operation, &value, Encoding::Utf8);
            assert_eq!(
                member_types(&result_of(&ours, operation)),
                member_types(&result_of(&virtuoso(file), operation)),
                "{file}"
            );
        }
    }

    #[test]
    fn response_text_is_exact() {
        let body = encode_response(
            "ping",
            &structure([
                ("flError", Value::Bool(true)),
                ("message", Value::string("a<b & é")),
                ("n", Value::Int(-3)),
                ("big", Value::Int(5_000_000_000)),
                ("d", Value::Double(1.5)),
                ("t", Value::DateTime(0)),
                ("b", Value::Base64(b"Hi".to_vec())),
                (
                    "mixed",
                    Value::Array(vec![Value::Int(1), Value::string("x")]),
                ),
                ("nested", structure([("x y", Value::Nil)])),
            ]),
            Encoding::Utf8,
        );
        let text = String::from_utf8(body).unwrap();
        assert_eq!(
            text,
            format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n{ENVELOPE_OPEN}<SOAP-ENV:Body>\
<m:pingResponse xmlns:m=\"urn:xmlStorageSystem\"><Result>\
<flError xsi:type=\"xsd:boolean\">1</flError>\
<message xsi:type=\"xsd:string\">a&lt;b &amp; é</message>\
<n xsi:type=\"xsd:int\">-3</n>\
<big xsi:type=\"xsd:long\">5000000000</big>\
<d xsi:type=\"xsd:double\">1.5</d>\
<t xsi:type=\"xsd:dateTime\">1970-01-01T00:00:00Z</t>\
<b xsi:type=\"xsd:base64Binary\">SGk=</b>\
<mixed xsi:type=\"SOAP-ENC:Array\" SOAP-ENC:arrayType=\"xsd:anyType[2]\">\
<item xsi:type=\"xsd:int\">1</item><item xsi:type=\"xsd:string\">x</item></mixed>\
<nested><x_x0020_y xsi:nil=\"1\"/></nested>\
</Result></m:pingResponse></SOAP-ENV:Body></SOAP-ENV:Envelope>\n"
            )
        );
    }

    #[test]
    fn scalar_results_and_latin1() {
        let body = encode_response("echo", &Value::string("café ☺"), Encoding::Latin1);
        assert!(body.starts_with(b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n"));
        let expected: &[u8] = b"<Result xsi:type=\"xsd:string\">caf\xe9 &#9786;</Result>";
        assert!(body.windows(expected.len()).any(|w| w == expected));
        let result = result_of(&body, "echo");
        assert_eq!(result.text(), "café ☺");

        let body = encode_response("list", &Value::Array(vec![]), Encoding::Utf8);
        let result = shape(&result_of(&body, "list"));
        assert_eq!(result.xsi_type.as_deref(), Some("SOAP-ENC:Array"));
        assert_eq!(result.array_type.as_deref(), Some("xsd:string[0]"));
    }

    /// Our responses decode with our own request decoder (same value rules), which checks
    /// that every type survives the trip.
    #[test]
    fn responses_round_trip_through_the_decoder() {
        let value = structure([
            ("s", Value::string(" spaced\r\n <&> \"q\" é ☺ 😀")),
            ("i", Value::Int(i64::MIN)),
            ("b", Value::Bool(false)),
            ("d", Value::Double(-0.125)),
            ("t", Value::DateTime(1_551_675_967)),
            ("bin", Value::Base64((0u8..=255).collect())),
            ("nil", Value::Nil),
            (
                "arr",
                Value::Array(vec![
                    Value::string("a"),
                    Value::Nil,
                    structure([("k", Value::Int(1))]),
                    Value::Array(vec![Value::Int(2)]),
                ]),
            ),
            (
                "obj",
                structure([("inner", structure([("x", Value::string("y"))]))]),
            ),
            ("empty", Value::Struct(vec![])),
            ("items", structure([("item", Value::Int(1))])),
        ]);
        for encoding in [Encoding::Utf8, Encoding::Latin1] {
            let body = encode_response("op", &value, encoding);
            // A response envelope has the shape of a request whose method is `opResponse`
            // with one parameter, `Result`.
            let (call, decoded_encoding) = decode_call(&body).unwrap();
            assert_eq!(decoded_encoding, encoding);
            assert_eq!(call.method, "opResponse");
            assert_eq!(call.params.len(), 1);
            assert_eq!(call.params[0].name.as_deref(), Some("Result"));
            assert_eq!(call.params[0].value, value);
        }
    }

    #[test]
    fn faults() {
        let body = encode_fault(&Fault::protocol("There is no such procedure <x>"));
        let text = String::from_utf8(body.clone()).unwrap();
        assert!(text.contains(
            "<SOAP-ENV:Fault><faultcode>SOAP-ENV:Client</faultcode><faultstring>There is no such procedure &lt;x&gt;</faultstring><detail/></SOAP-ENV:Fault>"
        ));
        let doc = xml::parse(&body, 64).unwrap();
        let fault = doc
            .root
            .elements()
            .next()
            .and_then(|b| b.elements().next())
            .unwrap();
        assert!(fault.is(ENVELOPE_NS, "Fault"));
        let code = fault.elements().next().unwrap();
        let code_text = code.text();
        let (ns, local) = code.resolve_qname(&code_text).unwrap();
        assert_eq!((ns.as_deref(), local), (Some(ENVELOPE_NS), "Client"));

        // Same shape as Virtuoso's fault: faultcode naming the envelope namespace's Client,
        // faultstring, detail.
        let theirs = virtuoso("s17-unknown-method.resp");
        let fault_shape = |body: &[u8]| {
            let doc = xml::parse(body, 64).unwrap();
            let fault = doc
                .root
                .elements()
                .next()
                .unwrap()
                .elements()
                .next()
                .unwrap()
                .clone();
            let children: Vec<(String, Option<String>)> = fault
                .elements()
                .map(|e| {
                    let code = (e.local_name() == "faultcode").then(|| {
                        let text = e.text();
                        let (ns, local) = e.resolve_qname(&text).unwrap();
                        format!("{{{}}}{local}", ns.as_deref().unwrap_or(""))
                    });
                    (e.local_name().to_owned(), code)
                })
                .collect();
            (
                fault.namespace.clone(),
                fault.local_name().to_owned(),
                children,
            )
        };
        assert_eq!(fault_shape(&body), fault_shape(&theirs));

        let text = String::from_utf8(encode_fault(&Fault::server("db gone"))).unwrap();
        assert!(
            text.contains(
                "<faultcode>SOAP-ENV:Server</faultcode><faultstring>db gone</faultstring>"
            )
        );
    }

    fn envelope(body: &str) -> String {
        format!(
            "<?xml version=\"1.0\"?><soap:Envelope xmlns:soap=\"{ENVELOPE_NS}\" xmlns:enc=\"{ENCODING_NS}\" xmlns:i=\"{}\" xmlns:s=\"{}\"><soap:Body>{body}</soap:Body></soap:Envelope>",
            xml::XSI,
            xml::XSD
        )
    }

    fn params_of(method_xml: &str) -> Result<Vec<(String, Value)>, Fault> {
        decode_call(envelope(method_xml).as_bytes()).map(|(call, _)| {
            call.params
                .into_iter()
                .map(|p| (p.name.unwrap_or_default(), p.value))
                .collect()
        })
    }

    fn one(param_xml: &str) -> Result<Value, Fault> {
        params_of(&format!("<x:m xmlns:x=\"urn:any\">{param_xml}</x:m>")).map(|mut p| p.remove(0).1)
    }

    #[test]
    fn every_type_decodes_by_namespace_not_prefix() {
        let cases: Vec<(&str, Value)> = vec![
            ("<p i:type=\"s:string\"> a </p>", Value::string(" a ")),
            ("<p>untyped</p>", Value::string("untyped")),
            ("<p/>", Value::string("")),
            ("<p i:type=\"s:int\">42</p>", Value::Int(42)),
            ("<p i:type=\"s:integer\">-4</p>", Value::Int(-4)),
            (
                "<p i:type=\"s:long\">5000000000</p>",
                Value::Int(5_000_000_000),
            ),
            ("<p i:type=\"s:short\">7</p>", Value::Int(7)),
            ("<p i:type=\"s:boolean\">true</p>", Value::Bool(true)),
            ("<p i:type=\"s:boolean\">0</p>", Value::Bool(false)),
            ("<p i:type=\"s:double\">1.5</p>", Value::Double(1.5)),
            ("<p i:type=\"s:float\">2</p>", Value::Double(2.0)),
            ("<p i:type=\"s:decimal\">-0.5</p>", Value::Double(-0.5)),
            (
                "<p i:type=\"s:dateTime\">2019-03-04T05:06:07.123Z</p>",
                Value::DateTime(1_551_675_967),
            ),
            (
                "<p i:type=\"s:base64Binary\">SGVs\nbG8=</p>",
                Value::Base64(b"Hello".to_vec()),
            ),
            (
                "<p i:type=\"enc:base64\">SGk=</p>",
                Value::Base64(b"Hi".to_vec()),
            ),
            (
                "<p i:type=\"s:hexBinary\">4869</p>",
                Value::Base64(b"Hi".to_vec()),
            ),
            ("<p i:type=\"enc:string\">e</p>", Value::string("e")),
            ("<p i:nil=\"true\"/>", Value::Nil),
            ("<p i:nil=\"1\" i:type=\"s:int\"></p>", Value::Nil),
            (
                "<p i:type=\"enc:Array\" enc:arrayType=\"s:int[2]\"><a i:type=\"s:int\">1</a><b i:type=\"s:int\">2</b></p>",
                Value::Array(vec![Value::Int(1), Value::Int(2)]),
            ),
            (
                "<p i:type=\"enc:Array\" enc:arrayType=\"s:string[0]\"/>",
                Value::Array(vec![]),
            ),
            (
                "<p><item>a</item><item>b</item></p>",
                Value::Array(vec![Value::string("a"), Value::string("b")]),
            ),
            (
                "<p xmlns:t=\"urn:t\" i:type=\"t:ArrayOfString\" enc:arrayType=\"s:string[1]\"><x>a</x></p>",
                Value::Array(vec![Value::string("a")]),
            ),
            (
                "<p><a>1</a><b><item>x</item></b><c><d i:type=\"s:int\">2</d></c></p>",
                structure([
                    ("a", Value::string("1")),
                    ("b", Value::Array(vec![Value::string("x")])),
                    ("c", structure([("d", Value::Int(2))])),
                ]),
            ),
            ("<p i:type=\"enc:Struct\"/>", Value::Struct(vec![])),
            (
                "<p xmlns:xsd=\"urn:not-the-schema\" i:type=\"xsd:int\">12</p>",
                Value::string("12"),
            ),
            (
                "<p xmlns:q=\"http://www.w3.org/1999/XMLSchema\" xmlns:j=\"http://www.w3.org/1999/XMLSchema-instance\" j:type=\"q:int\">3</p>",
                Value::Int(3),
            ),
            ("<p i:type=\"s:anyType\">any</p>", Value::string("any")),
        ];
        for (xml, expected) in cases {
            assert_eq!(one(xml).unwrap(), expected, "{xml}");
        }
    }

    #[test]
    fn typing_errors_name_the_parameter() {
        assert_eq!(
            one("<clientPort i:type=\"s:int\">12x</clientPort>").unwrap_err(),
            Fault::protocol("invalid s:int value \"12x\" in parameter clientPort")
        );
        assert_eq!(
            one("<flag i:type=\"s:boolean\">yes</flag>")
                .unwrap_err()
                .message,
            "invalid s:boolean value \"yes\" in parameter flag"
        );
        assert_eq!(
            one("<p i:type=\"s:dateTime\">yesterday</p>")
                .unwrap_err()
                .message,
            "invalid s:dateTime value \"yesterday\" in parameter p"
        );
        assert!(
            one("<p i:type=\"s:base64Binary\">***</p>")
                .unwrap_err()
                .message
                .starts_with("invalid s:base64Binary value: ")
        );
        assert_eq!(
            one("<p i:type=\"q:int\">1</p>").unwrap_err().message,
            "undeclared namespace prefix \"q\" in xsi:type in parameter p"
        );
        assert_eq!(
            one("<p i:type=\"s:int\"><x/></p>").unwrap_err().message,
            "unexpected element <x> inside a s:int value in parameter p"
        );
        assert_eq!(
            one("<p i:nil=\"maybe\"/>").unwrap_err().message,
            "invalid xsi:nil value \"maybe\" in parameter p"
        );
        assert_eq!(
            one("<p><a>1</a>text</p>").unwrap_err().message,
            "text beside the members of <p> in parameter p"
        );
        assert_eq!(
            one("<p zz:type=\"s:int\">1</p>").unwrap_err().message,
            "undeclared namespace prefix in attribute zz:type in parameter p"
        );
    }

    #[test]
    fn multi_references_are_followed_and_bounded() {
        let body = "<x:m xmlns:x=\"urn:any\"><info href=\"#id1\"/><list href=\"#id2\"/></x:m>\
<r id=\"id1\" i:type=\"enc:Struct\"><name>n</name><port i:type=\"s:int\">5</port></r>\
<r id=\"id2\" i:type=\"enc:Array\"><item href=\"#id1\"/><item>z</item></r>";
        let params = params_of(body).unwrap();
        let info = structure([("name", Value::string("n")), ("port", Value::Int(5))]);
        assert_eq!(params[0], ("info".to_owned(), info.clone()));
        assert_eq!(
            params[1],
            (
                "list".to_owned(),
                Value::Array(vec![info, Value::string("z")])
            )
        );

        assert!(
            params_of("<x:m xmlns:x=\"u\"><p href=\"#nope\"/></x:m>")
                .unwrap_err()
                .message
                .contains("refers to no element")
        );
        assert!(
            params_of("<x:m xmlns:x=\"u\"><p href=\"http://evil/\"/></x:m>")
                .unwrap_err()
                .message
                .contains("unsupported href")
        );
        // A reference cycle hits the depth cap.
        let cycle = "<x:m xmlns:x=\"u\"><p href=\"#a\"/></x:m><r id=\"a\"><item href=\"#a\"/></r>";
        assert!(
            params_of(cycle)
                .unwrap_err()
                .message
                .contains("nested more than 64")
        );
        // Each level pointing twice at the next would be 2^25 values.
        let mut laughs = String::from("<x:m xmlns:x=\"u\"><p href=\"#l0\"/></x:m>");
        for level in 0..25 {
            laughs.push_str(&format!(
                "<r id=\"l{level}\"><item href=\"#l{n}\"/><item href=\"#l{n}\"/></r>",
                n = level + 1
            ));
        }
        laughs.push_str("<r id=\"l25\">lol</r>");
        assert!(
            params_of(&laughs)
                .unwrap_err()
                .message
                .contains("too many values")
        );
    }

    #[test]
    fn nested_ids_are_kept_once() {
        // Each element with an id is a reference's possible target; kept once, and once only,
        // 55 nested ids around a large text cost that text once, not 55 times.
        let open: String = (0..55).map(|i| format!("<n{i} id=\"i{i}\">")).collect();
        let close: String = (0..55).rev().map(|i| format!("</n{i}>")).collect();
        let text = "A".repeat(500_000);
        let body = envelope(&format!(
            "<x:m xmlns:x=\"urn:any\">{open}{text}{close}</x:m>"
        ));
        let mut memory = Allowance::for_body(body.len());
        let (call, _) = decode_call_within(body.as_bytes(), &mut memory).unwrap();
        assert!(
            memory.used() < 3 * body.len(),
            "{} for {}",
            memory.used(),
            body.len()
        );
        let mut value = &call.params[0].value;
        for i in 1..55 {
            value = value.member(&format!("n{i}")).expect("the nested member");
        }
        assert_eq!(value, &Value::String(text));
    }

    #[test]
    fn envelope_errors() {
        let fault = |body: &str| decode_call(body.as_bytes()).unwrap_err();
        let check = |body: &str, message: &str| {
            let f = fault(body);
            assert_eq!(f.message, message, "{body}");
            assert!(f.client);
        };
        check(
            "<Envelope><Body><m/></Body></Envelope>",
            "malformed SOAP request: the root element is <Envelope>, not a SOAP 1.1 Envelope",
        );
        check(
            "<e:Envelope xmlns:e=\"http://www.w3.org/2003/05/soap-envelope\"><e:Body><m/></e:Body></e:Envelope>",
            "malformed SOAP request: SOAP 1.2 is not supported; send a SOAP 1.1 envelope",
        );
        check(
            &format!("<e:Envelope xmlns:e=\"{ENVELOPE_NS}\"><e:Header/></e:Envelope>"),
            "malformed SOAP request: no SOAP Body",
        );
        check(
            &format!("<e:Envelope xmlns:e=\"{ENVELOPE_NS}\"><Body><m/></Body></e:Envelope>"),
            "malformed SOAP request: no SOAP Body",
        );
        check(&envelope(""), "malformed SOAP request: empty SOAP Body");
        check(&envelope("  "), "malformed SOAP request: empty SOAP Body");
        check(
            &envelope("<m>text</m>"),
            "malformed SOAP request: text directly inside <m>",
        );
        assert!(fault("<a").message.starts_with("malformed SOAP request: "));
        assert!(fault("").message.starts_with("malformed SOAP request: "));
        let laughs = format!(
            "<?xml version=\"1.0\"?><!DOCTYPE e [<!ENTITY a \"aaaa\"><!ENTITY b \"&a;&a;&a;&a;\">]>{}",
            envelope("<m><p>&b;</p></m>")
        );
        check(&laughs, "malformed SOAP request: DTDs are not allowed");
        let xxe = format!(
            "<!DOCTYPE e [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>{}",
            envelope("<m><p>&x;</p></m>")
        );
        check(&xxe, "malformed SOAP request: DTDs are not allowed");
        check(
            &envelope("<m><p>&x;</p></m>"),
            "malformed SOAP request: undefined entity &x;",
        );
    }

    #[test]
    fn header_is_ignored_and_empty_method_has_no_params() {
        let body = format!(
            "<E:Envelope xmlns:E=\"{ENVELOPE_NS}\"><E:Header><auth>x</auth></E:Header>\n<E:Body>\n<ping xmlns=\"urn:whatever\"/>\n</E:Body></E:Envelope>"
        );
        let (call, _) = decode_call(body.as_bytes()).unwrap();
        assert_eq!(call.method, "ping");
        assert!(call.params.is_empty());
    }

    #[test]
    fn depth_is_capped() {
        // Envelope/Body/method/param is 4 levels; 60 more nested elements make 64.
        let nested = |n: usize| {
            envelope(&format!(
                "<m><p>{}x{}</p></m>",
                "<a>".repeat(n),
                "</a>".repeat(n)
            ))
        };
        assert!(decode_call(nested(60).as_bytes()).is_ok());
        assert_eq!(
            decode_call(nested(61).as_bytes()).unwrap_err().message,
            "malformed SOAP request: elements are nested more than 64 levels deep"
        );
    }

    #[test]
    fn zeep_request_decodes() {
        let body = fixture("soap/zeep-getServerCapabilities.xml");
        let (call, encoding) = decode_call(&body).unwrap();
        assert_eq!(encoding, Encoding::Utf8);
        assert_eq!(call.method, "getServerCapabilities");
        assert_eq!(
            named(&call),
            vec![
                ("email", &Value::string("1")),
                ("password", &Value::string("x"))
            ]
        );
        let body = fixture("soap/zeep-saveMultipleFiles.xml");
        let (call, _) = decode_call(&body).unwrap();
        assert_eq!(call.method, "saveMultipleFiles");
        assert_eq!(
            named(&call),
            vec![
                ("email", &Value::string("a@example.com")),
                ("password", &Value::string(MD5)),
                (
                    "relativepathList",
                    &Value::Array(vec![Value::string("index.html"), Value::string("b/c.txt")])
                ),
                (
                    "fileTextList",
                    &Value::Array(vec![Value::string("<p>hi</p>"), Value::string("x & y")])
                ),
            ]
        );
        // zeep sends no xsi:type for scalar parts, so ints arrive as strings: typing them by
        // the method's signature is the method layer's job.
        let body = fixture("soap/zeep-ping.xml");
        let (call, _) = decode_call(&body).unwrap();
        assert_eq!(call.method, "ping");
        assert_eq!(
            named(&call),
            vec![
                ("email", &Value::string("a@example.com")),
                ("password", &Value::string(MD5)),
                ("status", &Value::string("0")),
                ("clientPort", &Value::string("5335")),
                ("userinfo", &Value::string("")),
            ]
        );
    }

    /// With `PASSLINK_SOAP_SAMPLES=<dir>`, writes the sample WSDL and a few responses there,
    /// for checking them with a real SOAP client (zeep) by hand.
    fn write_samples(wsdl_text: &str) {
        let Ok(dir) = std::env::var("PASSLINK_SOAP_SAMPLES") else {
            return;
        };
        let dir = std::path::Path::new(&dir);
        std::fs::write(dir.join("sample.wsdl"), wsdl_text).unwrap();
        let capabilities = structure([
            (
                "yourUpstreamFolderUrl",
                Value::string("http://example.com/users/a/"),
            ),
            ("flError", Value::Bool(false)),
            ("message", Value::string("caf\u{e9} \u{263A}")),
            ("ctBytesInUse", Value::Int(1234)),
            (
                "legalFileExtensions",
                Value::Array(vec![Value::string("html"), Value::string("txt")]),
            ),
            (
                "community",
                structure([("name", Value::string("c")), ("size", Value::Int(3))]),
            ),
            ("maxFileSize", Value::Int(1_048_576)),
            ("weblogUpdates", Value::Nil),
        ]);
        let directory = structure([
            ("flError", Value::Bool(false)),
            ("message", Value::string("")),
            (
                "directory",
                structure([(
                    "file00001",
                    structure([
                        ("relativePath", Value::string("/a.txt")),
                        ("size", Value::Int(19)),
                        ("whenCreated", Value::DateTime(1_795_390_951)),
                    ]),
                )]),
            ),
            ("whenLastChecked", Value::DateTime(1_551_675_967)),
        ]);
        let saved = structure([
            ("flError", Value::Bool(true)),
            ("message", Value::string("quota")),
            (
                "urlList",
                Value::Array(vec![Value::string("http://x/a"), Value::string("")]),
            ),
        ]);
        let op = "getServerCapabilities";
        let samples = [
            (
                "getServerCapabilities.xml",
                encode_response(op, &capabilities, Encoding::Utf8),
            ),
            (
                "getServerCapabilities-latin1.xml",
                encode_response(op, &capabilities, Encoding::Latin1),
            ),
            (
                "getMyDirectory.xml",
                encode_response("getMyDirectory", &directory, Encoding::Utf8),
            ),
            (
                "saveMultipleFiles.xml",
                encode_response("saveMultipleFiles", &saved, Encoding::Utf8),
            ),
            (
                "fault.xml",
                encode_fault(&Fault::protocol("no such method")),
            ),
        ];
        for (name, body) in samples {
            std::fs::write(dir.join(name), body).unwrap();
        }
    }

    #[test]
    fn wsdl_describes_every_method() {
        let text = wsdl(SAMPLE, "http://example.com:5335/xmlStorageSystem?a=1&b=2");
        write_samples(&text);
        let doc = xml::parse(text.as_bytes(), 64).unwrap();
        const WSDL: &str = "http://schemas.xmlsoap.org/wsdl/";
        const WSDL_SOAP: &str = "http://schemas.xmlsoap.org/wsdl/soap/";
        let root = &doc.root;
        assert!(root.is(WSDL, "definitions"));
        assert_eq!(root.attribute("targetNamespace"), Some(NAMESPACE));
        let of = |local: &'static str| root.elements().filter(move |e| e.is(WSDL, local));

        let port_type = of("portType").next().unwrap();
        let operations: Vec<&str> = port_type
            .elements()
            .map(|o| o.attribute("name").unwrap())
            .collect();
        assert_eq!(
            operations,
            [
                "getServerCapabilities",
                "saveMultipleFiles",
                "ping",
                "getMyDirectory"
            ]
        );

        let messages: Vec<&Element> = of("message").collect();
        assert_eq!(messages.len(), 8);
        let parts = |name: &str| -> Vec<(String, String)> {
            let message = messages
                .iter()
                .find(|m| m.attribute("name") == Some(name))
                .unwrap();
            message
                .elements()
                .map(|p| {
                    let (ns, local) = p.resolve_qname(p.attribute("type").unwrap()).unwrap();
                    (
                        p.attribute("name").unwrap().to_owned(),
                        format!("{{{}}}{local}", ns.as_deref().unwrap_or("")),
                    )
                })
                .collect()
        };
        let xsd = |t: &str| format!("{{{}}}{t}", xml::XSD);
        let tns = |t: &str| format!("{{{NAMESPACE}}}{t}");
        assert_eq!(
            parts("saveMultipleFilesRequest"),
            vec![
                ("email".to_owned(), xsd("string")),
                ("password".to_owned(), xsd("string")),
                ("relativepathList".to_owned(), tns("ArrayOfString")),
                ("fileTextList".to_owned(), tns("ArrayOfString")),
            ]
        );
        assert_eq!(
            parts("pingRequest")[4],
            ("userinfo".to_owned(), xsd("anyType"))
        );
        assert_eq!(
            parts("getServerCapabilitiesResponse"),
            vec![("Result".to_owned(), tns("getServerCapabilitiesResult"))]
        );

        let schema = of("types").next().unwrap().elements().next().unwrap();
        let result_type = schema
            .elements()
            .find(|t| t.attribute("name") == Some("getServerCapabilitiesResult"))
            .unwrap();
        let members: Vec<(&str, &str, &str)> = result_type
            .elements()
            .next()
            .unwrap()
            .elements()
            .map(|e| {
                (
                    e.attribute("name").unwrap(),
                    e.attribute("type").unwrap(),
                    e.attribute("minOccurs").unwrap(),
                )
            })
            .collect();
        assert_eq!(
            members,
            vec![
                ("flError", "xsd:boolean", "0"),
                ("message", "xsd:string", "0"),
                ("ctBytesInUse", "xsd:int", "0"),
                ("legalFileExtensions", "tns:ArrayOfString", "0"),
                ("community", "xsd:anyType", "0"),
                ("maxFileSize", "xsd:int", "0"),
                ("weblogUpdates", "xsd:anyType", "0"),
                ("yourUpstreamFolderUrl", "xsd:string", "0"),
            ]
        );

        let binding = of("binding").next().unwrap();
        let style = binding.elements().next().unwrap();
        assert!(style.is(WSDL_SOAP, "binding"));
        assert_eq!(style.attribute("style"), Some("rpc"));
        for operation in binding.elements().skip(1) {
            let soap_op = operation.elements().next().unwrap();
            assert_eq!(soap_op.attribute("soapAction"), Some("/xmlStorageSystem"));
            for io in operation.elements().skip(1) {
                let body = io.elements().next().unwrap();
                assert_eq!(body.attribute("use"), Some("encoded"));
                assert_eq!(body.attribute("namespace"), Some(NAMESPACE));
            }
        }
        let address = of("service")
            .next()
            .and_then(|s| s.elements().next())
            .and_then(|p| p.elements().next())
            .unwrap();
        assert!(address.is(WSDL_SOAP, "address"));
        assert_eq!(
            address.attribute("location"),
            Some("http://example.com:5335/xmlStorageSystem?a=1&b=2")
        );
    }

    #[test]
    fn random_and_mutated_inputs_never_panic() {
        let mut seeds: Vec<Vec<u8>> = [
            "s03-getServerCapabilities-ok.req",
            "s07-saveMultipleFiles-ok.req",
            "s20-ping.req",
            "s19-getMyDirectory.resp",
        ]
        .into_iter()
        .map(virtuoso)
        .collect();
        seeds.push(fixture("soap/zeep-saveMultipleFiles.xml"));
        seeds.push(
            envelope(
                "<x:m xmlns:x=\"u\"><a href=\"#i\"/><b i:type=\"s:dateTime\">2019-03-04T05:06:07Z</b></x:m><r id=\"i\" i:type=\"enc:Array\"><item i:type=\"s:base64Binary\">SGk=</item></r>",
            )
            .into_bytes(),
        );
        let mut rng = XorShift::new(0x0dd_ba11_cafe_f00d);
        for i in 0..4000 {
            let input = if i % 10 == 0 {
                let len = rng.below(300);
                rng.bytes(len)
            } else {
                let seed = &seeds[rng.below(seeds.len())];
                mutate(&mut rng, seed)
            };
            let _ = decode_call(&input);
        }
    }
}
