//! The operator's blocklist (`[passwords] blocklist_file`): passwords no login may take. One
//! entry per line, either a password in plain text or a SHA-1 as Have I Been Pwned publishes
//! its lists (`40 hex digits[:count]`). Held in a Bloom filter of 16 bits per key (11 hash
//! functions: about one false "blocked" in 2,000 for a password not on the list), so a list of
//! a million SHA-1 lines costs 2 MiB, whatever the file's size. A plain-text line also adds the
//! password's MD5, so `registerUser`, which only sees the MD5, is checked too.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use md5::Md5;
use sha1::{Digest, Sha1};

use crate::hex::digit_value;

const BITS_PER_KEY: u64 = 16;
const HASHES: u64 = 11;
/// Lines longer than this are not passwords anyone types; they are refused with their line.
const MAX_LINE_BYTES: usize = 1024;

/// Keys of the two kinds, kept apart in the filter.
#[derive(Clone, Copy)]
enum Kind {
    Sha1 = 0x5d,
    Md5 = 0xa3,
}

pub struct Blocklist {
    bits: Vec<u64>,
    len_bits: u64,
    /// Lines read (passwords or hashes), for the log and `check-config`.
    pub entries: u64,
    pub path: PathBuf,
}

impl std::fmt::Debug for Blocklist {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Blocklist({}: {} entries, {} bytes)",
            self.path.display(),
            self.entries,
            self.bytes()
        )
    }
}

/// What a line holds.
enum Line<'a> {
    Skip,
    Sha1([u8; 20]),
    Plain(&'a [u8]),
}

fn parse(line: &[u8]) -> Line<'_> {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    if line.is_empty() || line.starts_with(b"#") {
        return Line::Skip;
    }
    // HIBP: `HASH:count`, upper-case hex; a bare 40-hex-digit line is taken as a SHA-1 too.
    let hash = match line.iter().position(|&b| b == b':') {
        Some(colon)
            if line[colon + 1..]
                .trim_ascii()
                .iter()
                .all(u8::is_ascii_digit) =>
        {
            &line[..colon]
        }
        _ => line,
    };
    if hash.len() == 40 {
        let mut out = [0u8; 20];
        let decoded = out.iter_mut().enumerate().all(|(i, byte)| {
            match (digit_value(hash[2 * i]), digit_value(hash[2 * i + 1])) {
                (Some(high), Some(low)) => {
                    *byte = high << 4 | low;
                    true
                }
                _ => false,
            }
        });
        if decoded {
            return Line::Sha1(out);
        }
    }
    Line::Plain(line)
}

impl Blocklist {
    /// Reads the file twice: once to size the filter, once to fill it. An unreadable file or
    /// an over-long line is an error naming the file (and line).
    pub fn load(path: &Path) -> Result<Blocklist, String> {
        let open = || {
            File::open(path)
                .map(|f| BufReader::with_capacity(1 << 16, f))
                .map_err(|e| {
                    format!(
                        "{}: cannot read the password blocklist: {e}",
                        path.display()
                    )
                })
        };
        let mut keys = 0u64;
        let mut entries = 0u64;
        for_each_line(path, open()?, |line| {
            match parse(line) {
                Line::Skip => {}
                Line::Sha1(_) => {
                    keys += 1;
                    entries += 1;
                }
                Line::Plain(_) => {
                    keys += 2;
                    entries += 1;
                }
            }
            Ok(())
        })?;
        // At least 64 Kibit (8 KiB): a short list then has next to no false matches.
        let len_bits = (keys * BITS_PER_KEY).max(1 << 16).next_multiple_of(64);
        let words = usize::try_from(len_bits / 64).map_err(|_| {
            format!(
                "{}: too many entries ({entries}) for this machine",
                path.display()
            )
        })?;
        let mut list = Blocklist {
            bits: vec![0; words],
            len_bits,
            entries,
            path: path.to_path_buf(),
        };
        for_each_line(path, open()?, |line| {
            match parse(line) {
                Line::Skip => {}
                Line::Sha1(hash) => list.insert(Kind::Sha1, &hash),
                Line::Plain(password) => {
                    // A list in another encoding (Latin-1) is read as Latin-1: passwords
                    // arrive as UTF-8, so that is what their entries are hashed as.
                    let utf8: std::borrow::Cow<'_, [u8]> = match std::str::from_utf8(password) {
                        Ok(_) => password.into(),
                        Err(_) => password
                            .iter()
                            .map(|&b| char::from(b))
                            .collect::<String>()
                            .into_bytes()
                            .into(),
                    };
                    list.insert(Kind::Sha1, &Sha1::digest(&utf8));
                    list.insert(Kind::Md5, &Md5::digest(&utf8));
                }
            }
            Ok(())
        })?;
        Ok(list)
    }

    /// The filter's size in memory.
    pub fn bytes(&self) -> usize {
        self.bits.len() * 8
    }

    /// Whether `password` is on the list (or, rarely, looks as if it were).
    pub fn contains_password(&self, password: &str) -> bool {
        self.contains(Kind::Sha1, &Sha1::digest(password.as_bytes()))
    }

    /// Whether the password whose MD5 this is was on the list as plain text.
    pub fn contains_md5(&self, md5: &[u8; 16]) -> bool {
        self.contains(Kind::Md5, md5)
    }

    fn positions(&self, kind: Kind, key: &[u8]) -> impl Iterator<Item = u64> {
        // Double hashing over the key's own bits: it is already a cryptographic digest.
        let word = |at: usize| {
            let mut b = [0u8; 8];
            b.copy_from_slice(&key[at..at + 8]);
            u64::from_le_bytes(b)
        };
        let h1 = word(0) ^ (kind as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        let h2 = word(8) | 1;
        let len = self.len_bits;
        (0..HASHES).map(move |i| h1.wrapping_add(i.wrapping_mul(h2)) % len)
    }

    fn insert(&mut self, kind: Kind, key: &[u8]) {
        let mut positions = [0u64; HASHES as usize];
        for (slot, p) in positions.iter_mut().zip(self.positions(kind, key)) {
            *slot = p;
        }
        for p in positions {
            if let Some(word) = self.bits.get_mut((p / 64) as usize) {
                *word |= 1 << (p % 64);
            }
        }
    }

    fn contains(&self, kind: Kind, key: &[u8]) -> bool {
        self.positions(kind, key).all(|p| {
            self.bits
                .get((p / 64) as usize)
                .is_some_and(|word| word & (1 << (p % 64)) != 0)
        })
    }
}

