//! PyCS, the Python Community Server: its `pycs_users` table as PostgreSQL's `psql \copy`
//! writes it, its `www/users/NNNNNNN/` folders, and the `[aliases]` of its `pycs.conf`.
//!
//! PyCS stored the MD5 hex the client sends as the password, verbatim, so every account comes
//! over with its password intact. Usernums are kept, and file names are kept as they are on
//! disk: PyCS "munged" them (`my file.html` is `my@20file.html`) and published URLs with the
//! munged names.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::mpsc::SyncSender;

use super::table::{Row, Table};
use super::{MigrateError, Read, Refused, SourceUser, email_digest};
use crate::{accounts, clock, redirects};

pub const REQUIRED: [&str; 5] = ["usernum", "email", "password", "name", "disabled"];

/// What `pycs.conf` adds: the server's old URL and the aliases of its `[aliases]` section.
#[derive(Debug, Default)]
pub struct Conf {
    pub serverurl: Option<String>,
    /// Usernum to alias.
    pub aliases: HashMap<i64, Vec<String>>,
}

/// Reads the parts of `pycs.conf` (Python's ConfigParser format) an import needs.
pub fn read_conf(path: &Path) -> Result<Conf, MigrateError> {
    let text = std::fs::read(path).map_err(|error| MigrateError::Io {
        what: format!("cannot read {}", path.display()),
        error,
    })?;
    let text = String::from_utf8(text)
        .unwrap_or_else(|e| e.into_bytes().iter().map(|&b| char::from(b)).collect());
    let mut conf = Conf::default();
    let mut section = String::new();
    for (n, line) in text.lines().enumerate() {
        let trimmed = line.trim();
        if trimmed.is_empty()
            || trimmed.starts_with('#')
            || trimmed.starts_with(';')
            || line.starts_with([' ', '\t'])
        {
            continue;
        }
        if let Some(name) = trimmed.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
            section = name.trim().to_ascii_lowercase();
            continue;
        }
        let Some((key, value)) = trimmed.split_once(['=', ':']) else {
            return Err(MigrateError::Data(format!(
                "{}:{}: not `key = value`: {trimmed:?}",
                path.display(),
                n + 1
            )));
        };
        let (key, value) = (key.trim().to_ascii_lowercase(), value.trim().to_string());
        match section.as_str() {
            "main" if key == "serverurl" => conf.serverurl = Some(value),
            "aliases" => {
                let Ok(usernum) = key.parse::<i64>() else {
                    return Err(MigrateError::Data(format!(
                        "{}:{}: [aliases] key {key:?} is not a usernum",
                        path.display(),
                        n + 1
                    )));
                };
                conf.aliases.entry(usernum).or_default().push(value);
            }
            _ => {}
        }
    }
    Ok(conf)
}

/// The columns of the export, by index.
struct Columns {
    usernum: usize,
    email: usize,
    password: usize,
    name: usize,
    disabled: usize,
    alias: Option<usize>,
    flmanila: Option<usize>,
    membersince: Option<usize>,
    weblogtitle: Option<usize>,
}

/// Reads the export and hands each user on. `www` is PyCS's `www` folder.
pub fn read(
    users_csv: &Path,
    www: &Path,
    conf: &Conf,
    out: &SyncSender<Read>,
) -> Result<(), MigrateError> {
    let mut table = Table::open(users_csv)?;
    let required = table.require(&REQUIRED)?;
    let columns = Columns {
        usernum: required[0],
        email: required[1],
        password: required[2],
        name: required[3],
        disabled: required[4],
        alias: table.column("alias"),
        flmanila: table.column("flmanila"),
        membersince: table.column("membersince"),
        weblogtitle: table.column("weblogtitle"),
    };
    let users_dir = www.join("users");
    let mut emails: HashMap<[u8; 16], u64> = HashMap::new();
    let mut usernums: HashMap<i64, u64> = HashMap::new();
    let path = table.path().to_path_buf();
    while let Some(row) = table.next_row() {
        let row = row?;
        let at = format!("{}:{}", path.display(), row.line);
        if !row.latin1.is_empty() {
            send(
                out,
                Read::Warning(format!(
                    "{at}: {} not UTF-8; read as Latin-1",
                    row.latin1.join(", ")
                )),
            )?;
        }
        let item = match user(
            &row,
            &columns,
            &at,
            &users_dir,
            conf,
            &mut emails,
            &mut usernums,
        ) {
            Ok((user, warnings)) => {
                for w in warnings {
                    send(out, Read::Warning(w))?;
                }
                Read::User(Box::new(user))
            }
            Err(refused) => Read::Refused(refused),
        };
        send(out, item)?;
    }
    // Folders with no user in the export: their files would have no owner.
    if let Ok(dir) = std::fs::read_dir(&users_dir) {
        for entry in dir.flatten() {
            let name = entry.file_name().to_string_lossy().to_string();
            let known = name.parse::<i64>().is_ok_and(|n| usernums.contains_key(&n));
            if !known {
                send(
                    out,
                    Read::Warning(format!(
                        "{}: no user {name} imported from {}; its files were not imported",
                        entry.path().display(),
                        path.display()
                    )),
                )?;
            }
        }
    } else {
        send(
            out,
            Read::Warning(format!(
                "{}: no such folder; no files were imported (is --www PyCS's www folder?)",
                users_dir.display()
            )),
        )?;
    }
    Ok(())
}

fn send(out: &SyncSender<Read>, item: Read) -> Result<(), MigrateError> {
    // The receiving side stops early only after a failure it reports itself.
    let _ = out.send(item);
    Ok(())
}

