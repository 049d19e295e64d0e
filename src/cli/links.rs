//! Reset links an operator issues, lists and ends: `passlink user reset-link`, `passlink
//! domain reset-link` and `passlink reset list|revoke`. For sites without working mail, for a
//! support desk, and to stop a link that went to the wrong place. The SQL is in
//! [`crate::reset::admin`] and [`crate::reset::issue_in`].
//!
//! A printed link is a password for whoever holds it: it goes to standard output only, once,
//! and with `--mail` not even there. Nothing is logged.

use rusqlite::Connection;

use crate::audit::{self, Event};
use crate::config::Config;
use crate::logins::Login;
use crate::reset::admin::{self, Revoked};
use crate::reset::{self, Audience, Mails, templates};
use crate::serve::AppError;
use crate::xcp::{domains, profiles, resellers};
use crate::{accounts, clock, db, mail};

/// What `reset list` and the audit trail show as having asked for a link the operator issued.
use audit::ADMIN;

/// The longest `--ttl`: a link works for whoever holds it, so one that lives for months is a
/// standing password in someone's mailbox or chat history.
const MAX_TTL_SECS: i64 = 90 * 86_400;

/// Opens the configured database: `true` for a command that must never create one (it would
/// only have nothing to show or end).
pub type Open<'a> = dyn Fn(bool) -> Result<Connection, AppError> + 'a;

/// What both `reset-link` commands take.
#[derive(Debug, Clone, clap::Args)]
pub struct LinkOptions {
    /// Mail the link (the ordinary reset mail, through the outbox) instead of printing it; a
    /// running `passlink serve` delivers it.
    #[arg(long)]
    pub mail: bool,
    /// How long the link works: 7d, 48h, 90m or 3600s, at most 90d. Default: [reset] ttl_secs.
    #[arg(long, value_name = "DURATION")]
    pub ttl: Option<String>,
}

/// Whose address a domain's link goes to (or names): one of the domain's contacts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Recipient {
    /// The owner contact.
    Owner,
    /// The admin contact.
    Admin,
}

impl Recipient {
    /// The contact role it names, as `contacts.role` stores it.
    fn role(self) -> &'static str {
        match self {
            Recipient::Owner => "owner",
            Recipient::Admin => "admin",
        }
    }
}

#[derive(Debug, clap::Subcommand)]
pub enum ResetCommand {
    /// List the pending reset links (not used, voided or expired), oldest first: id, login,
    /// account, created, expires, and who asked (the client address, or "admin"/"import").
    /// Never the link itself.
    List {
        /// Only links whose account contains this text (any case), such as an email address
        /// or a domain.
        #[arg(long, value_name = "TEXT")]
        account: Option<String>,
        /// One JSON object per line, with stable keys, instead of the table.
        #[arg(long)]
        json: bool,
    },
    /// End a pending link now, by its id from `reset list`, or every pending link whose
    /// account contains --account; the page then answers 410 for it.
    // Exactly one of the two: the group makes clap's error name both.
    #[command(group(clap::ArgGroup::new("which").required(true).args(["id", "account"])))]
    Revoke {
        /// The link's id, as `reset list` shows it.
        #[arg(value_name = "ID")]
        id: Option<i64>,
        /// End every pending link whose account contains this text (any case).
        #[arg(long, value_name = "TEXT")]
        account: Option<String>,
    },
}

/// What a link is for and where it goes.
struct Target<'a> {
    login: Login,
    /// The account as the page and the mail name it.
    account: &'a str,
    /// Where `--mail` sends it; empty when the contact has none.
    email: &'a str,
    /// Who the address belongs to when it is not the account's own ("the owner contact").
    whose: Option<&'a str>,
    /// The domain a domain link is for, which its mail and page name.
    domain: Option<&'a str>,
}

