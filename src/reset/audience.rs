//! Who a reset mail or page speaks to, in the terms that person knows: the account by its email
//! address or domain (never "xmlStorageSystem user 0000001", which only the operator's views
//! show), the site by its name and address (the community's, or for a domain its reseller's
//! brand), the language the login chose, and the reseller's brand.

use rusqlite::Connection;

use crate::accounts;
use crate::i18n::Lang;
use crate::logins::Login;
use crate::xcp::{profiles, resellers};

/// The server's own name and address: `[xmlstorage] community_name` (what
/// `getServerCapabilities` answers) and the public URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Site {
    pub name: String,
    pub url: String,
}

/// A reseller's brand as mails and pages use it.
#[derive(Debug, Clone)]
pub struct Brand {
    pub reseller_id: i64,
    /// The name the mails come from ("Acme Domains"), if the reseller set one.
    pub name: Option<String>,
    pub mail_from: Option<String>,
    pub support: Option<String>,
    /// Checked `#rrggbb`: nothing else reaches a style sheet.
    pub accent: Option<String>,
    /// Its own mail templates, by file name, each with its language ("reset.de.txt":
    /// `passlink reseller brand` stores them so). Read only for a mail, and only when it has
    /// some.
    pub templates: Vec<(String, String)>,
    pub has_templates: bool,
}

/// The person a mail or page is for.
#[derive(Debug, Clone)]
pub struct Audience {
    pub login: Login,
    /// The account as its owner knows it: "max@example.org", "example.com", or for a sub-user
    /// its name and domain (see [`Audience::account_text`]).
    pub account: Account,
    /// The site's name: the community's, or the reseller's brand (its username if it set none).
    pub site: String,
    pub url: String,
    /// The language the login chose on a page, else its reseller's; `None`: the server's.
    pub language: Option<Lang>,
    pub brand: Option<Brand>,
}

/// An account's name, by kind: a sub-user's is worded per language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Account {
    Email(String),
    Domain(String),
    SubUser { username: String, domain: String },
}

impl Audience {
    /// Where to ask for help: the reseller's support address or page, if it gave one.
    pub fn support(&self) -> Option<&str> {
        self.brand.as_ref().and_then(|b| b.support.as_deref())
    }

    /// The language of this person's mails: theirs, else `default` (the server's).
    pub fn mail_language(&self, default: Lang) -> Lang {
        self.language.unwrap_or(default)
    }
}

impl Audience {
    /// For a login whose rows are gone by the time its mail is written: the server's site and
    /// language, and the account as the caller named it.
    pub fn fallback(login: Login, account: &str, site: &Site) -> Audience {
        Audience {
            login,
            account: Account::Email(account.to_string()),
            site: site.name.clone(),
            url: site.url.clone(),
            language: None,
            brand: None,
        }
    }
}

/// Whether `text` is `#rrggbb`.
pub fn is_colour(text: &str) -> bool {
    text.len() == 7 && text.starts_with('#') && text.bytes().skip(1).all(|b| b.is_ascii_hexdigit())
}

/// The audience of `login`; `domain` is the domain an XCP request named (else the profile's
/// first). `None` if the login is gone.
pub fn of(
    conn: &Connection,
    login: Login,
    domain: Option<&str>,
    site: &Site,
) -> rusqlite::Result<Option<Audience>> {
    match login {
        Login::XssUser(id) => {
            let Some((email, language)) = accounts::facing(conn, id)? else {
                return Ok(None);
            };
            let language = language.as_deref().and_then(Lang::exactly);
            Ok(Some(Audience {
                login,
                account: Account::Email(email),
                site: site.name.clone(),
                url: site.url.clone(),
                language,
                brand: None,
            }))
        }
        Login::Profile(_) | Login::SubUser(_) => {
            let Some(facing) = profiles::facing(conn, login)? else {
                return Ok(None);
            };
            let brand = resellers::brand(conn, facing.reseller_id)?;
            let domain = domain
                .map(str::to_string)
                .or(facing.first_domain)
                .unwrap_or_default();
            let account = match login {
                Login::SubUser(_) => Account::SubUser {
                    username: facing.username,
                    domain,
                },
                _ => Account::Domain(domain),
            };
            let language = facing
                .language
                .as_deref()
                .and_then(Lang::exactly)
                .or_else(|| brand.language.as_deref().and_then(Lang::exactly));
            // A reseller that set no name: the server's own name, not its API username, which
            // its customers never saw.
            let site_name = brand.name.clone().unwrap_or_else(|| site.name.clone());
            Ok(Some(Audience {
                login,
                account,
                site: site_name,
                url: site.url.clone(),
                language,
                brand: Some(Brand {
                    reseller_id: facing.reseller_id,
                    name: brand.name.clone(),
                    mail_from: brand.mail_from,
                    support: brand.support,
                    accent: brand.accent.filter(|a| is_colour(a)),
                    // Read by [`for_mail`]: a page needs none.
                    templates: Vec::new(),
                    has_templates: brand.has_templates,
                }),
            }))
        }
    }
}

/// [`of`], with the reseller's own mail texts, for writing a mail.
pub fn for_mail(
    conn: &Connection,
    login: Login,
    domain: Option<&str>,
    site: &Site,
) -> rusqlite::Result<Option<Audience>> {
    let mut audience = of(conn, login, domain, site)?;
    if let Some(brand) = audience
        .as_mut()
        .and_then(|a| a.brand.as_mut())
        .filter(|b| b.has_templates)
    {
        brand.templates = resellers::templates(conn, brand.reseller_id)?;
    }
    Ok(audience)
}

/// Remembers the language the owner of `login` chose on a page, for its mails.
pub fn remember_language(conn: &Connection, login: Login, lang: Lang) -> rusqlite::Result<()> {
    match login {
        Login::XssUser(id) => accounts::set_language(conn, id, lang.tag()),
        Login::Profile(_) | Login::SubUser(_) => profiles::set_language(conn, login, lang.tag()),
    }
}