/// PostgreSQL writes a boolean as `t`/`f`, PyCS's INT columns as digits.
fn flag(text: &str) -> Option<bool> {
    match text.to_ascii_lowercase().as_str() {
        "" | "0" | "f" | "false" | "n" | "no" => Some(false),
        "t" | "true" | "y" | "yes" => Some(true),
        other => other.parse::<i64>().ok().map(|n| n != 0),
    }
}

#[allow(clippy::too_many_arguments)]
fn user(
    row: &Row,
    c: &Columns,
    at: &str,
    users_dir: &Path,
    conf: &Conf,
    emails: &mut HashMap<[u8; 16], u64>,
    usernums: &mut HashMap<i64, u64>,
) -> Result<(SourceUser, Vec<String>), Refused> {
    let email = row.get(Some(c.email)).to_string();
    let refuse = |why: String| Refused {
        at: at.to_string(),
        what: if email.is_empty() {
            "a user".into()
        } else {
            email.clone()
        },
        why,
    };
    let raw_num = row.get(Some(c.usernum));
    let usernum = raw_num
        .parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| refuse(format!("usernum {raw_num:?} is not a positive number")))?;
    if let Some(first) = usernums.get(&usernum) {
        return Err(refuse(format!(
            "usernum {} again (first on line {first}); PyCS kept the first",
            accounts::format_usernum(usernum)
        )));
    }
    if email.is_empty() || !email.contains('@') {
        return Err(refuse(format!(
            "email {email:?} is not an address: the account could never sign in by email nor \
             get a reset link"
        )));
    }
    let digest = email_digest(&email);
    if let Some(first) = emails.get(&digest) {
        return Err(refuse(format!(
            "the email is already used on line {first}; PyCS found the first account by email, \
             so that one is kept"
        )));
    }
    emails.insert(digest, row.line);
    usernums.insert(usernum, row.line);
    let password = row.get(Some(c.password));
    let (credential, no_password) =
        if password.len() == 32 && password.bytes().all(|b| b.is_ascii_hexdigit()) {
            (Some(password.to_ascii_lowercase()), None)
        } else if password.is_empty() {
            (None, Some("no password in the export".to_string()))
        } else {
            (
                None,
                Some(format!(
                    "the stored password is not an MD5 hex ({} characters)",
                    password.chars().count()
                )),
            )
        };
    let disabled = flag(row.get(Some(c.disabled))).ok_or_else(|| {
        refuse(format!(
            "disabled {:?} is not 0/1 or t/f",
            row.get(Some(c.disabled))
        ))
    })?;
    let mut warnings = Vec::new();
    let membersince = row.get(c.membersince);
    // psql writes `2003-04-05 06:07:08.123456` (and `+00` with a time zone); the seconds do.
    let created_at = if membersince.is_empty() {
        None
    } else {
        let trimmed = membersince.get(..19).unwrap_or(membersince);
        let parsed = clock::parse_utc(trimmed);
        if parsed.is_none() {
            warnings.push(format!(
                "{at}: membersince {membersince:?} is not a date; the import time is used"
            ));
        }
        parsed
    };
    let mut aliases: Vec<String> = Vec::new();
    let alias = row.get(c.alias);
    if !alias.is_empty() {
        aliases.push(alias.to_string());
        if flag(row.get(c.flmanila)) == Some(true) {
            warnings.push(format!(
                "{at}: {email}'s alias {alias:?} was a host name on PyCS ({alias}.<host>); \
                 passlink redirects the path /{alias}/ only"
            ));
        }
    }
    for extra in conf.aliases.get(&usernum).into_iter().flatten() {
        if !aliases.contains(extra) {
            aliases.push(extra.clone());
        }
    }
    let mut redirects = Vec::new();
    for alias in aliases {
        let alias = alias.trim_matches('/').to_string();
        match redirects::check_prefix(&alias) {
            Ok(()) => redirects.push(alias),
            Err(why) => warnings.push(format!("{at}: alias not redirected: {why}")),
        }
    }
    let folder: PathBuf = users_dir.join(accounts::format_usernum(usernum));
    Ok((
        SourceUser {
            at: at.to_string(),
            usernum: Some(usernum),
            email,
            name: row.get(Some(c.name)).to_string(),
            credential,
            no_password,
            disabled,
            weblog_title: row.get(c.weblogtitle).to_string(),
            created_at,
            redirects,
            files: Some(folder),
            quota: None,
        },
        warnings,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_conf_gives_the_server_url_and_aliases() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pycs.conf");
        std::fs::write(
            &path,
            "# PyCS\n[main]\nserverurl = http://old.example/\nmaxusernum: 10\n\n[aliases]\n0000001 = alice\n2 = bob\n",
        )
        .unwrap();
        let conf = read_conf(&path).unwrap();
        assert_eq!(conf.serverurl.as_deref(), Some("http://old.example/"));
        assert_eq!(conf.aliases[&1], ["alice"]);
        assert_eq!(conf.aliases[&2], ["bob"]);
        std::fs::write(&path, "[aliases]\nx = alice\n").unwrap();
        let e = read_conf(&path).unwrap_err().to_string();
        assert!(
            e.ends_with("pycs.conf:2: [aliases] key \"x\" is not a usernum"),
            "{e}"
        );
    }

    #[test]
    fn flags_as_postgresql_and_pycs_write_them() {
        assert_eq!(flag("t"), Some(true));
        assert_eq!(flag("0"), Some(false));
        assert_eq!(flag(""), Some(false));
        assert_eq!(flag("2"), Some(true));
        assert_eq!(flag("maybe"), None);
    }
}
