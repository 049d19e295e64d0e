//! The one table of method and path to handler. Every endpoint passlink serves is listed in
//! [`routes`], and nowhere else.

use crate::app::Ctx;
use crate::http::{Request, Response};
use crate::{files, reset, status, xcp, xss};

pub type Handler = fn(&mut Ctx, &Request) -> Response;

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
    pub handler: Handler,
}

/// The routing table. Later protocols add their rows here.
pub fn routes() -> Vec<Route> {
    use PathMatch::{Exact, Fallback, Prefix, PrefixAnyCase};
    fn route(method: &'static str, path: PathMatch, handler: Handler) -> Route {
        Route {
            method,
            path,
            handler,
        }
    }
    vec![
        route("GET", Exact("/healthz"), status::healthz),
        // xmlStorageSystem: XML-RPC, SOAP 1.1 and its WSDL, and the sibling namespaces.
        route("POST", PrefixAnyCase("/RPC2"), xss::handle_rpc2),
        route("POST", Exact("/xmlStorageSystem"), xss::handle_soap),
        route("GET", Exact("/xmlStorageSystem"), xss::handle_wsdl),
        route(
            "GET",
            Exact("/weblogUpdates/changes.xml"),
            xss::serve_changes,
        ),
        route(
            "GET",
            Prefix("/initialResources/"),
            xss::serve_initial_resource,
        ),
        // The page behind a password reset link.
        route("GET", Prefix("/reset/"), reset::page::show),
        route("POST", Prefix("/reset/"), reset::page::submit),
        // Users' stored files.
        route("GET", Prefix("/users/"), files::serve),
        // OpenSRS XCP: an OPS envelope POSTed to `/` (an empty target is read as `/`), or to a
        // bare host name (E-NOISE's node client sends `POST example.com HTTP/1.0`).
        route("POST", Exact("/"), xcp::handle),
        route("POST", Fallback, xcp::handle_any_target),
    ]
}

/// What a listener serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Serves {
    /// Every route in the table.
    Everything,
    /// XCP alone, on any path (`[xcp] listen`).
    XcpOnly,
}

pub struct Router {
    routes: Vec<Route>,
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
    /// with [`PathMatch::Fallback`] is tried only when no other route has the path.
    pub fn dispatch(&self, ctx: &mut Ctx, req: &Request) -> Response {
        let serves = self
            .listeners
            .get(req.listener)
            .copied()
            .unwrap_or(Serves::Everything);
        if serves == Serves::XcpOnly {
            return if req.method == "POST" {
                xcp::handle(ctx, req)
            } else {
                Response::text(405, "this address serves OpenSRS XCP: POST an OPS_envelope")
                    .with_header("Allow", "POST")
            };
        }
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
        for route in candidates {
            if route.method == method {
                return (route.handler)(ctx, req);
            }
            if matches!(route.path, PathMatch::Fallback) {
                // A path nobody serves is not found, whatever the method.
                continue;
            }
            allowed.push(route.method);
            if route.method == "GET" {
                allowed.push("HEAD");
            }
        }
        if allowed.is_empty() {
            return Response::text(404, "not found");
        }
        allowed.sort_unstable();
        allowed.dedup();
        Response::text(405, "method not allowed").with_header("Allow", allowed.join(", "))
    }
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

    #[test]
    fn tokens_never_reach_the_log() {
        assert_eq!(log_path("/reset/abcdef"), "/reset/[redacted]");
        assert_eq!(log_path("/healthz"), "/healthz");
        assert_eq!(log_path("/a\nb"), "/a\\nb");
    }
}
