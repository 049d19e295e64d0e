//! Property tests for every decoder: the HTTP request head and chunked body, XML-RPC, SOAP,
//! the OPS (XCP) envelope and the reset form. They call the library directly, start no server
//! and need no external tool.
//!
//! Each property draws its inputs from a seeded generator, so a failure reproduces: the failing
//! property prints its name, the iteration, the seed and the input, and
//! `PASSLINK_PROPTEST_SEED=<seed>` (decimal or `0x` hex) replays the same inputs. Without it the
//! seed is fixed. `PASSLINK_PROPTEST_SCALE=<n>` runs every property `n` times as many
//! iterations, for a longer search by hand.
//!
//! Two kinds of property:
//! - no panic: random bytes and mutated valid inputs (the fixtures in `tests/fixtures/` and
//!   freshly generated documents) go through every decoder, which must return `Ok` or `Err`,
//!   never panic; where a decoder succeeds, simple invariants are checked too;
//! - round trip: random well-formed inputs, written either by the crate's own encoder or by a
//!   writer here that varies what the decoders must tolerate (prefixes, whitespace, character
//!   references, CDATA, encodings, optional type attributes, multi-references), decode back to
//!   exactly what was written.
//!
//! The harness and the inputs every decoder shares live here; the properties are in one
//! submodule per decoder (`http`, `xmlrpc`, `soap`, `envelope`, `form`), next to their
//! generators. `xml` holds the writer for hand-built XML documents and `values` the values
//! for the XML-RPC and SOAP codecs.

use std::fmt;
use std::panic::{self, AssertUnwindSafe};
use std::path::Path;

mod envelope;
mod form;
mod http;
mod soap;
mod values;
mod xml;
mod xmlrpc;

// ---------------------------------------------------------------------------------------------
// Harness: a seeded generator and a runner that reports the failing input.
// ---------------------------------------------------------------------------------------------

/// The seed used without `PASSLINK_PROPTEST_SEED`.
const DEFAULT_SEED: u64 = 0x7061_7373_6c69_6e6b;

/// SplitMix64: small, fast, and good enough to drive a test generator.
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (0 when `n` is 0).
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next_u64() % n as u64) as usize
        }
    }

    /// A number in `lo..=hi`.
    fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + self.below(hi - lo + 1)
    }

    /// True once in `n` times on average.
    fn one_in(&mut self, n: usize) -> bool {
        self.below(n) == 0
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }

    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next_u64() as u8).collect()
    }

    fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            items.swap(i, self.below(i + 1));
        }
    }
}

fn env_number(name: &str) -> Option<u64> {
    let text = std::env::var(name).ok()?;
    let text = text.trim();
    let parsed = match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => text.parse(),
    };
    Some(parsed.unwrap_or_else(|_| panic!("{name}={text:?} is not a number")))
}

fn base_seed() -> u64 {
    env_number("PASSLINK_PROPTEST_SEED").unwrap_or(DEFAULT_SEED)
}

/// FNV-1a, to give every property its own stream from the one seed.
fn fnv1a(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Runs `property` on `iterations` inputs from `generate`. A panic in the property is
/// reported with everything needed to replay it, then re-raised.
fn check<T: fmt::Debug>(
    name: &str,
    iterations: usize,
    mut generate: impl FnMut(&mut Rng) -> T,
    mut property: impl FnMut(&T),
) {
    let seed = base_seed();
    let scale = env_number("PASSLINK_PROPTEST_SCALE").unwrap_or(1).max(1) as usize;
    let mut rng = Rng(seed ^ fnv1a(name));
    for i in 0..iterations * scale {
        let input = generate(&mut rng);
        if let Err(panic) = panic::catch_unwind(AssertUnwindSafe(|| property(&input))) {
            eprintln!(
                "property `{name}` failed at iteration {i}; replay with \
                 PASSLINK_PROPTEST_SEED={seed:#x}\ninput: {input:#?}"
            );
            panic::resume_unwind(panic);
        }
    }
}

/// Bytes that print as an escaped string literal, for readable failure reports.
#[derive(Clone, PartialEq, Eq)]
struct Bytes(Vec<u8>);

impl fmt::Debug for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "b\"{}\"", self.0.escape_ascii())
    }
}

// ---------------------------------------------------------------------------------------------
// Inputs: fixtures, a mutator and random text.
// ---------------------------------------------------------------------------------------------

fn fixture_dir(dir: &str) -> Vec<(String, Vec<u8>)> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(dir);
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .map(|entry| {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&path).unwrap())
        })
        .collect();
    files.sort();
    files
}

/// The body of a captured HTTP message: what follows the first blank line.
fn http_body(message: &[u8]) -> Option<&[u8]> {
    let split = message.windows(4).position(|w| w == b"\r\n\r\n")?;
    Some(&message[split + 4..])
}

