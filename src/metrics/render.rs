//! Writing the page: every family in a fixed order, with its help text.

use std::sync::PoisonError;
use std::sync::atomic::{AtomicU64, Ordering};

use super::text::{HistogramSample, Kind, Page};
use super::{Argon2Work, DURATION_BUCKETS, Delivery, Metrics, RateLimit, Snapshot, slot_name};
use crate::config::Group;

impl Metrics {
    /// The whole page.
    pub fn render(&self, snapshot: &Snapshot) -> String {
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let mut page = Page::default();

        page.family(
            "passlink_build_info",
            Kind::Gauge,
            "The running passlink's version (always 1).",
        );
        page.sample(
            "passlink_build_info",
            &[("version", env!("CARGO_PKG_VERSION"))],
            1u64,
        );

        self.render_requests(&mut page);

        page.family(
            "passlink_argon2_in_flight",
            Kind::Gauge,
            "argon2 computations running now (credential checks and new password hashes).",
        );
        page.sample(
            "passlink_argon2_in_flight",
            &[],
            load(&self.argon2_in_flight),
        );
        page.family(
            "passlink_argon2_computations_total",
            Kind::Counter,
            "argon2 computations started, by work: verify (a credential check that the cache \
             did not answer), hash (a new password) or rehash (a stored hash upgraded to the \
             configured cost at a login).",
        );
        for (work, n) in Argon2Work::ALL.iter().zip(&self.argon2) {
            page.sample(
                "passlink_argon2_computations_total",
                &[("work", work.name())],
                load(n),
            );
        }

        let counters: [(&str, &str, &AtomicU64); 5] = [
            (
                "passlink_credential_cache_hits_total",
                "xmlStorageSystem credential checks answered by the verified-credential cache.",
                &self.cache_hits,
            ),
            (
                "passlink_credential_cache_misses_total",
                "xmlStorageSystem credential checks the cache could not answer (argon2 ran).",
                &self.cache_misses,
            ),
            (
                "passlink_reset_links_issued_total",
                "Password reset links issued (each with its mail queued).",
                &self.reset_issued,
            ),
            (
                "passlink_reset_links_used_total",
                "Password reset links through which a new password was set.",
                &self.reset_used,
            ),
            (
                "passlink_reset_links_expired_total",
                "Password reset links that reached their expiry unused (counted by the mailer's \
                 once-a-minute chore).",
                &self.reset_expired,
            ),
        ];
        for (name, help, n) in counters {
            page.family(name, Kind::Counter, help);
            page.sample(name, &[], load(n));
        }

        page.family(
            "passlink_audit_events_total",
            Kind::Counter,
            "Events this process recorded in the audit trail, by event (failed logins count \
             attempts; the trail writes them as one row per login, client and minute).",
        );
        for (event, n) in &snapshot.audit_events {
            page.sample("passlink_audit_events_total", &[("event", event)], *n);
        }
        page.family(
            "passlink_audit_write_failures_total",
            Kind::Counter,
            "Audit events not written because the database was nearly full (the change they \
             describe went ahead; see the log).",
        );
        page.sample(
            "passlink_audit_write_failures_total",
            &[],
            snapshot.audit_write_failures,
        );

        if let Some(outbox) = &snapshot.outbox {
            page.family(
                "passlink_mail_outbox_messages",
                Kind::Gauge,
                "Messages in the mail outbox, by state (sent ones are kept a while, then \
                 purged).",
            );
            for (state, n) in outbox {
                page.sample("passlink_mail_outbox_messages", &[("state", state)], *n);
            }
        }
        page.family(
            "passlink_mail_deliveries_total",
            Kind::Counter,
            "Delivery attempts of outbox messages, by result: sent, deferred (to be retried) or \
             failed (given up).",
        );
        for (result, n) in Delivery::ALL.iter().zip(&self.deliveries) {
            page.sample(
                "passlink_mail_deliveries_total",
                &[("result", result.name())],
                load(n),
            );
        }

        page.family(
            "passlink_rate_limited_total",
            Kind::Counter,
            "Requests refused by a limit, by kind: reset_ip (per-address bucket for reset \
             requests), reset_login (links per login per hour), reset_invalid_link (invalid \
             links opened per address per minute), argon2_busy (every argon2 slot busy).",
        );
        for (kind, n) in RateLimit::ALL.iter().zip(&self.rate_limited) {
            page.sample(
                "passlink_rate_limited_total",
                &[("kind", kind.name())],
                load(n),
            );
        }

        let http: [(&str, Kind, &str, u64); 6] = [
            (
                "passlink_http_queue_full_total",
                Kind::Counter,
                "Requests answered 503 because the worker queue was full.",
                snapshot.queue_full,
            ),
            (
                "passlink_http_open_connections",
                Kind::Gauge,
                "Client connections open now.",
                snapshot.open_connections,
            ),
            (
                "passlink_http_connections_refused_total",
                Kind::Counter,
                "Connections closed at accept by max_connections or max_connections_per_ip.",
                snapshot.connections_refused,
            ),
            (
                "passlink_http_memory_refusals_total",
                Kind::Counter,
                "Requests answered 503, or unfinished ones closed to make room, because the \
                 memory for requests in flight (server.max_buffered_bytes) was taken.",
                snapshot.memory_refusals,
            ),
            (
                "passlink_http_buffered_bytes",
                Kind::Gauge,
                "Bytes of request heads, bodies and unread replies held now, of \
                 server.max_buffered_bytes.",
                snapshot.buffered_bytes,
            ),
            (
                "passlink_tls_handshake_failures_total",
                Kind::Counter,
                "TLS handshakes that failed (garbage, plain HTTP on a TLS port, protocol errors).",
                snapshot.tls_handshake_failures,
            ),
        ];
        for (name, kind, help, n) in http {
            page.family(name, kind, help);
            page.sample(name, &[], n);
        }

        if let Some(bytes) = snapshot.database_bytes {
            page.family(
                "passlink_database_size_bytes",
                Kind::Gauge,
                "Size of the SQLite database: page_count * page_size, the figure \
                 storage.max_db_bytes caps (the -wal file is not included).",
            );
            page.sample("passlink_database_size_bytes", &[], bytes);
        }
        page.finish()
    }

