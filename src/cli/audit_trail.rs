//! `passlink audit`: the audit trail of credential events, for a dispute ("I never asked for
//! that reset") or after an incident. The rows and their SQL are [`crate::audit`]'s; this
//! reads the options and prints them.

use crate::audit::{self, Event, Filter, Record};
use crate::clock;
use crate::serve::AppError;

use super::links::Open;

#[derive(Debug, Clone, clap::Args)]
pub struct AuditArgs {
    /// Only events whose account contains this text, in any case: an email address, a
    /// usernum, a domain, a profile or reseller name.
    #[arg(long, value_name = "TEXT")]
    pub account: Option<String>,
    /// Only events at or after this time: a date (2026-12-01), a date and time in UTC
    /// (2026-12-01 14:00:00 or 2026-12-01T14:00:00Z), or an age (90m, 48h, 7d).
    #[arg(long, value_name = "WHEN")]
    pub since: Option<String>,
    /// Only these events; repeat the option or separate them with commas: registered,
    /// login_failed, reset_requested, link_issued, link_used, link_revoked, password_changed,
    /// not_me_used, cookie_set, user_changed, reseller_changed, domain_changed.
    #[arg(long, value_name = "EVENT", value_delimiter = ',')]
    pub event: Vec<String>,
    /// One JSON object per line, for scripts.
    #[arg(long)]
    pub json: bool,
}

pub fn run(open: &Open<'_>, args: &AuditArgs) -> Result<(), AppError> {
    let now = clock::unix_now();
    let since = args
        .since
        .as_deref()
        .map(|text| parse_since(text, now))
        .transpose()?;
    let mut events = Vec::new();
    for name in &args.event {
        let name = name.trim();
        let event = Event::parse(name).ok_or_else(|| {
            let known: Vec<&str> = Event::ALL.iter().map(|e| e.name()).collect();
            AppError::Invalid(format!(
                "--event {name:?} is not an event; the events are {}",
                known.join(", ")
            ))
        })?;
        events.push(event);
    }
    let conn = open(true)?;
    let filter = Filter {
        account: args.account.clone().filter(|a| !a.trim().is_empty()),
        since,
        events,
    };
    let mut out = Output::new();
    let mut any = false;
    audit::for_each(&conn, &filter, |row| {
        if args.json {
            return out.line(&json(&row).to_string());
        }
        if !any {
            let header = format!(
                "{:<20}  {:<16} {:<7} {:<15} ACCOUNT: DETAIL",
                "TIME (UTC)", "EVENT", "OUTCOME", "CLIENT"
            );
            any = true;
            if !out.line(&header) {
                return false;
            }
        }
        out.line(&line(&row))
    })
    .map_err(|e| AppError::Db(e.into()))?;
    if !any && !args.json {
        out.line("no audit events match");
    }
    out.finish()
}

/// Standard output for a trail that can be long and is often piped into `head` or `less`: a
/// reader that stops early ends the output quietly instead of with an error.
struct Output {
    out: std::io::BufWriter<std::io::StdoutLock<'static>>,
    error: Option<std::io::Error>,
}

impl Output {
    fn new() -> Output {
        Output {
            out: std::io::BufWriter::new(std::io::stdout().lock()),
            error: None,
        }
    }

    /// Writes one line; `false` once output has stopped.
    fn line(&mut self, text: &str) -> bool {
        use std::io::Write;
        if self.error.is_some() {
            return false;
        }
        match writeln!(self.out, "{text}") {
            Ok(()) => true,
            Err(e) => {
                self.error = Some(e);
                false
            }
        }
    }

    fn finish(mut self) -> Result<(), AppError> {
        use std::io::Write;
        let result = match self.error.take() {
            Some(e) => Err(e),
            None => self.out.flush(),
        };
        match result {
            Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(AppError::Io {
                what: "writing the audit trail to standard output".into(),
                error: e,
            }),
            _ => Ok(()),
        }
    }
}

fn line(row: &Record) -> String {
    let mut text = format!(
        "{:<20}  {:<16} {:<7} {:<15} {}",
        clock::rfc3339(row.at),
        row.event,
        row.outcome,
        row.client,
        row.account
    );
    if !row.detail.is_empty() {
        text.push_str(": ");
        text.push_str(&row.detail);
    }
    if row.count > 1 {
        text.push_str(&format!(" ({} attempts)", row.count));
    }
    text
}

fn json(row: &Record) -> serde_json::Value {
    serde_json::json!({
        "id": row.id,
        "time": clock::rfc3339(row.at),
        "event": row.event,
        "outcome": row.outcome,
        "account": row.account,
        "login": row.login.map(|l| serde_json::json!({"kind": l.kind(), "id": l.id()})),
        "client": row.client,
        "detail": row.detail,
        "count": row.count,
    })
}

/// `--since`: an age with its unit (90m, 48h, 7d) before `now`, or a UTC date or date and
/// time.
fn parse_since(text: &str, now: i64) -> Result<i64, AppError> {
    let trimmed = text.trim();
    let age = trimmed
        .chars()
        .last()
        .filter(char::is_ascii_alphabetic)
        .and_then(|_| super::migrate::parse_ttl(trimmed));
    if let Some(secs) = age {
        return Ok(now.saturating_sub(secs));
    }
    // RFC 3339 as `passlink audit` prints it, or the date and time OpenSRS writes.
    let spaced = trimmed.replacen('T', " ", 1);
    let plain = spaced.strip_suffix('Z').unwrap_or(&spaced);
    clock::parse_utc(plain).ok_or_else(|| {
        AppError::Invalid(format!(
            "--since {text:?} is neither a date (2026-12-01), a date and time in UTC \
             (2026-12-01 14:00:00), nor an age such as 90m, 48h or 7d"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_takes_ages_dates_and_times() {
        let now = 1_800_000_000;
        assert_eq!(parse_since("48h", now).unwrap(), now - 48 * 3600);
        assert_eq!(parse_since("7d", now).unwrap(), now - 7 * 86_400);
        let day = clock::parse_utc("2026-12-01").unwrap();
        assert_eq!(parse_since("2026-12-01", now).unwrap(), day);
        assert_eq!(parse_since("2026-12-01T00:00:10Z", now).unwrap(), day + 10);
        assert_eq!(parse_since("2026-12-01 00:01:00", now).unwrap(), day + 60);
        assert!(parse_since("yesterday", now).is_err());
        assert!(parse_since("2026", now).is_err(), "a bare number is no age");
    }
}
