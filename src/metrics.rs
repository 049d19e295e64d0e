//! Prometheus metrics, served as `GET /metrics` on listeners that serve the `status` group, in
//! the text exposition format 0.0.4.
//!
//! Written by hand, not with the `prometheus-client` crate: that crate writes only the
//! OpenMetrics text format (counter samples named `x_total` under `# TYPE x counter`, and a
//! closing `# EOF`), so its output served as 0.0.4 would be mislabelled, and it brings a
//! derive macro and a lock crate with it. passlink's families are fixed and every label value
//! is a `&'static str` from a closed set, so the format comes down to escaping and number
//! formatting ([`text`]), and the page is checked by a real parser in the integration tests.
//!
//! The counters live in one process-wide static, [`METRICS`]: they are about the process (one
//! page per process), and a static lets the modules that count (accounts, reset, mail) do so
//! without each constructor taking a registry. Values read from elsewhere at scrape time (the
//! HTTP layer's [`crate::http::Stats`], the outbox and the database size) are passed to
//! [`Metrics::render`] in a [`Snapshot`].
//!
//! No label carries a user, an email, a domain or an address: label values are `&'static
//! str` (names of methods, groups, states), which no request can supply, so the number of
//! series is bounded by the code.

mod render;
mod text;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::config::Group;
pub use text::{CONTENT_TYPE, valid_name};

/// The counters of this process.
pub static METRICS: Metrics = Metrics::new();

/// How a request ended, as the `outcome` label of `passlink_requests_total` says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Outcome {
    /// Done as asked.
    Ok,
    /// Answered with an error in the protocol's own terms: `flError` true, an XCP reply with
    /// `is_success` 0, an HTTP 4xx (a wrong password, a missing file, a rate limit).
    Error,
    /// The request itself was wrong: a client-side XML-RPC or SOAP fault (unknown method,
    /// wrong parameters, bad XML), an XCP envelope that is malformed or names no known command
    /// or lacks what the command needs.
    Fault,
    /// The server could not do it: a database error (locked, full, broken), an internal fault,
    /// an HTTP 5xx.
    ServerError,
}

impl Outcome {
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Error => "error",
            Outcome::Fault => "fault",
            Outcome::ServerError => "server_error",
        }
    }

    /// The outcome an HTTP status implies, for requests whose handler noted none (the plain
    /// HTTP endpoints: files, reset pages, health, WSDL).
    pub fn of_status(status: u16) -> Outcome {
        match status {
            500.. => Outcome::ServerError,
            400..=499 => Outcome::Error,
            _ => Outcome::Ok,
        }
    }
}

/// What a request was, filled in while it is served: the router notes the group, handlers
/// the method and outcome. The router reads it once the handler returns ([`record`]).
#[derive(Debug, Default)]
pub struct Note {
    group: Option<Group>,
    method: Option<&'static str>,
    outcome: Option<Outcome>,
}

/// The first note of each kind stands: the code nearest the cause notes first (a database
/// error deep in a method is a server error even though the reply is an ordinary `flError`).
impl Note {
    pub fn group(&mut self, group: Group) {
        self.group.get_or_insert(group);
    }

    /// `method` must be a known name from a static table, or `"other"`: never text from the
    /// request.
    pub fn method(&mut self, method: &'static str) {
        self.method.get_or_insert(method);
    }

    pub fn outcome(&mut self, outcome: Outcome) {
        self.outcome.get_or_insert(outcome);
    }
}

/// The label for a method name nobody knows.
pub const OTHER: &str = "other";

/// Counts a served request. `received` starts the duration, so it includes the wait in the
/// worker queue and reading the body, and ends when the response is ready to write.
pub fn record(note: Note, http_method: &str, status: u16, received: Instant) {
    let method = note.method.unwrap_or(match http_method {
        // The router serves HEAD with the GET handler.
        "GET" | "HEAD" => "GET",
        "POST" => "POST",
        _ => OTHER,
    });
    let outcome = note.outcome.unwrap_or_else(|| Outcome::of_status(status));
    METRICS.observe_request(note.group, method, outcome, received.elapsed());
}

