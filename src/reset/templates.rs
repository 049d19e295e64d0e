//! The mails of reset links: the reset mail, the password-changed notice and an import's
//! "your weblog has moved" mail, each a plain-text body and an HTML body, in the reader's
//! language.
//!
//! The built-in mails are composed from the message catalogues ([`crate::i18n`]), paragraph by
//! paragraph. An operator replaces one with files in `[reset] templates_dir` (`reset.txt` and
//! `reset.html` for the default language, `reset.de.txt` for German, ...), and a reseller with
//! its own (`passlink reseller brand --template`); their variables are written `{name}`, and in
//! an HTML body every value is HTML-escaped.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::audience::{Account, Audience};
use crate::i18n::{Arg, Catalogues, Lang};
use crate::mail::Message;

/// The placeholders a template may use. `{changed_at}` and `{method}` are the
/// password-changed notice's (empty in the other mails); `{support}` is a reseller's support
/// address or page (empty without one).
const NAMES: [&str; 9] = [
    "link",
    "account",
    "expiry",
    "ip",
    "public_url",
    "changed_at",
    "method",
    "site",
    "support",
];

/// Why a template file cannot be used. A template that mails no link, or one with a misspelt
/// placeholder mailed verbatim to every user, is refused when it is loaded, not discovered in
/// a user's inbox.
#[derive(Debug)]
pub enum TemplateError {
    Read {
        path: PathBuf,
        error: std::io::Error,
    },
    Invalid {
        path: PathBuf,
        line: usize,
        message: String,
    },
}

impl fmt::Display for TemplateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TemplateError::Read { path, error } => {
                write!(f, "{}: cannot read: {error}", path.display())
            }
            TemplateError::Invalid {
                path,
                line,
                message,
            } => write!(f, "{}:{line}: {message}", path.display()),
        }
    }
}

impl std::error::Error for TemplateError {}

/// Checks one template file's text: every `{name}` is a known placeholder, and `{link}` is
/// there (in the body; `first_line` is where the body starts in the file).
fn check(
    path: &Path,
    text: &str,
    first_line: usize,
    needs_link: bool,
) -> Result<(), TemplateError> {
    let invalid = |line: usize, message: String| TemplateError::Invalid {
        path: path.to_path_buf(),
        line,
        message,
    };
    for (n, line) in text.lines().enumerate() {
        let mut rest = line;
        while let Some(start) = rest.find('{') {
            let after = &rest[start + 1..];
            let name_len = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            let name = &after[..name_len];
            // Only `{word}` is a placeholder; CSS and other braces are text.
            if !name.is_empty() && after[name_len..].starts_with('}') && !NAMES.contains(&name) {
                return Err(invalid(
                    first_line + n,
                    format!(
                        "unknown placeholder {{{name}}}; the placeholders are {}",
                        NAMES.map(|n| format!("{{{n}}}")).join(", ")
                    ),
                ));
            }
            rest = after;
        }
    }
    if needs_link && !text.contains("{link}") {
        return Err(invalid(
            first_line,
            "no {link}: the mail would not contain the reset link".into(),
        ));
    }
    Ok(())
}

/// Which mail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A reset link someone asked for (or the operator sent).
    Reset,
    /// The notice after a password change, with its "this wasn't me" link.
    Changed,
    /// An imported weblog's first mail.
    Moved,
}

impl Kind {
    const ALL: [Kind; 3] = [Kind::Reset, Kind::Changed, Kind::Moved];

    /// The templates' file stem.
    pub fn stem(self) -> &'static str {
        match self {
            Kind::Reset => "reset",
            Kind::Changed => "changed",
            Kind::Moved => "moved",
        }
    }
}

/// Who asked for the link or made the change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum By<'a> {
    /// A client, by its address.
    Address(&'a str),
    /// The operator, on the server's command line.
    Operator,
    /// An import.
    Import,
}

/// How a password was changed, as the notice tells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    ResetLink,
    /// The domain's own login, in its reseller's control panel (XCP `change password`).
    XcpChange,
    /// The domain's owner, for its sub-user (XCP `modify sub-user`).
    XcpSubuser,
    /// `passlink user set-password`.
    Operator,
}

impl Method {
    /// The key the catalogues select on.
    fn key(self) -> &'static str {
        match self {
            Method::ResetLink => "reset-link",
            Method::XcpChange => "xcp-change",
            Method::XcpSubuser => "xcp-subuser",
            Method::Operator => "operator",
        }
    }
}

