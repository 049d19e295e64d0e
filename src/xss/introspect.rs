//! XML-RPC introspection (`system.listMethods`, `system.methodHelp`,
//! `system.methodSignature`), as Python's `SimpleXMLRPCServer` and most XML-RPC servers answer
//! it: a newcomer's first move with an XML-RPC server is to ask it what it serves. Built from
//! the method table's declarations, so it cannot drift from what is dispatched.

use crate::value::{Fault, Kind, MethodSpec, Param, Value};

pub const LIST_METHODS: &str = "system.listMethods";
pub const METHOD_HELP: &str = "system.methodHelp";
pub const METHOD_SIGNATURE: &str = "system.methodSignature";

/// The introspection methods themselves: name, signature (result type first), help.
const OWN: [(&str, &[&str], &str); 3] = [
    (
        LIST_METHODS,
        &["array"],
        "Answers the names of the methods this server serves.",
    ),
    (
        METHOD_HELP,
        &["string", "string"],
        "Answers what the named method does, its parameters and what it answers.",
    ),
    (
        METHOD_SIGNATURE,
        &["array", "string"],
        "Answers the named method's signatures: arrays of XML-RPC type names, the result's \
         first, one array for each number of parameters the method takes.",
    ),
];

/// Answers an introspection call about `methods` (each with its help text), with the method's
/// static name for the metrics label; `None` when `name` is not an introspection method.
pub fn call<'m>(
    methods: impl Iterator<Item = (&'m MethodSpec, &'m str)> + Clone,
    name: &str,
    params: &[Param],
) -> Option<(&'static str, Result<Value, Fault>)> {
    let name = OWN.iter().map(|(n, _, _)| *n).find(|n| *n == name)?;
    Some((name, answer(methods, name, params)))
}

fn answer<'m>(
    methods: impl Iterator<Item = (&'m MethodSpec, &'m str)> + Clone,
    name: &'static str,
    params: &[Param],
) -> Result<Value, Fault> {
    match name {
        LIST_METHODS => Ok(Value::Array(
            methods
                .map(|(spec, _)| spec.name)
                .chain(OWN.iter().map(|(n, _, _)| *n))
                .map(Value::string)
                .collect(),
        )),
        _ => {
            let about = match params {
                [
                    Param {
                        value: Value::String(about),
                        ..
                    },
                ] => about.as_str(),
                _ => {
                    return Err(Fault::protocol(format!(
                        "{name} takes one parameter, the method's name as a string"
                    )));
                }
            };
            if let Some((_, signature, help)) = OWN.iter().find(|(n, _, _)| *n == about) {
                return Ok(if name == METHOD_HELP {
                    Value::string(*help)
                } else {
                    Value::Array(vec![Value::Array(
                        signature.iter().map(|t| Value::string(*t)).collect(),
                    )])
                });
            }
            match methods.clone().find(|(spec, _)| spec.name == about) {
                None => Err(Fault::protocol(format!(
                    "{name}: unknown method {about:?}; system.listMethods names them all"
                ))),
                Some((spec, help)) if name == METHOD_HELP => {
                    Ok(Value::string(help_text(spec, help)))
                }
                Some((spec, _)) => Ok(signatures(spec)),
            }
        }
    }
}

/// The XML-RPC type a parameter or result of this kind is sent as.
fn type_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Int => "int",
        Kind::Bool => "boolean",
        Kind::String => "string",
        Kind::DateTime => "dateTime.iso8601",
        Kind::Binary => "base64",
        Kind::Struct | Kind::Any => "struct",
        Kind::StringArray | Kind::BinaryArray => "array",
    }
}

/// A method with no result members answers a bare boolean (`rssPleaseNotify`).
fn result_type(spec: &MethodSpec) -> &'static str {
    if spec.returns.is_empty() {
        "boolean"
    } else {
        "struct"
    }
}

