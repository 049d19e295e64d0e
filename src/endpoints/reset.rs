//! The page behind a reset link: `GET /reset/<token>` shows a form for the new password,
//! twice; `POST /reset/<token>` sets it. Plain HTML with one inline style sheet (allowed by its
//! hash in the CSP), no scripts, no external assets; labels on every field and each error tied
//! to its field with `aria-describedby`.

use base64::Engine as _;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::audit;
use crate::clock;
use crate::credentials::CredentialError;
use crate::db;
use crate::endpoints::worker::{Shared, Worker};
use crate::http::{Request, Response};
use crate::i18n::{Arg, Catalogues, Lang};
use crate::logins::{Login, Refusal, passwords};
use crate::metrics::{METRICS, RateLimit, ResetEvent};
use crate::reset::audience::{self, Audience};
use crate::reset::form::parse_form;
use crate::reset::notice;
use crate::reset::templates::{By, Method};
use crate::reset::templates::{MARK, account_text, escape_around, escape_html};
use crate::reset::{
    LinkRequest, Purpose, TokenRow, consume, find_token, void_all_tokens, void_tokens,
};
use zxcvbn::feedback::{Suggestion, Warning};

const STYLE: &str = "body{font-family:system-ui,sans-serif;line-height:1.5;margin:0;\
background:#f5f5f4;color:#1c1917}main{max-width:28rem;margin:3rem auto;padding:2rem;\
background:#fff;border:1px solid #d6d3d1;border-radius:.5rem}h1{font-size:1.4rem;margin-top:0}\
label{display:block;font-weight:600;margin-top:1rem}input{width:100%;box-sizing:border-box;\
font-size:1rem;padding:.5rem;border:1px solid #78716c;border-radius:.25rem}\
input[aria-invalid=true]{border-color:#b91c1c;outline:2px solid #b91c1c}\
.hint{color:#57534e;font-size:.9rem;margin:.25rem 0 0}.error{color:#b91c1c;font-weight:600;\
margin:.25rem 0 0}button{margin-top:1.5rem;font-size:1rem;padding:.6rem 1.2rem;\
background:#1d4ed8;color:#fff;border:0;border-radius:.25rem;cursor:pointer}\
nav{font-size:.9rem;margin:0 0 1rem;color:#57534e}nav a{margin-inline-end:.6rem;color:#1d4ed8;\
display:inline-block;white-space:nowrap}\
nav a[aria-current]{color:#1c1917;font-weight:600;text-decoration:none}\
.site{font-weight:600;margin:0 0 1rem}.site span{font-weight:400;color:#57534e;\
overflow-wrap:anywhere}.support{color:#57534e;font-size:.9rem;margin:1.5rem 0 0}\
p,strong{overflow-wrap:anywhere}";

/// Where a page's language came from, most deliberate first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LangSource {
    /// The switch (`?lang=`).
    Picked,
    /// The language of the link's mail, chosen by the login or its reseller.
    Mail,
    /// The browser's `Accept-Language`.
    Browser,
    /// `[reset] language`, or English.
    Default,
}

/// The language a page is in, with the catalogues, the path its language switch links to,
/// and once the link is known, whom the page is for (their site, account and brand).
struct Ui<'a> {
    catalogues: &'a Catalogues,
    lang: Lang,
    /// Where `lang` came from: only the user's own choice (the switch, or their browser) is
    /// remembered for their mails, never a fallback.
    source: LangSource,
    path: String,
    audience: Option<Audience>,
}

