//! The xmlStorageSystem method table and the call that runs one: every method's name,
//! parameters, result members and handler in one row, which is also what the WSDL lists and
//! what SOAP parameters are matched against.

use super::args::Args;
use super::env::{
    BUSY, Caller, DB_UNAVAILABLE, Env, MethodError, MethodResult, STORAGE_FULL, flag,
};
use super::{introspect, methods};
use crate::db;
use crate::metrics::{self, Outcome};
use crate::value::{Call, Fault, Kind, MethodSpec, Value};

/// A method's declaration and the function that runs it.
pub struct Method {
    pub spec: MethodSpec,
    /// What `system.methodHelp` answers, before the parameter and result lists it adds.
    pub help: &'static str,
    pub run: fn(&mut Env<'_>, &Caller<'_>, &Args<'_>) -> MethodResult,
}

use Kind::{Any, BinaryArray, Bool, Int, String as Str, StringArray, Struct};

/// Every method, its parameters and its result members: the dispatch table, the WSDL, and the
/// names SOAP parameters are matched against.
/// The parameters of `pleaseNotify` and `rssPleaseNotify`, which differ only in what they
/// answer (`requestNotification` takes a `userinfo` besides).
const NOTIFY_PARAMS: &[(&str, Kind)] = &[
    ("notifyProcedure", Str),
    ("port", Int),
    ("path", Str),
    ("protocol", Str),
    ("urlList", StringArray),
];

pub const METHODS: &[Method] = &[
    Method {
        spec: MethodSpec {
            name: "xmlStorageSystem.registerUser",
            params: &[
                ("email", Str),
                ("name", Str),
                ("password", Str),
                ("clientPort", Int),
                ("userAgent", Str),
                ("serialNumber", Str),
            ],
            required: 5,
            returns: &[("usernum", Str), ("flError", Bool), ("message", Str)],
        },
        help: "Creates an account and answers its usernum. The password is the hex MD5 of the user's password, as Radio UserLand sends it. An address that is already registered with the same password answers that account's usernum again.",
        run: methods::register_user,
    },
    Method {
        spec: MethodSpec {
            name: "xmlStorageSystem.getServerCapabilities",
            params: &[("email", Str), ("password", Str)],
            required: 2,
            returns: &[
                ("flError", Bool),
                ("message", Str),
                ("yourUpstreamFolderUrl", Str),
                ("ctBytesInUse", Int),
                ("maxFileSize", Int),
                ("maxBytesPerUser", Int),
                ("legalFileExtensions", StringArray),
                ("community", Struct),
                ("weblogUpdates", Struct),
                ("minutesBetweenPings", Int),
                ("flSearchableCommunity", Bool),
                ("staticUrls", StringArray),
                ("urlRankingsByPageReads", Str),
                ("urlReferers", Str),
                ("urlSpamFreeMailto", Str),
                ("urlWeblogUpdates", Str),
                ("webBugUrl", Str),
            ],
        },
        help: "Logs in (usernum or email, and the hex MD5 password) and answers what this server offers: the user's folder URL, bytes in use, the size limits and the file extensions allowed.",
        run: methods::get_server_capabilities,
    },
    Method {
        spec: MethodSpec {
            name: "xmlStorageSystem.saveMultipleFiles",
            params: &[
                ("email", Str),
                ("password", Str),
                ("relativepathList", StringArray),
                ("fileTextList", BinaryArray),
            ],
            required: 4,
            returns: &[
                ("flError", Bool),
                ("message", Str),
                ("urlList", StringArray),
                ("yourUpstreamFolderUrl", Str),
            ],
        },
        help: "Stores files in the user's folder, all or none: relativepathList[i] gets fileTextList[i] (a string or base64). Answers the URL of each file.",
        run: methods::save_multiple_files,
    },
    Method {
        spec: MethodSpec {
            name: "xmlStorageSystem.deleteMultipleFiles",
            params: &[
                ("email", Str),
                ("password", Str),
                ("relativepathList", StringArray),
            ],
            required: 3,
            returns: &[
                ("flError", Bool),
                ("message", Str),
                ("errorList", StringArray),
            ],
        },
        help: "Deletes files from the user's folder; errorList[i] is empty where relativepathList[i] was deleted, else says why not.",
        run: methods::delete_multiple_files,
    },
    Method {
        spec: MethodSpec {
            name: "xmlStorageSystem.getMyDirectory",
            params: &[("email", Str), ("password", Str)],
            required: 2,
            returns: &[
                ("flError", Bool),
                ("message", Str),
                ("directory", Struct),
                ("yourUpstreamFolderUrl", Str),
            ],
        },
        help: "Lists the files in the user's folder, with their sizes and times.",
        run: methods::get_my_directory,
    },
    Method {
        spec: MethodSpec {
            name: "xmlStorageSystem.mailPasswordToUser",
            params: &[("email", Str)],
            required: 1,
            returns: &[("flError", Bool), ("message", Str)],
        },
        help: "Mails a single-use link that sets a new password to the account with this email address, if there is one. The answer is the same either way, so it does not tell whether the address has an account.",
        run: methods::mail_password_to_user,
    },
    Method {
        spec: MethodSpec {
            name: "xmlStorageSystem.ping",
            params: &[
                ("email", Str),
                ("password", Str),
                ("status", Int),
                ("clientPort", Int),
                ("userinfo", Any),
            ],
            required: 4,
            returns: &[
                ("flError", Bool),
                ("message", Str),
                ("yourUpstreamFolderUrl", Str),
                ("cloudData", Struct),
            ],
        },
        help: "A client says it signed on (status 0) or off (status 1); answers the user's folder URL and, on sign-on, the counters Radio UserLand shows.",
        run: methods::ping,
    },
    Method {
        spec: MethodSpec {
            name: "xmlStorageSystem.requestNotification",
            params: &[
                ("notifyProcedure", Str),
                ("port", Int),
                ("path", Str),
                ("protocol", Str),
                ("urlList", StringArray),
                ("userinfo", Any),
            ],
            required: 5,
            returns: &[("flError", Bool), ("message", Str)],
        },
        help: "rssCloud: asks to be told, at notifyProcedure on the caller's address and port, when any of the URLs in urlList changes. Registrations last 25 hours.",
        run: methods::request_notification,
    },
    Method {
        spec: MethodSpec {
            name: "xmlStorageSystem.pleaseNotify",
            params: NOTIFY_PARAMS,
            required: 5,
            returns: &[("flError", Bool), ("message", Str)],
        },
        help: "rssCloud, as requestNotification without userinfo.",
        run: methods::request_notification,
    },
    Method {
        spec: MethodSpec {
            name: "xmlStorageSystem.rssPleaseNotify",
            params: NOTIFY_PARAMS,
            required: 5,
            returns: &[],
        },
        help: "rssCloud, as pleaseNotify; answers true when the registration was taken.",
        run: rss_please_notify,
    },
    Method {
        spec: MethodSpec {
            name: "radioCommunityServer.getInitialResources",
            params: &[],
            required: 0,
            returns: &[("defaultCategories", Str), ("defaultFeeds", Str)],
        },
        help: "Answers the URLs of the OPML files a new Radio UserLand installation reads first.",
        run: methods::initial_resources,
    },
    Method {
        spec: MethodSpec {
            name: "weblogUpdates.ping",
            params: &[
                ("weblogName", Str),
                ("weblogUrl", Str),
                ("changesUrl", Str),
                ("category", Str),
            ],
            required: 2,
            returns: &[("flError", Bool), ("message", Str)],
        },
        help: "A weblog says it changed: it is listed in /weblogUpdates/changes.xml.",
        run: methods::weblog_updates_ping,
    },
];

/// `rssPleaseNotify` answers a bare boolean where the others answer a struct.
fn rss_please_notify(env: &mut Env<'_>, caller: &Caller<'_>, args: &Args<'_>) -> MethodResult {
    methods::request_notification(env, caller, args)
        .map(|result| Value::Bool(result.member("flError") == Some(&Value::Bool(false))))
}

/// Finds a method by its XML-RPC name, or by its bare SOAP operation name.
pub fn method(name: &str) -> Option<&'static Method> {
    METHODS.iter().find(|m| m.spec.name == name).or_else(|| {
        (!name.contains('.'))
            .then(|| METHODS.iter().find(|m| m.spec.operation() == name))
            .flatten()
    })
}