/// `passlink user reset-link USER`.
pub fn user_link(
    config: &Config,
    conn: &mut Connection,
    who: &str,
    options: &LinkOptions,
) -> Result<(), AppError> {
    let user = accounts::find_by_login(conn, who)?.ok_or_else(|| {
        AppError::NotFound(format!(
            "no user {who:?}: give a usernum or an email address (passlink user list shows \
             them)"
        ))
    })?;
    if user.disabled {
        return Err(AppError::Invalid(format!(
            "user {} ({}) is disabled, so a new password would not let them in; no link was \
             issued. Enable the user first (passlink user enable {}), then ask again",
            user.usernum(),
            user.email,
            user.usernum()
        )));
    }
    // The same name the link from mailPasswordToUser carries.
    let account = user.account();
    issue(
        config,
        conn,
        &Target {
            login: Login::XssUser(user.id),
            account: &account,
            email: &user.email,
            whose: None,
            domain: None,
        },
        options,
    )
}

/// `passlink domain reset-link DOMAIN --to owner|admin [--sub-user]`.
pub fn domain_link(
    config: &Config,
    conn: &mut Connection,
    name: &str,
    to: Recipient,
    sub_user: bool,
    options: &LinkOptions,
) -> Result<(), AppError> {
    let no_domain = || {
        AppError::NotFound(format!(
            "no domain {name:?} (passlink domain list shows them)"
        ))
    };
    let info = domains::show(conn, name)?.ok_or_else(no_domain)?;
    // `show` names the reseller; the ids of the domain and its profile come from the XCP
    // lookup, which is by reseller.
    let reseller = resellers::find(conn, &info.reseller)?.ok_or_else(no_domain)?;
    let domain =
        profiles::domain_of_reseller(conn, reseller.id, &info.name)?.ok_or_else(no_domain)?;
    let account = if sub_user {
        profiles::subuser_of(conn, domain.profile_id)?.ok_or_else(|| {
            AppError::NotFound(format!(
                "profile {} of {} has no sub-user, so there is no sub-user link to issue; \
                 leave out --sub-user for the profile's own link",
                info.profile, info.name
            ))
        })?
    } else {
        profiles::profile(conn, domain.profile_id)?.ok_or_else(no_domain)?
    };
    let role = to.role();
    let email = info
        .contacts
        .iter()
        .find(|(r, _)| r == role)
        .map(|(_, c)| c.email.trim())
        .unwrap_or_default();
    // The same name the link from XCP send_password carries.
    let label = account.label(&info.name);
    let whose = format!("the {role} contact");
    issue(
        config,
        conn,
        &Target {
            login: account.login,
            account: &label,
            email,
            whose: Some(&whose),
            domain: Some(&info.name),
        },
        options,
    )
}

/// Issues the link, and with `--mail` queues its mail in the same transaction, then says what
/// was done. Everything that can be refused is checked before anything is written.
fn issue(
    config: &Config,
    conn: &mut Connection,
    target: &Target<'_>,
    options: &LinkOptions,
) -> Result<(), AppError> {
    let ttl = ttl_secs(config, options.ttl.as_deref())?;
    let mails = if options.mail {
        Some(mail_templates(config, target)?)
    } else {
        None
    };
    let public_url = super::migrate::reset_url(config);
    let site = reset::site(config, &public_url);
    warn_if_unreachable(config, &public_url);
    let now = clock::unix_now();
    let expires_at = now.saturating_add(ttl);
    let expiry = format!("{} UTC", clock::sql_datetime(expires_at));
    let (link, queued) = db::write(conn, |tx| -> Result<_, AppError> {
        let audience = reset::audience::for_mail(tx, target.login, target.domain, &site)?
            .unwrap_or_else(|| Audience::fallback(target.login, target.account, &site));
        let issue = reset::Issue {
            login: target.login,
            account: target.account,
            expires_at,
            requester: ADMIN,
            language: audience.language,
            domain: target.domain,
        };
        let token = reset::issue_in(tx, &issue, now)?;
        let link = format!("{public_url}/reset/{token}");
        let detail = match &mails {
            Some(_) => format!(
                "by the operator, mailed to {}; expires {expiry}",
                target.email
            ),
            None => format!("by the operator, printed on the command line; expires {expiry}"),
        };
        let login = Some(target.login);
        audit::admin(tx, Event::LinkIssued, login, target.account, &detail)?;
        let queued = match &mails {
            Some(mails) => {
                let message = mails.render(&templates::Mail {
                    kind: templates::Kind::Reset,
                    audience: &audience,
                    recipient: target.email,
                    link: &link,
                    expires_at,
                    by: templates::By::Operator,
                    changed: None,
                });
                Some(mail::enqueue(tx, &message, now)?)
            }
            None => None,
        };
        Ok((link, queued))
    })?;
    match queued {
        Some(id) => {
            let whose = target.whose.map(|w| format!(" ({w})")).unwrap_or_default();
            println!(
                "reset mail for {} queued to {}{whose} as outbox message {id}; the link in it \
                 expires {expiry}",
                target.account, target.email
            );
            let delivery = if config.smtp.host.is_some() {
                "sends it over SMTP within seconds"
            } else {
                "writes it to the spool within seconds (no [smtp] host is set)"
            };
            println!(
                "the mailer of a running `passlink serve` {delivery}; `passlink outbox list` \
                 shows whether it went"
            );
        }
        None => {
            let to = match target.whose {
                None => String::new(),
                Some(whose) if target.email.is_empty() => {
                    format!(", meant for {whose}, who has no email address")
                }
                Some(whose) => format!(", meant for {whose} {}", target.email),
            };
            println!("reset link for {}{to}:", target.account);
            println!("{link}");
            println!(
                "expires {expiry}; it works once, and a newer link or a password change voids \
                 it (passlink reset revoke ends it sooner)"
            );
        }
    }
    Ok(())
}

