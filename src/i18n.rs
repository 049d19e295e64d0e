//! The languages of what users read: the reset page, and later its mails. Messages come from
//! Fluent catalogues embedded in the binary (`src/i18n/<tag>.ftl`), by stable id; English is
//! complete and every other catalogue is checked against it (`tests` below). A page follows
//! the browser's `Accept-Language` (quality values honoured, `de-AT` falling back to `de`),
//! or a language the user picked (`?lang=`).
//!
//! Fluent's own parser of `Accept-Language` ignores quality values, so the header is read here
//! ([`accepted`]); Fluent's bidi isolation marks are turned off, since pages set `dir` on the
//! document and mails are plain text.

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};
use unic_langid::LanguageIdentifier;

/// A shipped language: its tag, its name in itself (for the switch), and its catalogue.
struct Shipped {
    tag: &'static str,
    autonym: &'static str,
    /// `ltr` or `rtl`, for the page's `dir`.
    dir: &'static str,
    source: &'static str,
}

const SHIPPED: [Shipped; 6] = [
    Shipped {
        tag: "en",
        autonym: "English",
        dir: "ltr",
        source: include_str!("i18n/en.ftl"),
    },
    Shipped {
        tag: "de",
        autonym: "Deutsch",
        dir: "ltr",
        source: include_str!("i18n/de.ftl"),
    },
    Shipped {
        tag: "fr",
        autonym: "Français",
        dir: "ltr",
        source: include_str!("i18n/fr.ftl"),
    },
    Shipped {
        tag: "es",
        autonym: "Español",
        dir: "ltr",
        source: include_str!("i18n/es.ftl"),
    },
    Shipped {
        tag: "pt-BR",
        autonym: "Português (Brasil)",
        dir: "ltr",
        source: include_str!("i18n/pt-BR.ftl"),
    },
    Shipped {
        tag: "ja",
        autonym: "日本語",
        dir: "ltr",
        source: include_str!("i18n/ja.ftl"),
    },
];

/// One of the shipped languages (an index into them); [`Lang::ENGLISH`] is the fallback.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Lang(usize);

impl Lang {
    pub const ENGLISH: Lang = Lang(0);

    /// Every shipped language, in the order the switch shows them.
    pub fn all() -> impl Iterator<Item = Lang> {
        (0..SHIPPED.len()).map(Lang)
    }

    fn shipped(self) -> &'static Shipped {
        SHIPPED.get(self.0).unwrap_or(&SHIPPED[0])
    }

    /// The BCP 47 tag, for `lang` and `?lang=`.
    pub fn tag(self) -> &'static str {
        self.shipped().tag
    }

    /// The language's name in itself.
    pub fn autonym(self) -> &'static str {
        self.shipped().autonym
    }

    pub fn dir(self) -> &'static str {
        self.shipped().dir
    }

    /// The shipped language with exactly this tag (any case): `de`, `pt-BR`. For what an
    /// operator or reseller sets, where `pt` must not quietly mean `pt-BR`.
    pub fn exactly(tag: &str) -> Option<Lang> {
        SHIPPED
            .iter()
            .position(|s| s.tag.eq_ignore_ascii_case(tag.trim()))
            .map(Lang)
    }

    /// The shipped tags, for error messages.
    pub fn tags() -> Vec<&'static str> {
        SHIPPED.iter().map(|s| s.tag).collect()
    }

    /// The shipped language a tag names: exactly (any case), or by its primary language
    /// (`de-AT` → `de`, `pt` or `pt-PT` → `pt-BR`).
    pub fn from_tag(tag: &str) -> Option<Lang> {
        let tag = tag.trim();
        if let Some(i) = SHIPPED.iter().position(|s| s.tag.eq_ignore_ascii_case(tag)) {
            return Some(Lang(i));
        }
        let primary = tag.split(['-', '_']).next()?.to_ascii_lowercase();
        SHIPPED
            .iter()
            .position(|s| s.tag.split('-').next() == Some(primary.as_str()))
            .map(Lang)
    }
}

/// The most tags of one `Accept-Language` header looked at, and the longest header read: a
/// client cannot make the negotiation expensive.
const MAX_TAGS: usize = 16;
const MAX_HEADER: usize = 1024;