/// SOAP request bodies: zeep's captures and Virtuoso's.
fn soap_fixtures() -> Vec<Vec<u8>> {
    let mut seeds: Vec<Vec<u8>> = fixture_dir("soap").into_iter().map(|(_, b)| b).collect();
    for (name, bytes) in fixture_dir("virtuoso") {
        if name.ends_with(".req") {
            seeds.push(http_body(&bytes).expect("a captured request").to_vec());
        }
    }
    assert!(seeds.len() >= 4, "SOAP fixtures missing");
    seeds
}

/// Bytes that tend to matter to one parser or another.
const INTERESTING_BYTES: &[u8] = &[
    0, 0x7F, 0x80, 0xC0, 0xFF, b'<', b'>', b'&', b'"', b'\'', b'\r', b'\n', b'\t', b' ', b'%',
    b'+', b'=', b';', b':', b'#', b'0', b'9', b'a', b'F', b']',
];

/// Fragments that reach interesting states of the XML parser and the three XML codecs.
const XML_TOKENS: &[&str] = &[
    "<",
    ">",
    "/>",
    "</",
    "&",
    "&#",
    "&#x",
    ";",
    "&amp;",
    "&lt;",
    "&#0;",
    "&#13;",
    "&#65;",
    "&#x10FFFF;",
    "&#x110000;",
    "&#xD800;",
    "&#99999999999999999999;",
    "&lol;",
    "<!DOCTYPE a [<!ENTITY lol \"x\">]>",
    "<!DOCTYPE OPS_envelope SYSTEM 'ops.dtd'>",
    "<!DOCTYPE x [",
    "]>",
    "<![CDATA[",
    "]]>",
    "<!--",
    "-->",
    "<?pi ?>",
    "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>",
    "<?xml version='1.0' encoding='UTF-8'?>",
    "<?xml version=\"1.0\" encoding=\"Shift_JIS\"?>",
    "<value>",
    "</value>",
    "<struct>",
    "<member>",
    "<name>",
    "<array><data>",
    "<int>",
    "<i8>",
    "<double>",
    "<boolean>",
    "<dateTime.iso8601>",
    "<base64>",
    "<nil/>",
    "<methodName>",
    "<params><param>",
    "xmlns:x=\"urn:x\"",
    "xmlns=\"\"",
    "xmlns:p=\"\"",
    "xsi:type=\"xsd:int\"",
    "xsi:type=\"xsd:hexBinary\"",
    "xsi:type=\"SOAP-ENC:Array\"",
    "xsi:type=\"q:undeclared\"",
    "xsi:nil=\"1\"",
    "href=\"#id1\"",
    "id=\"id1\"",
    "<multiRef id=\"id1\">",
    "SOAP-ENC:arrayType=\"xsd:string[2]\"",
    "<SOAP-ENV:Body>",
    "<item key=\"a\">",
    "<item key='attributes'>",
    "</item>",
    "<dt_assoc>",
    "</dt_assoc>",
    "<dt_array>",
    "<dt_scalar>",
    " key=\"",
    "\u{FEFF}",
    "\u{0}",
    "\u{1}",
    "\u{85}",
    "\u{2028}",
    "\u{e9}",
    "\u{FFFF}",
    "\"",
    "'",
    "=",
    "-",
    "T",
    "INF",
    "NaN",
    "99999999999999999999",
];

/// Applies one (half the time) to six random edits to `seed`: bit flips, byte replacement,
/// deletion, chunk duplication (sometimes many times over), truncation, insertion of a token
/// (now and then thousands of times, for deep nesting), of random bytes or of invalid UTF-8,
/// and swapping two chunks.
fn mutate(rng: &mut Rng, seed: &[u8], tokens: &[&str]) -> Vec<u8> {
    let mut data = seed.to_vec();
    let edits = if rng.one_in(2) { 1 } else { rng.range(2, 6) };
    for _ in 0..edits {
        let at = rng.below(data.len() + 1);
        match rng.below(11) {
            0 if at < data.len() => data[at] ^= 1 << rng.below(8),
            1 if at < data.len() => data[at] = rng.pick(INTERESTING_BYTES),
            2 => {
                let end = (at + rng.range(1, 16)).min(data.len());
                data.drain(at..end);
            }
            3 => {
                let end = (at + rng.range(1, 64)).min(data.len());
                let copy = data[at..end].to_vec();
                let to = rng.below(data.len() + 1);
                let times = if rng.one_in(8) { rng.range(2, 40) } else { 1 };
                for _ in 0..times {
                    data.splice(to..to, copy.iter().copied());
                }
            }
            4 => data.truncate(at),
            5 | 6 => {
                let token = rng.pick(tokens).as_bytes().to_vec();
                data.splice(at..at, token);
            }
            7 => {
                let n = rng.range(1, 8);
                let random = rng.bytes(n);
                data.splice(at..at, random);
            }
            8 => {
                let bad: &[u8] = rng.pick(&[
                    &[0xFF][..],
                    &[0xC3],
                    &[0xE2, 0x82],
                    &[0xED, 0xA0, 0x80],
                    &[0xF4, 0x90, 0x80, 0x80],
                ]);
                data.splice(at..at, bad.iter().copied());
            }
            9 if rng.one_in(4) => {
                let token = rng.pick(tokens).as_bytes().repeat(rng.range(100, 3000));
                data.splice(at..at, token);
            }
            _ if data.len() > 2 => {
                // Swap two chunks.
                let a = rng.below(data.len() / 2);
                let b = data.len() / 2 + rng.below(data.len() / 2);
                let len = rng.range(1, 32).min(b - a).min(data.len() - b);
                for i in 0..len {
                    data.swap(a + i, b + i);
                }
            }
            _ => {}
        }
    }
    data
}

