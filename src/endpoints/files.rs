//! Users' stored files over HTTP: `GET`/`HEAD /users/NNNNNNN/<path>`, with conditional
//! requests and the headers that keep an uploaded page from acting on passlink's origin.

use rusqlite::Connection;

use super::worker::Worker;
use crate::http::{Request, Response};
use crate::{accounts, clock, files, redirects};

/// Every response for a user file carries these, so an uploaded page can never act on the
/// appliance's own origin (`sandbox`: no scripts, no forms, an opaque origin) nor be sniffed into
/// a type other than the one its extension gives.
fn guarded(resp: Response) -> Response {
    resp.with_header("X-Content-Type-Options", "nosniff")
        .with_header("Content-Security-Policy", "sandbox")
}

fn not_found() -> Response {
    Response::text(404, "not found")
}

/// Whether the client's cached copy is current. `If-None-Match` (weak comparison, any of its
/// header lines) takes precedence, and when present `If-Modified-Since` is ignored (RFC 9110
/// §13.2.2). A date that is not an exact IMF-fixdate is ignored too.
fn not_modified(req: &Request, etag: &str, updated_at: i64) -> bool {
    let opaque = |tag: &str| tag.trim().trim_start_matches("W/").to_string();
    let ours = opaque(etag);
    let mut saw_inm = false;
    for header in req
        .headers
        .iter()
        .filter(|h| h.name.eq_ignore_ascii_case("if-none-match"))
    {
        saw_inm = true;
        let Ok(list) = std::str::from_utf8(&header.value) else {
            continue;
        };
        if list
            .split(',')
            .any(|tag| tag.trim() == "*" || opaque(tag) == ours)
        {
            return true;
        }
    }
    if saw_inm {
        return false;
    }
    req.header("If-Modified-Since")
        .and_then(parse_imf_fixdate)
        .is_some_and(|since| updated_at <= since)
}

/// `clock::parse_http_date`, accepting only what `clock::http_date` would write, so a date with
/// an out-of-range field is refused instead of read as some other instant.
fn parse_imf_fixdate(text: &str) -> Option<i64> {
    clock::parse_http_date(text).filter(|&t| clock::http_date(t) == text)
}

/// `GET` and `HEAD /users/NNNNNNN/<path>` (the server drops the body of a `HEAD`).
///
/// A path ending in `/` serves that folder's `index.html`; a folder named without its slash is
/// redirected to it, as static servers do, so relative links in the page resolve. A disabled or
/// unknown user's files are a plain 404, the same as a missing file.
pub fn serve(ctx: &mut Worker, req: &Request) -> Response {
    let resp = match files::parse_target(req.path()) {
        files::Target::Nothing => not_found(),
        files::Target::AddSlash(location) => moved(location),
        files::Target::File {
            usernum,
            path,
            index,
        } => match serve_file(&mut ctx.db, req, usernum, &path, index) {
            Ok(resp) => resp,
            Err(e) => {
                log::error!("serving a stored file: {e}");
                Response::text(503, "database unavailable")
            }
        },
    };
    guarded(resp)
}

/// `GET` and `HEAD` of any path no other route has: an old URL of an imported weblog answers
/// 301 to the file's `/users/NNNNNNN/` URL ([`crate::redirects`]); anything else is a 404.
pub fn redirect_old_url(ctx: &mut Worker, req: &Request) -> Response {
    match redirects::resolve(&ctx.db, req.path()) {
        Ok(Some(location)) => match req.query() {
            // The query goes along: an old page's `?` links keep their meaning.
            Some(query) => moved(format!("{location}?{query}")),
            None => moved(location),
        },
        Ok(None) => not_found(),
        Err(e) => {
            log::error!("looking up an old URL: {e}");
            Response::text(503, "database unavailable")
        }
    }
}

fn moved(location: String) -> Response {
    Response::text(301, "moved permanently").with_header("Location", location)
}

