//! How much memory one decode may use. Decoders charge what they allocate as they build
//! values (the size of each value, the bytes of each string), so that whatever the shape of a
//! document, decoding it costs at most [`DECODE_FACTOR`] times its size (plus a little for
//! small ones), and, through an optional pool shared by every decode, that all decodes
//! together stay within a fixed budget.
//!
//! Without it, 240,000 `<i4>` values in a 6 MB body cost ~40 times the body in a tree of
//! elements and values: six such requests in parallel held 1.4 GiB.

use super::text::{ErrorKind, XmlError};

/// A decode may use at most this many times the size of the body it decodes.
pub const DECODE_FACTOR: usize = 4;
/// What any decode may use besides, so that small requests (whose values cost more than their
/// few bytes) are never refused, and never touch the shared pool.
const SMALL: usize = 64 * 1024;
/// The pool is asked for at least this much at a time, so that it is asked rarely.
const POOL_STEP: usize = 256 * 1024;

/// Memory one decode may still use. See the module documentation.
pub struct Allowance<'p> {
    cap: usize,
    used: usize,
    /// What the pool has granted so far (beyond [`SMALL`]).
    granted: usize,
    /// Asked for more bytes once [`SMALL`] is used up; `false` means none are free now.
    pool: Option<&'p mut dyn FnMut(usize) -> bool>,
}

impl std::fmt::Debug for Allowance<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Allowance")
            .field("cap", &self.cap)
            .field("used", &self.used)
            .field("granted", &self.granted)
            .finish()
    }
}

impl Allowance<'static> {
    /// For decoding a body of `len` bytes, with no shared pool.
    pub fn for_body(len: usize) -> Allowance<'static> {
        Allowance {
            cap: len.saturating_mul(DECODE_FACTOR).saturating_add(SMALL),
            used: 0,
            granted: 0,
            pool: None,
        }
    }

    /// Takes memory beyond the first [`SMALL`] bytes from `pool`, which answers whether it
    /// could give the bytes asked for.
    pub fn with_pool<'q>(self, pool: &'q mut dyn FnMut(usize) -> bool) -> Allowance<'q> {
        Allowance {
            cap: self.cap,
            used: self.used,
            granted: self.granted,
            pool: Some(pool),
        }
    }

    /// No limit: for documents that did not come from the network (tests, our own output).
    pub fn unlimited() -> Allowance<'static> {
        Allowance {
            cap: usize::MAX,
            used: 0,
            granted: 0,
            pool: None,
        }
    }
}

impl<'p> Allowance<'p> {
    /// Gives back `bytes` charged for something freed since (a temporary string), so that the
    /// cap bounds what is held at once rather than all that was ever allocated.
    pub fn release(&mut self, bytes: usize) {
        self.used = self.used.saturating_sub(bytes);
    }

    /// Bytes charged so far.
    pub fn used(&self) -> usize {
        self.used
    }

    /// Charges `bytes` about to be allocated. An error means the decode must stop: the
    /// document needs more than its share ([`XmlError`] for the client), or the shared pool
    /// is empty (a "busy" error, see [`XmlError::is_busy`]).
    pub fn charge(&mut self, bytes: usize) -> Result<(), XmlError> {
        let used = self.used.saturating_add(bytes);
        if used > self.cap {
            return Err(XmlError {
                message: format!(
                    "the request would need more than {} bytes of memory to decode \
                     ({DECODE_FACTOR} times its size); send fewer, larger values",
                    self.cap
                ),
                kind: ErrorKind::TooLarge,
            });
        }
        let beyond_small = used.saturating_sub(SMALL);
        if beyond_small > self.granted
            && let Some(pool) = self.pool.as_mut()
        {
            let ask = (beyond_small - self.granted).max(POOL_STEP);
            if !pool(ask) {
                return Err(XmlError {
                    message: "the server is busy decoding other large requests; try again \
                              shortly"
                        .to_owned(),
                    kind: ErrorKind::Busy,
                });
            }
            self.granted += ask;
        }
        self.used = used;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_requests_never_touch_the_pool() {
        let mut asked = 0;
        let mut pool = |n: usize| {
            asked += n;
            true
        };
        {
            let mut allowance = Allowance::for_body(100).with_pool(&mut pool);
            allowance.charge(SMALL).unwrap();
            assert!(allowance.charge(1).is_ok());
        }
        assert_eq!(asked, POOL_STEP);
    }

    #[test]
    fn the_cap_is_a_multiple_of_the_body() {
        let mut allowance = Allowance::for_body(1000);
        assert!(allowance.charge(1000 * DECODE_FACTOR + SMALL).is_ok());
        let err = allowance.charge(1).unwrap_err();
        assert!(!err.is_busy());
        assert!(err.to_string().contains("more than"), "{err}");
    }

    #[test]
    fn an_empty_pool_is_busy() {
        let mut pool = |_| false;
        let mut allowance = Allowance::for_body(1 << 20).with_pool(&mut pool);
        allowance.charge(SMALL).unwrap();
        let err = allowance.charge(1).unwrap_err();
        assert!(err.is_busy());
    }
}