/// The tags of an `Accept-Language` header, most wanted first: quality values honoured
/// (`q=0` means "not this one"), ties kept in the client's order, `*` dropped.
pub fn accepted(header: &str) -> Vec<String> {
    let header = header.get(..MAX_HEADER).unwrap_or(header);
    let mut tags: Vec<(String, u16)> = Vec::new();
    for item in header.split(',').take(MAX_TAGS) {
        let mut parts = item.split(';');
        let tag = parts.next().unwrap_or("").trim();
        if tag.is_empty() || tag == "*" || tag.len() > 35 {
            continue;
        }
        // Thousandths, so that the sort is on integers.
        let mut quality = 1000u16;
        for param in parts {
            if let Some(q) = param.trim().strip_prefix("q=") {
                quality = q
                    .trim()
                    .parse::<f32>()
                    .ok()
                    .filter(|q| (0.0..=1.0).contains(q))
                    .map_or(0, |q| (q * 1000.0).round() as u16);
            }
        }
        if quality > 0 {
            tags.push((tag.to_string(), quality));
        }
    }
    // Stable: equal qualities keep the client's order.
    tags.sort_by_key(|t| std::cmp::Reverse(t.1));
    tags.into_iter().map(|(tag, _)| tag).collect()
}

/// The shipped language an `Accept-Language` header asks for first; `None` when it asks for
/// none of them (the server's default then applies).
pub fn negotiate(accept_language: Option<&str>) -> Option<Lang> {
    accept_language
        .map(accepted)
        .unwrap_or_default()
        .iter()
        .find_map(|tag| Lang::from_tag(tag))
}

/// A value a message takes.
#[derive(Debug, Clone, Copy)]
pub enum Arg<'a> {
    Text(&'a str),
    Number(i64),
}

/// The parsed catalogues, one per shipped language.
pub struct Catalogues {
    bundles: Vec<FluentBundle<FluentResource>>,
}

impl std::fmt::Debug for Catalogues {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Catalogues")
            .field("languages", &self.bundles.len())
            .finish()
    }
}

impl Catalogues {
    /// The catalogues built into the binary. An error names the catalogue and what is wrong
    /// in it (a release that fails here fails its tests first).
    pub fn built_in() -> Result<Catalogues, String> {
        let mut bundles = Vec::with_capacity(SHIPPED.len());
        for shipped in &SHIPPED {
            let resource = FluentResource::try_new(shipped.source.to_string())
                .map_err(|(_, errors)| format!("src/i18n/{}.ftl: {errors:?}", shipped.tag))?;
            let id: LanguageIdentifier = shipped
                .tag
                .parse()
                .map_err(|e| format!("{}: not a language tag: {e}", shipped.tag))?;
            let mut bundle = FluentBundle::new_concurrent(vec![id]);
            // Marks around every value would land in plain-text mails and links.
            bundle.set_use_isolating(false);
            bundle
                .add_resource(resource)
                .map_err(|errors| format!("src/i18n/{}.ftl: {errors:?}", shipped.tag))?;
            bundles.push(bundle);
        }
        Ok(Catalogues { bundles })
    }

    /// [`Catalogues::built_in`], parsed once per process and shared: they never change.
    pub fn shared() -> Result<std::sync::Arc<Catalogues>, String> {
        static SHARED: std::sync::OnceLock<Result<std::sync::Arc<Catalogues>, String>> =
            std::sync::OnceLock::new();
        SHARED
            .get_or_init(|| Catalogues::built_in().map(std::sync::Arc::new))
            .clone()
    }