fn serve_file(
    conn: &mut Connection,
    req: &Request,
    usernum: i64,
    path: &str,
    index: bool,
) -> rusqlite::Result<Response> {
    // One read transaction: the validators and the content come from the same snapshot.
    let tx = conn.transaction()?;
    if !accounts::user_active(&tx, usernum)? {
        return Ok(not_found());
    }
    let Some(file) = files::stored(&tx, usernum, path)? else {
        // `/users/1/blog` where `blog/index.html` exists: send the client to the folder.
        if !index && files::stored(&tx, usernum, &format!("{path}/index.html"))?.is_some() {
            return Ok(moved(format!("{}/", req.path())));
        }
        return Ok(not_found());
    };
    let resp = if not_modified(req, &file.etag, file.updated_at) {
        Response::new(304)
    } else {
        Response::new(200).with_body(
            files::content_type(path),
            files::read_content(&tx, file.id)?,
        )
    };
    tx.commit()?;
    Ok(resp
        .with_header("ETag", file.etag)
        .with_header("Last-Modified", clock::http_date(file.updated_at))
        .with_header("Cache-Control", "no-cache"))
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;
    use std::time::Instant;

    use super::*;
    use crate::files::tests::{add_user, etag, save};
    use crate::http::Version;
    use crate::http::wire::Header;

    #[test]
    fn dates_must_be_exact() {
        let t = 1_795_411_156;
        assert_eq!(parse_imf_fixdate(&clock::http_date(t)), Some(t));
        assert_eq!(parse_imf_fixdate("Mon, 99 Nov 2026 05:19:16 GMT"), None);
        assert_eq!(parse_imf_fixdate("Sunday, 06-Nov-94 08:49:37 GMT"), None);
    }

    fn ctx() -> (tempfile::TempDir, Worker) {
        crate::endpoints::worker::test_worker(std::sync::Arc::new(crate::reset::LogOnly))
    }

    fn get(ctx: &mut Worker, target: &str, headers: &[(&str, &str)]) -> Response {
        let req = Request {
            method: "GET".into(),
            target: target.into(),
            version: Version::Http11,
            headers: headers
                .iter()
                .map(|(n, v)| Header {
                    name: n.to_ascii_lowercase(),
                    value: v.as_bytes().to_vec(),
                })
                .collect(),
            body: Vec::new(),
            hold: Default::default(),
            peer: SocketAddr::from(([127, 0, 0, 1], 1)),
            client: std::net::IpAddr::from([127, 0, 0, 1]),
            https: false,
            listener: 0,
            received: Instant::now(),
        };
        let resp = serve(ctx, &req);
        assert_eq!(resp.header("X-Content-Type-Options"), Some("nosniff"));
        assert_eq!(resp.header("Content-Security-Policy"), Some("sandbox"));
        resp
    }

    const UPDATED: i64 = 1_795_411_156;

    fn with_files() -> (tempfile::TempDir, Worker) {
        let (dir, ctx) = ctx();
        let user = add_user(&ctx.db, "a");
        assert_eq!(user, 1);
        let out = save(
            &ctx.db,
            user,
            &[
                ("index.html", b"home"),
                ("blog/index.html", b"blog"),
                ("a b.txt", b"sp"),
            ],
            UPDATED,
        );
        assert_eq!(out, ["ok", "ok", "ok"]);
        (dir, ctx)
    }

    #[test]
    fn serves_files_with_their_headers() {
        let (_dir, mut ctx) = with_files();
        let resp = get(&mut ctx, "/users/0000001/a%20b.txt", &[]);
        assert_eq!(resp.status, 200);
        assert_eq!(resp.body, b"sp");
        assert_eq!(
            resp.header("Content-Type"),
            Some("text/plain; charset=utf-8")
        );
        assert_eq!(resp.header("Cache-Control"), Some("no-cache"));
        assert_eq!(
            resp.header("Last-Modified"),
            Some(clock::http_date(UPDATED).as_str())
        );
        assert_eq!(
            resp.header("ETag"),
            Some(etag(&ctx.db, 1, "a b.txt").as_str())
        );
        // Unpadded numbers and a query string name the same file.
        assert_eq!(get(&mut ctx, "/users/1/a%20b.txt?x=1", &[]).body, b"sp");
    }

    #[test]
    fn folders_serve_index_html() {
        let (_dir, mut ctx) = with_files();
        let root = get(&mut ctx, "/users/0000001/", &[]);
        assert_eq!((root.status, root.body.as_slice()), (200, &b"home"[..]));
        assert_eq!(
            root.header("Content-Type"),
            Some("text/html; charset=utf-8")
        );
        assert_eq!(get(&mut ctx, "/users/0000001/blog/", &[]).body, b"blog");

        let bare = get(&mut ctx, "/users/0000001", &[]);
        assert_eq!(bare.status, 301);
        assert_eq!(bare.header("Location"), Some("/users/0000001/"));
        let folder = get(&mut ctx, "/users/0000001/blog", &[]);
        assert_eq!(folder.status, 301);
        assert_eq!(folder.header("Location"), Some("/users/0000001/blog/"));
        // No index.html in the folder: nothing to serve.
        assert_eq!(get(&mut ctx, "/users/0000001/nope/", &[]).status, 404);
    }

    #[test]
    fn missing_files_and_users_are_404() {
        let (_dir, mut ctx) = with_files();
        for target in [
            "/users/0000001/missing.html",
            "/users/0000002/index.html",
            "/users/0000001/../0000001/index.html",
            "/users/0000001/%00.html",
            "/users/abc/",
            "/users/",
        ] {
            let resp = get(&mut ctx, target, &[]);
            assert_eq!(resp.status, 404, "{target}");
            assert_eq!(
                resp.header("Content-Type"),
                Some("text/plain; charset=utf-8")
            );
            assert_eq!(resp.header("ETag"), None);
        }
        ctx.db
            .execute("UPDATE users SET disabled = 1 WHERE id = 1", [])
            .unwrap();
        assert_eq!(get(&mut ctx, "/users/0000001/", &[]).status, 404);
        assert_eq!(get(&mut ctx, "/users/0000001/a%20b.txt", &[]).status, 404);
    }

    #[test]
    fn conditional_requests() {
        let (_dir, mut ctx) = with_files();
        let target = "/users/0000001/index.html";
        let tag = etag(&ctx.db, 1, "index.html");
        let date = clock::http_date(UPDATED);
        let status = |ctx: &mut Worker, headers: &[(&str, &str)]| get(ctx, target, headers).status;

        let hit = get(&mut ctx, target, &[("If-None-Match", &tag)]);
        assert_eq!(hit.status, 304);
        assert!(hit.body.is_empty());
        assert_eq!(hit.header("ETag"), Some(tag.as_str()));
        assert_eq!(hit.header("Last-Modified"), Some(date.as_str()));
        assert_eq!(hit.header("Content-Type"), None);

        let weak = format!("W/{tag}");
        let listed = format!("\"nope\", {weak}");
        assert_eq!(status(&mut ctx, &[("If-None-Match", &weak)]), 304);
        assert_eq!(status(&mut ctx, &[("If-None-Match", &listed)]), 304);
        assert_eq!(status(&mut ctx, &[("If-None-Match", "*")]), 304);
        assert_eq!(
            status(
                &mut ctx,
                &[("If-None-Match", "\"a\""), ("If-None-Match", &tag)]
            ),
            304,
            "every If-None-Match line counts"
        );
        assert_eq!(status(&mut ctx, &[("If-None-Match", "\"nope\"")]), 200);
        // A non-matching If-None-Match overrides a matching If-Modified-Since.
        assert_eq!(
            status(
                &mut ctx,
                &[("If-None-Match", "\"nope\""), ("If-Modified-Since", &date)]
            ),
            200
        );

        assert_eq!(status(&mut ctx, &[("If-Modified-Since", &date)]), 304);
        let later = clock::http_date(UPDATED + 60);
        assert_eq!(status(&mut ctx, &[("If-Modified-Since", &later)]), 304);
        let earlier = clock::http_date(UPDATED - 1);
        assert_eq!(status(&mut ctx, &[("If-Modified-Since", &earlier)]), 200);
        assert_eq!(status(&mut ctx, &[("If-Modified-Since", "yesterday")]), 200);

        // A new upload changes both validators.
        let out = save(&ctx.db, 1, &[("index.html", b"new")], UPDATED + 120);
        assert_eq!(out, ["ok"]);
        assert_eq!(status(&mut ctx, &[("If-None-Match", &tag)]), 200);
        assert_eq!(status(&mut ctx, &[("If-Modified-Since", &later)]), 200);
    }
}
