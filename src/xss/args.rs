//! Binding a call's parameters to a method's declared ones, and reading them as the types the
//! method needs, with the protocol fault that says which parameter was wrong.

use crate::value::{Call, Fault, MethodSpec, Value};

/// The call's parameters in the method's declared order: SOAP parameters matched by name
/// (case-insensitively), falling back to position.
pub struct Args<'a> {
    spec: &'static MethodSpec,
    values: Vec<Option<&'a Value>>,
}

impl<'a> Args<'a> {
    pub fn bind(spec: &'static MethodSpec, call: &'a Call) -> Result<Args<'a>, Fault> {
        let n = call.params.len();
        if n < spec.required || n > spec.params.len() {
            let expected = if spec.required == spec.params.len() {
                format!("{}", spec.required)
            } else {
                format!("{} to {}", spec.required, spec.params.len())
            };
            return Err(Fault::protocol(format!(
                "{} takes {expected} parameters, got {n}",
                spec.name
            )));
        }
        let mut values: Vec<Option<&Value>> = vec![None; spec.params.len()];
        let mut used = vec![false; n];
        for (i, (name, _)) in spec.params.iter().enumerate() {
            if let Some(j) = call.params.iter().position(|p| {
                p.name
                    .as_deref()
                    .is_some_and(|pn| pn.eq_ignore_ascii_case(name))
            }) {
                values[i] = Some(&call.params[j].value);
                used[j] = true;
            }
        }
        // Unmatched parameters fill the remaining slots in order.
        let mut rest = (0..n).filter(|j| !used[*j]);
        for slot in values.iter_mut() {
            if slot.is_none() {
                match rest.next() {
                    Some(j) => *slot = Some(&call.params[j].value),
                    None => break,
                }
            }
        }
        for (i, slot) in values.iter().enumerate().take(spec.required) {
            if slot.is_none() {
                return Err(Fault::protocol(format!(
                    "{}: parameter {:?} is missing",
                    spec.name, spec.params[i].0
                )));
            }
        }
        Ok(Args { spec, values })
    }

    fn get(&self, i: usize) -> Option<&'a Value> {
        self.values.get(i).copied().flatten()
    }

    fn type_error(&self, i: usize, expected: &str, got: &Value) -> Fault {
        let name = self.spec.params.get(i).map_or("?", |p| p.0);
        Fault::protocol(format!(
            "{}: parameter {} ({name}) must be {expected}, got {}",
            self.spec.name,
            i + 1,
            got.kind()
        ))
    }

    /// A string; an int is accepted where clients send numbers (the usernum), and base64 that
    /// decodes to UTF-8 where clients encode text that way (Perl's XMLRPC::Lite and SOAP::Lite
    /// send any string with a non-ASCII byte as base64 by default).
    pub fn string(&self, i: usize) -> Result<String, Fault> {
        match self.get(i) {
            Some(Value::String(s)) => Ok(s.clone()),
            Some(Value::Int(n)) => Ok(n.to_string()),
            Some(Value::Base64(bytes)) => self.text_of(i, bytes),
            Some(Value::Nil) | None => Ok(String::new()),
            Some(other) => Err(self.type_error(i, "a string", other)),
        }
    }

    fn text_of(&self, i: usize, bytes: &[u8]) -> Result<String, Fault> {
        String::from_utf8(bytes.to_vec()).map_err(|_| {
            let name = self.spec.params.get(i).map_or("?", |p| p.0);
            Fault::protocol(format!(
                "{}: parameter {} ({name}) must be a string; it came as base64 that is not \
                 UTF-8 text",
                self.spec.name,
                i + 1
            ))
        })
    }

    /// An int; a numeric string is accepted (Radio sent clientPort as a string).
    pub fn int(&self, i: usize) -> Result<Option<i64>, Fault> {
        match self.get(i) {
            Some(Value::Int(n)) => Ok(Some(*n)),
            Some(Value::Bool(b)) => Ok(Some(i64::from(*b))),
            Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
            Some(Value::String(s)) => s
                .trim()
                .parse()
                .map(Some)
                .map_err(|_| self.type_error(i, "an int", &Value::String(s.clone()))),
            Some(Value::Nil) | None => Ok(None),
            Some(other) => Err(self.type_error(i, "an int", other)),
        }
    }

    pub fn array(&self, i: usize) -> Result<&'a [Value], Fault> {
        match self.get(i) {
            Some(Value::Array(items)) => Ok(items),
            Some(other) => Err(self.type_error(i, "an array", other)),
            None => Ok(&[]),
        }
    }

    /// An array of strings (paths, URLs).
    pub fn strings(&self, i: usize) -> Result<Vec<String>, Fault> {
        self.array(i)?
            .iter()
            .map(|v| match v {
                Value::String(s) => Ok(s.clone()),
                Value::Base64(bytes) => self.text_of(i, bytes),
                other => Err(self.type_error(i, "an array of strings", other)),
            })
            .collect()
    }

    pub fn structure(&self, i: usize) -> Result<Option<&'a Value>, Fault> {
        match self.get(i) {
            Some(v @ Value::Struct(_)) => Ok(Some(v)),
            // An empty userinfo often arrives as an empty string or array.
            Some(Value::String(s)) if s.is_empty() => Ok(None),
            Some(Value::Array(a)) if a.is_empty() => Ok(None),
            Some(Value::Nil) | None => Ok(None),
            Some(other) => Err(self.type_error(i, "a struct", other)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::Param;
    use crate::xss::dispatch::method_spec;

    fn call_of(method: &str, params: Vec<(Option<&str>, Value)>) -> Call {
        Call {
            method: method.into(),
            params: params
                .into_iter()
                .map(|(n, value)| Param {
                    name: n.map(str::to_string),
                    value,
                })
                .collect(),
        }
    }

    #[test]
    fn soap_names_are_matched_case_insensitively_then_by_position() {
        let spec = method_spec("getServerCapabilities").unwrap();
        let c = call_of(
            "getServerCapabilities",
            vec![
                (Some("PASSWORD"), Value::string("pw")),
                (Some("email"), Value::string("me")),
            ],
        );
        let args = Args::bind(spec, &c).unwrap();
        assert_eq!(args.string(0).unwrap(), "me");
        assert_eq!(args.string(1).unwrap(), "pw");
        let c = call_of(
            "getServerCapabilities",
            vec![
                (Some("a"), Value::string("1")),
                (Some("b"), Value::string("2")),
            ],
        );
        let args = Args::bind(spec, &c).unwrap();
        assert_eq!(args.string(0).unwrap(), "1");
        assert_eq!(args.string(1).unwrap(), "2");
    }

    #[test]
    fn base64_that_is_utf8_text_is_a_string() {
        let spec = method_spec("xmlStorageSystem.registerUser").unwrap();
        let c = call_of(
            "xmlStorageSystem.registerUser",
            vec![
                (None, Value::string("zoe@example.com")),
                (None, Value::Base64("Zoë Ångström".as_bytes().to_vec())),
                (None, Value::Base64(vec![0xff, 0xfe])),
                (None, Value::Int(80)),
                (None, Value::string("x")),
            ],
        );
        let args = Args::bind(spec, &c).unwrap();
        assert_eq!(args.string(1).unwrap(), "Zoë Ångström");
        let err = args.string(2).unwrap_err();
        assert!(
            err.message.contains("parameter 3 (password)") && err.message.contains("not UTF-8"),
            "{}",
            err.message
        );
        let spec = method_spec("xmlStorageSystem.deleteMultipleFiles").unwrap();
        let c = call_of(
            "xmlStorageSystem.deleteMultipleFiles",
            vec![
                (None, Value::string("1")),
                (None, Value::string("pw")),
                (
                    None,
                    Value::Array(vec![
                        Value::string("a.txt"),
                        Value::Base64("café.txt".as_bytes().to_vec()),
                    ]),
                ),
            ],
        );
        let args = Args::bind(spec, &c).unwrap();
        assert_eq!(args.strings(2).unwrap(), ["a.txt", "café.txt"]);
    }

    #[test]
    fn arity_and_types_are_protocol_faults() {
        let spec = method_spec("xmlStorageSystem.registerUser").unwrap();
        let c = call_of("xmlStorageSystem.registerUser", vec![(None, Value::Nil)]);
        let err = Args::bind(spec, &c).err().unwrap();
        assert_eq!(err.code, 1);
        assert!(
            err.message.contains("takes 5 to 6 parameters, got 1"),
            "{err}"
        );
        let spec = method_spec("xmlStorageSystem.deleteMultipleFiles").unwrap();
        let c = call_of(
            "xmlStorageSystem.deleteMultipleFiles",
            vec![
                (None, Value::Int(1)),
                (None, Value::string("x")),
                (None, Value::string("not an array")),
            ],
        );
        let args = Args::bind(spec, &c).unwrap();
        let err = args.strings(2).unwrap_err();
        assert!(
            err.message
                .contains("parameter 3 (relativepathList) must be an array"),
            "{err}"
        );
    }
}
