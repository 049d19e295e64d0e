//! `passlink reseller brand`: what a reseller's customers see on reset mails and pages in
//! place of the server's name and English (its name, From: address, support address or page,
//! accent colour, language and own mail texts). Every part is checked here before anything is
//! stored; the rows are [`crate::xcp::resellers`]'s.

use crate::audit::{self, Event};
use crate::db;
use crate::i18n::Lang;
use crate::reset::audience::is_colour;
use crate::reset::templates::{self, TemplateError, check_named};
use crate::serve::AppError;
use crate::xcp::resellers::{self, Brand};

/// A template file a reseller's text may come from is read whole; this bounds it.
const MAX_TEMPLATE_BYTES: u64 = 64 * 1024;

#[derive(Debug, Clone, clap::Args)]
pub struct BrandArgs {
    /// The reseller's username.
    pub name: String,
    /// The name its customers know it by ("Acme Domains"): the site's name on pages and
    /// mails, and the mails' From: name.
    #[arg(long = "display-name", value_name = "TEXT")]
    pub display_name: Option<String>,
    /// The mails' From: address (the SMTP envelope sender stays [smtp] from). Only when the
    /// mail server may send for its domain (SPF, DKIM): otherwise receivers that check DMARC
    /// reject the mails. Without it mails come from "NAME" <[smtp] from>.
    #[arg(long = "from", value_name = "ADDRESS")]
    pub from: Option<String>,
    /// An address or https:// page for questions, shown on pages and in mails (an address is
    /// also the mails' Reply-To:).
    #[arg(long, value_name = "ADDRESS|URL")]
    pub support: Option<String>,
    /// The pages' accent colour, #rrggbb; dark enough for white text on it (contrast 4.5:1).
    #[arg(long, value_name = "#RRGGBB")]
    pub accent: Option<String>,
    /// The language of mails to its customers who never chose one on a page: en, de, fr, es,
    /// pt-BR or ja.
    #[arg(long, value_name = "TAG")]
    pub language: Option<String>,
    /// Its own text for a mail, checked like [reset] templates_dir's files: NAME is reset,
    /// changed or moved, an optional language and .txt or .html (reset.de.txt=./acme-de.txt).
    /// Repeatable.
    #[arg(long = "template", value_name = "NAME=FILE")]
    pub template: Vec<String>,
    /// Removes one of its mail texts by NAME (reset.de.txt). Repeatable.
    #[arg(long = "remove-template", value_name = "NAME")]
    pub remove_template: Vec<String>,
    /// Unsets parts: display-name, from, support, accent, language. Repeatable or
    /// comma-separated.
    #[arg(long, value_name = "PART", value_delimiter = ',')]
    pub clear: Vec<String>,
}

fn invalid(message: String) -> AppError {
    AppError::Invalid(message)
}

/// Printable text without line breaks or markup-breaking quotes, at most `max` characters.
fn plain(option: &str, text: &str, max: usize) -> Result<String, AppError> {
    let text = text.trim();
    if text.is_empty() || text.chars().count() > max {
        return Err(invalid(format!(
            "{option} {text:?}: give 1 to {max} characters"
        )));
    }
    if text
        .chars()
        .any(|c| c.is_control() || invisible(c) || "\"<>".contains(c))
    {
        return Err(invalid(format!(
            "{option} {text:?}: no line breaks, control or invisible characters (such as \
             direction marks), quotes or angle brackets"
        )));
    }
    Ok(text.to_string())
}

/// Characters that change how text around them reads without being seen (zero-width, bidi
/// controls) or that mean nothing outside an application (private use): a display name with
/// U+202E could make "Acme" read as something else.
fn invisible(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{061C}' | '\u{180E}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{206F}' | '\u{FEFF}' | '\u{FFF9}'..='\u{FFFB}'
        | '\u{E000}'..='\u{F8FF}' | '\u{F0000}'..='\u{10FFFF}')
}