/// Refusals by a limit, by the `kind` label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateLimit {
    /// The per-address token bucket for reset requests.
    ResetIp,
    /// A login's hourly number of reset links.
    ResetLogin,
    /// Too many invalid reset links opened from one address in a minute.
    ResetInvalidLink,
    /// Every argon2 slot busy: the login was shed, not queued.
    Argon2Busy,
    /// A login held back after repeated failures, answered without argon2.
    LoginThrottle,
}

impl RateLimit {
    const ALL: [RateLimit; 5] = [
        RateLimit::ResetIp,
        RateLimit::ResetLogin,
        RateLimit::ResetInvalidLink,
        RateLimit::Argon2Busy,
        RateLimit::LoginThrottle,
    ];

    fn name(self) -> &'static str {
        match self {
            RateLimit::ResetIp => "reset_ip",
            RateLimit::ResetLogin => "reset_login",
            RateLimit::ResetInvalidLink => "reset_invalid_link",
            RateLimit::Argon2Busy => "argon2_busy",
            RateLimit::LoginThrottle => "login_throttle",
        }
    }
}

/// What became of one delivery attempt of an outbox message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    Sent,
    /// Failed; tried again later.
    Deferred,
    /// Failed for good (past the retry horizon).
    Failed,
}

impl Delivery {
    const ALL: [Delivery; 3] = [Delivery::Sent, Delivery::Deferred, Delivery::Failed];

    fn name(self) -> &'static str {
        match self {
            Delivery::Sent => "sent",
            Delivery::Deferred => "deferred",
            Delivery::Failed => "failed",
        }
    }
}

/// What an argon2 computation is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Argon2Work {
    /// Checking a credential against a stored hash.
    Verify,
    /// Hashing a new password.
    Hash,
    /// Hashing a verified credential again with the configured cost (an upgrade).
    Rehash,
}

impl Argon2Work {
    const ALL: [Argon2Work; 3] = [Argon2Work::Verify, Argon2Work::Hash, Argon2Work::Rehash];

    fn name(self) -> &'static str {
        match self {
            Argon2Work::Verify => "verify",
            Argon2Work::Hash => "hash",
            Argon2Work::Rehash => "rehash",
        }
    }
}

/// Events in a reset link's life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResetEvent {
    Issued,
    /// A new password was set through it.
    Used,
    /// It reached its expiry unused.
    Expired,
}

/// Counts one argon2 computation and holds it in the in-flight gauge until dropped.
#[must_use = "the computation is in flight while this lives"]
pub struct Argon2InFlight<'a>(&'a Metrics);

impl Drop for Argon2InFlight<'_> {
    fn drop(&mut self) {
        self.0.argon2_in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Upper bounds of the duration buckets, in seconds: from a cached login (well under a
/// millisecond) through argon2 (tens of milliseconds) to a slow client's upload.
const DURATION_BUCKETS: [f64; 13] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];
/// The five groups and one for requests no route took.
const GROUP_SLOTS: usize = Group::ALL.len() + 1;
const NO_GROUP: &str = "none";

fn group_slot(group: Option<Group>) -> usize {
    group
        .and_then(|g| Group::ALL.iter().position(|x| *x == g))
        .unwrap_or(Group::ALL.len())
}

fn slot_name(slot: usize) -> &'static str {
    Group::ALL.get(slot).map_or(NO_GROUP, |g| g.name())
}

#[derive(Debug, Clone, Copy)]
struct Histogram {
    /// Observations per bucket (not cumulative); the last slot is above every bound.
    counts: [u64; DURATION_BUCKETS.len() + 1],
    /// In whole nanoseconds, so that the sum is exact and prints as short as it is (a float
    /// accumulator turns 0.019165477 into 0.019165476999999997).
    sum_nanos: u64,
}