impl Ui<'_> {
    fn of<'a>(ctx: &'a Worker, req: &Request) -> Ui<'a> {
        Ui::of_shared(&ctx.shared, req)
    }

    fn of_shared<'a>(shared: &'a Shared, req: &Request) -> Ui<'a> {
        // A language picked with the switch wins over the browser's.
        let picked = req.query().and_then(|q| {
            q.split('&')
                .find_map(|kv| kv.strip_prefix("lang="))
                .and_then(Lang::exactly)
        });
        let browser = crate::i18n::negotiate(req.header("accept-language"));
        let (lang, source) = match (picked, browser) {
            (Some(lang), _) => (lang, LangSource::Picked),
            (None, Some(lang)) => (lang, LangSource::Browser),
            (None, None) => (
                Lang::exactly(&shared.config().reset.language).unwrap_or(Lang::ENGLISH),
                LangSource::Default,
            ),
        };
        Ui {
            catalogues: &shared.catalogues,
            lang,
            source,
            path: req.path().to_string(),
            audience: None,
        }
    }

    /// The page for the link's owner: in the language of the link's mail when the login or
    /// its reseller chose one (unless the user picked another), naming their site and account.
    fn for_link(mut self, ctx: &Worker, row: &TokenRow) -> Self {
        if let (LangSource::Browser | LangSource::Default, Some(lang)) = (self.source, row.language)
        {
            self.lang = lang;
            self.source = LangSource::Mail;
        }
        let site = crate::reset::site(&ctx.shared.config(), &ctx.shared.urls.reset);
        self.audience = match audience::of(&ctx.db, row.login, row.domain.as_deref(), &site) {
            Ok(audience) => audience,
            Err(e) => {
                log::warn!("reset: cannot read whom a link is for: {e}");
                None
            }
        };
        self
    }

    fn t(&self, id: &str) -> String {
        self.catalogues.text(self.lang, id, &[])
    }

    /// The account as its owner knows it (the operator's label if its rows are gone).
    fn account(&self, row: &TokenRow) -> String {
        match &self.audience {
            Some(audience) => account_text(self.catalogues, self.lang, &audience.account),
            None => row.account.clone(),
        }
    }

    /// Message `id` as HTML: escaped, with `$account` in bold.
    fn with_account(&self, id: &str, account: &str, more: &[(&str, Arg<'_>)]) -> String {
        let mut args = vec![("account", Arg::Text(MARK))];
        args.extend_from_slice(more);
        let text = self.catalogues.text(self.lang, id, &args);
        escape_around(&text, &format!("<strong>{}</strong>", escape_html(account)))
    }

    /// The switch: a link per shipped language to this page in it (no script; a GET keeps the
    /// form's state, which is empty until submitted).
    fn switch(&self) -> String {
        let links: Vec<String> = Lang::all()
            .map(|lang| {
                let current = if lang == self.lang {
                    " aria-current=\"true\""
                } else {
                    ""
                };
                format!(
                    "<a href=\"{}?lang={}\" lang=\"{}\" hreflang=\"{}\"{current}>{}</a>",
                    escape_html(&self.path),
                    lang.tag(),
                    lang.tag(),
                    lang.tag(),
                    escape_html(lang.autonym())
                )
            })
            .collect();
        format!(
            "<nav aria-label=\"{}\">{}</nav>",
            escape_html(&self.t("lang-switch-label")),
            links.join("")
        )
    }

    /// The site the page belongs to, as its users know it: the community's name and address,
    /// or a domain's reseller by its brand.
    fn site(&self) -> String {
        match &self.audience {
            Some(audience) if audience.brand.is_some() => {
                format!("<p class=\"site\">{}</p>", escape_html(&audience.site))
            }
            Some(audience) => format!(
                "<p class=\"site\">{}<br><span>{}</span></p>",
                escape_html(&audience.site),
                escape_html(&audience.url)
            ),
            None => String::new(),
        }
    }

    /// Where to ask for help, when the reseller gave an address or page.
    fn support(&self) -> String {
        let Some(support) = self.audience.as_ref().and_then(Audience::support) else {
            return String::new();
        };
        let href = if support.contains("://") {
            support.to_string()
        } else {
            format!("mailto:{support}")
        };
        let text = self
            .catalogues
            .text(self.lang, "support-line", &[("support", Arg::Text(MARK))]);
        let link = format!(
            "<a href=\"{}\">{}</a>",
            escape_html(&href),
            escape_html(support)
        );
        format!("<p class=\"support\">{}</p>", escape_around(&text, &link))
    }

    /// The style sheet: the house style, with the reseller's accent colour (a checked
    /// `#rrggbb`) on the heading rule, the links and the button.
    /// With the base64 SHA-256 the CSP allows it by: computed once for the house style,
    /// per page only for an accent colour.
    fn style(
        &self,
    ) -> (
        std::borrow::Cow<'static, str>,
        std::borrow::Cow<'static, str>,
    ) {
        static HOUSE_HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
        let hash = |sheet: &str| {
            base64::engine::general_purpose::STANDARD.encode(Sha256::digest(sheet.as_bytes()))
        };
        match self
            .audience
            .as_ref()
            .and_then(|a| a.brand.as_ref())
            .and_then(|b| b.accent.as_deref())
            .filter(|a| audience::is_colour(a))
        {
            Some(accent) => {
                let sheet = format!(
                    "{STYLE}h1{{border-bottom:3px solid {accent};padding-bottom:.3rem}}\
                     button{{background:{accent}}}nav a,.support a{{color:{accent}}}"
                );
                let digest = hash(&sheet);
                (sheet.into(), digest.into())
            }
            None => (
                STYLE.into(),
                HOUSE_HASH.get_or_init(|| hash(STYLE)).as_str().into(),
            ),
        }
    }
}

/// Every reset response carries these: the token is in the URL, so nothing may cache the
/// page, send it on as a referrer, or frame it. The style sheet is allowed by the hash of
/// exactly the sheet sent, so a reseller's accent colour needs no weaker policy.
fn page(ui: &Ui<'_>, status: u16, title: &str, body: &str) -> Response {
    let (style, style_hash) = ui.style();
    let html = format!(
        "<!doctype html>\n<html lang=\"{lang}\" dir=\"{dir}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"referrer\" content=\"no-referrer\"><title>{title}</title><style>{style}</style>\
         </head><body><main>\n{switch}\n{site}\n{body}\n{support}\n</main></body></html>\n",
        lang = ui.lang.tag(),
        dir = ui.lang.dir(),
        title = escape_html(title),
        switch = ui.switch(),
        site = ui.site(),
        support = ui.support(),
    );
    Response::new(status)
        .with_body("text/html; charset=utf-8", html.into_bytes())
        .with_header("Cache-Control", "no-store")
        .with_header("Referrer-Policy", "no-referrer")
        .with_header("Content-Language", ui.lang.tag())
        .with_header("Vary", "Accept-Language")
        .with_header(
            "Content-Security-Policy",
            format!(
                "default-src 'none'; style-src 'sha256-{style_hash}'; form-action 'self'; \
                 frame-ancestors 'none'; base-uri 'none'"
            ),
        )
        .with_header("X-Frame-Options", "DENY")
        .with_header("X-Content-Type-Options", "nosniff")
}

/// Something failed on the server: nothing was changed, in the page's language.
fn internal_error(ui: &Ui<'_>) -> Response {
    simple(
        ui,
        500,
        "internal-error-title",
        "internal-error-title",
        &["internal-error-body"],
    )
}

/// A page of a heading and paragraphs, each a message.
fn simple(ui: &Ui<'_>, status: u16, title: &str, heading: &str, paragraphs: &[&str]) -> Response {
    let mut body = format!("<h1>{}</h1>", escape_html(&ui.t(heading)));
    for id in paragraphs {
        body.push_str(&format!("\n<p>{}</p>", escape_html(&ui.t(id))));
    }
    page(ui, status, &ui.t(title), &body)
}

fn gone(ui: &Ui<'_>) -> Response {
    simple(
        ui,
        410,
        "gone-title",
        "gone-title",
        &["gone-what", "gone-next"],
    )
}

fn too_many(ui: &Ui<'_>) -> Response {
    let body = format!(
        "<h1>{}</h1>\n<p>{}</p>",
        escape_html(&ui.t("too-many-title")),
        escape_html(
            &ui.catalogues
                .text(ui.lang, "too-many-body", &[("minutes", Arg::Number(1))])
        )
    );
    page(ui, 429, &ui.t("too-many-title"), &body).with_header("Retry-After", "60")
}

fn busy(ui: &Ui<'_>) -> Response {
    simple(ui, 503, "busy-title", "busy-heading", &["busy-body"]).with_header("Retry-After", "1")
}

/// The database file is gone from under the server (`db::watch`): nothing can be changed until
/// its operator restores it.
fn unavailable(ui: &Ui<'_>) -> Response {
    simple(
        ui,
        503,
        "unavailable-title",
        "unavailable-heading",
        &["unavailable-body"],
    )
    .with_header("Retry-After", "300")
}

/// The policy text shown under the first field.
fn policy(ctx: &Worker, ui: &Ui<'_>, login: Login) -> String {
    match login {
        Login::XssUser(_) => ui.t("policy-weblog"),
        Login::Profile(_) | Login::SubUser(_) => {
            let xcp = &ctx.shared.config().xcp;
            ui.catalogues.text(
                ui.lang,
                "policy-domain",
                &[
                    (
                        "min",
                        Arg::Number(
                            i64::try_from(xcp.password_min_length.get()).unwrap_or(i64::MAX),
                        ),
                    ),
                    (
                        "max",
                        Arg::Number(
                            i64::try_from(xcp.password_max_length.get()).unwrap_or(i64::MAX),
                        ),
                    ),
                    ("symbols", Arg::Text(crate::xcp::domains::PASSWORD_SYMBOLS)),
                ],
            )
        }
    }
}

/// Why a password was refused, in the page's language, with zxcvbn's advice.
fn refusal_text(ui: &Ui<'_>, refusal: &Refusal) -> String {
    let text = |id: &str, args: &[(&str, Arg<'_>)]| ui.catalogues.text(ui.lang, id, args);
    let count = |n: usize| Arg::Number(i64::try_from(n).unwrap_or(i64::MAX));
    match refusal {
        Refusal::WeblogLength { has } => text("rule-weblog-length", &[("has", count(*has))]),
        Refusal::WeblogCharacters => text("rule-weblog-characters", &[]),
        Refusal::DomainLength { min, max } => text(
            "rule-domain-length",
            &[("min", count(*min)), ("max", count(*max))],
        ),
        Refusal::DomainCharacter { bad, allowed } => text(
            "rule-domain-character",
            &[
                ("bad", Arg::Text(&bad.to_string())),
                ("allowed", Arg::Text(allowed)),
            ],
        ),
        Refusal::Blocklisted => text("rule-blocklisted", &[]),
        Refusal::TooEasy {
            score,
            min,
            warning,
            suggestions,
        } => {
            let advice = warning
                .map(warning_id)
                .into_iter()
                .chain(suggestions.iter().map(|s| suggestion_id(*s)));
            let mut all = text(
                "rule-too-easy",
                &[
                    ("score", Arg::Number((*score).into())),
                    ("min", Arg::Number((*min).into())),
                ],
            );
            for id in advice {
                let next = text(id, &[]);
                all = text(
                    "sentences",
                    &[("first", Arg::Text(&all)), ("second", Arg::Text(&next))],
                );
            }
            all
        }
    }
}

/// zxcvbn's warnings by message id. Exhaustive on purpose: a zxcvbn release with a new one
/// fails to build here rather than show it untranslated.
fn warning_id(warning: Warning) -> &'static str {
    match warning {
        Warning::StraightRowsOfKeysAreEasyToGuess => "zxcvbn-warning-straight-rows",
        Warning::ShortKeyboardPatternsAreEasyToGuess => "zxcvbn-warning-short-keyboard-patterns",
        Warning::RepeatsLikeAaaAreEasyToGuess => "zxcvbn-warning-repeats-aaa",
        Warning::RepeatsLikeAbcAbcAreOnlySlightlyHarderToGuess => "zxcvbn-warning-repeats-abcabc",
        Warning::ThisIsATop10Password => "zxcvbn-warning-top10",
        Warning::ThisIsATop100Password => "zxcvbn-warning-top100",
        Warning::ThisIsACommonPassword => "zxcvbn-warning-common",
        Warning::ThisIsSimilarToACommonlyUsedPassword => "zxcvbn-warning-similar-to-common",
        Warning::SequencesLikeAbcAreEasyToGuess => "zxcvbn-warning-sequences",
        Warning::RecentYearsAreEasyToGuess => "zxcvbn-warning-recent-years",
        Warning::AWordByItselfIsEasyToGuess => "zxcvbn-warning-word-by-itself",
        Warning::DatesAreOftenEasyToGuess => "zxcvbn-warning-dates",
        Warning::NamesAndSurnamesByThemselvesAreEasyToGuess => "zxcvbn-warning-names-by-themselves",
        Warning::CommonNamesAndSurnamesAreEasyToGuess => "zxcvbn-warning-common-names",
    }
}

/// zxcvbn's suggestions by message id, exhaustive like [`warning_id`].
fn suggestion_id(suggestion: Suggestion) -> &'static str {
    match suggestion {
        Suggestion::UseAFewWordsAvoidCommonPhrases => "zxcvbn-suggestion-few-words",
        Suggestion::NoNeedForSymbolsDigitsOrUppercaseLetters => {
            "zxcvbn-suggestion-no-need-for-symbols"
        }
        Suggestion::AddAnotherWordOrTwo => "zxcvbn-suggestion-add-a-word",
        Suggestion::CapitalizationDoesntHelpVeryMuch => "zxcvbn-suggestion-capitalization",
        Suggestion::AllUppercaseIsAlmostAsEasyToGuessAsAllLowercase => {
            "zxcvbn-suggestion-all-uppercase"
        }
        Suggestion::ReversedWordsArentMuchHarderToGuess => "zxcvbn-suggestion-reversed-words",
        Suggestion::PredictableSubstitutionsDontHelpVeryMuch => "zxcvbn-suggestion-substitutions",
        Suggestion::UseALongerKeyboardPatternWithMoreTurns => {
            "zxcvbn-suggestion-longer-keyboard-pattern"
        }
        Suggestion::AvoidRepeatedWordsAndCharacters => "zxcvbn-suggestion-avoid-repeats",
        Suggestion::AvoidSequences => "zxcvbn-suggestion-avoid-sequences",
        Suggestion::AvoidRecentYears => "zxcvbn-suggestion-avoid-recent-years",
        Suggestion::AvoidYearsThatAreAssociatedWithYou => "zxcvbn-suggestion-avoid-your-years",
        Suggestion::AvoidDatesAndYearsThatAreAssociatedWithYou => {
            "zxcvbn-suggestion-avoid-your-dates"
        }
    }
}

/// Which field an error belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Password,
    Password2,
    Form,
}