fn signatures(spec: &MethodSpec) -> Value {
    Value::Array(
        (spec.required..=spec.params.len())
            .map(|n| {
                Value::Array(
                    std::iter::once(result_type(spec))
                        .chain(spec.params[..n].iter().map(|(_, kind)| type_name(*kind)))
                        .map(Value::string)
                        .collect(),
                )
            })
            .collect(),
    )
}

fn help_text(spec: &MethodSpec, help: &str) -> String {
    let mut text = help.to_string();
    if spec.params.is_empty() {
        text.push_str("\nParameters: none.");
    } else {
        text.push_str("\nParameters:");
        for (i, (name, kind)) in spec.params.iter().enumerate() {
            let optional = if i >= spec.required { ", optional" } else { "" };
            text.push_str(&format!(
                "\n  {}. {name} ({}{optional})",
                i + 1,
                type_name(*kind)
            ));
        }
    }
    if spec.returns.is_empty() {
        text.push_str("\nAnswers: a boolean.");
    } else {
        let members: Vec<String> = spec
            .returns
            .iter()
            .map(|(name, kind)| format!("{name} ({})", type_name(*kind)))
            .collect();
        text.push_str(&format!("\nAnswers: a struct with {}.", members.join(", ")));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPEC: MethodSpec = MethodSpec {
        name: "demo.echo",
        params: &[("text", Kind::String), ("times", Kind::Int)],
        required: 1,
        returns: &[("flError", Kind::Bool), ("echo", Kind::String)],
    };

    fn ask(name: &str, params: &[Value]) -> Option<Result<Value, Fault>> {
        let params: Vec<Param> = params
            .iter()
            .map(|value| Param {
                name: None,
                value: value.clone(),
            })
            .collect();
        call([(&SPEC, "Echoes.")].into_iter(), name, &params).map(|(_, result)| result)
    }

    fn strings(v: &Value) -> Vec<String> {
        match v {
            Value::Array(items) => items
                .iter()
                .map(|i| match i {
                    Value::String(s) => s.clone(),
                    other => panic!("{other:?}"),
                })
                .collect(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn lists_the_table_and_itself() {
        let names = strings(&ask(LIST_METHODS, &[]).unwrap().unwrap());
        assert_eq!(
            names,
            ["demo.echo", LIST_METHODS, METHOD_HELP, METHOD_SIGNATURE]
        );
        assert!(ask("demo.echo", &[]).is_none());
    }

    #[test]
    fn a_signature_per_arity_and_help_with_the_parameters() {
        let Value::Array(sigs) = ask(METHOD_SIGNATURE, &[Value::string("demo.echo")])
            .unwrap()
            .unwrap()
        else {
            panic!()
        };
        assert_eq!(strings(&sigs[0]), ["struct", "string"]);
        assert_eq!(strings(&sigs[1]), ["struct", "string", "int"]);
        let Value::String(help) = ask(METHOD_HELP, &[Value::string("demo.echo")])
            .unwrap()
            .unwrap()
        else {
            panic!()
        };
        assert_eq!(
            help,
            "Echoes.\nParameters:\n  1. text (string)\n  2. times (int, optional)\n\
             Answers: a struct with flError (boolean), echo (string)."
        );
        let Value::Array(own) = ask(METHOD_SIGNATURE, &[Value::string(METHOD_HELP)])
            .unwrap()
            .unwrap()
        else {
            panic!()
        };
        assert_eq!(strings(&own[0]), ["string", "string"]);
    }

    #[test]
    fn unknown_or_missing_names_are_faults() {
        let fault = ask(METHOD_HELP, &[Value::string("nope")])
            .unwrap()
            .unwrap_err();
        assert!(
            fault.message.contains("unknown method \"nope\""),
            "{}",
            fault.message
        );
        let fault = ask(METHOD_SIGNATURE, &[]).unwrap().unwrap_err();
        assert!(fault.message.contains("one parameter"), "{}", fault.message);
    }
}