/// A bare mail address: `local@domain.tld`.
fn is_address(text: &str) -> bool {
    match text.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && text
                    .chars()
                    .all(|c| c.is_ascii_graphic() && !"<>\"(),;:[]\\@".contains(c) || c == '@')
                && text.matches('@').count() == 1
        }
        None => false,
    }
}

/// The contrast of `#rrggbb` with white (WCAG 2: 1 to 21).
pub fn contrast_with_white(colour: &str) -> f64 {
    let channel = |i: usize| {
        let v = f64::from(u8::from_str_radix(&colour[i..i + 2], 16).unwrap_or(0)) / 255.0;
        if v <= 0.03928 {
            v / 12.92
        } else {
            ((v + 0.055) / 1.055).powf(2.4)
        }
    };
    let luminance = 0.2126 * channel(1) + 0.7152 * channel(3) + 0.0722 * channel(5);
    1.05 / (luminance + 0.05)
}

/// The brand with `args` applied, checked.
fn apply(mut brand: Brand, args: &BrandArgs) -> Result<Brand, AppError> {
    for part in &args.clear {
        match part.trim() {
            "display-name" => brand.name = None,
            "from" => brand.mail_from = None,
            "support" => brand.support = None,
            "accent" => brand.accent = None,
            "language" => brand.language = None,
            other => {
                return Err(invalid(format!(
                    "--clear {other:?}: the parts are display-name, from, support, accent and \
                     language"
                )));
            }
        }
    }
    if let Some(name) = &args.display_name {
        brand.name = Some(plain("--display-name", name, 64)?);
    }
    if let Some(from) = &args.from {
        let from = from.trim();
        if !is_address(from) {
            return Err(invalid(format!(
                "--from {from:?} is not a mail address such as passwords@acme.example"
            )));
        }
        brand.mail_from = Some(from.to_string());
    }
    if let Some(support) = &args.support {
        let support = plain("--support", support, 200)?;
        if !(is_address(&support) || support.starts_with("https://") && support.len() > 8) {
            return Err(invalid(format!(
                "--support {support:?} is neither a mail address nor an https:// page"
            )));
        }
        brand.support = Some(support);
    }
    if let Some(accent) = &args.accent {
        let accent = accent.trim().to_ascii_lowercase();
        if !is_colour(&accent) {
            return Err(invalid(format!(
                "--accent {accent:?} is not a colour written #rrggbb (such as #0b5394)"
            )));
        }
        let contrast = contrast_with_white(&accent);
        if contrast < 4.5 {
            return Err(invalid(format!(
                "--accent {accent}: white button text on it has a contrast of {contrast:.1}:1, \
                 under the 4.5:1 readers need (WCAG 2 AA); choose a darker shade"
            )));
        }
        brand.accent = Some(accent);
    }
    if let Some(language) = &args.language {
        let lang = Lang::exactly(language).ok_or_else(|| {
            invalid(format!(
                "--language {language:?} is not a shipped language; the languages are {}",
                Lang::tags().join(", ")
            ))
        })?;
        brand.language = Some(lang.tag().to_string());
    }
    Ok(brand)
}

/// [`templates::stored_name`], its refusal naming the option.
fn stored_name(option: &str, name: &str, home: Lang) -> Result<String, AppError> {
    templates::stored_name(name, home).map_err(|why| invalid(format!("{option} {name:?}: {why}")))
}

