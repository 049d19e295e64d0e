//! Counters the HTTP layer keeps for `/metrics`: plain atomics, written by the I/O thread and
//! workers, read when the page is rendered. The HTTP layer knows nothing of Prometheus.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use super::budget::Budget;

#[derive(Debug, Default)]
pub struct Stats {
    /// The budget for requests in flight, once the server has started.
    budget: OnceLock<Arc<Budget>>,
    /// Connections accepted and not yet closed.
    open_connections: AtomicU64,
    /// Requests answered 503 because the worker queue was full.
    queue_full: AtomicU64,
    /// Connections turned away at accept (`max_connections`, `max_connections_per_ip`).
    connections_refused: AtomicU64,
    /// TLS handshakes that failed (garbage, plain HTTP on a TLS port, protocol errors).
    tls_handshake_failures: AtomicU64,
    /// Requests refused (503), or unfinished ones closed, because the memory for requests in
    /// flight (`server.max_buffered_bytes`) was taken.
    memory_refusals: AtomicU64,
}

impl Stats {
    pub fn open_connections(&self) -> u64 {
        self.open_connections.load(Ordering::Relaxed)
    }

    pub fn queue_full(&self) -> u64 {
        self.queue_full.load(Ordering::Relaxed)
    }

    pub fn connections_refused(&self) -> u64 {
        self.connections_refused.load(Ordering::Relaxed)
    }

    /// Bytes of request heads, bodies and unread replies held now (see [`super::budget`]).
    pub fn buffered_bytes(&self) -> u64 {
        self.budget.get().map_or(0, |b| b.used())
    }

    pub(super) fn watch_budget(&self, budget: &Arc<Budget>) {
        let _ = self.budget.set(budget.clone());
    }

    pub fn memory_refusals(&self) -> u64 {
        self.memory_refusals.load(Ordering::Relaxed)
    }

    pub fn tls_handshake_failures(&self) -> u64 {
        self.tls_handshake_failures.load(Ordering::Relaxed)
    }

    pub(super) fn opened(&self) {
        self.open_connections.fetch_add(1, Ordering::Relaxed);
    }

    pub(super) fn closed(&self) {
        // Saturating: never wraps, whatever the order of a close and a reload.
        let _ = self
            .open_connections
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
                Some(n.saturating_sub(1))
            });
    }

    pub(super) fn count_queue_full(&self) {
        self.queue_full.fetch_add(1, Ordering::Relaxed);
    }

    pub(super) fn count_refused(&self) {
        self.connections_refused.fetch_add(1, Ordering::Relaxed);
    }

    pub(super) fn count_memory_refusal(&self) {
        self.memory_refusals.fetch_add(1, Ordering::Relaxed);
    }

    pub(super) fn count_tls_failure(&self) {
        self.tls_handshake_failures.fetch_add(1, Ordering::Relaxed);
    }
}