fn form(
    ctx: &Worker,
    ui: &Ui<'_>,
    row: &TokenRow,
    status: u16,
    error: Option<(Field, &str)>,
) -> Response {
    let err_for = |f: Field| error.filter(|(field, _)| *field == f).map(|(_, m)| m);
    let field = |id: &str, label: &str, hint: Option<String>, f: Field| {
        let error = err_for(f);
        let mut described = Vec::new();
        if hint.is_some() {
            described.push(format!("{id}-hint"));
        }
        if error.is_some() {
            described.push(format!("{id}-error"));
        }
        let described = if described.is_empty() {
            String::new()
        } else {
            format!(" aria-describedby=\"{}\"", described.join(" "))
        };
        let invalid = if error.is_some() {
            " aria-invalid=\"true\""
        } else {
            ""
        };
        let hint = hint
            .map(|h| format!("<p class=\"hint\" id=\"{id}-hint\">{}</p>", escape_html(&h)))
            .unwrap_or_default();
        let error = error
            .map(|e| {
                format!(
                    "<p class=\"error\" id=\"{id}-error\">{}</p>",
                    escape_html(e)
                )
            })
            .unwrap_or_default();
        format!(
            "<label for=\"{id}\">{label}</label>\n<input type=\"password\" id=\"{id}\" \
             name=\"{id}\" autocomplete=\"new-password\" required{described}{invalid}>\n\
             {hint}{error}"
        )
    };
    let form_error = err_for(Field::Form)
        .map(|e| format!("<p class=\"error\" role=\"alert\">{}</p>\n", escape_html(e)))
        .unwrap_or_default();
    let expires = ui.catalogues.date_time(ui.lang, row.expires_at);
    let body = format!(
        "<h1>{title}</h1>\n<p>{intro}</p>\n{form_error}<form method=\"post\">\n\
         <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\n{first}\n{second}\n\
         <button id=\"submit\" type=\"submit\">{submit}</button>\n</form>",
        title = escape_html(&ui.t("form-title")),
        intro = ui.with_account(
            "form-for",
            &ui.account(row),
            &[("expires", Arg::Text(&expires))]
        ),
        csrf = crate::hex::hex(&row.csrf),
        first = field(
            "password",
            &escape_html(&ui.t("form-password-label")),
            Some(policy(ctx, ui, row.login)),
            Field::Password
        ),
        second = field(
            "password2",
            &escape_html(&ui.t("form-password2-label")),
            None,
            Field::Password2
        ),
        submit = escape_html(&ui.t("form-submit")),
    );
    page(ui, status, &ui.t("form-title"), &body)
}

