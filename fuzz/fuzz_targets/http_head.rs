//! `passlink::http::wire::parse_head` and `ChunkedDecoder` on arbitrary bytes.
//!
//! The input is parsed as a request head; when the head says `Transfer-Encoding: chunked`,
//! the bytes after it are fed to a `ChunkedDecoder`. The whole input is also fed to a decoder
//! on its own, so the decoder is fuzzed directly as well. Every decode runs twice: in one
//! `feed` and in pseudo-random pieces (sizes derived from a hash of the input, so a crash
//! reproduces), and both must agree, as the server feeds whatever each read returned.
//!
//! Invariants: no panic; a complete head used no more bytes than it was given and at most
//! `MAX_HEAD_BYTES`; the same head parses again from exactly the bytes it used; a body length
//! accepted is within `max_body`; `feed` never reports more bytes used than it was given and
//! stops early only at the end of the body; piecewise decoding equals one-shot decoding.
#![no_main]

use libfuzzer_sys::fuzz_target;
use passlink::http::wire::{ChunkedDecoder, Framing, MAX_HEAD_BYTES, RequestError, parse_head};

/// Small, so that both the head's and the decoder's "too large" paths are reachable.
const MAX_BODY: u64 = 64 * 1024;

/// The outcome of decoding: the result, the decoded body and whether the decoder finished.
type Decoded = (Result<usize, RequestError>, Vec<u8>, bool);

struct Pieces(u64);

impl Pieces {
    fn new(input: &[u8]) -> Pieces {
        // FNV-1a over the input: deterministic piece sizes that vary with the input.
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for &b in input {
            h = (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
        }
        Pieces(h | 1)
    }

    fn next_len(&mut self) -> usize {
        // xorshift64
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        match self.0 % 8 {
            0..=3 => 1 + (self.0 >> 8) as usize % 3, // 1-3 bytes: splits CRLFs and sizes
            4..=6 => 1 + (self.0 >> 8) as usize % 32, // a few dozen bytes
            _ => 1 + (self.0 >> 8) as usize % 4096,  // a large read
        }
    }
}

fn decode_whole(input: &[u8]) -> Decoded {
    let mut decoder = ChunkedDecoder::default();
    let mut out = Vec::new();
    let result = decoder.feed(input, &mut out, MAX_BODY);
    if let Ok(used) = result {
        assert!(used <= input.len());
        // It stops early only at the end of the body.
        assert!(used == input.len() || decoder.is_done());
    }
    assert!(out.len() as u64 <= MAX_BODY);
    (result, out, decoder.is_done())
}

fn decode_in_pieces(input: &[u8]) -> Decoded {
    let mut decoder = ChunkedDecoder::default();
    let mut out = Vec::new();
    let mut pieces = Pieces::new(input);
    let mut at = 0;
    while at < input.len() && !decoder.is_done() {
        let end = input.len().min(at + pieces.next_len());
        let piece = &input[at..end];
        match decoder.feed(piece, &mut out, MAX_BODY) {
            Ok(used) => {
                assert!(used <= piece.len());
                assert!(used == piece.len() || decoder.is_done());
                at += used;
            }
            Err(e) => return (Err(e), out, decoder.is_done()),
        }
    }
    // Feeding nothing is harmless.
    assert_eq!(decoder.feed(&[], &mut out, MAX_BODY), Ok(0));
    (Ok(at), out, decoder.is_done())
}

fn decode(input: &[u8]) {
    let whole = decode_whole(input);
    let pieces = decode_in_pieces(input);
    assert_eq!(whole, pieces, "one-shot and piecewise decoding differ");
}

fuzz_target!(|data: &[u8]| {
    match parse_head(data, MAX_BODY) {
        Ok(Some((head, used))) => {
            assert!(used <= data.len(), "used {used} of {}", data.len());
            assert!(used <= MAX_HEAD_BYTES);
            match head.framing {
                Framing::Length(n) => assert!(n > 0 && n <= MAX_BODY),
                Framing::None => assert!(!head.expect_continue),
                Framing::Chunked => decode(&data[used..]),
            }
            // The head ends where it says: the bytes it used parse to the same head.
            let again = parse_head(&data[..used], MAX_BODY);
            match again {
                Ok(Some((h, u))) => {
                    assert_eq!(u, used);
                    assert_eq!(h.method, head.method);
                    assert_eq!(h.target, head.target);
                    assert_eq!(h.framing, head.framing);
                }
                other => panic!("the head's own {used} bytes parse to {other:?}"),
            }
        }
        Ok(None) => assert!(data.len() < MAX_HEAD_BYTES),
        Err(e) => {
            let _ = (e.status(), e.to_string());
        }
    }
    decode(data);
});
