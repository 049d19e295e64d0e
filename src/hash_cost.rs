//! The argon2id cost: what new password hashes are made with (`[passwords]`), and how many
//! run at once. Apart from [`crate::credentials`], so that the configuration can check a cost
//! without depending on the hashing itself.

/// argon2id with 7 MiB and 5 passes: OWASP's listed equivalent of its 19 MiB/2-pass default,
/// chosen so that a core's worth of concurrent verifications stays within a small RSS.
const ARGON2_MEMORY_KIB: u32 = 7 * 1024;
const ARGON2_PASSES: u32 = 5;

/// The argon2id cost new hashes are made with (`[passwords] argon2_memory_kib` and
/// `argon2_passes`). Stored hashes with another cost still verify, and are made again with this
/// one at the next successful login ([`crate::credentials::Credentials::needs_rehash`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashCost {
    pub memory_kib: u32,
    pub passes: u32,
}

impl Default for HashCost {
    fn default() -> Self {
        HashCost {
            memory_kib: ARGON2_MEMORY_KIB,
            passes: ARGON2_PASSES,
        }
    }
}

/// How many argon2 computations may run at once and how many callers may wait for one, for a
/// server with `workers` worker threads on `cores` cores: one running per core, and waiting
/// places only as long as `cores` workers (at least one) stay free of argon2 for everything
/// else. With the default pool (three workers per core) that is one running and one waiting
/// per core, and a flood of wrong passwords never holds more than two thirds of the workers.
pub fn argon2_limits(workers: usize, cores: usize) -> (usize, usize) {
    let cores = cores.max(1);
    let running = cores.min(workers.saturating_sub(1)).max(1);
    let waiting = running.min(workers.saturating_sub(running + cores));
    (running, waiting)
}
