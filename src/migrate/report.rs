//! What an import did (or, with `--dry-run`, would do), for the operator and, with `--json`,
//! for scripts. It names accounts by usernum and email and files by path; it never holds a
//! password.

use std::fmt::Write;

use serde::Serialize;

/// The most entries a list of the report keeps; `total` counts them all.
const LIST_CAP: usize = 10_000;

/// A list of the report: every entry counted, the first [`LIST_CAP`] kept, so that a million
/// skipped files cost a counter, not memory.
#[derive(Debug, Serialize)]
pub struct Listed<T> {
    pub total: u64,
    pub items: Vec<T>,
}

impl<T> Default for Listed<T> {
    fn default() -> Self {
        Listed {
            total: 0,
            items: Vec::new(),
        }
    }
}

impl<T> Listed<T> {
    pub fn push(&mut self, item: T) {
        self.total += 1;
        if self.items.len() < LIST_CAP {
            self.items.push(item);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.total == 0
    }
}

#[derive(Debug, Default, Serialize)]
pub struct Report {
    pub source: &'static str,
    pub dry_run: bool,
    pub users_read: u64,
    pub users_imported: u64,
    pub users_unchanged: u64,
    pub users_overwritten: u64,
    pub users_skipped: Listed<Skipped>,
    /// Imported without a password anyone knows: they need a reset link.
    pub without_password: Listed<Account>,
    pub files_imported: u64,
    pub bytes_imported: u64,
    pub files_unchanged: u64,
    pub files_skipped: Listed<Skipped>,
    pub over_quota: Listed<OverQuota>,
    pub redirects: Listed<Redirect>,
    pub mails_queued: u64,
    pub warnings: Listed<String>,
}

/// A user or file left out, and why.
#[derive(Debug, Serialize)]
pub struct Skipped {
    /// `FILE:LINE` for a user, the path on disk for a file.
    pub at: String,
    pub what: String,
    pub why: String,
}

#[derive(Debug, Serialize)]
pub struct Account {
    pub usernum: String,
    pub email: String,
    pub why: String,
}

#[derive(Debug, Serialize)]
pub struct OverQuota {
    pub usernum: String,
    pub email: String,
    pub bytes: u64,
    pub quota: u64,
}

#[derive(Debug, Serialize)]
pub struct Redirect {
    pub from: String,
    pub to: String,
}

impl Report {
    /// Whether the run changed (or would change) nothing.
    pub fn changed_nothing(&self) -> bool {
        self.users_imported == 0
            && self.users_overwritten == 0
            && self.files_imported == 0
            && self.redirects.is_empty()
            && self.mails_queued == 0
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
    }

    /// The report as the operator reads it.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let would = if self.dry_run { "would be " } else { "" };
        let _ = writeln!(
            out,
            "{} import{}: {} user(s) read",
            self.source,
            if self.dry_run {
                " (dry run: nothing was changed)"
            } else {
                ""
            },
            self.users_read
        );
        let _ = writeln!(
            out,
            "  users {would}imported: {}; already there, unchanged: {}; {would}overwritten: {}; skipped: {}",
            self.users_imported,
            self.users_unchanged,
            self.users_overwritten,
            self.users_skipped.total
        );
        let _ = writeln!(
            out,
            "  files {would}imported: {} ({} bytes); already there, unchanged: {}; skipped: {}",
            self.files_imported,
            self.bytes_imported,
            self.files_unchanged,
            self.files_skipped.total
        );
        let _ = writeln!(
            out,
            "  redirects {would}created: {}; reset mails {would}queued: {}",
            self.redirects.total, self.mails_queued
        );
        section(&mut out, "users skipped", &self.users_skipped, |s| {
            format!("{}: {}: {}", s.at, s.what, s.why)
        });
        section(
            &mut out,
            "accounts without a usable password (send each a reset link: `passlink user show` \
             names them; mailPasswordToUser or the reset page mails the link)",
            &self.without_password,
            |a| format!("{} {}: {}", a.usernum, a.email, a.why),
        );
        section(&mut out, "files skipped", &self.files_skipped, |s| {
            format!("{}: {}: {}", s.at, s.what, s.why)
        });
        section(
            &mut out,
            "users over quota (imported anyway; new uploads are refused until they delete)",
            &self.over_quota,
            |q| {
                format!(
                    "{} {}: {} bytes, quota {}",
                    q.usernum, q.email, q.bytes, q.quota
                )
            },
        );
        section(&mut out, "redirects", &self.redirects, |r| {
            format!("{} -> {}", r.from, r.to)
        });
        section(&mut out, "warnings", &self.warnings, Clone::clone);
        if self.changed_nothing() && !self.dry_run {
            let line = if self.users_skipped.is_empty() && self.files_skipped.is_empty() {
                "nothing changed: everything in the export was already imported"
            } else {
                "nothing changed: everything in the export was already imported but what is \
                 listed as skipped above"
            };
            let _ = writeln!(out, "{line}");
        }
        out
    }
}

fn section<T>(out: &mut String, title: &str, list: &Listed<T>, line: impl Fn(&T) -> String) {
    if list.is_empty() {
        return;
    }
    let _ = writeln!(out, "{title}:");
    for item in &list.items {
        let _ = writeln!(out, "  {}", line(item));
    }
    let more = list.total - list.items.len() as u64;
    if more > 0 {
        let _ = writeln!(
            out,
            "  ... and {more} more (--json has the first {LIST_CAP})"
        );
    }
}