impl Histogram {
    const EMPTY: Histogram = Histogram {
        counts: [0; DURATION_BUCKETS.len() + 1],
        sum_nanos: 0,
    };

    fn observe(&mut self, took: Duration) {
        let seconds = took.as_secs_f64();
        let i = DURATION_BUCKETS
            .iter()
            .position(|bound| seconds <= *bound)
            .unwrap_or(DURATION_BUCKETS.len());
        self.counts[i] += 1;
        let nanos = u64::try_from(took.as_nanos()).unwrap_or(u64::MAX);
        self.sum_nanos = self.sum_nanos.saturating_add(nanos);
    }

    fn sum_seconds(&self) -> f64 {
        // Exact below 2^53 ns (104 days of summed request time), within a ulp beyond.
        self.sum_nanos as f64 / 1e9
    }

    fn count(&self) -> u64 {
        self.counts.iter().sum()
    }
}

/// Request counts and durations, under one lock so that a page shows them consistent.
#[derive(Debug)]
struct Requests {
    /// By (group slot, method, outcome).
    counts: BTreeMap<(usize, &'static str, Outcome), u64>,
    durations: [Histogram; GROUP_SLOTS],
}

/// Every counter of the process.
#[derive(Debug)]
pub struct Metrics {
    requests: Mutex<Requests>,
    argon2_in_flight: AtomicU64,
    /// By [`Argon2Work::ALL`].
    argon2: [AtomicU64; Argon2Work::ALL.len()],
    cache_hits: AtomicU64,
    cache_misses: AtomicU64,
    reset_issued: AtomicU64,
    reset_used: AtomicU64,
    reset_expired: AtomicU64,
    /// By [`Delivery::ALL`].
    deliveries: [AtomicU64; 3],
    /// By [`RateLimit::ALL`].
    rate_limited: [AtomicU64; RateLimit::ALL.len()],
}

/// What is read at scrape time from outside the counters.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    pub open_connections: u64,
    pub queue_full: u64,
    pub connections_refused: u64,
    pub memory_refusals: u64,
    pub buffered_bytes: u64,
    pub tls_handshake_failures: u64,
    /// Outbox messages by state; `None` when the database could not be read.
    pub outbox: Option<Vec<(&'static str, u64)>>,
    pub database_bytes: Option<u64>,
    /// Audit events recorded by this process, by event name ([`crate::audit::counts`]).
    pub audit_events: Vec<(&'static str, u64)>,
    /// Audit events not written for want of room ([`crate::audit::write_failures`]).
    pub audit_write_failures: u64,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    pub const fn new() -> Metrics {
        Metrics {
            requests: Mutex::new(Requests {
                counts: BTreeMap::new(),
                durations: [Histogram::EMPTY; GROUP_SLOTS],
            }),
            argon2_in_flight: AtomicU64::new(0),
            argon2: [const { AtomicU64::new(0) }; Argon2Work::ALL.len()],
            cache_hits: AtomicU64::new(0),
            cache_misses: AtomicU64::new(0),
            reset_issued: AtomicU64::new(0),
            reset_used: AtomicU64::new(0),
            reset_expired: AtomicU64::new(0),
            deliveries: [const { AtomicU64::new(0) }; 3],
            rate_limited: [const { AtomicU64::new(0) }; RateLimit::ALL.len()],
        }
    }

    pub fn observe_request(
        &self,
        group: Option<Group>,
        method: &'static str,
        outcome: Outcome,
        took: Duration,
    ) {
        let slot = group_slot(group);
        let mut requests = self.requests.lock().unwrap_or_else(PoisonError::into_inner);
        *requests.counts.entry((slot, method, outcome)).or_insert(0) += 1;
        requests.durations[slot].observe(took);
    }

    /// Call once a permit is held: the computation counts from here until the guard drops.
    pub fn argon2(&self, work: Argon2Work) -> Argon2InFlight<'_> {
        let i = Argon2Work::ALL.iter().position(|w| *w == work).unwrap_or(0);
        self.argon2[i].fetch_add(1, Ordering::Relaxed);
        self.argon2_in_flight.fetch_add(1, Ordering::Relaxed);
        Argon2InFlight(self)
    }

    pub fn credential_cache(&self, hit: bool) {
        let counter = if hit {
            &self.cache_hits
        } else {
            &self.cache_misses
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub fn reset_link(&self, event: ResetEvent, n: u64) {
        let counter = match event {
            ResetEvent::Issued => &self.reset_issued,
            ResetEvent::Used => &self.reset_used,
            ResetEvent::Expired => &self.reset_expired,
        };
        counter.fetch_add(n, Ordering::Relaxed);
    }

    pub fn delivery(&self, result: Delivery) {
        let i = Delivery::ALL.iter().position(|d| *d == result).unwrap_or(0);
        self.deliveries[i].fetch_add(1, Ordering::Relaxed);
    }

    pub fn rate_limited(&self, kind: RateLimit) {
        let i = RateLimit::ALL.iter().position(|k| *k == kind).unwrap_or(0);
        self.rate_limited[i].fetch_add(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(page: &str) -> Vec<&str> {
        page.lines().filter(|l| !l.starts_with('#')).collect()
    }

    #[test]
    fn an_empty_page_has_every_family_at_zero() {
        let page = Metrics::new().render(&Snapshot {
            outbox: Some(vec![
                ("pending", 0),
                ("sending", 0),
                ("sent", 0),
                ("failed", 0),
            ]),
            database_bytes: Some(4096),
            ..Snapshot::default()
        });
        let samples = lines(&page);
        assert!(samples.contains(&"passlink_argon2_in_flight 0"), "{page}");
        assert!(samples.contains(&"passlink_rate_limited_total{kind=\"argon2_busy\"} 0"));
        assert!(samples.contains(&"passlink_mail_outbox_messages{state=\"failed\"} 0"));
        assert!(samples.contains(&"passlink_database_size_bytes 4096"));
        assert!(samples.contains(&"passlink_request_duration_seconds_count{group=\"xcp\"} 0"));
        assert!(
            !page.contains("group=\"none\""),
            "no unrouted series before an unrouted request"
        );
        assert!(
            !samples
                .iter()
                .any(|l| l.starts_with("passlink_requests_total"))
        );
    }

    #[test]
    fn counts_and_durations() {
        let m = Metrics::new();
        let ms = Duration::from_millis;
        m.observe_request(
            Some(Group::Xmlstorage),
            "xmlStorageSystem.ping",
            Outcome::Ok,
            ms(3),
        );
        m.observe_request(
            Some(Group::Xmlstorage),
            "xmlStorageSystem.ping",
            Outcome::Ok,
            ms(30),
        );
        m.observe_request(Some(Group::Xmlstorage), OTHER, Outcome::Fault, ms(20_000));
        m.observe_request(None, "GET", Outcome::Error, ms(1));
        {
            let _a = m.argon2(Argon2Work::Verify);
            let _b = m.argon2(Argon2Work::Hash);
            let during = m.render(&Snapshot::default());
            assert!(lines(&during).contains(&"passlink_argon2_in_flight 2"));
        }
        m.credential_cache(true);
        m.credential_cache(false);
        m.credential_cache(false);
        m.reset_link(ResetEvent::Expired, 4);
        m.delivery(Delivery::Deferred);
        m.rate_limited(RateLimit::ResetInvalidLink);
        let page = m.render(&Snapshot {
            open_connections: 7,
            queue_full: 2,
            memory_refusals: 3,
            ..Snapshot::default()
        });
        let samples = lines(&page);
        for expected in [
            "passlink_requests_total{group=\"xmlstorage\",method=\"xmlStorageSystem.ping\",outcome=\"ok\"} 2",
            "passlink_requests_total{group=\"xmlstorage\",method=\"other\",outcome=\"fault\"} 1",
            "passlink_requests_total{group=\"none\",method=\"GET\",outcome=\"error\"} 1",
            "passlink_request_duration_seconds_bucket{group=\"xmlstorage\",le=\"0.001\"} 0",
            "passlink_request_duration_seconds_bucket{group=\"xmlstorage\",le=\"0.005\"} 1",
            "passlink_request_duration_seconds_bucket{group=\"xmlstorage\",le=\"0.05\"} 2",
            "passlink_request_duration_seconds_bucket{group=\"xmlstorage\",le=\"10\"} 2",
            "passlink_request_duration_seconds_bucket{group=\"xmlstorage\",le=\"+Inf\"} 3",
            "passlink_request_duration_seconds_count{group=\"xmlstorage\"} 3",
            "passlink_request_duration_seconds_bucket{group=\"none\",le=\"0.001\"} 1",
            "passlink_argon2_in_flight 0",
            "passlink_argon2_computations_total{work=\"verify\"} 1",
            "passlink_argon2_computations_total{work=\"hash\"} 1",
            "passlink_credential_cache_hits_total 1",
            "passlink_credential_cache_misses_total 2",
            "passlink_reset_links_expired_total 4",
            "passlink_mail_deliveries_total{result=\"deferred\"} 1",
            "passlink_rate_limited_total{kind=\"reset_invalid_link\"} 1",
            "passlink_http_open_connections 7",
            "passlink_http_queue_full_total 2",
            "passlink_http_memory_refusals_total 3",
        ] {
            assert!(
                samples.contains(&expected),
                "{expected} missing from\n{page}"
            );
        }
        let sum = samples
            .iter()
            .find_map(|l| {
                l.strip_prefix("passlink_request_duration_seconds_sum{group=\"xmlstorage\"} ")
            })
            .unwrap();
        assert_eq!(sum, "20.033");
        // Without a database reading, those families are left out rather than made up.
        assert!(!page.contains("passlink_mail_outbox_messages"));
        assert!(!page.contains("passlink_database_size_bytes"));
    }

    #[test]
    fn every_family_is_declared_once_before_its_samples() {
        let m = Metrics::new();
        m.observe_request(Some(Group::Status), "GET", Outcome::Ok, Duration::ZERO);
        let page = m.render(&Snapshot {
            outbox: Some(vec![("pending", 1)]),
            database_bytes: Some(1),
            ..Snapshot::default()
        });
        let mut declared: Vec<(String, String)> = Vec::new();
        for line in page.lines() {
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                let (name, kind) = rest.split_once(' ').unwrap();
                assert!(valid_name(name), "{name}");
                assert!(
                    !declared.iter().any(|(n, _)| n == name),
                    "{name} declared twice"
                );
                declared.push((name.to_string(), kind.to_string()));
            } else if !line.starts_with('#') {
                let name = line.split(['{', ' ']).next().unwrap();
                let (family, kind) = declared.last().unwrap();
                let ok = match kind.as_str() {
                    "histogram" => ["_bucket", "_sum", "_count"]
                        .iter()
                        .any(|s| name.strip_suffix(s) == Some(family)),
                    _ => name == family,
                };
                assert!(ok, "{name} under {family}");
            }
        }
        assert!(declared.len() >= 17, "{declared:?}");
    }

    #[test]
    fn outcomes_from_http_status() {
        assert_eq!(Outcome::of_status(200), Outcome::Ok);
        assert_eq!(Outcome::of_status(304), Outcome::Ok);
        assert_eq!(Outcome::of_status(404), Outcome::Error);
        assert_eq!(Outcome::of_status(429), Outcome::Error);
        assert_eq!(Outcome::of_status(503), Outcome::ServerError);
    }
}