/// `--template NAME=FILE`s read and checked, under their stored names.
fn read_templates(given: &[String], home: Lang) -> Result<Vec<(String, String)>, AppError> {
    let mut out = Vec::new();
    for item in given {
        let Some((name, path)) = item.split_once('=') else {
            return Err(invalid(format!(
                "--template {item:?}: write NAME=FILE, such as reset.de.txt=./acme-reset-de.txt"
            )));
        };
        let name = stored_name("--template", name, home)?;
        let name = name.as_str();
        let path = std::path::Path::new(path);
        let cannot =
            |e: std::io::Error| invalid(format!("--template {name}: {}: {e}", path.display()));
        // Read through a bound, so that a FIFO or a device cannot feed it without end.
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(
            &mut std::io::Read::take(
                std::fs::File::open(path).map_err(cannot)?,
                MAX_TEMPLATE_BYTES + 1,
            ),
            &mut bytes,
        )
        .map_err(cannot)?;
        if bytes.len() as u64 > MAX_TEMPLATE_BYTES {
            return Err(invalid(format!(
                "--template {name}: {} is larger than {} KiB, too long for a mail text",
                path.display(),
                MAX_TEMPLATE_BYTES / 1024
            )));
        }
        let text = String::from_utf8(bytes).map_err(|_| {
            invalid(format!(
                "--template {name}: {} is not UTF-8; save it as UTF-8",
                path.display()
            ))
        })?;
        check_named(name, &text).map_err(|e| {
            let why = match e {
                TemplateError::Invalid { line, message, .. } => format!("line {line}: {message}"),
                TemplateError::Read { error, .. } => error.to_string(),
            };
            invalid(format!("--template {name}={}: {why}", path.display()))
        })?;
        out.push((name.to_string(), text));
    }
    Ok(out)
}

fn changes(args: &BrandArgs) -> bool {
    args.display_name.is_some()
        || args.from.is_some()
        || args.support.is_some()
        || args.accent.is_some()
        || args.language.is_some()
        || !args.template.is_empty()
        || !args.remove_template.is_empty()
        || !args.clear.is_empty()
}

/// `passlink reseller brand NAME …`: applies the changes, or with none prints the brand.
pub fn run(
    conn: &mut rusqlite::Connection,
    args: &BrandArgs,
    server_language: &str,
) -> Result<(), AppError> {
    let db_err = |e: rusqlite::Error| AppError::Db(e.into());
    let name = &args.name;
    let reseller = resellers::find(conn, name)
        .map_err(db_err)?
        .ok_or_else(|| AppError::NotFound(format!("no reseller {name:?}")))?;
    if !changes(args) {
        print(conn, reseller.id)?;
        return Ok(());
    }
    let brand = apply(resellers::brand(conn, reseller.id).map_err(db_err)?, args)?;
    // Texts without a language are in the reseller's (else the server's).
    let home = brand
        .language
        .as_deref()
        .or(Some(server_language))
        .and_then(Lang::exactly)
        .unwrap_or(Lang::ENGLISH);
    let templates = read_templates(&args.template, home)?;
    let removed: Vec<String> = args
        .remove_template
        .iter()
        .map(|n| stored_name("--remove-template", n.trim(), home))
        .collect::<Result<_, _>>()?;
    let stored: Vec<String> = resellers::templates(conn, reseller.id)
        .map_err(db_err)?
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    if let Some(missing) = removed.iter().find(|n| !stored.contains(n)) {
        return Err(AppError::NotFound(format!(
            "--remove-template {missing}: reseller {name} has no such mail text (it has: {}); \
             nothing was changed",
            if stored.is_empty() {
                "none".to_string()
            } else {
                stored.join(", ")
            }
        )));
    }
    let detail = describe(args);
    db::write(conn, |tx| -> rusqlite::Result<()> {
        resellers::set_brand(tx, name, &brand)?;
        for (template, text) in &templates {
            resellers::set_template(tx, reseller.id, template, Some(text))?;
        }
        for template in &removed {
            resellers::set_template(tx, reseller.id, template, None)?;
        }
        let account = format!("reseller {name}");
        audit::admin(tx, Event::ResellerChanged, None, &account, &detail)
    })
    .map_err(db_err)?;
    for (template, _) in &templates {
        println!("reseller {name}: mail text {template} stored");
    }
    println!("reseller {name}: brand updated");
    if args.from.is_some() {
        eprintln!(
            "passlink: note: mails to {name}'s customers now say From: {}, but leave through \
             this server's SMTP relay. Receivers that check DMARC reject them unless that relay \
             may send for the address's domain (SPF, DKIM); if it may not, run `passlink \
             reseller brand {name} --clear from` (mails then come from \"NAME\" <[smtp] from> \
             with Reply-To: the support address)",
            brand.mail_from.as_deref().unwrap_or("")
        );
    }
    print(conn, reseller.id)?;
    Ok(())
}

