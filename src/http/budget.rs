//! Memory for requests in flight: a cap on the bytes held for request heads and bodies across
//! all connections, with a fair share per client address.
//!
//! Without it, memory is whatever clients choose to send: each body was held as it arrived, so
//! 200 connections declaring 8 MiB and sending all but the last byte held 1.6 GiB. Now a body's
//! declared length is taken from the budget before its first byte is read, and given back when
//! the request is done with (dropped after its response, or when the connection is closed).
//! Bytes are taken per client address too, so that one address cannot hold more than its share.
//!
//! Clients are counted by address, an IPv6 client by its /64 (one subscriber's network: a
//! client that holds a /64 would otherwise be 2^64 clients). Bytes of request heads may also
//! use a reserve of an eighth beyond the limit that bodies may not, so that a request without
//! a body gets in even when bodies hold the whole budget.
//!
//! The same type bounds other working memory that grows with a request (the values an XML body
//! decodes into): a second [`Budget`], with no per-client share, that the endpoints take from.

use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

/// Why bytes could not be taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Every client together holds the whole budget.
    Total,
    /// This client address holds its whole share.
    Client,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Refusal::Total => {
                "the server holds as much request data as it allows; try again shortly"
            }
            Refusal::Client => {
                "your address has as much request data in flight as it may; try again shortly"
            }
        })
    }
}

/// A byte budget shared by many holders.
pub struct Budget {
    state: Mutex<State>,
}

struct State {
    limit: u64,
    /// Beyond `limit`, for holds made with [`Hold::for_heads`] only.
    reserve: u64,
    /// What one client address may hold; `u64::MAX` for no per-client share.
    per_client: u64,
    used: u64,
    by_client: HashMap<IpAddr, u64>,
}

impl fmt::Debug for Budget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.lock();
        f.debug_struct("Budget")
            .field("limit", &state.limit)
            .field("per_client", &state.per_client)
            .field("used", &state.used)
            .finish()
    }
}

impl Budget {
    /// A budget of `limit` bytes in all, of which one client address may hold `per_client`.
    pub fn new(limit: u64, per_client: u64) -> Arc<Budget> {
        Arc::new(Budget {
            state: Mutex::new(State {
                limit,
                reserve: limit / 8,
                per_client,
                used: 0,
                by_client: HashMap::new(),
            }),
        })
    }

    /// A budget with no per-client share.
    pub fn total_only(limit: u64) -> Arc<Budget> {
        Budget::new(limit, u64::MAX)
    }

    /// New limits (a config reload). What is held stays held; only new takes see them.
    pub fn set_limits(&self, limit: u64, per_client: u64) {
        let mut state = self.lock();
        state.limit = limit;
        state.reserve = limit / 8;
        state.per_client = per_client;
    }

    pub fn limit(&self) -> u64 {
        self.lock().limit
    }

    /// Bytes held now, in all.
    pub fn used(&self) -> u64 {
        self.lock().used
    }

    /// Bytes held now by `client` (its /64, for IPv6).
    pub fn used_by(&self, client: IpAddr) -> u64 {
        self.lock()
            .by_client
            .get(&key(client))
            .copied()
            .unwrap_or(0)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn take(&self, client: Option<IpAddr>, bytes: u64, heads: bool) -> Result<(), Refusal> {
        let mut state = self.lock();
        let held = client.map_or(0, |c| state.by_client.get(&c).copied().unwrap_or(0));
        if client.is_some() && held.saturating_add(bytes) > state.per_client {
            return Err(Refusal::Client);
        }
        let limit = if heads {
            state.limit.saturating_add(state.reserve)
        } else {
            state.limit
        };
        if state.used.saturating_add(bytes) > limit {
            return Err(Refusal::Total);
        }
        state.used += bytes;
        if let Some(c) = client {
            *state.by_client.entry(c).or_insert(0) += bytes;
        }
        Ok(())
    }

    fn give_back(&self, client: Option<IpAddr>, bytes: u64) {
        if bytes == 0 {
            return;
        }
        let mut state = self.lock();
        state.used = state.used.saturating_sub(bytes);
        if let Some(c) = client
            && let Some(held) = state.by_client.get_mut(&c)
        {
            *held = held.saturating_sub(bytes);
            if *held == 0 {
                state.by_client.remove(&c);
            }
        }
    }
}

/// What a client is counted as: its address, or for IPv6 its /64.
fn key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6((u128::from(v6) & !u128::from(u64::MAX)).into()),
        },
        v4 => v4,
    }
}

/// Bytes taken from a [`Budget`] on behalf of one client, given back when the last clone of
/// the hold is dropped. `Hold::none()` belongs to no budget and takes anything.
#[derive(Clone, Default)]
pub struct Hold(Option<Arc<Held>>);

struct Held {
    budget: Arc<Budget>,
    /// The client's key (see [`key`]).
    client: Option<IpAddr>,
    /// May use the reserve for heads.
    heads: bool,
    bytes: AtomicU64,
}

impl Drop for Held {
    fn drop(&mut self) {
        self.budget.give_back(self.client, *self.bytes.get_mut());
    }
}