    fn render_requests(&self, page: &mut Page) {
        let (counts, durations) = {
            let requests = self.requests.lock().unwrap_or_else(PoisonError::into_inner);
            (requests.counts.clone(), requests.durations)
        };
        page.family(
            "passlink_requests_total",
            Kind::Counter,
            "Requests served, by endpoint group, method (the xmlStorageSystem method or XCP \
             action and object; GET or POST for plain HTTP endpoints; other for anything \
             unknown) and outcome (ok, error, fault, server_error).",
        );
        for ((slot, method, outcome), n) in &counts {
            page.sample(
                "passlink_requests_total",
                &[
                    ("group", slot_name(*slot)),
                    ("method", method),
                    ("outcome", outcome.name()),
                ],
                *n,
            );
        }
        page.family(
            "passlink_request_duration_seconds",
            Kind::Histogram,
            "Time from a request's first byte to its response being ready, by endpoint group.",
        );
        let mut buckets = [(0.0, 0); DURATION_BUCKETS.len()];
        for (slot, h) in durations.iter().enumerate() {
            // The five groups always; requests no route took only once there were some.
            if slot >= Group::ALL.len() && h.count() == 0 {
                continue;
            }
            let mut cumulative = 0;
            for (i, bound) in DURATION_BUCKETS.iter().enumerate() {
                cumulative += h.counts[i];
                buckets[i] = (*bound, cumulative);
            }
            page.histogram(
                "passlink_request_duration_seconds",
                &[("group", slot_name(slot))],
                &HistogramSample {
                    buckets: &buckets,
                    sum: h.sum_seconds(),
                    count: h.count(),
                },
            );
        }
    }
}