/// The token from `/reset/<token>`.
fn token_of(req: &Request) -> &str {
    req.path().strip_prefix("/reset/").unwrap_or("")
}

/// Looks the token up; `Err` is the response for a link that does not work (recorded against
/// the address).
fn usable_row(ctx: &Worker, ui: &Ui<'_>, req: &Request) -> Result<TokenRow, Response> {
    let ip = req.client;
    let limit = ctx.shared.config().reset.invalid_hits_per_minute.get();
    if ctx.shared.reset_hits.over(ip, limit) {
        METRICS.rate_limited(RateLimit::ResetInvalidLink);
        return Err(too_many(ui));
    }
    let row = find_token(&ctx.db, token_of(req)).map_err(|e| {
        log::error!("reset: cannot read tokens: {e}");
        internal_error(ui)
    })?;
    match row {
        Some(row) if row.usable(clock::unix_now()) => Ok(row),
        _ => {
            let n = ctx.shared.reset_hits.record(ip);
            if n == limit {
                log::warn!(
                    "reset: {n} invalid reset links opened from {ip} this minute; throttling"
                );
            } else {
                log::info!("reset: invalid or stale reset link opened from {ip}");
            }
            Err(gone(ui))
        }
    }
}

/// `GET /reset/<token>`.
pub fn show(ctx: &mut Worker, req: &Request) -> Response {
    let ui = Ui::of(ctx, req);
    let (row, ui) = match link_and_owner(ctx, ui, req) {
        Ok(found) => found,
        Err(response) => return response,
    };
    if row.purpose == Purpose::NotMe {
        not_me_form(&ui, &row)
    } else {
        form(ctx, &ui, &row, 200, None)
    }
}