/// The link's lifetime: `--ttl`, else `[reset] ttl_secs`.
fn ttl_secs(config: &Config, given: Option<&str>) -> Result<i64, AppError> {
    let Some(text) = given else {
        return Ok(i64::try_from(config.reset.ttl_secs.get()).unwrap_or(i64::MAX));
    };
    let secs = super::migrate::parse_ttl(text).ok_or_else(|| {
        AppError::Invalid(format!(
            "--ttl {text:?} is not a duration such as 7d, 48h, 90m or 3600s"
        ))
    })?;
    if secs > MAX_TTL_SECS {
        return Err(AppError::Invalid(format!(
            "--ttl {text}: a link may work for at most 90d (whoever holds it can set the \
             password); give a shorter one, or issue a new link later"
        )));
    }
    Ok(secs)
}

/// The reset mail's templates, once `--mail` can work for this target: mail is on and the
/// target has an address.
fn mail_templates(config: &Config, target: &Target<'_>) -> Result<Mails, AppError> {
    if !config.smtp.enabled {
        return Err(AppError::Invalid(
            "--mail: mail is turned off ([smtp] enabled = false in the config), so no link was \
             issued; leave out --mail to print the link and pass it on yourself"
                .into(),
        ));
    }
    if !target.email.contains('@') {
        return Err(AppError::Invalid(format!(
            "--mail: {} of {} has no email address, so no link was issued; leave out --mail \
             to print the link and pass it on yourself",
            target.whose.unwrap_or("the account"),
            target.account
        )));
    }
    reset::load_mails(config).map_err(|e| {
        AppError::Invalid(format!(
            "--mail: the reset mail's template cannot be used, so no link was issued: {e}"
        ))
    })
}

/// A link naming port 0 (a listener whose port is chosen when `serve` starts) reaches no one;
/// say so on standard error rather than hand out a dead link silently.
fn warn_if_unreachable(config: &Config, public_url: &str) {
    if config.server.public_url.is_none() && public_url.ends_with(":0") {
        eprintln!(
            "passlink: warning: the link names {public_url}, a listener whose port is chosen \
             only when `passlink serve` starts; set [server] public_url to the address users \
             reach passlink at"
        );
    }
}