    /// Message `id` in `lang` with `args`; in English if `lang`'s catalogue lacks it (the test
    /// below keeps them complete), and the id itself if English lacks it too.
    pub fn text(&self, lang: Lang, id: &str, args: &[(&str, Arg<'_>)]) -> String {
        let mut fluent_args = FluentArgs::new();
        for (name, value) in args {
            match value {
                Arg::Text(text) => fluent_args.set(*name, FluentValue::from(*text)),
                Arg::Number(n) => fluent_args.set(*name, FluentValue::from(*n)),
            }
        }
        for bundle in [self.bundles.get(lang.0), self.bundles.first()]
            .into_iter()
            .flatten()
        {
            if let Some(pattern) = bundle.get_message(id).and_then(|m| m.value()) {
                let mut errors = Vec::new();
                let text = bundle.format_pattern(pattern, Some(&fluent_args), &mut errors);
                if errors.is_empty() {
                    return text.into_owned();
                }
                log::error!("i18n: message {id} in {}: {errors:?}", lang.tag());
            }
        }
        id.to_string()
    }

    /// A moment (Unix seconds) as the language writes a date and time, in UTC, UTC named.
    pub fn date_time(&self, lang: Lang, unix: i64) -> String {
        let p = crate::clock::parts_of(unix);
        self.text(
            lang,
            "date-time-utc",
            &[
                ("year", Arg::Number(p.year)),
                ("month", Arg::Number(p.month.into())),
                ("day", Arg::Number(p.day.into())),
                ("hour", Arg::Text(&format!("{:02}", p.hour))),
                ("minute", Arg::Text(&format!("{:02}", p.minute))),
            ],
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(source: &str) -> Vec<String> {
        let resource = FluentResource::try_new(source.to_string()).unwrap();
        resource
            .entries()
            .filter_map(|e| match e {
                fluent_syntax::ast::Entry::Message(m) => Some(m.id.name.to_string()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn every_catalogue_parses_and_has_every_english_message() {
        let catalogues = Catalogues::built_in().unwrap();
        assert_eq!(catalogues.bundles.len(), SHIPPED.len());
        let english = ids(SHIPPED[0].source);
        assert!(english.len() > 20);
        for shipped in &SHIPPED[1..] {
            let theirs = ids(shipped.source);
            let missing: Vec<_> = english.iter().filter(|id| !theirs.contains(id)).collect();
            assert!(missing.is_empty(), "{} lacks {missing:?}", shipped.tag);
            let extra: Vec<_> = theirs.iter().filter(|id| !english.contains(id)).collect();
            assert!(
                extra.is_empty(),
                "{} has {extra:?}, which English lacks",
                shipped.tag
            );
        }
    }

    #[test]
    fn quality_values_order_the_tags_and_zero_refuses() {
        assert_eq!(
            accepted("de;q=0.1, fr-CA;q=0.9, ja, en;q=0"),
            ["ja", "fr-CA", "de"]
        );
        assert_eq!(accepted("*, es"), ["es"]);
        assert_eq!(accepted(""), Vec::<String>::new());
        assert!(accepted(&"x,".repeat(10_000)).len() <= MAX_TAGS);
    }

    #[test]
    fn regional_tags_fall_back_to_their_language_then_english() {
        let tag = |h: &str| negotiate(Some(h)).unwrap_or(Lang::ENGLISH).tag();
        assert_eq!(tag("fr-CA"), "fr");
        assert_eq!(tag("de-AT,en;q=0.5"), "de");
        assert_eq!(tag("pt-PT"), "pt-BR");
        assert_eq!(tag("PT-br"), "pt-BR");
        assert_eq!(tag("zh-CN, ja;q=0.3"), "ja");
        assert_eq!(tag("zh-CN"), "en");
        assert_eq!(negotiate(None), None);
        assert_eq!(negotiate(Some("zh, *")), None);
    }

    #[test]
    fn plurals_and_dates_follow_the_language() {
        let c = Catalogues::built_in().unwrap();
        let de = Lang::from_tag("de").unwrap();
        let ja = Lang::from_tag("ja").unwrap();
        // 2026-11-23 10:05:00 UTC
        let t = 1_795_428_300;
        assert_eq!(c.date_time(Lang::ENGLISH, t), "23 November 2026, 10:05 UTC");
        assert_eq!(c.date_time(de, t), "23. November 2026, 10:05 Uhr UTC");
        assert_eq!(c.date_time(ja, t), "2026年11月23日 10:05（UTC）");
        // The first of the month, as French and Brazilian Portuguese write it.
        let first = 1_796_115_600; // 2026-12-01 09:00 UTC
        let fr = Lang::from_tag("fr").unwrap();
        let pt = Lang::from_tag("pt-BR").unwrap();
        assert_eq!(c.date_time(fr, first), "1er décembre 2026 à 09 h 00 UTC");
        assert_eq!(c.date_time(pt, first), "1º de dezembro de 2026, 09:00 UTC");
        assert_eq!(c.date_time(fr, t), "23 novembre 2026 à 10 h 05 UTC");
        let minutes = |lang, n| c.text(lang, "too-many-body", &[("minutes", Arg::Number(n))]);
        assert!(
            minutes(Lang::ENGLISH, 1).contains("a minute"),
            "{}",
            minutes(Lang::ENGLISH, 1)
        );
        assert!(minutes(Lang::ENGLISH, 5).contains("5 minutes"));
        assert!(
            !c.text(Lang::ENGLISH, "form-submit", &[])
                .contains('\u{2068}')
        );
    }

    /// The places that render what users read. Every text they show must come from a
    /// catalogue; the code adds only markup, values and punctuation between them.
    const RENDER_SITES: [(&str, &str); 4] = [
        ("src/endpoints/reset.rs", include_str!("endpoints/reset.rs")),
        ("src/reset/templates.rs", include_str!("reset/templates.rs")),
        ("src/reset/audience.rs", include_str!("reset/audience.rs")),
        ("src/reset/notice.rs", include_str!("reset/notice.rs")),
    ];

    /// Literals there that users do not read: the operator's (`check-config`, the audit
    /// trail's account of how a link was asked for), and the style sheet.
    const NOT_FOR_USERS: [&str; 10] = [
        "font-family:",
        ": not used: ",
        ", the default language)",
        "the \"this wasn't me\" link, after locking the login",
        "cannot read",
        "unknown placeholder",
        "the placeholders are",
        "no {link}: the mail would not contain the reset link",
        "is not a shipped language; the languages are",
        "not a template name: reset, changed or moved, an optional language, then .txt or .html",
    ];

    /// The string literals of Rust source outside comments, tests, `log::` calls and audit
    /// details, with the line each starts on.
    fn literals(source: &str) -> Vec<(usize, String)> {
        let code = source
            .split("#[cfg(test)]")
            .next()
            .unwrap_or(source)
            .as_bytes();
        let mut out = Vec::new();
        let (mut i, mut line, mut depth) = (0, 1, 0usize);
        let mut log_depth: Option<usize> = None;
        while i < code.len() {
            match code[i] {
                b'\n' => line += 1,
                b'/' if code.get(i + 1) == Some(&b'/') => {
                    while i < code.len() && code[i] != b'\n' {
                        i += 1;
                    }
                    continue;
                }
                // A character literal such as '"' or '{'.
                b'\'' if code.get(i + 2) == Some(&b'\'') => i += 2,
                b'\'' if code.get(i + 1) == Some(&b'\\') && code.get(i + 3) == Some(&b'\'') => {
                    i += 3
                }
                // The log's lines and the audit trail's details are the operator's.
                b'l' if code[i..].starts_with(b"log::") => log_depth = Some(depth),
                b'.' if code[i..].starts_with(b".detail(") => log_depth = Some(depth),
                b'(' => depth += 1,
                b')' => {
                    depth = depth.saturating_sub(1);
                    if log_depth == Some(depth) {
                        log_depth = None;
                    }
                }
                b'"' => {
                    let start_line = line;
                    let mut text = Vec::new();
                    i += 1;
                    while i < code.len() && code[i] != b'"' {
                        if code[i] == b'\\' {
                            i += 1;
                            if code.get(i) == Some(&b'\n') {
                                line += 1;
                                while code.get(i + 1).is_some_and(u8::is_ascii_whitespace) {
                                    i += 1;
                                }
                            } else if let Some(&c) = code.get(i) {
                                text.push(if c == b'n' { b'\n' } else { c });
                            }
                        } else {
                            if code[i] == b'\n' {
                                line += 1;
                            }
                            text.push(code[i]);
                        }
                        i += 1;
                    }
                    if log_depth.is_none() {
                        out.push((start_line, String::from_utf8_lossy(&text).into_owned()));
                    }
                }
                _ => {}
            }
            i += 1;
        }
        out
    }

    /// Whether `text`, with markup, placeholders and entities taken out, holds two words in a
    /// row: prose.
    fn prose(text: &str) -> bool {
        let mut plain = String::new();
        let mut skip: Option<char> = None;
        for c in text.chars() {
            match (skip, c) {
                (None, '<') => skip = Some('>'),
                (None, '{') => skip = Some('}'),
                (None, '&') => skip = Some(';'),
                (Some(end), c) if c == end => {
                    skip = None;
                    plain.push(' ');
                }
                (Some(_), _) => {}
                (None, c) => plain.push(c),
            }
        }
        let word = |w: &str| {
            let w = w.trim_end_matches(['.', ',', ':', '!', '?']);
            w.len() >= 2 && w.chars().all(char::is_alphabetic)
        };
        let words: Vec<&str> = plain.split(' ').collect();
        words.windows(2).any(|pair| word(pair[0]) && word(pair[1]))
    }

    #[test]
    fn no_user_facing_text_is_left_in_the_code_that_renders_pages_and_mails() {
        assert!(prose("Set a new password"));
        assert!(prose("internal error"));
        assert!(!prose("<p class=\"site\">{}<br><span>{}</span></p>"));
        assert!(!prose("font-family: sans-serif; line-height: 1.5"));
        let mut found = Vec::new();
        let mut scanned = 0;
        for (file, source) in RENDER_SITES {
            let literals = literals(source);
            scanned += literals.len();
            for (line, text) in literals {
                if prose(&text) && !NOT_FOR_USERS.iter().any(|o| text.contains(o)) {
                    found.push(format!("{file}:{line}: {text:?}"));
                }
            }
        }
        assert!(scanned > 100, "the scanner found only {scanned} literals");
        assert!(
            found.is_empty(),
            "text for users belongs in src/i18n/*.ftl:\n{}",
            found.join("\n")
        );
    }
}