/// The link's row and the page for its owner, read in one read transaction: one WAL read
/// lock (two `fcntl` calls) instead of one per statement, which under many concurrent pages
/// cost more than the statements themselves.
fn link_and_owner<'a>(
    ctx: &Worker,
    ui: Ui<'a>,
    req: &Request,
) -> Result<(TokenRow, Ui<'a>), Response> {
    // Ended (rolled back, nothing was written) when dropped. Without it, each read is its own.
    let _snapshot = ctx.db.unchecked_transaction().ok();
    let row = usable_row(ctx, &ui, req)?;
    let ui = ui.for_link(ctx, &row);
    Ok((row, ui))
}

/// The page behind a notice's "this wasn't me" link: one button, so that a mail scanner that
/// opens the link locks nothing.
fn not_me_form(ui: &Ui<'_>, row: &TokenRow) -> Response {
    let heading = ui.catalogues.text(
        ui.lang,
        "not-me-heading",
        &[("account", Arg::Text(&ui.account(row)))],
    );
    page(
        ui,
        200,
        &ui.t("not-me-title"),
        &format!(
            "<h1>{heading}</h1>\n<p>{body}</p>\n<form method=\"post\"><input type=\"hidden\" \
             name=\"csrf\" value=\"{csrf}\"><button type=\"submit\">{submit}</button></form>",
            heading = escape_html(&heading),
            body = ui.with_account("not-me-body", &ui.account(row), &[]),
            csrf = crate::hex::hex(&row.csrf),
            submit = escape_html(&ui.t("not-me-submit")),
        ),
    )
}