/// Random bytes built from `tokens` and noise, so that they get further into a parser than
/// uniform noise would.
fn token_soup(rng: &mut Rng, tokens: &[&str], max_parts: usize) -> Vec<u8> {
    let mut data = Vec::new();
    for _ in 0..rng.below(max_parts + 1) {
        match rng.below(4) {
            0 => {
                let n = rng.range(1, 8);
                data.extend(rng.bytes(n));
            }
            1 => data.push(rng.pick(INTERESTING_BYTES)),
            _ => data.extend_from_slice(rng.pick(tokens).as_bytes()),
        }
    }
    data
}

/// Either uniform noise, token soup or a mutated seed.
fn fuzz_input(rng: &mut Rng, seeds: &[Vec<u8>], tokens: &[&str]) -> Bytes {
    Bytes(match rng.below(10) {
        0 => {
            let n = rng.below(300);
            rng.bytes(n)
        }
        1 | 2 => token_soup(rng, tokens, 60),
        _ => {
            let seed = seeds[rng.below(seeds.len())].clone();
            mutate(rng, &seed, tokens)
        }
    })
}

/// Whether `c` is an XML 1.0 `Char`, written out here from the spec rather than taken from
/// the crate under test.
fn is_xml_char(c: char) -> bool {
    matches!(u32::from(c), 0x9 | 0xA | 0xD | 0x20..=0xD7FF | 0xE000..=0xFFFD | 0x1_0000..=0x10_FFFF)
}

/// `s` without the characters XML cannot carry, which every encoder drops.
fn legal(s: &str) -> String {
    s.chars().filter(|&c| is_xml_char(c)).collect()
}

/// One random character, weighted towards what breaks escaping and transcoding: the XML
/// specials, whitespace, controls (illegal in XML), Latin-1, the BMP, astral characters and
/// the noncharacters U+FFFE and U+FFFF.
fn any_char(rng: &mut Rng) -> char {
    let from = |rng: &mut Rng, lo: u32, hi: u32| {
        char::from_u32(lo + rng.below((hi - lo + 1) as usize) as u32).unwrap_or('?')
    };
    match rng.below(20) {
        0..=5 => rng.pick(&[
            'a', 'b', 'z', 'A', 'Q', 'Z', '0', '5', '9', '_', '-', '.', '/', '@',
        ]),
        6..=8 => from(rng, 0x20, 0x7E),
        9 => rng.pick(&[' ', '\t', '\n', '\r']),
        10 | 11 => rng.pick(&['<', '>', '&', '"', '\'', ']', ';', '#', '%', '+', '=', ':']),
        12 => from(rng, 0, 0x1F),
        13 => rng.pick(&[
            '\u{7F}', '\u{85}', '\u{A0}', '\u{2028}', '\u{FEFF}', '\u{FFFD}',
        ]),
        14 => from(rng, 0x80, 0xFF),
        15 => from(rng, 0x100, 0xD7FF),
        16 => from(rng, 0xE000, 0xFFFF),
        17 => from(rng, 0x10000, 0x10FFFF),
        18 => rng.pick(&['é', 'ü', 'ÿ', '☺', '中', '😀', '\u{FFFE}', '\u{FFFF}']),
        _ => from(rng, b'a'.into(), b'z'.into()),
    }
}

/// A random string of up to `max` characters, sometimes with a troublesome fragment in it.
fn any_string(rng: &mut Rng, max: usize) -> String {
    let mut s = String::new();
    let len = rng.below(max + 1);
    while s.chars().count() < len {
        if rng.one_in(12) {
            s.push_str(rng.pick(&[
                "]]>",
                "<![CDATA[",
                "&amp;",
                "&#13;",
                "\r\n",
                "_x0020_",
                "_x",
                "<value>",
                "</item>",
                "  ",
            ]));
        } else {
            s.push(any_char(rng));
        }
    }
    s
}

/// A plain NCName over ASCII: a valid element name in every encoding.
fn plain_name(rng: &mut Rng) -> String {
    const FIRST: &[u8] = b"abcxyzABCXYZ_";
    const REST: &[u8] = b"abcmxyzABCMXYZ0189_-.";
    let mut s = String::from(rng.pick(FIRST) as char);
    for _ in 0..rng.below(10) {
        s.push(rng.pick(REST) as char);
    }
    s
}