/// The declaration of [`method`]: what SOAP parameters are matched against.
pub fn method_spec(name: &str) -> Option<&'static MethodSpec> {
    method(name).map(|m| &m.spec)
}

/// Runs one call, and notes its method and outcome for `/metrics`.
pub fn call(env: &mut Env<'_>, caller: &Caller<'_>, call: &Call) -> Result<Value, Fault> {
    if let Some((name, result)) = introspect::call(
        METHODS.iter().map(|m| (&m.spec, m.help)),
        &call.method,
        &call.params,
    ) {
        env.note.method(name);
        env.note.outcome(match &result {
            Ok(_) => Outcome::Ok,
            Err(_) => Outcome::Fault,
        });
        return result;
    }
    let method = method(&call.method);
    env.note
        .method(method.map_or(metrics::OTHER, |m| m.spec.name));
    let result = match method {
        Some(method) => run(env, caller, method, call),
        None => Err(Fault::protocol(format!("unknown method {:?}", call.method))),
    };
    env.note.outcome(match &result {
        Ok(value) if failed(value) => Outcome::Error,
        Ok(_) => Outcome::Ok,
        Err(fault) if fault.client => Outcome::Fault,
        Err(_) => Outcome::ServerError,
    });
    result
}

/// Whether a method's result reports failure: `flError` true, or `false` from
/// `rssPleaseNotify` (which returns a bare boolean).
fn failed(value: &Value) -> bool {
    matches!(value, Value::Bool(false)) || value.member("flError") == Some(&Value::Bool(true))
}