/// `POST` of a "this wasn't me" link: the login's password becomes the hash of a secret
/// nobody has (its sessions and cached logins end with it), every link of the login is voided,
/// and a fresh reset link goes to each of its addresses.
fn lock(ctx: &mut Worker, ui: &Ui<'_>, req: &Request, row: TokenRow, csrf: &str) -> Response {
    let expected = crate::hex::hex(&row.csrf);
    if !bool::from(expected.as_bytes().ct_eq(csrf.as_bytes())) {
        return not_me_form(ui, &row);
    }
    let hash = match ctx
        .shared
        .credentials
        .hash(&crate::hex::hex(&rand::random::<[u8; 32]>()))
    {
        Ok(hash) => hash,
        Err(CredentialError::Busy) => return busy(ui),
        Err(e) => {
            log::error!("reset: cannot lock a login: {e}");
            return internal_error(ui);
        }
    };
    let token = token_of(req).to_string();
    let login = row.login;
    let now = clock::unix_now();
    let client = req.client.to_string();
    let locked = db::write(&mut ctx.db, |tx| -> rusqlite::Result<Option<Vec<String>>> {
        if !consume(tx, &token, now)? {
            return Ok(None);
        }
        let locked = passwords::set_hash(tx, login, &hash)?;
        void_all_tokens(tx, login, now)?;
        if locked {
            let entry = audit::Entry::new(audit::Event::NotMeUsed, &row.account, &client)
                .login(login)
                .detail(
                    "login locked (a random password), sessions ended; a fresh reset link \
                     requested",
                );
            audit::record(tx, &entry, now)?;
        }
        notice::recipients(tx, login).map(Some)
    });
    let recipients = match locked {
        Ok(Some(recipients)) => recipients,
        Ok(None) => return gone(ui),
        Err(e) if db::is_vanished(&e) => return unavailable(ui),
        Err(e) => {
            log::error!("reset: cannot lock a login: {e}");
            return internal_error(ui);
        }
    };
    ctx.shared.credentials.forget_all();
    log::warn!(
        "reset: {login} locked through a password-changed notice's \"this wasn't me\" link from {}",
        req.client
    );
    for email in &recipients {
        let request = LinkRequest {
            login,
            account: &row.account,
            email,
            requester: req.client,
            via: "the \"this wasn't me\" link, after locking the login",
            domain: row.domain.as_deref(),
        };
        if let Err(e) = ctx.shared.reset.send(&ctx.db, &request) {
            log::warn!("reset: no fresh link after locking {login}: {e}");
        }
    }
    page(
        ui,
        200,
        &ui.t("locked-title"),
        &format!(
            "<h1 id=\"done\">{}</h1>\n<p>{}</p>",
            escape_html(&ui.t("locked-title")),
            ui.with_account("locked-body", &ui.account(&row), &[])
        ),
    )
}

