//! How guessable a new password is (NIST SP 800-63B §3.1.1.2): zxcvbn's estimate (breached and
//! common passwords, dictionary words, keyboard patterns, repetitions, sequences, dates, and the
//! account's own words), the operator's blocklist, and, for `registerUser` which only sees an
//! MD5, the MD5s of the most common passwords. No composition rules.

use std::sync::{Arc, OnceLock};

use md5::{Digest, Md5};

use super::Refusal;
use super::blocklist::Blocklist;
use crate::config::PasswordsConfig;

/// zxcvbn's list of common passwords, most common first (see the file's header).
const COMMON: &str = include_str!("common_passwords.txt");

/// Words every passlink password is checked against besides the account's own.
const SERVICE_WORDS: [&str; 6] = [
    "passlink", "weblog", "radio", "userland", "opensrs", "domain",
];

/// The policy a new password meets: the minimum zxcvbn score and the operator's list.
#[derive(Debug, Clone)]
pub struct Policy {
    pub min_score: u8,
    pub blocklist: Option<Arc<Blocklist>>,
}

impl Policy {
    /// The policy `[passwords]` sets, its blocklist read from disk.
    pub fn load(config: &PasswordsConfig) -> Result<Policy, String> {
        let blocklist = match &config.blocklist_file {
            Some(path) => Some(Arc::new(Blocklist::load(path)?)),
            None => None,
        };
        Ok(Policy {
            min_score: config.min_score,
            blocklist,
        })
    }

    /// A policy without a blocklist (tests, and commands that never set a password).
    pub fn scoring(min_score: u8) -> Policy {
        Policy {
            min_score,
            blocklist: None,
        }
    }

    /// Whether `password` may be set; `context` holds the account's own words (email, name,
    /// domain, login name), which make a password easier to guess. The reason, for the user,
    /// when not.
    pub fn check(&self, password: &str, context: &[&str]) -> Result<(), String> {
        self.refusal(password, context).map_err(|r| r.to_string())
    }

    /// [`Policy::check`], with the reason as a value.
    pub fn refusal(&self, password: &str, context: &[&str]) -> Result<(), Refusal> {
        if self
            .blocklist
            .as_ref()
            .is_some_and(|list| list.contains_password(password))
        {
            return Err(Refusal::Blocklisted);
        }
        // Scoring off: no zxcvbn work at all (it costs milliseconds per password).
        if self.min_score == 0 {
            return Ok(());
        }
        let mut words: Vec<&str> = SERVICE_WORDS.to_vec();
        for word in context {
            words.push(word);
            // An email's parts are words of their own.
            words.extend(
                word.split(['@', '.', '-', '_', ' '])
                    .filter(|w| w.len() >= 3),
            );
        }
        let estimate = zxcvbn::zxcvbn(password, &words);
        let score = u8::from(estimate.score());
        if score >= self.min_score {
            return Ok(());
        }
        let feedback = estimate.feedback();
        Err(Refusal::TooEasy {
            score,
            min: self.min_score,
            warning: feedback.and_then(|f| f.warning()),
            suggestions: feedback
                .map(|f| f.suggestions().to_vec())
                .unwrap_or_default(),
        })
    }

    /// For `registerUser`, which receives `md5(password)` only: refused when it is the MD5 of
    /// a common password (zxcvbn's list, also capitalised) or of a plain-text blocklist entry.
    pub fn check_md5(&self, md5_hex: &str) -> Result<(), String> {
        let Some(md5) = parse_md5(md5_hex) else {
            return Ok(());
        };
        // `min_score = 0` accepts any password the blocklist does not hold.
        let common = self.min_score > 0 && common_md5s().binary_search(&md5).is_ok();
        let listed = self
            .blocklist
            .as_ref()
            .is_some_and(|list| list.contains_md5(&md5));
        if common || listed {
            return Err(
                "this password is one of the most common (or on this server's list \
                        of forbidden passwords): choose a less common one"
                    .into(),
            );
        }
        Ok(())
    }
}

fn parse_md5(hex: &str) -> Option<[u8; 16]> {
    let hex = hex.trim();
    if hex.len() != 32 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let mut out = [0u8; 16];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

/// The MD5s of the common passwords, each as listed and capitalised, sorted: 60,000 digests,
/// about 1 MiB, made once on first use.
fn common_md5s() -> &'static [[u8; 16]] {
    static MD5S: OnceLock<Vec<[u8; 16]>> = OnceLock::new();
    MD5S.get_or_init(|| {
        let mut all = Vec::with_capacity(60_000);
        for word in COMMON
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
        {
            all.push(Md5::digest(word.as_bytes()).into());
            let mut chars = word.chars();
            if let Some(first) = chars.next().filter(char::is_ascii_lowercase) {
                let capital = format!("{}{}", first.to_ascii_uppercase(), chars.as_str());
                all.push(Md5::digest(capital.as_bytes()).into());
            }
        }
        all.sort_unstable();
        all.dedup();
        all
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_and_contextual_passwords_are_refused_passphrases_are_not() {
        let policy = Policy::scoring(3);
        for weak in [
            "password123",
            "Password12",
            "qwertyuiop",
            "aaaaaaaaaa",
            "12345678",
        ] {
            let e = policy.check(weak, &[]).unwrap_err();
            assert!(
                e.starts_with("this password is too easy to guess"),
                "{weak}: {e}"
            );
        }
        // The account's own words count against it.
        assert!(
            policy
                .check("alicesmith1", &["alice.smith@example.com"])
                .is_err()
        );
        assert!(policy.check("correct horse battery staple", &[]).is_ok());
        assert!(policy.check("violet-Tundra-47-quietly", &[]).is_ok());
        let e = policy.check("password1", &[]).unwrap_err();
        assert!(
            e.contains("top-10 common password") || e.contains("common"),
            "{e}"
        );
    }

    #[test]
    fn the_md5_of_a_common_password_is_refused() {
        let policy = Policy::scoring(3);
        let md5 = |p: &str| crate::hex::md5_hex(p.as_bytes());
        assert!(policy.check_md5(&md5("password")).is_err());
        assert!(policy.check_md5(&md5("Password")).is_err());
        assert!(policy.check_md5(&md5("dragon")).is_err());
        assert!(policy.check_md5(&md5("violet-Tundra-47-quietly")).is_ok());
        assert!(policy.check_md5("not an md5").is_ok());
    }
}
