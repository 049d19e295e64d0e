//! The reset mail: a plain-text body and an optional HTML body, built in or read from
//! `reset.txt` / `reset.html` in `[reset] templates_dir`. Variables are written `{name}`:
//! `{link}`, `{account}`, `{expiry}`, `{ip}`, `{public_url}`. In the HTML body every value is
//! HTML-escaped.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::mail::Message;

/// The placeholders a template may use. `{changed_at}` and `{method}` are the
/// password-changed notice's (empty in the other mails).
const NAMES: [&str; 7] = [
    "link",
    "account",
    "expiry",
    "ip",
    "public_url",
    "changed_at",
    "method",
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

const SUBJECT: &str = "Reset your password: {account}";

const TEXT: &str = "\
Someone asked to reset the password of {account} on {public_url}.

To choose a new password, open this link before {expiry}:

{link}

The link works once. The request came from the address {ip}.

If it wasn't you, ignore this mail: nothing changes until the link is used.
";

const HTML: &str = "\
<!doctype html>
<html lang=\"en\"><body style=\"font-family: sans-serif; line-height: 1.5\">
<p>Someone asked to reset the password of <strong>{account}</strong> on {public_url}.</p>
<p>To choose a new password, open this link before {expiry}:</p>
<p><a href=\"{link}\">{link}</a></p>
<p>The link works once. The request came from the address {ip}.</p>
<p>If it wasn't you, ignore this mail: nothing changes until the link is used.</p>
</body></html>
";

const CHANGED_SUBJECT: &str = "Your password was changed: {account}";

const CHANGED_TEXT: &str = "\
The password of {account} on {public_url} was changed on {changed_at} UTC,
by {method}, from the address {ip}.

If that was you, there is nothing to do.

If it wasn't you, open this link before {expiry}: it locks the account at once (nobody can
log in with the new password) and mails you a fresh link to choose your own:

{link}
";

const CHANGED_HTML: &str = "\
<!doctype html>
<html lang=\"en\"><body style=\"font-family: sans-serif; line-height: 1.5\">
<p>The password of <strong>{account}</strong> on {public_url} was changed on {changed_at} UTC,
by {method}, from the address {ip}.</p>
<p>If that was you, there is nothing to do.</p>
<p>If it wasn't you, open this link before {expiry}: it locks the account at once (nobody can
log in with the new password) and mails you a fresh link to choose your own:</p>
<p><a href=\"{link}\">This wasn't me</a></p>
</body></html>
";

const MOVED_SUBJECT: &str = "Your weblog has moved: {account}";

const MOVED_TEXT: &str = "\
Your weblog {account} has moved to {public_url}. Its pages and files are there, and the old
addresses lead to them.

The old server kept passwords in a form that could be read back, so your password was not
brought over. To choose a new one, open this link before {expiry}:

{link}

The link works once. Then set the new password in your weblog software (Radio UserLand and
others ask for it again at the next upload).
";

const MOVED_HTML: &str = "\
<!doctype html>
<html lang=\"en\"><body style=\"font-family: sans-serif; line-height: 1.5\">
<p>Your weblog <strong>{account}</strong> has moved to {public_url}. Its pages and files are
there, and the old addresses lead to them.</p>
<p>The old server kept passwords in a form that could be read back, so your password was not
brought over. To choose a new one, open this link before {expiry}:</p>
<p><a href=\"{link}\">{link}</a></p>
<p>The link works once. Then set the new password in your weblog software (Radio UserLand and
others ask for it again at the next upload).</p>
</body></html>
";

/// The values a template can use.
pub struct Vars<'a> {
    pub link: &'a str,
    pub account: &'a str,
    pub expiry: &'a str,
    pub ip: &'a str,
    pub public_url: &'a str,
    /// The notice's: when the password was changed (UTC) and by which way.
    pub changed_at: &'a str,
    pub method: &'a str,
    /// Not a template variable: the message's recipient.
    pub recipient: &'a str,
}