/// One mail to write.
#[derive(Debug, Clone, Copy)]
pub struct Mail<'a> {
    pub kind: Kind,
    pub audience: &'a Audience,
    pub recipient: &'a str,
    pub link: &'a str,
    pub expires_at: i64,
    pub by: By<'a>,
    /// The notice's: when the password was changed, and how.
    pub changed: Option<(i64, Method)>,
}

/// A replacement for a built-in mail, from a file: its subject (else the built-in one), its
/// text (else the built-in text, when only an HTML body is given), its HTML body (none: text
/// only, so the two never say different things).
#[derive(Debug, Clone, Default)]
struct Replacement {
    subject: Option<String>,
    text: Option<String>,
    html: Option<String>,
}

/// A replacement for one mail in one language (`None`: the home language, the unsuffixed
/// `reset.txt`).
#[derive(Debug, Clone)]
struct Replaced {
    kind: Kind,
    lang: Option<Lang>,
    replacement: Replacement,
}

/// What a template file's name says: `reset.de.txt` is the reset mail's text in German.
#[derive(Debug, Clone, Copy)]
struct FileName {
    kind: Kind,
    lang: Option<Lang>,
    html: bool,
}

/// A template file's name read; `None` for a file that is no template, an error for one with
/// an unknown language.
fn parse_name(name: &str) -> Option<Result<FileName, String>> {
    let (rest, html) = if let Some(rest) = name.strip_suffix(".txt") {
        (rest, false)
    } else {
        (name.strip_suffix(".html")?, true)
    };
    let (stem, tag) = match rest.split_once('.') {
        Some((stem, tag)) => (stem, Some(tag)),
        None => (rest, None),
    };
    let kind = Kind::ALL.into_iter().find(|k| k.stem() == stem)?;
    let file = |lang| FileName { kind, lang, html };
    Some(match tag {
        None => Ok(file(None)),
        Some(tag) => match Lang::exactly(tag) {
            Some(lang) => Ok(file(Some(lang))),
            None => Err(format!(
                "{tag:?} is not a shipped language; the languages are {} \
                 (reset.pt-BR.txt, reset.ja.html, ...)",
                Lang::tags().join(", ")
            )),
        },
    })
}

/// Reads template files (`name`, text) into replacements, checking each; `place` says where a
/// file is (a directory, or a reseller) for errors.
fn replacements(
    files: &[(String, String)],
    place: &dyn Fn(&str) -> PathBuf,
) -> Result<Vec<Replaced>, TemplateError> {
    let mut out: Vec<Replaced> = Vec::new();
    let mut sorted: Vec<&(String, String)> = files.iter().collect();
    // Text before HTML, so that an HTML body joins its text.
    sorted.sort_by_key(|(name, _)| (name.ends_with(".html"), name.clone()));
    for (name, text) in sorted {
        let path = place(name);
        let Some(parsed) = parse_name(name) else {
            continue;
        };
        let FileName { kind, lang, html } = parsed.map_err(|message| TemplateError::Invalid {
            path: path.clone(),
            line: 1,
            message,
        })?;
        let index = match out.iter().position(|r| r.kind == kind && r.lang == lang) {
            Some(i) => i,
            None => {
                out.push(Replaced {
                    kind,
                    lang,
                    replacement: Replacement::default(),
                });
                out.len() - 1
            }
        };
        let replacement = &mut out[index].replacement;
        if html {
            check(&path, text, 1, true)?;
            replacement.html = Some(text.clone());
            continue;
        }
        match text
            .strip_prefix("Subject:")
            .and_then(|rest| rest.split_once('\n'))
        {
            Some((subject, body)) => {
                check(&path, subject, 1, false)?;
                let body = body.trim_start_matches(['\r', '\n']);
                let skipped = text.lines().count() - body.lines().count();
                check(&path, body, skipped + 1, true)?;
                replacement.subject = Some(subject.trim().to_string());
                replacement.text = Some(body.to_string());
            }
            None => {
                check(&path, text, 1, true)?;
                replacement.text = Some(text.clone());
            }
        }
    }
    Ok(out)
}

const NOT_A_NAME: &str = "not a template name: reset, changed or moved, an optional language, \
                          then .txt or .html (reset.txt, changed.de.html, ...)";