/// Calls `each` with every line's bytes (its line break included). A password list in an
/// encoding other than UTF-8 is compared byte for byte, as its passwords' hashes were made.
fn for_each_line(
    path: &Path,
    mut reader: BufReader<File>,
    mut each: impl FnMut(&[u8]) -> Result<(), String>,
) -> Result<(), String> {
    let mut buf = Vec::new();
    let mut number = 0u64;
    loop {
        buf.clear();
        let n = (&mut reader)
            .take(MAX_LINE_BYTES as u64 + 1)
            .read_until(b'\n', &mut buf)
            .map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
        if n == 0 {
            return Ok(());
        }
        number += 1;
        if buf.len() > MAX_LINE_BYTES && !buf.ends_with(b"\n") && !buf.ends_with(b"\r") {
            return Err(format!(
                "{}:{number}: a line over {MAX_LINE_BYTES} bytes: one password or SHA-1 per line",
                path.display()
            ));
        }
        each(&buf)?;
    }
}

use std::io::Read as _;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_and_hibp_lines_are_found_and_others_mostly_not() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("list.txt");
        let sha1_of = |p: &str| crate::hex::hex(&Sha1::digest(p.as_bytes())).to_uppercase();
        std::fs::write(
            &path,
            format!(
                "# comment\ncorrect horse\n{}:3861493\n{}\r\n\n",
                sha1_of("Tr0ub4dor&3"),
                sha1_of("hunter2")
            ),
        )
        .unwrap();
        let list = Blocklist::load(&path).unwrap();
        assert_eq!(list.entries, 3);
        assert!(list.contains_password("correct horse"));
        assert!(list.contains_password("Tr0ub4dor&3"));
        assert!(list.contains_password("hunter2"));
        let md5 = |p: &str| -> [u8; 16] { Md5::digest(p.as_bytes()).into() };
        assert!(list.contains_md5(&md5("correct horse")));
        // A SHA-1 line gives no MD5: nothing to compare registerUser's with.
        assert!(!list.contains_md5(&md5("hunter2")));
        let misses = (0..10_000)
            .filter(|i| list.contains_password(&format!("not-listed-{i}")))
            .count();
        assert!(misses < 20, "{misses} false positives in 10,000");
    }

    #[test]
    fn a_million_sha1_lines_fit_in_two_mib() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.txt");
        let mut text = String::with_capacity(1_000_000 * 50);
        for i in 0..1_000_000u32 {
            text.push_str(&crate::hex::hex(&Sha1::digest(i.to_le_bytes())));
            text.push_str(":1\n");
        }
        std::fs::write(&path, text).unwrap();
        let list = Blocklist::load(&path).unwrap();
        assert_eq!(list.entries, 1_000_000);
        assert!(list.bytes() <= 2 * 1024 * 1024, "{} bytes", list.bytes());
        assert!(list.contains(Kind::Sha1, &Sha1::digest(7u32.to_le_bytes())));
    }

    #[test]
    fn an_overlong_line_is_refused_with_its_number() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("list.txt");
        std::fs::write(&path, format!("ok\n{}\n", "x".repeat(5000))).unwrap();
        let e = Blocklist::load(&path).unwrap_err();
        assert!(
            e.ends_with("list.txt:2: a line over 1024 bytes: one password or SHA-1 per line"),
            "{e}"
        );
    }
}