impl fmt::Debug for Hold {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hold({} bytes)", self.bytes())
    }
}

impl Hold {
    /// Holds nothing yet, on `budget`, for `client` (`None`: counted in the total only).
    pub fn new(budget: &Arc<Budget>, client: Option<IpAddr>) -> Hold {
        Hold(Some(Arc::new(Held {
            budget: budget.clone(),
            client: client.map(key),
            heads: false,
            bytes: AtomicU64::new(0),
        })))
    }

    /// A hold for the bytes of request heads (what is read before a request is parsed), which
    /// may also use the budget's reserve.
    pub fn for_heads(budget: &Arc<Budget>, client: Option<IpAddr>) -> Hold {
        Hold(Some(Arc::new(Held {
            budget: budget.clone(),
            client: client.map(key),
            heads: true,
            bytes: AtomicU64::new(0),
        })))
    }

    /// Belongs to no budget: every [`Hold::grow`] succeeds. For requests made outside the
    /// server (tests).
    pub fn none() -> Hold {
        Hold(None)
    }

    pub fn bytes(&self) -> u64 {
        self.0
            .as_ref()
            .map_or(0, |held| held.bytes.load(Ordering::Relaxed))
    }

    /// The client the bytes are counted against (its address, or its /64).
    pub fn client(&self) -> Option<IpAddr> {
        self.0.as_ref().and_then(|held| held.client)
    }

    /// Takes `bytes` more.
    pub fn grow(&self, bytes: u64) -> Result<(), Refusal> {
        let Some(held) = &self.0 else {
            return Ok(());
        };
        held.budget.take(held.client, bytes, held.heads)?;
        held.bytes.fetch_add(bytes, Ordering::Relaxed);
        Ok(())
    }

    /// Takes or gives back bytes so that exactly `bytes` are held.
    pub fn resize(&self, bytes: u64) -> Result<(), Refusal> {
        let Some(held) = &self.0 else {
            return Ok(());
        };
        let now = held.bytes.load(Ordering::Relaxed);
        if bytes > now {
            self.grow(bytes - now)
        } else {
            held.budget.give_back(held.client, now - bytes);
            held.bytes.fetch_sub(now - bytes, Ordering::Relaxed);
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(last: u8) -> Option<IpAddr> {
        Some(IpAddr::from([127, 0, 0, last]))
    }

    #[test]
    fn takes_up_to_the_limit_and_gives_back_on_drop() {
        let budget = Budget::new(100, 60);
        let a = Hold::new(&budget, ip(1));
        assert_eq!(a.grow(60), Ok(()));
        assert_eq!(a.grow(1), Err(Refusal::Client));
        let b = Hold::new(&budget, ip(2));
        assert_eq!(b.grow(41), Err(Refusal::Total));
        assert_eq!(b.grow(40), Ok(()));
        assert_eq!(budget.used(), 100);
        drop(a);
        assert_eq!(budget.used(), 40);
        assert_eq!(budget.used_by(IpAddr::from([127, 0, 0, 1])), 0);
        let clone = b.clone();
        drop(b);
        assert_eq!(budget.used(), 40, "a clone still holds");
        drop(clone);
        assert_eq!(budget.used(), 0);
    }

    #[test]
    fn resize_and_unattributed_bytes() {
        let budget = Budget::new(100, 10);
        let head = Hold::new(&budget, None);
        // No client: only the total applies.
        assert_eq!(head.resize(90), Ok(()));
        assert_eq!(head.resize(30), Ok(()));
        assert_eq!(budget.used(), 30);
        assert_eq!(head.resize(101), Err(Refusal::Total));
        assert_eq!(head.bytes(), 30);
        assert!(Hold::none().grow(u64::MAX).is_ok());
        budget.set_limits(20, 10);
        assert_eq!(Hold::new(&budget, ip(3)).grow(1), Err(Refusal::Total));
    }

    #[test]
    fn heads_may_use_the_reserve_and_ipv6_counts_by_64() {
        let budget = Budget::new(800, 800);
        let body = Hold::new(&budget, ip(1));
        assert_eq!(body.grow(800), Ok(()));
        assert_eq!(Hold::new(&budget, ip(2)).grow(1), Err(Refusal::Total));
        let head = Hold::for_heads(&budget, ip(2));
        assert_eq!(head.grow(100), Ok(()), "an eighth more, for heads");
        assert_eq!(head.grow(1), Err(Refusal::Total));
        drop((body, head));

        let budget = Budget::new(1000, 100);
        let a = Hold::new(&budget, Some("2001:db8:1:2::1".parse().unwrap()));
        let b = Hold::new(&budget, Some("2001:db8:1:2:ffff::9".parse().unwrap()));
        let c = Hold::new(&budget, Some("2001:db8:1:3::1".parse().unwrap()));
        assert_eq!(a.grow(60), Ok(()));
        assert_eq!(b.grow(60), Err(Refusal::Client), "the same /64");
        assert_eq!(c.grow(60), Ok(()), "another /64");
        assert_eq!(budget.used_by("2001:db8:1:2::77".parse().unwrap()), 60);
    }
}
