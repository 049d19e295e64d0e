//! Endpoints about the appliance itself.

use crate::app::Ctx;
use crate::db;
use crate::http::{Request, Response};

/// `GET /healthz`: 200 when this worker's database connection answers, else 503, so a load
/// balancer or `systemctl` check sees a broken store and not just a live process.
pub fn healthz(ctx: &mut Ctx, _req: &Request) -> Response {
    let response = match db::ping(&ctx.db) {
        Ok(_) => Response::text(200, "ok"),
        Err(e) => {
            log::error!("healthz: {e}");
            Response::text(503, "database unavailable")
        }
    };
    response.with_header("Cache-Control", "no-store")
}