/// `passlink reset list|revoke`.
pub fn reset(open: &Open<'_>, command: ResetCommand) -> Result<(), AppError> {
    // Both only read or end what exists: neither creates a database.
    let mut conn = open(true)?;
    let now = clock::unix_now();
    match command {
        ResetCommand::List { account, json } => {
            let links = admin::pending(&conn, account.as_deref(), now)?;
            if json {
                for link in &links {
                    println!("{}", link_json(link));
                }
                return Ok(());
            }
            if links.is_empty() {
                println!("no pending links");
                return Ok(());
            }
            println!(
                "{:>6}  {:<14} {:<20} {:<20} {:<15} ACCOUNT",
                "ID", "LOGIN", "CREATED", "EXPIRES", "REQUESTED BY"
            );
            for link in &links {
                println!(
                    "{:>6}  {:<14} {:<20} {:<20} {:<15} {}",
                    link.id,
                    link.login.to_string(),
                    clock::rfc3339(link.created_at),
                    clock::rfc3339(link.expires_at),
                    link.requested_by,
                    link.account
                );
            }
        }
        ResetCommand::Revoke { id: Some(id), .. } => {
            let revoked = db::write(&mut conn, |tx| -> rusqlite::Result<Revoked> {
                let revoked = admin::revoke(tx, id, now)?;
                if let Revoked::Ended(link) = &revoked {
                    audit_revoked(tx, link)?;
                }
                Ok(revoked)
            })?;
            match revoked {
                Revoked::Ended(link) => {
                    println!("revoked 1 link: {id}");
                    print_revoked(&link);
                }
                Revoked::NotPending => {
                    return Err(AppError::NotFound(format!(
                        "link {id} is no longer pending (used, voided by a newer link, or \
                         expired), so there is nothing to revoke; passlink reset list shows \
                         the pending ones"
                    )));
                }
                Revoked::Unknown => {
                    return Err(AppError::NotFound(format!(
                        "no link {id}; passlink reset list shows the pending ones and their ids"
                    )));
                }
            }
        }
        ResetCommand::Revoke {
            id: None,
            account: Some(filter),
        } => {
            // An empty filter would match every account: a typo must not end every link.
            if filter.trim().is_empty() {
                return Err(AppError::Invalid(
                    "--account is empty, which would match every link; give part of the \
                     account (an email address, a domain)"
                        .into(),
                ));
            }
            let ended = db::write(&mut conn, |tx| -> rusqlite::Result<Vec<admin::Pending>> {
                let ended = admin::revoke_matching(tx, &filter, now)?;
                for link in &ended {
                    audit_revoked(tx, link)?;
                }
                Ok(ended)
            })?;
            if ended.is_empty() {
                return Err(AppError::NotFound(format!(
                    "no pending link's account contains {filter:?}; nothing was revoked \
                     (passlink reset list shows the pending ones)"
                )));
            }
            let ids: Vec<String> = ended.iter().map(|l| l.id.to_string()).collect();
            println!("revoked {} link(s): {}", ended.len(), ids.join(", "));
            for link in &ended {
                print_revoked(link);
            }
        }
        ResetCommand::Revoke {
            id: None,
            account: None,
        } => {
            // clap requires one of them; this answers anyway rather than panic.
            return Err(AppError::Invalid(
                "give the link's ID or --account TEXT (passlink reset list shows them)".into(),
            ));
        }
    }
    Ok(())
}

/// The audit trail's record of a link the operator ended.
fn audit_revoked(tx: &Connection, link: &admin::Pending) -> rusqlite::Result<()> {
    let detail = format!(
        "link {} (requested by {} at {}) revoked with passlink reset revoke",
        link.id,
        link.requested_by,
        clock::rfc3339(link.created_at)
    );
    audit::admin(
        tx,
        Event::LinkRevoked,
        Some(link.login),
        &link.account,
        &detail,
    )
}

fn print_revoked(link: &admin::Pending) {
    println!(
        "  {:>6}  {:<14} {}  (requested by {})",
        link.id,
        link.login.to_string(),
        link.account,
        link.requested_by
    );
}

/// One line of `reset list --json`: the keys stay the same from release to release.
fn link_json(link: &admin::Pending) -> serde_json::Value {
    serde_json::json!({
        "id": link.id,
        "login_kind": link.login.kind(),
        "login_id": link.login.id(),
        "account": link.account,
        "created_at": clock::rfc3339(link.created_at),
        "expires_at": clock::rfc3339(link.expires_at),
        "requested_by": link.requested_by,
    })
}