/// What changed, for the audit trail (names of parts and templates, not their text).
fn describe(args: &BrandArgs) -> String {
    let mut parts = Vec::new();
    for (set, part) in [
        (args.display_name.is_some(), "display-name"),
        (args.from.is_some(), "from"),
        (args.support.is_some(), "support"),
        (args.accent.is_some(), "accent"),
        (args.language.is_some(), "language"),
    ] {
        if set {
            parts.push(format!("{part} set"));
        }
    }
    for part in &args.clear {
        parts.push(format!("{} cleared", part.trim()));
    }
    for item in &args.template {
        parts.push(format!(
            "template {} set",
            item.split_once('=').map_or(item.as_str(), |(n, _)| n)
        ));
    }
    for name in &args.remove_template {
        parts.push(format!("template {} removed", name.trim()));
    }
    format!("brand: {}", parts.join(", "))
}

/// The names of reseller `id`'s own mail texts.
pub fn template_names(conn: &rusqlite::Connection, id: i64) -> Result<Vec<String>, AppError> {
    Ok(resellers::templates(conn, id)
        .map_err(|e| AppError::Db(e.into()))?
        .into_iter()
        .map(|(name, _)| name)
        .collect())
}

/// The brand as `reseller show` and `reseller brand` print it, a line per part.
pub fn print(conn: &rusqlite::Connection, id: i64) -> Result<(), AppError> {
    let brand = resellers::brand(conn, id).map_err(|e| AppError::Db(e.into()))?;
    for (label, value) in lines(brand, &template_names(conn, id)?) {
        println!("{:<13}{value}", format!("{label}:"));
    }
    Ok(())
}

fn lines(brand: Brand, templates: &[String]) -> [(&'static str, String); 6] {
    let unset = || "(not set)".to_string();
    [
        ("brand name", brand.name.unwrap_or_else(unset)),
        (
            "mail from",
            brand
                .mail_from
                .unwrap_or_else(|| "(not set: [smtp] from)".into()),
        ),
        ("support", brand.support.unwrap_or_else(unset)),
        ("accent", brand.accent.unwrap_or_else(unset)),
        (
            "language",
            brand
                .language
                .unwrap_or_else(|| "(not set: [reset] language)".into()),
        ),
        (
            "mail texts",
            if templates.is_empty() {
                "(built in)".into()
            } else {
                templates.join(", ")
            },
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contrast_is_wcag_s() {
        assert!((contrast_with_white("#ffffff") - 1.0).abs() < 0.01);
        assert!((contrast_with_white("#000000") - 21.0).abs() < 0.01);
        // The house blue passes; a light yellow does not.
        assert!(contrast_with_white("#1d4ed8") > 4.5);
        assert!(contrast_with_white("#ffd700") < 4.5);
    }

    #[test]
    fn addresses_and_pages_are_told_apart() {
        assert!(is_address("help@acme.example"));
        assert!(!is_address("help@acme"));
        assert!(!is_address("Acme <help@acme.example>"));
        assert!(!is_address("a@b@c.example"));
        let args = |support: &str| BrandArgs {
            name: "acme".into(),
            display_name: None,
            from: None,
            support: Some(support.into()),
            accent: None,
            language: None,
            template: vec![],
            remove_template: vec![],
            clear: vec![],
        };
        assert!(apply(Brand::default(), &args("https://acme.example/help")).is_ok());
        assert!(apply(Brand::default(), &args("http://acme.example/help")).is_err());
        assert!(apply(Brand::default(), &args("javascript:alert(1)")).is_err());
    }
}