#[derive(Debug, Clone)]
pub struct Templates {
    subject: String,
    text: String,
    html: Option<String>,
}

impl Templates {
    pub fn built_in() -> Templates {
        Templates {
            subject: SUBJECT.into(),
            text: TEXT.into(),
            html: Some(HTML.into()),
        }
    }

    /// The built-in "your password was changed" notice.
    pub fn built_in_changed() -> Templates {
        Templates {
            subject: CHANGED_SUBJECT.into(),
            text: CHANGED_TEXT.into(),
            html: Some(CHANGED_HTML.into()),
        }
    }

    /// The notice: [`Templates::built_in_changed`], with `changed.txt` and `changed.html` from
    /// `dir` in their place, read as [`Templates::load`] reads `reset.*`.
    pub fn load_changed(dir: &Path) -> Result<Templates, TemplateError> {
        Templates::load_named(dir, "changed", Templates::built_in_changed())
    }

    /// The built-in "your weblog has moved" mail an import sends with `--force-reset`.
    pub fn built_in_moved() -> Templates {
        Templates {
            subject: MOVED_SUBJECT.into(),
            text: MOVED_TEXT.into(),
            html: Some(MOVED_HTML.into()),
        }
    }

    /// The built-in templates, with `reset.txt` and `reset.html` from `dir` in their place when
    /// they exist. A custom text without a custom HTML body sends text only, so the two never
    /// say different things. The first line of `reset.txt` may be `Subject: …`.
    pub fn load(dir: &Path) -> Result<Templates, TemplateError> {
        Templates::load_named(dir, "reset", Templates::built_in())
    }

    /// The "weblog has moved" mail: [`Templates::built_in_moved`], with `moved.txt` and
    /// `moved.html` from `dir` in their place, read as [`Templates::load`] reads `reset.*`.
    pub fn load_moved(dir: &Path) -> Result<Templates, TemplateError> {
        Templates::load_named(dir, "moved", Templates::built_in_moved())
    }

    fn load_named(dir: &Path, stem: &str, base: Templates) -> Result<Templates, TemplateError> {
        let mut templates = base;
        let read = |name: &str| -> Result<Option<(PathBuf, String)>, TemplateError> {
            let path = dir.join(name);
            match std::fs::read_to_string(&path) {
                Ok(text) => Ok(Some((path, text))),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(error) => Err(TemplateError::Read { path, error }),
            }
        };
        if let Some((path, text)) = read(&format!("{stem}.txt"))? {
            match text
                .strip_prefix("Subject:")
                .and_then(|rest| rest.split_once('\n'))
            {
                Some((subject, body)) => {
                    check(&path, subject, 1, false)?;
                    let body = body.trim_start_matches(['\r', '\n']);
                    let skipped = text.lines().count() - body.lines().count();
                    check(&path, body, skipped + 1, true)?;
                    templates.subject = subject.trim().to_string();
                    templates.text = body.to_string();
                }
                None => {
                    check(&path, &text, 1, true)?;
                    templates.text = text;
                }
            }
            templates.html = None;
        }
        if let Some((path, html)) = read(&format!("{stem}.html"))? {
            check(&path, &html, 1, true)?;
            templates.html = Some(html);
        }
        Ok(templates)
    }

    pub fn render(&self, vars: &Vars<'_>) -> Message {
        let plain = |s: &str| s.to_string();
        Message {
            recipient: vars.recipient.to_string(),
            // One line: a value with a line break must not add mail headers.
            subject: fill(&self.subject, vars, &plain).replace(['\r', '\n'], " "),
            text: fill(&self.text, vars, &plain),
            html: self
                .html
                .as_ref()
                .map(|html| fill(html, vars, &escape_html)),
        }
    }
}