/// A reseller's template name as it is stored: with its language always written, the tag as
/// passlink writes it (`reset.txt` is stored as `reset.de.txt` when `home`, the reseller's
/// language, is German), so that changing that language later does not relabel a text
/// written in it. `Err` says why `name` is no template's.
pub fn stored_name(name: &str, home: Lang) -> Result<String, String> {
    match parse_name(name) {
        None => Err(NOT_A_NAME.into()),
        Some(Err(why)) => Err(why),
        Some(Ok(file)) => Ok(format!(
            "{}.{}.{}",
            file.kind.stem(),
            file.lang.unwrap_or(home).tag(),
            if file.html { "html" } else { "txt" }
        )),
    }
}

/// Checks a reseller's template before it is stored: its name (`reset.de.txt`, ...) and text,
/// as the operator's files are checked.
pub fn check_named(name: &str, text: &str) -> Result<(), TemplateError> {
    let path = PathBuf::from(name);
    if parse_name(name).is_none() {
        return Err(TemplateError::Invalid {
            path,
            line: 1,
            message: NOT_A_NAME.into(),
        });
    }
    replacements(&[(name.to_string(), text.to_string())], &|n| {
        PathBuf::from(n)
    })
    .map(|_| ())
}

/// Every mail in every language: the catalogues, and the operator's replacements.
#[derive(Debug, Clone)]
pub struct Mails {
    catalogues: Arc<Catalogues>,
    /// `[reset] language`: the unsuffixed files' language, and the mails' for logins that
    /// chose none.
    default: Lang,
    replaced: Vec<Replaced>,
    /// Files in the directory that are not used, and why (a language passlink does not ship:
    /// a backup such as `reset.old.txt`, or a misspelt tag such as `reset.pt_BR.txt`).
    warnings: Vec<String>,
}

impl Mails {
    /// The built-in mails only.
    pub fn built_in(catalogues: Arc<Catalogues>, default: Lang) -> Mails {
        Mails {
            catalogues,
            default,
            replaced: Vec::new(),
            warnings: Vec::new(),
        }
    }

    /// The built-in mails, with the operator's files from `dir` in their place: `reset.txt`
    /// (its first line may be `Subject: …`) and `reset.html` for the default language,
    /// `reset.de.txt` and so on for one language, likewise `changed.*` and `moved.*`. A
    /// missing directory replaces nothing; a file with an unknown language, an unknown
    /// placeholder or no `{link}` is refused with its path and line. A file named for a language
    /// passlink does not ship is not used, with a warning ([`Mails::warnings`]): refusing it
    /// would stop a server whose directory holds `reset.old.txt` from starting.
    pub fn load(
        dir: &Path,
        catalogues: Arc<Catalogues>,
        default: Lang,
    ) -> Result<Mails, TemplateError> {
        let entries = match std::fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Mails::built_in(catalogues, default));
            }
            Err(error) => {
                return Err(TemplateError::Read {
                    path: dir.to_path_buf(),
                    error,
                });
            }
        };
        let mut files = Vec::new();
        let mut warnings = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|error| TemplateError::Read {
                path: dir.to_path_buf(),
                error,
            })?;
            let Some(name) = entry.file_name().to_str().map(str::to_string) else {
                continue;
            };
            let path = dir.join(&name);
            match parse_name(&name) {
                None => continue,
                Some(Err(why)) => {
                    warnings.push(format!("{}: not used: {why}", path.display()));
                    continue;
                }
                Some(Ok(_)) => {}
            }
            let text = std::fs::read_to_string(&path)
                .map_err(|error| TemplateError::Read { path, error })?;
            files.push((name, text));
        }
        Ok(Mails {
            replaced: replacements(&files, &|name| dir.join(name))?,
            catalogues,
            default,
            warnings,
        })
    }

    /// Why some files of the directory are not used, for the log and `check-config`.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    pub fn default_language(&self) -> Lang {
        self.default
    }

    /// Which mails the operator's files replace, and in which language, for `check-config`:
    /// "reset (de)", "changed (en, the default language)".
    pub fn replaced_names(&self) -> Vec<String> {
        self.replaced
            .iter()
            .map(|r| match r.lang {
                Some(lang) => format!("{} ({})", r.kind.stem(), lang.tag()),
                None => format!(
                    "{} ({}, the default language)",
                    r.kind.stem(),
                    self.default.tag()
                ),
            })
            .collect()
    }

    /// The mail, in its reader's language.
    pub fn render(&self, mail: &Mail<'_>) -> Message {
        let lang = mail.audience.mail_language(self.default);
        let writer = Writer {
            catalogues: &self.catalogues,
            lang,
            mail,
        };
        let reseller = mail.audience.brand.as_ref().and_then(|brand| {
            let replaced = replacements(&brand.templates, &|name| {
                PathBuf::from(format!("reseller {}: {name}", brand.reseller_id))
            })
            .map_err(|e| log::error!("a reseller's mail template: {e}; using the built-in one"))
            .ok()?;
            // Stored with their language always written: no unsuffixed one to fall back to.
            pick(&replaced, mail.kind, lang, None).cloned()
        });
        let replacement =
            reseller.or_else(|| pick(&self.replaced, mail.kind, lang, Some(self.default)).cloned());
        let built_in_text = || writer.bodies().0;
        let (text, html) = match &replacement {
            Some(Replacement {
                text: Some(text),
                html,
                ..
            }) => (
                writer.fill(text, &|s| s.to_string()),
                html.as_ref().map(|h| writer.fill(h, &escape_html)),
            ),
            Some(Replacement {
                text: None,
                html: Some(html),
                ..
            }) => (built_in_text(), Some(writer.fill(html, &escape_html))),
            _ => {
                let (text, html) = writer.bodies();
                (text, Some(html))
            }
        };
        let subject = match replacement.as_ref().and_then(|r| r.subject.as_ref()) {
            Some(subject) => writer.fill(subject, &|s| s.to_string()),
            None => writer.subject(),
        };
        let brand = mail.audience.brand.as_ref();
        Message {
            recipient: mail.recipient.to_string(),
            // One line: a value with a line break must not add mail headers.
            subject: subject.replace(['\r', '\n'], " "),
            text,
            html,
            from_name: brand.and_then(|b| b.name.clone()),
            from_address: brand.and_then(|b| b.mail_from.clone()),
            reply_to: mail
                .audience
                .support()
                .filter(|s| s.contains('@') && !s.contains("://"))
                .map(str::to_string),
            language: Some(lang.tag().to_string()),
        }
    }
}

