//! `passlink domain import FILE`: many domains from a CSV file, all or none. Every bad row is
//! reported in one pass (a file with forty mistakes needs one round, not forty), a byte-order
//! mark from Excel or LibreOffice is skipped, `--dry-run` checks without keeping anything, and
//! generated profile passwords go to a file of the operator's choosing (mode 0600), never to a
//! terminal where they would sit in the scrollback among status lines.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use rusqlite::Connection;

use crate::audit::{self, Event};
use crate::config::Config;
use crate::serve::AppError;
use crate::xcp::domains::{self, Contact, DomainError, NewDomain};

/// The columns a file may have; the first five are required.
pub const COLUMNS: [&str; 15] = [
    "domain",
    "reseller",
    "profile",
    "owner_email",
    "admin_email",
    "password",
    "owner_first_name",
    "owner_last_name",
    "admin_first_name",
    "admin_last_name",
    "org_name",
    "phone",
    "billing_email",
    "tech_email",
    "expiredate",
];

pub struct Options<'a> {
    pub file: &'a Path,
    pub dry_run: bool,
    pub passwords_file: Option<&'a Path>,
}

pub fn run(conn: &mut Connection, config: &Config, options: &Options<'_>) -> Result<(), AppError> {
    let file = options.file;
    let text = std::fs::read_to_string(file).map_err(|error| AppError::Io {
        what: format!("reading {}", file.display()),
        error,
    })?;
    // Excel and LibreOffice start a "CSV UTF-8" file with a byte-order mark.
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let records = domains::parse_csv(text)
        .map_err(|e| AppError::Invalid(format!("{}: {e}", file.display())))?;
    let Some(((_, header), rows)) = records.split_first() else {
        return Err(AppError::Invalid(format!(
            "{}: the file is empty; the first line names the columns ({})",
            file.display(),
            COLUMNS[..5].join(",")
        )));
    };
    let header: Vec<String> = header
        .iter()
        .map(|h| h.trim().to_ascii_lowercase())
        .collect();
    let at = |line: usize, why: &str| format!("{}:{line}: {why}", file.display());
    let mut problems: Vec<String> = Vec::new();
    for unknown in header.iter().filter(|h| !COLUMNS.contains(&h.as_str())) {
        problems.push(at(
            1,
            &format!(
                "unknown column {unknown:?}; the columns are {}",
                COLUMNS.join(", ")
            ),
        ));
    }
    for required in &COLUMNS[..5] {
        if !header.iter().any(|h| h == required) {
            problems.push(at(1, &format!("missing required column {required:?}")));
        }
    }
    if !problems.is_empty() {
        return Err(refused(&problems, file));
    }
    let rules = &config.xcp;
    let policy =
        crate::logins::strength::Policy::load(&config.passwords).map_err(AppError::Invalid)?;
    let credentials = crate::credentials::Credentials::with_cost(
        1,
        1,
        std::time::Duration::ZERO,
        config.passwords.hash_cost(),
    );
    let password_column = header.iter().position(|h| h == "password");
    let column = |name: &str| header.iter().position(|h| h == name);
    let (domain_column, profile_column) = (column("domain"), column("profile"));
    // argon2 for every row that may create a profile, before the write lock is taken: a
    // thousand profiles hash for seconds, and a running server's writes must not wait that
    // long (its busy timeout is 5 s). A row for an existing profile ignores its password, so
    // a bad one is an error only where it would be used.
    let mut prepared: std::collections::HashMap<usize, Result<Prepared, String>> =
        std::collections::HashMap::new();
    for (line, row) in rows {
        let given = password_column
            .and_then(|i| row.get(i))
            .map_or(String::new(), |p| p.trim().to_string());
        let (password, generated) = if given.is_empty() {
            (domains::generate_password(rules), true)
        } else {
            (given, false)
        };
        // A given password is also checked for how guessable it is (a generated one is random).
        let context: Vec<&str> = [domain_column, profile_column]
            .iter()
            .filter_map(|c| c.and_then(|i| row.get(i)).map(String::as_str))
            .collect();
        let checked = domains::check_password(&password, rules).and_then(|()| {
            if generated {
                Ok(())
            } else {
                policy.check(&password, &context)
            }
        });
        let ready = match checked {
            Ok(()) => credentials
                .hash(&password)
                .map(|hash| Prepared {
                    password,
                    generated,
                    hash,
                })
                .map_err(|e| e.to_string()),
            Err(why) => Err(why),
        };
        prepared.insert(*line, ready);
    }
    let now = crate::clock::unix_now();
    let mut tx = conn
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .map_err(|e| AppError::Db(e.into()))?;
    let mut generated: Vec<(String, String)> = Vec::new();
    let mut added = 0;
    for (line, row) in rows {
        if row.len() != header.len() {
            problems.push(at(
                *line,
                &format!("expected {} fields, found {}", header.len(), row.len()),
            ));
            continue;
        }
        let get = |name: &str| {
            header
                .iter()
                .position(|h| h == name)
                .map_or(String::new(), |i| row[i].trim().to_string())
        };
        let expires_at = match get("expiredate") {
            e if e.is_empty() => None,
            e => match crate::clock::parse_utc(&e) {
                Some(t) => Some(t),
                None => {
                    problems.push(at(
                        *line,
                        &format!("expiredate {e:?} is not YYYY-MM-DD or YYYY-MM-DD HH:MM:SS"),
                    ));
                    continue;
                }
            },
        };
        let (reseller, profile) = (get("reseller"), get("profile"));
        // Each row in a savepoint: a bad row leaves nothing behind that a later row could
        // see (a profile it created), so every row is judged as if alone.
        let row_result = (|| -> Result<Option<(String, String)>, String> {
            let sp = tx.savepoint().map_err(|e| e.to_string())?;
            let exists =
                domains::profile_exists(&sp, &reseller, &profile).map_err(|e| e.to_string())?;
            let (password_hash, made) = if exists {
                (None, None)
            } else {
                let ready = prepared
                    .get(line)
                    .cloned()
                    .unwrap_or_else(|| Err("no password prepared".into()))?;
                let made = ready
                    .generated
                    .then(|| (profile.clone(), ready.password.clone()));
                (Some(ready.hash), made)
            };
            let contact = |prefix: &str| Contact {
                first_name: get(&format!("{prefix}_first_name")),
                last_name: get(&format!("{prefix}_last_name")),
                org_name: get("org_name"),
                email: get(&format!("{prefix}_email")),
                phone: get("phone"),
            };
            let new = NewDomain {
                domain: get("domain"),
                reseller: reseller.clone(),
                profile: profile.clone(),
                password_hash,
                contacts: [
                    contact("owner"),
                    contact("admin"),
                    contact("billing"),
                    contact("tech"),
                ],
                expires_at,
            };
            domains::add(&sp, &new, now).map_err(|e| match e {
                DomainError::Invalid(why) => why,
                DomainError::Db(e) => e.to_string(),
            })?;
            let account = format!("domain {}", new.domain.trim().to_ascii_lowercase());
            let detail = format!(
                "imported under profile {profile} of reseller {reseller} (passlink domain import)"
            );
            audit::admin(&sp, Event::DomainChanged, None, &account, &detail)
                .map_err(|e| e.to_string())?;
            sp.commit().map_err(|e| e.to_string())?;
            Ok(made)
        })();
        match row_result {
            Ok(made) => {
                added += 1;
                generated.extend(made);
            }
            Err(why) => problems.push(at(*line, &why)),
        }
    }
    if !problems.is_empty() {
        return Err(refused(&problems, file));
    }
    if !generated.is_empty() && options.passwords_file.is_none() && !options.dry_run {
        return Err(AppError::Invalid(format!(
            "{}: {} new profile(s) have no password in the file; nothing was imported. Give \
             --passwords-file PATH to have passlink generate them into that file (mode 0600), \
             or fill in the password column",
            file.display(),
            generated.len()
        )));
    }
    if options.dry_run {
        // Dropped without commit: nothing is kept.
        drop(tx);
        println!(
            "{}: {added} domain(s) would be imported ({} new profile password(s) would be \
             generated); nothing was changed (--dry-run)",
            file.display(),
            generated.len()
        );
        return Ok(());
    }
    let written = match options.passwords_file {
        Some(path) if !generated.is_empty() => {
            // Written before the commit: passwords that exist only in a rolled-back
            // transaction are harmless, profiles whose passwords were lost are not.
            write_passwords(path, &generated)?;
            Some(path)
        }
        _ => None,
    };
    if let Err(e) = tx.commit() {
        if let Some(path) = written {
            let _ = std::fs::remove_file(path);
        }
        return Err(AppError::Db(e.into()));
    }
    println!("{}: imported {added} domain(s)", file.display());
    if let Some(path) = written {
        println!(
            "{} generated profile password(s) written to {} (mode 0600): hand them over, \
             then delete the file",
            generated.len(),
            path.display()
        );
    }
    Ok(())
}

#[derive(Clone)]
struct Prepared {
    password: String,
    generated: bool,
    hash: String,
}

/// Every problem on its own line, then what happened: nothing.
fn refused(problems: &[String], file: &Path) -> AppError {
    AppError::Invalid(format!(
        "{}\n{}: {} problem(s); nothing was imported",
        problems.join("\n"),
        file.display(),
        problems.len()
    ))
}

/// `profile,password` lines in a new file that only its owner can read.
fn write_passwords(path: &Path, generated: &[(String, String)]) -> Result<(), AppError> {
    let io = |error| AppError::Io {
        what: format!(
            "writing the generated passwords to {} (it must not exist yet)",
            path.display()
        ),
        error,
    };
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(io)?;
    let mut text = String::from("profile,password\n");
    for (profile, password) in generated {
        text.push_str(&format!("{profile},{password}\n"));
    }
    file.write_all(text.as_bytes()).map_err(io)?;
    file.sync_all().map_err(io)
}