fn fill(template: &str, vars: &Vars<'_>, encode: &dyn Fn(&str) -> String) -> String {
    // One pass, so a value that contains `{link}` is not expanded again.
    let mut out = String::with_capacity(template.len() + 128);
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let after = &rest[start..];
        let value = after.find('}').and_then(|end| {
            let value = match &after[1..end] {
                "link" => vars.link,
                "account" => vars.account,
                "expiry" => vars.expiry,
                "ip" => vars.ip,
                "public_url" => vars.public_url,
                "changed_at" => vars.changed_at,
                "method" => vars.method,
                _ => return None,
            };
            Some((value, end))
        });
        match value {
            Some((value, end)) => {
                out.push_str(&encode(value));
                rest = &after[end + 1..];
            }
            None => {
                out.push('{');
                rest = &after[1..];
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

    fn vars() -> Vars<'static> {
        Vars {
            link: "https://pl.example/reset/T",
            account: "<alice>\n{link}",
            expiry: "2026-11-23 10:00:00 UTC",
            ip: "192.0.2.1",
            public_url: "https://pl.example",
            changed_at: "",
            method: "",
            recipient: "a@example.org",
        }
    }

    #[test]
    fn built_in_mail_says_what_where_until_when() {
        let m = Templates::built_in().render(&vars());
        assert!(m.text.contains("https://pl.example/reset/T"));
        assert!(m.text.contains("2026-11-23 10:00:00 UTC"));
        assert!(m.text.contains("192.0.2.1"));
        assert!(m.text.contains("ignore this mail"));
        // Values are not expanded again, and the subject stays one line.
        assert!(m.text.contains("<alice>\n{link}"));
        assert!(!m.subject.contains('\n'));
        let html = m.html.unwrap();
        assert!(html.contains("&lt;alice&gt;"), "{html}");
        assert!(!html.contains("<alice>"));
    }

    #[test]
    fn files_replace_the_built_in_text() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("reset.txt"),
            "Subject: Hi {account}\n\nGo to {link} {not a placeholder} {}\n",
        )
        .unwrap();
        let t = Templates::load(dir.path()).unwrap();
        let m = t.render(&vars());
        assert_eq!(m.subject, "Hi <alice> {link}");
        assert_eq!(
            m.text,
            "Go to https://pl.example/reset/T {not a placeholder} {}\n"
        );
        assert!(m.html.is_none());
        let missing = Templates::load(&dir.path().join("none")).unwrap();
        assert!(missing.html.is_some());
    }

    #[test]
    fn a_misspelt_placeholder_or_no_link_is_refused_with_its_line() {
        let dir = tempfile::tempdir().unwrap();
        let txt = dir.path().join("reset.txt");
        std::fs::write(&txt, "Subject: Reset {acount}\n\nGo to {link}\n").unwrap();
        let err = Templates::load(dir.path()).unwrap_err().to_string();
        assert_eq!(
            err,
            format!(
                "{}:1: unknown placeholder {{acount}}; the placeholders are {{link}}, \
                 {{account}}, {{expiry}}, {{ip}}, {{public_url}}, {{changed_at}}, {{method}}",
                txt.display()
            )
        );
        std::fs::write(&txt, "Subject: Reset\n\nHello {account},\n\nwe {expiyr}\n").unwrap();
        let err = Templates::load(dir.path()).unwrap_err().to_string();
        assert!(
            err.contains("reset.txt:5: unknown placeholder {expiyr}"),
            "{err}"
        );
        std::fs::write(&txt, "Hello {account}, no link here\n").unwrap();
        let err = Templates::load(dir.path()).unwrap_err().to_string();
        assert!(err.contains("reset.txt:1: no {link}"), "{err}");
        std::fs::write(&txt, "{link}\n").unwrap();
        std::fs::write(
            dir.path().join("reset.html"),
            "<style>p { color: red }</style>\n<p>{link}</p>\n",
        )
        .unwrap();
        assert!(Templates::load(dir.path()).is_ok());
        std::fs::write(dir.path().join("reset.html"), "<p>{Link}</p>\n").unwrap();
        let err = Templates::load(dir.path()).unwrap_err().to_string();
        assert!(
            err.contains("reset.html:1: unknown placeholder {Link}"),
            "{err}"
        );
    }
}