/// The replacement for `kind` in `lang`: the language's own, else the unsuffixed one when
/// `lang` is the files' `home` language.
fn pick(replaced: &[Replaced], kind: Kind, lang: Lang, home: Option<Lang>) -> Option<&Replacement> {
    let find = |l: Option<Lang>| {
        replaced
            .iter()
            .find(|r| r.kind == kind && r.lang == l)
            .map(|r| &r.replacement)
    };
    find(Some(lang)).or_else(|| if home == Some(lang) { find(None) } else { None })
}

/// Writes one mail in one language.
struct Writer<'a> {
    catalogues: &'a Catalogues,
    lang: Lang,
    mail: &'a Mail<'a>,
}

/// Stands for a value in a message (a private-use character, which no catalogue holds), so
/// that HTML can wrap the value in markup after the text is escaped.
pub const MARK: &str = "\u{e000}";

/// `text` escaped for HTML, with [`MARK`] replaced by `markup`.
pub fn escape_around(text: &str, markup: &str) -> String {
    escape_html(text).replace(MARK, markup)
}

impl Writer<'_> {
    fn t(&self, id: &str, args: &[(&str, Arg<'_>)]) -> String {
        self.catalogues.text(self.lang, id, args)
    }

    fn account(&self) -> String {
        account_text(self.catalogues, self.lang, &self.mail.audience.account)
    }

    fn expires(&self) -> String {
        self.catalogues.date_time(self.lang, self.mail.expires_at)
    }

    fn subject(&self) -> String {
        let id = format!("mail-{}-subject", self.mail.kind.stem());
        self.t(&id, &[("account", Arg::Text(&self.account()))])
    }

    /// The paragraphs, with `account` standing for the account; `None` is where the link goes.
    fn paragraphs(&self, account: &str) -> Vec<Option<String>> {
        let audience = self.mail.audience;
        let site = Arg::Text(&audience.site);
        let expires = self.expires();
        let expires = Arg::Text(&expires);
        let account = Arg::Text(account);
        let mut out = Vec::new();
        match self.mail.kind {
            Kind::Reset => {
                out.push(Some(
                    self.t("mail-reset-intro", &[("account", account), ("site", site)]),
                ));
                out.push(Some(self.t("mail-reset-open", &[("expires", expires)])));
                out.push(None);
                out.push(Some(match self.mail.by {
                    By::Address(ip) => self.t("mail-reset-once-from", &[("ip", Arg::Text(ip))]),
                    By::Operator | By::Import => self.t("mail-reset-once-operator", &[]),
                }));
                out.push(Some(self.t("mail-reset-ignore", &[])));
            }
            Kind::Changed => {
                let (at, method) = self.mail.changed.unwrap_or((0, Method::Operator));
                let changed = self.catalogues.date_time(self.lang, at);
                let what = match (method, self.mail.by) {
                    (Method::Operator, _) | (_, By::Operator | By::Import) => self.t(
                        "mail-changed-what-operator",
                        &[
                            ("account", account),
                            ("site", site),
                            ("changed", Arg::Text(&changed)),
                        ],
                    ),
                    (method, By::Address(ip)) => self.t(
                        "mail-changed-what",
                        &[
                            ("account", account),
                            ("site", site),
                            ("changed", Arg::Text(&changed)),
                            ("method", Arg::Text(method.key())),
                            ("ip", Arg::Text(ip)),
                        ],
                    ),
                };
                out.push(Some(what));
                out.push(Some(self.t("mail-changed-if-you", &[])));
                out.push(Some(self.t("mail-changed-if-not", &[("expires", expires)])));
                out.push(None);
            }
            Kind::Moved => {
                out.push(Some(self.t(
                    "mail-moved-where",
                    &[
                        ("account", account),
                        ("site", site),
                        ("url", Arg::Text(&audience.url)),
                    ],
                )));
                out.push(Some(self.t("mail-moved-why", &[("expires", expires)])));
                out.push(None);
                out.push(Some(self.t("mail-moved-then", &[])));
            }
        }
        if let Some(support) = audience.support() {
            out.push(Some(
                self.t("support-line", &[("support", Arg::Text(support))]),
            ));
        }
        out
    }

    fn signature(&self) -> String {
        let audience = self.mail.audience;
        self.t(
            "mail-signature",
            &[
                ("site", Arg::Text(&audience.site)),
                ("url", Arg::Text(&audience.url)),
            ],
        )
    }

    /// The built-in text and HTML bodies, from one formatting of the paragraphs.
    fn bodies(&self) -> (String, String) {
        let paragraphs = self.paragraphs(MARK);
        let account = self.account();
        let signature = self.signature();
        let mut text = String::with_capacity(1024);
        for paragraph in &paragraphs {
            match paragraph {
                Some(p) => text.push_str(&p.replace(MARK, &account)),
                None => text.push_str(self.mail.link),
            }
            text.push_str("\n\n");
        }
        // The conventional signature separator, so that mail readers set it apart.
        text.push_str("-- \n");
        text.push_str(&signature);
        text.push('\n');

        let accent = self
            .mail
            .audience
            .brand
            .as_ref()
            .and_then(|b| b.accent.as_deref())
            .unwrap_or("#1d4ed8");
        let strong = format!("<strong>{}</strong>", escape_html(&account));
        let link_text = match self.mail.kind {
            Kind::Changed => self.t("mail-changed-link-text", &[]),
            Kind::Reset | Kind::Moved => self.mail.link.to_string(),
        };
        let mut html = format!(
            "<!doctype html>\n<html lang=\"{}\" dir=\"{}\"><body style=\"font-family: \
             sans-serif; line-height: 1.5\">\n",
            self.lang.tag(),
            self.lang.dir()
        );
        for paragraph in &paragraphs {
            match paragraph {
                Some(p) => html.push_str(&format!("<p>{}</p>\n", escape_around(p, &strong))),
                None => html.push_str(&format!(
                    "<p><a href=\"{}\" style=\"color: {accent}\">{}</a></p>\n",
                    escape_html(self.mail.link),
                    escape_html(&link_text)
                )),
            }
        }
        html.push_str(&format!(
            "<p style=\"color: #57534e\">{}</p>\n</body></html>\n",
            escape_html(&signature)
        ));
        (text, html)
    }

    /// An operator's or reseller's template filled in.
    fn fill(&self, template: &str, encode: &dyn Fn(&str) -> String) -> String {
        let audience = self.mail.audience;
        let (changed_at, method) = match self.mail.changed {
            // As before languages: `YYYY-MM-DD HH:MM:SS`, UTC, so that a template written
            // "{changed_at} UTC" still reads right.
            Some((at, method)) => (
                crate::clock::sql_datetime(at),
                self.t("mail-method", &[("method", Arg::Text(method.key()))]),
            ),
            None => (String::new(), String::new()),
        };
        let vars = Vars {
            link: self.mail.link,
            account: &self.account(),
            expiry: &self.expires(),
            ip: match self.mail.by {
                By::Address(ip) => ip,
                By::Operator => "admin",
                By::Import => "",
            },
            public_url: &audience.url,
            changed_at: &changed_at,
            method: &method,
            site: &audience.site,
            support: audience.support().unwrap_or(""),
        };
        fill(template, &vars, encode)
    }
}

/// An account's name as its owner knows it, in `lang`.
pub fn account_text(catalogues: &Catalogues, lang: Lang, account: &Account) -> String {
    match account {
        Account::Email(text) | Account::Domain(text) => text.clone(),
        Account::SubUser { username, domain } => catalogues.text(
            lang,
            "account-subuser",
            &[
                ("username", Arg::Text(username)),
                ("domain", Arg::Text(domain)),
            ],
        ),
    }
}

/// The values a template's placeholders stand for.
struct Vars<'a> {
    link: &'a str,
    account: &'a str,
    expiry: &'a str,
    ip: &'a str,
    public_url: &'a str,
    changed_at: &'a str,
    method: &'a str,
    site: &'a str,
    support: &'a str,
}

