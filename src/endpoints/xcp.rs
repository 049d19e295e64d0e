//! OpenSRS XCP over HTTP: an `OPS_envelope` POSTed to `/` (or any target). Every answer,
//! errors included, is an OPS reply with HTTP status 200: the known clients ignore the body of
//! anything else.

use std::net::IpAddr;

use crate::audit::failed::Refusal;
use crate::http::{Request, Response};
use crate::metrics;
use crate::xcp::MAX_DEPTH;
use crate::xcp::commands::{self, Caller, Outcome};
use crate::xcp::envelope::{self, EnvelopeError, OpsReply};
use crate::xcp::resellers::{self, AuthFailure};
use crate::xml::Allowance;

use super::worker::Worker;

/// `POST` of an OPS envelope, on any request target.
pub fn handle(ctx: &mut Worker, req: &Request) -> Response {
    let reply = exchange(ctx, req);
    Response::new(200).with_body("text/xml", envelope::encode_reply(&reply))
}

/// A `POST` to a path no other route serves: XCP if the body is an OPS envelope (clients send
/// `POST /`, an empty target or a bare host name), else 404.
pub fn handle_any_target(ctx: &mut Worker, req: &Request) -> Response {
    if envelope::looks_like_envelope(&req.body) {
        handle(ctx, req)
    } else {
        Response::text(404, "not found")
    }
}

/// 404 on a listener that does not serve XCP, as an OPS reply (is_success 0) so that XCP
/// clients can show the reason.
pub fn not_served(ctx: &Worker, req: &Request) -> Response {
    let hold = ctx.shared.decode_memory();
    let mut take = |bytes: usize| hold.grow(bytes as u64).is_ok();
    let mut memory = Allowance::for_body(req.body.len()).with_pool(&mut take);
    let object = envelope::decode_within(&req.body, MAX_DEPTH, &mut memory)
        .map(|r| r.object.chars().take(64).collect())
        .unwrap_or_default();
    let reply = OpsReply {
        object,
        is_success: false,
        response_code: 404,
        response_text: "OpenSRS XCP is not served on this address".into(),
        attributes: Vec::new(),
    };
    Response::new(404).with_body("text/xml", envelope::encode_reply(&reply))
}

/// Runs one request, noting its command and outcome for `/metrics` (the method label is a
/// command [`commands::parse`] knows, or `other`).
fn exchange(ctx: &mut Worker, req: &Request) -> OpsReply {
    let hold = ctx.shared.decode_memory();
    let mut take = |bytes: usize| hold.grow(bytes as u64).is_ok();
    let mut memory = Allowance::for_body(req.body.len()).with_pool(&mut take);
    let decoded = envelope::decode_within(&req.body, MAX_DEPTH, &mut memory);
    ctx.note.method(
        decoded
            .as_ref()
            .ok()
            .and_then(commands::known_name)
            .unwrap_or(metrics::OTHER),
    );
    let object: String = decoded
        .as_ref()
        .map(|r| r.object.chars().take(64).collect())
        .unwrap_or_default();
    let reply = |outcome: Outcome| OpsReply {
        object: object.clone(),
        is_success: outcome.is_success,
        response_code: outcome.code,
        response_text: outcome.text,
        attributes: outcome.attributes,
    };
    let peer = req.client;
    let username = req.header("x-username");
    let reseller = match resellers::authenticate(
        &ctx.db,
        username,
        req.header("x-signature"),
        &req.body,
        peer,
    ) {
        Ok(Ok(reseller)) => reseller,
        Ok(Err(failure)) => {
            ctx.note.outcome(metrics::Outcome::Error);
            // Logged without the signature: with the body it would be an oracle for the key.
            let who = crate::logging::sanitize(username.unwrap_or("-"), 64);
            // For the audit trail: a reseller's key is a credential too.
            let why = match failure {
                AuthFailure::Unauthenticated => Refusal::BadSignature,
                AuthFailure::IpDenied => Refusal::AddressNotAllowed,
            };
            ctx.shared.audit.refused(
                why,
                None,
                &format!("reseller {}", username.unwrap_or("-")),
                peer,
                crate::clock::unix_now(),
            );
            return reply(match failure {
                AuthFailure::Unauthenticated => {
                    log::warn!(
                        "xcp: authentication failed for reseller {who} from {peer} \
                         (unknown reseller, or missing or wrong signature)"
                    );
                    Outcome::failure(401, "Authentication Failed")
                }
                AuthFailure::IpDenied => {
                    log::warn!("xcp: reseller {who} refused: {peer} is not in its allowlist");
                    Outcome::failure(400, "Access denied: invalid IP address.")
                }
            });
        }
        Err(e) => {
            ctx.note.outcome(metrics::Outcome::ServerError);
            log::error!("xcp: database error during authentication: {e}");
            return reply(Outcome::failure(400, "Internal server error."));
        }
    };
    let request = match decoded {
        Ok(request) => request,
        Err(EnvelopeError::Xml(e)) if e.is_busy() => {
            ctx.note.outcome(metrics::Outcome::ServerError);
            return reply(Outcome::failure(400, "Server busy; try again in a moment."));
        }
        Err(e) => {
            ctx.note.outcome(metrics::Outcome::Fault);
            return reply(Outcome::failure(400, format!("Malformed request: {e}")));
        }
    };
    if !request
        .protocol
        .as_deref()
        .is_some_and(|p| p.eq_ignore_ascii_case("XCP"))
    {
        ctx.note.outcome(metrics::Outcome::Fault);
        return reply(Outcome::failure(500, "Unrecognized protocol"));
    }
    let outcome = match commands::parse(&request) {
        Ok(command) => {
            // The reseller may relay the end user's address; it is what cookies record.
            let ip = request
                .top
                .get_str("registrant_ip")
                .and_then(|ip| ip.trim().parse::<IpAddr>().ok())
                .unwrap_or(peer);
            let caller = Caller {
                reseller: &reseller,
                ip,
            };
            let config = ctx.shared.config();
            let policy = ctx.shared.policy();
            let mut env = commands::Env {
                db: &mut ctx.db,
                config: &config.xcp,
                credentials: &ctx.shared.credentials,
                reset: &*ctx.shared.reset,
                note: &mut ctx.note,
                policy: &policy,
                throttle: &ctx.shared.throttle,
                audit: &ctx.shared.audit,
            };
            commands::execute(&mut env, &caller, command)
        }
        Err(outcome) => {
            // The request lacks what its command needs, or names no known command.
            ctx.note.outcome(metrics::Outcome::Fault);
            outcome
        }
    };
    ctx.note.outcome(if outcome.is_success {
        metrics::Outcome::Ok
    } else {
        metrics::Outcome::Error
    });
    log::info!(
        "xcp: reseller={} command=\"{} {}\" code={}",
        reseller.username,
        crate::logging::sanitize(&request.action, 64),
        crate::logging::sanitize(&request.object, 64),
        outcome.code
    );
    reply(outcome)
}
