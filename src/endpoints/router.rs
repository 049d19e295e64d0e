//! The one table of method and path to handler. Every endpoint passlink serves is listed in
//! [`routes`], and nowhere else.

use super::worker::Worker;
use super::{files, reset, status, xcp, xmlstorage};
use crate::config::Group;
use crate::http::{BodyLimit, Request, Response};
use crate::metrics;
use crate::reset::form::MAX_FORM_BYTES;
use crate::xcp::envelope::looks_like_envelope;

pub type Handler = fn(&mut Worker, &Request) -> Response;

/// How a route's path is compared with the request's.
#[derive(Debug, Clone, Copy)]
pub enum PathMatch {
    Exact(&'static str),
    /// The path starts with this (for trees such as `/users/`).
    Prefix(&'static str),
    /// The path starts with this, in any case: `/RPC2`, as Medusa (PyCS) and davexmlrpc
    /// matched it.
    PrefixAnyCase(&'static str),
    /// Any path that no other route has: the handler decides from the request.
    Fallback,
}

impl PathMatch {
    fn matches(self, path: &str) -> bool {
        match self {
            PathMatch::Exact(p) => path == p,
            PathMatch::Prefix(p) => path.starts_with(p),
            PathMatch::PrefixAnyCase(p) => path
                .get(..p.len())
                .is_some_and(|head| head.eq_ignore_ascii_case(p)),
            PathMatch::Fallback => true,
        }
    }
}

pub struct Route {
    pub method: &'static str,
    pub path: PathMatch,
    pub group: Group,
    pub handler: Handler,
    /// The largest body this route takes, if smaller than `server.max_body_bytes`: the HTTP
    /// layer refuses a larger one before reading it ([`body_limit`]).
    pub max_body: Option<u64>,
}

/// The routing table. Later protocols add their rows here.
pub fn routes() -> &'static [Route] {
    ROUTES
}

const ROUTES: &[Route] = {
    use Group::{Files, Reset, Status, Xcp, Xmlstorage};
    use PathMatch::{Exact, Fallback, Prefix, PrefixAnyCase};
    const fn route(method: &'static str, path: PathMatch, group: Group, handler: Handler) -> Route {
        Route {
            method,
            path,
            group,
            handler,
            max_body: None,
        }
    }
    &[
        route("GET", Exact("/healthz"), Status, status::healthz),
        route("GET", Exact("/metrics"), Status, status::metrics),
        // xmlStorageSystem: XML-RPC, SOAP 1.1 and its WSDL, and the sibling namespaces.
        route(
            "POST",
            PrefixAnyCase("/RPC2"),
            Xmlstorage,
            xmlstorage::handle_rpc2,
        ),
        route(
            "POST",
            Exact("/xmlStorageSystem"),
            Xmlstorage,
            xmlstorage::handle_soap,
        ),
        route(
            "GET",
            Exact("/xmlStorageSystem"),
            Xmlstorage,
            xmlstorage::handle_wsdl,
        ),
        route(
            "GET",
            Exact("/weblogUpdates/changes.xml"),
            Xmlstorage,
            xmlstorage::serve_changes,
        ),
        route(
            "GET",
            Prefix("/initialResources/"),
            Xmlstorage,
            xmlstorage::serve_initial_resource,
        ),
        // The page behind a password reset link.
        route("GET", Prefix("/reset/"), Reset, reset::show),
        // The form: two passwords and a token, read only up to its own limit.
        Route {
            max_body: Some(MAX_FORM_BYTES as u64),
            ..route("POST", Prefix("/reset/"), Reset, reset::submit)
        },
        // Users' stored files.
        route("GET", Prefix("/users/"), Files, files::serve),
        // Old URLs of imported weblogs (PyCS aliases, Virtuoso's /DAV/ folders), else 404.
        route("GET", Fallback, Files, files::redirect_old_url),
        // OpenSRS XCP: an OPS envelope POSTed to `/` (an empty target is read as `/`), or to a
        // bare host name (E-NOISE's node client sends `POST example.com HTTP/1.0`).
        route("POST", Exact("/"), Xcp, xcp::handle),
        route("POST", Fallback, Xcp, xcp::handle_any_target),
    ]
};

/// The groups one listener serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Serves(u8);

impl Serves {
    pub fn of(groups: &[Group]) -> Serves {
        Serves(groups.iter().fold(0, |bits, g| bits | Serves::bit(*g)))
    }

    pub fn everything() -> Serves {
        Serves::of(&Group::ALL)
    }

    fn bit(group: Group) -> u8 {
        1 << (group as u8)
    }

    pub fn contains(self, group: Group) -> bool {
        self.0 & Serves::bit(group) != 0
    }
}

pub struct Router {
    routes: &'static [Route],
    /// By listener index.
    listeners: Vec<Serves>,
}

impl Router {
    /// A router for listeners that serve `listeners[i]` (by [`Request::listener`]).
    pub fn new(listeners: Vec<Serves>) -> Router {
        Router {
            routes: routes(),
            listeners,
        }
    }

    /// Finds the handler for a request: 404 when no route has the path, 405 with `Allow` when
    /// some do but not with this method. `HEAD` is served by the `GET` handler. A route
    /// with [`PathMatch::Fallback`] is tried only when no other route has the path. A route
    /// whose group the listener does not serve answers 404 in its protocol's form; on a
    /// listener that serves XCP, an `OPS_envelope` POSTed to any such path is XCP's. Every
    /// request is counted for `/metrics` once answered.
    pub fn dispatch(&self, ctx: &mut Worker, req: &Request) -> Response {
        // Cleared first as well: a handler that panicked left its request's note behind.
        ctx.note = metrics::Note::default();
        let response = self.route(ctx, req);
        metrics::record(
            std::mem::take(&mut ctx.note),
            &req.method,
            response.status,
            req.received,
        );
        response
    }

    fn route(&self, ctx: &mut Worker, req: &Request) -> Response {
        let serves = self
            .listeners
            .get(req.listener)
            .copied()
            .unwrap_or_else(Serves::everything);
        let path = req.path();
        let method = if req.method == "HEAD" {
            "GET"
        } else {
            req.method.as_str()
        };
        let mut allowed: Vec<&'static str> = Vec::new();
        let has_route = self
            .routes
            .iter()
            .any(|r| !matches!(r.path, PathMatch::Fallback) && r.path.matches(path));
        let candidates = self
            .routes
            .iter()
            .filter(|r| r.path.matches(path))
            .filter(|r| !has_route || !matches!(r.path, PathMatch::Fallback));
        let xcp_elsewhere = || {
            serves.contains(Group::Xcp) && req.method == "POST" && looks_like_envelope(&req.body)
        };
        for route in candidates {
            if route.method == method {
                if serves.contains(route.group) {
                    ctx.note.group(route.group);
                    log::debug!(
                        "route: {} {} on listener {} -> {}",
                        req.method,
                        log_path(path),
                        req.listener,
                        route.group
                    );
                    return (route.handler)(ctx, req);
                }
                if xcp_elsewhere() {
                    ctx.note.group(Group::Xcp);
                    return xcp::handle(ctx, req);
                }
                ctx.note.group(route.group);
                return not_served(ctx, route.group, req);
            }
            if matches!(route.path, PathMatch::Fallback) {
                // A path nobody serves is not found, whatever the method.
                continue;
            }
            if serves.contains(route.group) {
                allowed.push(route.method);
                if route.method == "GET" {
                    allowed.push("HEAD");
                }
            }
        }
        if allowed.is_empty() {
            // Nothing here for this listener; an XCP-only port takes an envelope at any path.
            if xcp_elsewhere() {
                ctx.note.group(Group::Xcp);
                return xcp::handle(ctx, req);
            }
            return Response::text(404, "not found");
        }
        allowed.sort_unstable();
        allowed.dedup();
        Response::text(405, "method not allowed").with_header("Allow", allowed.join(", "))
    }
}

/// 404 for a group this listener does not serve, in the protocol's own form where it has one.
fn not_served(ctx: &Worker, group: Group, req: &Request) -> Response {
    match group {
        Group::Xmlstorage => xmlstorage::not_served(req),
        Group::Xcp => xcp::not_served(ctx, req),
        Group::Files | Group::Reset | Group::Status => Response::text(
            404,
            &format!("not found ({group} is not served on this address)"),
        ),
    }
}

/// The largest body a request may send to the route its method and path lead to
/// ([`Route::max_body`]), on a listener that serves that route's group; `u64::MAX` otherwise
/// (`server.max_body_bytes` then applies alone). `listeners[i]` is what listener `i` serves.
pub fn body_limit(listeners: &[Serves], listener: usize, method: &str, path: &str) -> u64 {
    let serves = listeners
        .get(listener)
        .copied()
        .unwrap_or_else(Serves::everything);
    let method = if method == "HEAD" { "GET" } else { method };
    ROUTES
        .iter()
        .filter(|r| !matches!(r.path, PathMatch::Fallback))
        .find(|r| r.method == method && r.path.matches(path))
        .filter(|r| serves.contains(r.group))
        .and_then(|r| r.max_body)
        .unwrap_or(u64::MAX)
}

/// [`body_limit`] for the HTTP layer ([`crate::http::ServerOptions::body_limit`]).
pub fn body_limits(listeners: Vec<Serves>) -> BodyLimit {
    BodyLimit::new(move |listener, method, path| body_limit(&listeners, listener, method, path))
}

/// How a request path appears in the log: escaped, capped, and with bearer tokens in the
/// path (reset links) replaced, since whoever reads the log must not be able to use them.
pub fn log_path(path: &str) -> String {
    const SECRET_PREFIXES: [&str; 1] = ["/reset/"];
    for prefix in SECRET_PREFIXES {
        if path.len() > prefix.len() && path.starts_with(prefix) {
            return format!("{prefix}[redacted]");
        }
    }
    crate::logging::sanitize(path, 200)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(listener: usize, path: &str) -> Request {
        Request {
            method: "GET".into(),
            target: path.into(),
            version: crate::http::Version::Http11,
            headers: Vec::new(),
            body: Vec::new(),
            hold: Default::default(),
            peer: std::net::SocketAddr::from(([127, 0, 0, 1], 1)),
            client: std::net::IpAddr::from([127, 0, 0, 1]),
            https: false,
            listener,
            received: std::time::Instant::now(),
        }
    }

    #[test]
    fn metrics_is_served_where_status_is_and_counts_each_request() {
        let (_dir, mut ctx) =
            crate::endpoints::worker::test_worker(std::sync::Arc::new(crate::reset::LogOnly));
        let router = Router::new(vec![
            Serves::of(&[Group::Status]),
            Serves::of(&[Group::Xcp]),
        ]);
        assert_eq!(router.dispatch(&mut ctx, &get(1, "/metrics")).status, 404);
        let first = router.dispatch(&mut ctx, &get(0, "/metrics"));
        assert_eq!(first.status, 200);
        assert_eq!(first.header("Content-Type"), Some(metrics::CONTENT_TYPE));
        // The counters are the process's, shared with other tests: only presence is certain.
        let page = String::from_utf8(router.dispatch(&mut ctx, &get(0, "/metrics")).body).unwrap();
        for series in [
            "passlink_requests_total{group=\"status\",method=\"GET\",outcome=\"ok\"}",
            "passlink_requests_total{group=\"status\",method=\"GET\",outcome=\"error\"}",
        ] {
            assert!(page.contains(series), "{series} missing from\n{page}");
        }
    }

    #[test]
    fn the_reset_form_has_its_own_body_limit() {
        let all = [Serves::everything()];
        assert_eq!(body_limit(&all, 0, "POST", "/reset/abc"), 8 * 1024);
        assert_eq!(body_limit(&all, 0, "GET", "/reset/abc"), u64::MAX);
        assert_eq!(body_limit(&all, 0, "POST", "/RPC2"), u64::MAX);
        assert_eq!(body_limit(&all, 0, "POST", "/"), u64::MAX);
        assert_eq!(body_limit(&all, 0, "POST", "/elsewhere"), u64::MAX);
        // Where the reset page is not served, the path is not its route (an XCP-only port
        // takes an envelope at any path).
        let xcp_only = [Serves::of(&[Group::Xcp])];
        assert_eq!(body_limit(&xcp_only, 0, "POST", "/reset/abc"), u64::MAX);
        // A listener index nobody configured is treated as serving everything.
        assert_eq!(body_limit(&xcp_only, 7, "POST", "/reset/abc"), 8 * 1024);
    }

    #[test]
    fn tokens_never_reach_the_log() {
        assert_eq!(log_path("/reset/abcdef"), "/reset/[redacted]");
        assert_eq!(log_path("/healthz"), "/healthz");
        assert_eq!(log_path("/a\nb"), "/a\\nb");
    }
}