fn fill(template: &str, vars: &Vars<'_>, encode: &dyn Fn(&str) -> String) -> String {
    // One pass, so a value that contains `{link}` is not expanded again; a placeholder is a
    // name right after `{` and right before `}`, so each `{` is looked at once.
    let mut out = String::with_capacity(template.len() + 128);
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        let name_len = after
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(after.len());
        let value = if after[name_len..].starts_with('}') {
            match &after[..name_len] {
                "link" => Some(vars.link),
                "account" => Some(vars.account),
                "expiry" => Some(vars.expiry),
                "ip" => Some(vars.ip),
                "public_url" => Some(vars.public_url),
                "changed_at" => Some(vars.changed_at),
                "method" => Some(vars.method),
                "site" => Some(vars.site),
                "support" => Some(vars.support),
                _ => None,
            }
        } else {
            None
        };
        match value {
            Some(value) => {
                out.push_str(&encode(value));
                rest = &after[name_len + 1..];
            }
            None => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logins::Login;
    use crate::reset::audience::Brand;

    /// 2026-11-23 10:00:00 UTC
    const EXPIRES: i64 = 1_795_428_000;

    fn catalogues() -> Arc<Catalogues> {
        Catalogues::shared().unwrap()
    }

    fn weblog(language: Option<Lang>) -> Audience {
        Audience {
            login: Login::XssUser(1),
            account: Account::Email("<alice>\n{link}".into()),
            site: "Example Weblogs".into(),
            url: "https://pl.example".into(),
            language,
            brand: None,
        }
    }

    fn mail<'a>(kind: Kind, audience: &'a Audience) -> Mail<'a> {
        Mail {
            kind,
            audience,
            recipient: "a@example.org",
            link: "https://pl.example/reset/T",
            expires_at: EXPIRES,
            by: By::Address("192.0.2.1"),
            changed: None,
        }
    }

    fn lang(tag: &str) -> Lang {
        Lang::exactly(tag).unwrap()
    }

    #[test]
    fn built_in_mail_says_what_where_until_when() {
        let mails = Mails::built_in(catalogues(), Lang::ENGLISH);
        let m = mails.render(&mail(Kind::Reset, &weblog(None)));
        assert!(
            m.text.contains("\nhttps://pl.example/reset/T\n"),
            "{}",
            m.text
        );
        assert!(m.text.contains("on Example Weblogs."), "{}", m.text);
        assert!(
            m.text.contains("before 23 November 2026, 10:00 UTC:"),
            "{}",
            m.text
        );
        assert!(
            m.text
                .contains("The request came from the address 192.0.2.1.")
        );
        assert!(m.text.contains("ignore this mail"));
        assert!(
            m.text
                .ends_with("-- \nExample Weblogs: https://pl.example\n"),
            "{}",
            m.text
        );
        // Values are not expanded again, and the subject stays one line.
        assert!(m.text.contains("<alice>\n{link}"));
        assert!(!m.subject.contains('\n'));
        let html = m.html.unwrap();
        assert!(html.contains("<strong>&lt;alice&gt;"), "{html}");
        assert!(!html.contains("<alice>"));
        assert!(html.contains("<html lang=\"en\" dir=\"ltr\">"));
        assert_eq!(m.language.as_deref(), Some("en"));
        assert_eq!(m.from_name, None);
    }

    #[test]
    fn a_login_s_language_wins_over_the_server_s() {
        let mails = Mails::built_in(catalogues(), lang("fr"));
        let de = mails.render(&mail(Kind::Reset, &weblog(Some(lang("de")))));
        assert!(
            de.text.contains("23. November 2026, 10:00 Uhr UTC"),
            "{}",
            de.text
        );
        assert_eq!(de.language.as_deref(), Some("de"));
        assert!(de.html.unwrap().contains("lang=\"de\""));
        let fr = mails.render(&mail(Kind::Reset, &weblog(None)));
        assert_eq!(fr.language.as_deref(), Some("fr"), "the server's default");
        let ja = mails.render(&mail(Kind::Changed, &weblog(Some(lang("ja")))));
        assert!(ja.text.contains("2026年11月23日"), "{}", ja.text);
    }

    #[test]
    fn every_mail_in_every_language_is_whole() {
        let mails = Mails::built_in(catalogues(), Lang::ENGLISH);
        for l in Lang::all() {
            let audience = weblog(Some(l));
            for kind in Kind::ALL {
                let mut m = mail(kind, &audience);
                m.changed = Some((EXPIRES - 60, Method::XcpChange));
                let message = mails.render(&m);
                for text in [&message.subject, &message.text] {
                    assert!(!text.contains("mail-"), "{} {kind:?}: {text}", l.tag());
                    assert!(!text.contains('{'.to_string().as_str()) || text.contains("{link}"));
                }
                assert!(message.text.contains("https://pl.example/reset/T"));
            }
        }
    }

    #[test]
    fn a_brand_names_the_sender_and_where_to_ask() {
        let mails = Mails::built_in(catalogues(), Lang::ENGLISH);
        let audience = Audience {
            login: Login::Profile(1),
            account: Account::Domain("example.com".into()),
            site: "Acme Domains".into(),
            url: "https://pl.example".into(),
            language: Some(lang("de")),
            brand: Some(Brand {
                reseller_id: 1,
                name: Some("Acme Domains".into()),
                mail_from: None,
                support: Some("help@acme.example".into()),
                accent: Some("#0b5394".into()),
                templates: vec![],
                has_templates: false,
            }),
        };
        let m = mails.render(&mail(Kind::Reset, &audience));
        assert_eq!(m.from_name.as_deref(), Some("Acme Domains"));
        assert_eq!(m.from_address, None, "the server's address");
        assert_eq!(m.reply_to.as_deref(), Some("help@acme.example"));
        assert!(m.text.contains("help@acme.example"), "{}", m.text);
        assert!(m.text.contains("Acme Domains"));
        assert!(m.html.unwrap().contains("#0b5394"));
    }

    #[test]
    fn files_replace_the_built_in_text_per_language() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("reset.txt"),
            "Subject: Hi {account}\n\nGo to {link} {not a placeholder} {}\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("reset.de.txt"),
            "Hallo {account}, {link} bis {expiry} ({site})\n",
        )
        .unwrap();
        std::fs::write(dir.path().join("notes.txt"), "not a template {x}").unwrap();
        let mails = Mails::load(dir.path(), catalogues(), Lang::ENGLISH).unwrap();
        let m = mails.render(&mail(Kind::Reset, &weblog(None)));
        assert_eq!(m.subject, "Hi <alice> {link}");
        assert_eq!(
            m.text,
            "Go to https://pl.example/reset/T {not a placeholder} {}\n"
        );
        assert!(
            m.html.is_none(),
            "a text of its own goes without the built-in HTML"
        );
        let de = mails.render(&mail(Kind::Reset, &weblog(Some(lang("de")))));
        assert_eq!(
            de.text,
            "Hallo <alice>\n{link}, https://pl.example/reset/T bis 23. November 2026, 10:00 \
             Uhr UTC (Example Weblogs)\n"
        );
        assert!(de.subject.starts_with("Passwort"), "{}", de.subject);
        // French has no file, and reset.txt is the default language's: built-in French.
        let fr = mails.render(&mail(Kind::Reset, &weblog(Some(lang("fr")))));
        assert!(fr.text.contains("mot de passe"), "{}", fr.text);
        assert!(fr.html.is_some());
        let missing = Mails::load(&dir.path().join("none"), catalogues(), Lang::ENGLISH).unwrap();
        assert!(missing.replaced_names().is_empty());
    }

    #[test]
    fn a_misspelt_placeholder_an_unknown_language_or_no_link_is_refused_with_its_line() {
        let dir = tempfile::tempdir().unwrap();
        let load = || Mails::load(dir.path(), catalogues(), Lang::ENGLISH);
        let txt = dir.path().join("reset.txt");
        std::fs::write(&txt, "Subject: Reset {acount}\n\nGo to {link}\n").unwrap();
        let err = load().unwrap_err().to_string();
        assert_eq!(
            err,
            format!(
                "{}:1: unknown placeholder {{acount}}; the placeholders are {{link}}, \
                 {{account}}, {{expiry}}, {{ip}}, {{public_url}}, {{changed_at}}, {{method}}, \
                 {{site}}, {{support}}",
                txt.display()
            )
        );
        std::fs::write(&txt, "Subject: Reset\n\nHello {account},\n\nwe {expiyr}\n").unwrap();
        let err = load().unwrap_err().to_string();
        assert!(
            err.contains("reset.txt:5: unknown placeholder {expiyr}"),
            "{err}"
        );
        std::fs::write(&txt, "Hello {account}, no link here\n").unwrap();
        let err = load().unwrap_err().to_string();
        assert!(err.contains("reset.txt:1: no {link}"), "{err}");
        std::fs::write(&txt, "{link}\n").unwrap();
        std::fs::write(
            dir.path().join("reset.html"),
            "<style>p { color: red }</style>\n<p>{link}</p>\n",
        )
        .unwrap();
        assert!(load().is_ok());
        // A file for a language passlink does not ship is left out, with a warning.
        std::fs::write(dir.path().join("changed.pt_BR.txt"), "{nonsense}\n").unwrap();
        let mails = load().unwrap();
        assert_eq!(mails.warnings().len(), 1);
        assert!(
            mails.warnings()[0]
                .contains("changed.pt_BR.txt: not used: \"pt_BR\" is not a shipped language"),
            "{:?}",
            mails.warnings()
        );
        assert_eq!(mails.replaced_names(), ["reset (en, the default language)"]);
        std::fs::remove_file(dir.path().join("changed.pt_BR.txt")).unwrap();
        std::fs::write(dir.path().join("moved.ja.html"), "<p>{Link}</p>\n").unwrap();
        let err = load().unwrap_err().to_string();
        assert!(
            err.contains("moved.ja.html:1: unknown placeholder {Link}"),
            "{err}"
        );
    }

    #[test]
    fn a_reseller_s_text_comes_before_the_operator_s() {
        assert!(check_named("reset.de.txt", "Hallo {link}").is_ok());
        assert!(check_named("reset.xx.txt", "{link}").is_err());
        assert!(check_named("welcome.txt", "{link}").is_err());
        assert!(check_named("reset.txt", "no link").is_err());
        let mails = Mails::built_in(catalogues(), Lang::ENGLISH);
        let mut audience = weblog(Some(lang("de")));
        audience.brand = Some(Brand {
            reseller_id: 1,
            name: None,
            mail_from: Some("passwords@acme.example".into()),
            support: Some("https://acme.example/help".into()),
            accent: None,
            templates: vec![(
                "reset.de.txt".into(),
                "Subject: Acme: {account}\n\n{link} -- {support}\n".into(),
            )],
            has_templates: true,
        });
        let m = mails.render(&mail(Kind::Reset, &audience));
        assert_eq!(m.subject, "Acme: <alice> {link}");
        assert_eq!(
            m.text,
            "https://pl.example/reset/T -- https://acme.example/help\n"
        );
        assert_eq!(m.from_address.as_deref(), Some("passwords@acme.example"));
        assert_eq!(m.reply_to, None, "a page is no address to reply to");
        // Its German text is not used for English.
        audience.language = Some(Lang::ENGLISH);
        let en = mails.render(&mail(Kind::Reset, &audience));
        assert!(en.text.contains("Someone asked"), "{}", en.text);
    }
}
