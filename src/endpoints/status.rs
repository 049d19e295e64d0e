//! Endpoints about the appliance itself.

use crate::endpoints::worker::Worker;
use crate::http::{Request, Response};
use crate::metrics::{self, METRICS, Snapshot};
use crate::{db, mail};

/// `GET /healthz`: 200 when the database file is still the one the server opened and this
/// worker's connection answers, else 503 with the reason, so a load balancer or `systemctl`
/// check sees a broken store and not just a live process.
pub fn healthz(ctx: &mut Worker, _req: &Request) -> Response {
    let response = if let Some(found) = db::watch::problem() {
        // Logged once by the watch; the body says it to whoever looks.
        Response::text(
            503,
            &format!(
                "database unavailable: the database file {found} while passlink was running; \
                 writes are refused until it is restored and passlink restarted"
            ),
        )
    } else {
        match db::ping(&ctx.db) {
            Ok(_) => Response::text(200, "ok"),
            Err(e) => {
                log::error!("healthz: {e}");
                Response::text(503, "database unavailable")
            }
        }
    };
    response.with_header("Cache-Control", "no-store")
}

/// `GET /metrics`: the counters, the HTTP layer's figures, and what the database holds now
/// (read on this worker's connection). A database that cannot be read leaves its families
/// out of the page instead of failing the scrape.
pub fn metrics(ctx: &mut Worker, _req: &Request) -> Response {
    let stats = &ctx.shared.http_stats;
    let outbox = mail::depth_by_state(&ctx.db)
        .map_err(|e| log::error!("metrics: cannot count the outbox: {e}"))
        .ok();
    let database_bytes = db::size_bytes(&ctx.db)
        .map_err(|e| log::error!("metrics: cannot read the database size: {e}"))
        .ok();
    let snapshot = Snapshot {
        open_connections: stats.open_connections(),
        queue_full: stats.queue_full(),
        connections_refused: stats.connections_refused(),
        memory_refusals: stats.memory_refusals(),
        buffered_bytes: stats.buffered_bytes(),
        tls_handshake_failures: stats.tls_handshake_failures(),
        outbox: outbox.map(|states| {
            states
                .into_iter()
                .map(|(state, n)| (state.as_str(), n))
                .collect()
        }),
        database_bytes,
        audit_events: crate::audit::counts(),
        audit_write_failures: crate::audit::write_failures(),
    };
    Response::new(200)
        .with_body(
            metrics::CONTENT_TYPE,
            METRICS.render(&snapshot).into_bytes(),
        )
        .with_header("Cache-Control", "no-store")
}
