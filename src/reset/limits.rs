//! Per-address limits on the reset flow: a token bucket for link requests, and a per-minute
//! count of invalid links opened. Both keep their maps bounded: past 100,000 addresses, entries
//! that carry no information are dropped.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Mutex, PoisonError};
use std::time::Instant;

use crate::clock;
use crate::config::ResetConfig;

/// A token bucket per client address.
pub struct Buckets {
    burst: f64,
    per_sec: f64,
    map: HashMap<IpAddr, (f64, Instant)>,
}

impl Buckets {
    pub fn new(config: &ResetConfig) -> Buckets {
        Buckets {
            burst: f64::from(config.ip_burst.get()),
            per_sec: f64::from(config.ip_refill_per_minute.get()) / 60.0,
            map: HashMap::new(),
        }
    }

    /// New limits from a reloaded config; the buckets' levels stay.
    pub fn set_rates(&mut self, config: &ResetConfig) {
        let fresh = Buckets::new(config);
        self.burst = fresh.burst;
        self.per_sec = fresh.per_sec;
    }

    /// Takes one token for `ip`; `false` when its bucket is empty.
    pub fn take(&mut self, ip: IpAddr) -> bool {
        let now = Instant::now();
        let (burst, per_sec) = (self.burst, self.per_sec);
        if self.map.len() > 100_000 {
            // Full buckets carry no information; drop them so the map stays bounded.
            self.map.retain(|_, (level, at)| {
                *level + now.duration_since(*at).as_secs_f64() * per_sec < burst
            });
        }
        let (level, at) = self.map.entry(ip).or_insert((burst, now));
        *level = (*level + now.duration_since(*at).as_secs_f64() * per_sec).min(burst);
        *at = now;
        if *level >= 1.0 {
            *level -= 1.0;
            true
        } else {
            false
        }
    }
}

/// Counts invalid-link hits per address per minute; over the limit the page answers 429.
/// (Guessing a 256-bit token is hopeless, but a flood of guesses is worth noticing.)
#[derive(Default)]
pub struct Throttle {
    hits: Mutex<HashMap<IpAddr, (i64, u32)>>,
}

impl Throttle {
    pub fn over(&self, ip: IpAddr, limit: u32) -> bool {
        let minute = clock::unix_now() / 60;
        let hits = self.hits.lock().unwrap_or_else(PoisonError::into_inner);
        hits.get(&ip)
            .is_some_and(|(m, count)| *m == minute && *count >= limit)
    }

    pub fn record(&self, ip: IpAddr) -> u32 {
        let minute = clock::unix_now() / 60;
        let mut hits = self.hits.lock().unwrap_or_else(PoisonError::into_inner);
        if hits.len() > 100_000 {
            hits.retain(|_, (m, _)| *m == minute);
        }
        let entry = hits.entry(ip).or_insert((minute, 0));
        if entry.0 != minute {
            *entry = (minute, 0);
        }
        entry.1 += 1;
        entry.1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttle_counts_per_minute() {
        let t = Throttle::default();
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        assert!(!t.over(ip, 2));
        t.record(ip);
        t.record(ip);
        assert!(t.over(ip, 2));
        assert!(!t.over("192.0.2.2".parse().unwrap(), 2));
    }

    #[test]
    fn the_ip_bucket_empties_and_refills() {
        let mut b = Buckets {
            burst: 2.0,
            per_sec: 1000.0,
            map: HashMap::new(),
        };
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        assert!(b.take(ip) && b.take(ip));
        std::thread::sleep(std::time::Duration::from_millis(5));
        assert!(b.take(ip));
        let mut slow = Buckets {
            burst: 1.0,
            per_sec: 0.001,
            map: HashMap::new(),
        };
        assert!(slow.take(ip));
        assert!(!slow.take(ip));
        assert!(slow.take("192.0.2.2".parse().unwrap()));
    }
}