fn run(
    env: &mut Env<'_>,
    caller: &Caller<'_>,
    method: &'static Method,
    call: &Call,
) -> Result<Value, Fault> {
    let args = Args::bind(&method.spec, call)?;
    let result = (method.run)(env, caller, &args);
    match result {
        Ok(value) => Ok(value),
        Err(MethodError::Fault(f)) => Err(f),
        Err(MethodError::Reply(value)) => Ok(value),
        // Conditions the operator can fix, told in the protocol's own terms: the client shows
        // the message, nothing was changed, and the next try may work.
        Err(MethodError::Db(e)) => {
            let text = match db::Trouble::of(&e, method.spec.name) {
                db::Trouble::Vanished => DB_UNAVAILABLE,
                db::Trouble::Full => STORAGE_FULL,
                db::Trouble::Busy => BUSY,
                db::Trouble::Other => {
                    return Err(Fault::server(
                        "internal error; the request was not completed",
                    ));
                }
            };
            env.note.outcome(Outcome::ServerError);
            Ok(flag(true, text))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_method_is_dispatchable_by_both_names() {
        for method in METHODS {
            let spec = &method.spec;
            assert!(method_spec(spec.name).is_some());
            if spec.name.starts_with("xmlStorageSystem.") {
                assert_eq!(method_spec(spec.operation()).unwrap().name, spec.name);
            }
        }
    }

    #[test]
    fn every_name_is_in_the_table_once() {
        let mut names: Vec<&str> = METHODS.iter().map(|m| m.spec.name).collect();
        names.sort_unstable();
        let before = names.len();
        names.dedup();
        assert_eq!(names.len(), before);
    }
}