/// `POST /reset/<token>`.
pub fn submit(ctx: &mut Worker, req: &Request) -> Response {
    // The catalogues live as long as the shared state; a handle keeps `ctx` free for writes.
    let shared = ctx.shared.clone();
    let ui = Ui::of_shared(&shared, req);
    let (row, ui) = match link_and_owner(ctx, ui, req) {
        Ok(found) => found,
        Err(response) => return response,
    };
    if row.purpose == Purpose::NotMe {
        let csrf = parse_form(&req.body).map(|d| d.csrf).unwrap_or_default();
        return lock(ctx, &ui, req, row, &csrf);
    }
    let data = match parse_form(&req.body) {
        Ok(data) => data,
        Err(why) => {
            return form(
                ctx,
                &ui,
                &row,
                400,
                Some((
                    Field::Form,
                    &ui.catalogues.text(
                        ui.lang,
                        "error-form-unreadable",
                        &[("why", Arg::Text(&why.to_string()))],
                    ),
                )),
            );
        }
    };
    let expected = crate::hex::hex(&row.csrf);
    if !bool::from(expected.as_bytes().ct_eq(data.csrf.as_bytes())) {
        return form(
            ctx,
            &ui,
            &row,
            403,
            Some((Field::Form, &ui.t("error-csrf"))),
        );
    }
    if data.password.is_empty() {
        return form(
            ctx,
            &ui,
            &row,
            422,
            Some((Field::Password, &ui.t("error-empty"))),
        );
    }
    if data.password != data.password2 {
        return form(
            ctx,
            &ui,
            &row,
            422,
            Some((Field::Password2, &ui.t("error-mismatch"))),
        );
    }
    // The login's own rule first (length, characters), then how guessable it is, with the
    // account's own words (its email, profile and domain name) as context.
    let rule =
        passwords::rule(row.login, &data.password, &ctx.shared.config().xcp).and_then(|()| {
            ctx.shared
                .policy()
                .refusal(&data.password, &[&row.account, &ui.account(&row)])
        });
    if let Err(refusal) = rule {
        let why = refusal_text(&ui, &refusal);
        return form(ctx, &ui, &row, 422, Some((Field::Password, &why)));
    }
    // What the login's clients send is what is hashed (the MD5 for xmlStorageSystem).
    let credential = passwords::credential(row.login, &data.password);
    let hash = match ctx.shared.credentials.hash(&credential) {
        Ok(hash) => hash,
        Err(CredentialError::Busy) => return busy(&ui),
        Err(e) => {
            log::error!("reset: cannot hash the new password: {e}");
            return internal_error(&ui);
        }
    };
    let token = token_of(req).to_string();
    let login = row.login;
    let now = clock::unix_now();
    let client = req.client.to_string();
    let reset_links = ctx.shared.reset.clone();
    let chosen = matches!(ui.source, LangSource::Picked | LangSource::Browser).then_some(ui.lang);
    let changed = db::write(&mut ctx.db, |tx| -> rusqlite::Result<bool> {
        // The token is spent in the same transaction that sets the password: two submissions
        // of one link cannot both succeed.
        if !consume(tx, &token, now)? {
            return Ok(false);
        }
        let updated = passwords::set_hash(tx, login, &hash)?;
        void_tokens(tx, login, now)?;
        // A language its owner chose (the switch, or their browser's) is the one their mails
        // use from now on; a fallback is no choice and is not remembered.
        if let Some(lang) = chosen {
            audience::remember_language(tx, login, lang)?;
        }
        if updated {
            let used =
                audit::Entry::new(audit::Event::LinkUsed, &row.account, &client).login(login);
            audit::record(tx, &used, now)?;
            audit::record(
                tx,
                &audit::Entry::new(audit::Event::PasswordChanged, &row.account, &client)
                    .login(login)
                    .detail("through a reset link"),
                now,
            )?;
        }
        // The owner hears of the change, with a way to undo it if it wasn't them.
        let change = notice::Change {
            login,
            account: &row.account,
            method: Method::ResetLink,
            by: By::Address(&client),
            domain: row.domain.as_deref(),
        };
        if let Err(e) = reset_links.notify_change(tx, &change) {
            log::error!("reset: no password-changed notice for {login}: {e}");
        }
        Ok(updated)
    });
    match changed {
        // The owner took the login back: earlier failures no longer hold it back.
        Ok(true) => ctx
            .shared
            .throttle
            .clear(crate::logins::throttle::Key::Account(login)),
        Ok(false) => return gone(&ui),
        Err(e) if db::is_vanished(&e) => return unavailable(&ui),
        Err(e) => {
            log::error!("reset: cannot set the new password: {e}");
            return internal_error(&ui);
        }
    }
    METRICS.reset_link(ResetEvent::Used, 1);
    // Cached verifications of the old password must not outlive it.
    ctx.shared.credentials.forget_all();
    log::info!("reset: password set for {login} through a reset link");
    let next = escape_html(&ui.t(match login {
        Login::XssUser(_) => "done-next-weblog",
        Login::Profile(_) | Login::SubUser(_) => "done-next-domain",
    }));
    page(
        &ui,
        200,
        &ui.t("done-title"),
        &format!(
            "<h1 id=\"done\">{}</h1>\n<p>{}</p>\n<p>{next}</p>",
            escape_html(&ui.t("done-title")),
            ui.with_account("done-body", &ui.account(&row), &[])
        ),
    )
}
