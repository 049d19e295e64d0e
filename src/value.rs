//! The typed values that the XML codecs (`xmlrpc`, `soap`) produce and the xmlStorageSystem
//! methods (`xss`) consume and return. Methods never see XML, codecs never see SQLite.

use std::fmt;

/// One XML-RPC-style value. SOAP values are mapped onto the same variants.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Int(i64),
    Bool(bool),
    String(String),
    Double(f64),
    /// Seconds since the Unix epoch, UTC. Zone-less wire forms are taken as UTC.
    DateTime(i64),
    Base64(Vec<u8>),
    /// Members in wire order; names may repeat on the wire, the first wins on lookup.
    Struct(Vec<(String, Value)>),
    Array(Vec<Value>),
    Nil,
}

impl Value {
    pub fn string(s: impl Into<String>) -> Value {
        Value::String(s.into())
    }

    /// Looks a member up by exact name.
    pub fn member(&self, name: &str) -> Option<&Value> {
        match self {
            Value::Struct(members) => members.iter().find(|(n, _)| n == name).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The XML-RPC type name, for error messages ("expected an array, got string").
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Int(_) => "int",
            Value::Bool(_) => "boolean",
            Value::String(_) => "string",
            Value::Double(_) => "double",
            Value::DateTime(_) => "dateTime.iso8601",
            Value::Base64(_) => "base64",
            Value::Struct(_) => "struct",
            Value::Array(_) => "array",
            Value::Nil => "nil",
        }
    }
}

/// Builds a struct value from `(name, value)` pairs, keeping their order.
pub fn structure<I, S>(members: I) -> Value
where
    I: IntoIterator<Item = (S, Value)>,
    S: Into<String>,
{
    Value::Struct(members.into_iter().map(|(n, v)| (n.into(), v)).collect())
}

/// One parameter of a call: SOAP gives names, XML-RPC only positions.
#[derive(Debug, Clone, PartialEq)]
pub struct Param {
    pub name: Option<String>,
    pub value: Value,
}

/// A decoded method call, whatever codec it came through.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    /// As sent: `xmlStorageSystem.ping` over XML-RPC, `ping` as a SOAP body element.
    pub method: String,
    pub params: Vec<Param>,
}

/// A protocol-level error (unknown method, bad parameters, malformed XML): an XML-RPC fault or
/// a SOAP Fault. Application errors (a wrong password) are normal results with `flError`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    pub code: i32,
    pub message: String,
    /// Whose fault it is, for SOAP's `Client` or `Server` fault code.
    pub client: bool,
}

impl Fault {
    /// faultCode 1, the code PyCS/Medusa used for every protocol error.
    pub fn protocol(message: impl Into<String>) -> Fault {
        Fault {
            code: 1,
            message: message.into(),
            client: true,
        }
    }

    pub fn server(message: impl Into<String>) -> Fault {
        Fault {
            code: 2,
            message: message.into(),
            client: false,
        }
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// The declared type of a parameter or result member, for the WSDL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Int,
    Bool,
    String,
    DateTime,
    /// A string or base64 (file contents).
    Binary,
    Struct,
    StringArray,
    /// An array of string-or-base64 (file contents).
    BinaryArray,
    /// Anything (a struct the client defines, such as `userinfo`).
    Any,
}

/// A method's signature, as published in the WSDL and used to match SOAP parameters by name.
#[derive(Debug, Clone, Copy)]
pub struct MethodSpec {
    /// The full name, e.g. `xmlStorageSystem.saveMultipleFiles`.
    pub name: &'static str,
    pub params: &'static [(&'static str, Kind)],
    /// How many leading params are required; the rest are optional.
    pub required: usize,
    pub returns: &'static [(&'static str, Kind)],
}

impl MethodSpec {
    /// The SOAP operation name: the part after the last dot.
    pub fn operation(&self) -> &'static str {
        self.name.rsplit('.').next().unwrap_or(self.name)
    }
}
