//! HTTP/1.1 on the wire: parsing a request head, decoding a chunked body and writing a
//! response. Pure functions over byte slices, with no sockets, so they can be fuzzed.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

/// A request head larger than this is refused with 431.
pub const MAX_HEAD_BYTES: usize = 16 * 1024;
/// More header fields than this is refused with 431.
pub const MAX_HEADERS: usize = 64;
/// A chunk-size line (with extensions) longer than this is malformed.
const MAX_CHUNK_LINE: usize = 4096;
/// All trailer fields together may not exceed this.
const MAX_TRAILER_BYTES: usize = 16 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    Http10,
    Http11,
}

#[derive(Debug, Clone)]
pub struct Header {
    /// Lower-cased field name.
    pub name: String,
    pub value: Vec<u8>,
}

/// How the body of a request is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    None,
    Length(u64),
    Chunked,
}

/// A parsed request head.
#[derive(Debug, Clone)]
pub struct Head {
    pub method: String,
    pub target: String,
    pub version: Version,
    pub headers: Vec<Header>,
    pub framing: Framing,
    pub keep_alive: bool,
    pub expect_continue: bool,
}

/// Why a request was refused before it reached a handler.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestError {
    HeadTooLarge,
    TooManyHeaders,
    Malformed(&'static str),
    BodyTooLarge,
    /// A `Transfer-Encoding` other than exactly `chunked`: an unknown coding, an empty
    /// element, or `chunked` twice. A framing error like any other (400 and close), because
    /// a proxy in front may have read the body differently.
    BadTransferEncoding,
    UnsupportedExpectation,
    Timeout,
}

impl RequestError {
    pub fn status(self) -> u16 {
        match self {
            RequestError::HeadTooLarge | RequestError::TooManyHeaders => 431,
            RequestError::Malformed(_) => 400,
            RequestError::BodyTooLarge => 413,
            RequestError::BadTransferEncoding => 400,
            RequestError::UnsupportedExpectation => 417,
            RequestError::Timeout => 408,
        }
    }
}

impl fmt::Display for RequestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RequestError::HeadTooLarge => {
                write!(f, "request head larger than {MAX_HEAD_BYTES} bytes")
            }
            RequestError::TooManyHeaders => write!(f, "more than {MAX_HEADERS} header fields"),
            RequestError::Malformed(why) => f.write_str(why),
            RequestError::BodyTooLarge => f.write_str("request body too large"),
            RequestError::BadTransferEncoding => {
                f.write_str("Transfer-Encoding must be exactly \"chunked\"")
            }
            RequestError::UnsupportedExpectation => f.write_str("only 100-continue is supported"),
            RequestError::Timeout => f.write_str("request not received in time"),
        }
    }
}

/// `buf` with `/` put into an empty request target (`METHOD  HTTP/…`), or `None` when the
/// target is not empty.
fn with_root_target(buf: &[u8]) -> Option<Vec<u8>> {
    let space = buf.iter().position(|&b| b == b' ')?;
    if space == 0 || !buf[space..].starts_with(b"  HTTP/") {
        return None;
    }
    let mut patched = Vec::with_capacity(buf.len() + 1);
    patched.extend_from_slice(&buf[..=space]);
    patched.push(b'/');
    patched.extend_from_slice(&buf[space + 1..]);
    Some(patched)
}

/// Parses a request head from the start of `buf`. `Ok(None)` means more bytes are needed;
/// `Ok(Some((head, n)))` means the head took `n` bytes.
pub fn parse_head(buf: &[u8], max_body: u64) -> Result<Option<(Head, usize)>, RequestError> {
    let mut fields = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut fields);
    let used = match req.parse(buf) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => {
            return if buf.len() >= MAX_HEAD_BYTES {
                Err(RequestError::HeadTooLarge)
            } else {
                Ok(None)
            };
        }
        Err(httparse::Error::TooManyHeaders) => return Err(RequestError::TooManyHeaders),
        Err(_) if let Some(patched) = with_root_target(buf) => {
            // The request line is `POST  HTTP/1.0`: an empty target, which some OpenSRS
            // clients send for a URL without a path. It means the root, so it is read as
            // `/`; the head in `patched` is one byte longer than in `buf`.
            return Ok(parse_head(&patched, max_body)?.map(|(head, used)| (head, used - 1)));
        }
        Err(httparse::Error::Version) => {
            return Err(RequestError::Malformed("unsupported HTTP version"));
        }
        Err(_) => return Err(RequestError::Malformed("malformed request head")),
    };
    if used > MAX_HEAD_BYTES {
        return Err(RequestError::HeadTooLarge);
    }
    let version = match req.version {
        Some(0) => Version::Http10,
        Some(1) => Version::Http11,
        _ => return Err(RequestError::Malformed("unsupported HTTP version")),
    };
    let method = req.method.unwrap_or_default().to_string();
    let target = req.path.unwrap_or_default().to_string();
    let headers: Vec<Header> = req
        .headers
        .iter()
        .map(|h| Header {
            name: h.name.to_ascii_lowercase(),
            value: h.value.to_vec(),
        })
        .collect();

    let mut length: Option<u64> = None;
    let mut chunked = false;
    let mut saw_close = false;
    let mut saw_keep_alive = false;
    let mut expect_continue = false;
    for h in &headers {
        match h.name.as_str() {
            "content-length" => {
                let value = parse_content_length(&h.value)?;
                // Repeated identical values are allowed (RFC 9112 §6.3); differing ones are a
                // smuggling attempt.
                if length.is_some_and(|l| l != value) {
                    return Err(RequestError::Malformed("conflicting Content-Length values"));
                }
                length = Some(value);
            }
            "transfer-encoding" => {
                if version == Version::Http10 {
                    return Err(RequestError::Malformed(
                        "Transfer-Encoding in an HTTP/1.0 request",
                    ));
                }
                let text = std::str::from_utf8(&h.value)
                    .map_err(|_| RequestError::Malformed("bad Transfer-Encoding"))?;
                // Every element must be `chunked`, once: an empty one (`Transfer-Encoding: ,`)
                // was skipped before, so the body was read by its Content-Length instead.
                for coding in text.split(',').map(str::trim) {
                    if !coding.eq_ignore_ascii_case("chunked") || chunked {
                        return Err(RequestError::BadTransferEncoding);
                    }
                    chunked = true;
                }
            }
            "connection" => {
                for token in String::from_utf8_lossy(&h.value).split(',') {
                    let token = token.trim();
                    saw_close |= token.eq_ignore_ascii_case("close");
                    saw_keep_alive |= token.eq_ignore_ascii_case("keep-alive");
                }
            }
            "expect" => {
                if h.value.eq_ignore_ascii_case(b"100-continue") {
                    expect_continue = true;
                } else {
                    return Err(RequestError::UnsupportedExpectation);
                }
            }
            _ => {}
        }
    }
    // HTTP/1.1 persists unless told to close; HTTP/1.0 only when asked. "close" always wins.
    let keep_alive = !saw_close && (version == Version::Http11 || saw_keep_alive);
    let framing = match (length, chunked) {
        // Both at once is the classic request-smuggling vector: refuse and close.
        (Some(_), true) => {
            return Err(RequestError::Malformed(
                "both Content-Length and Transfer-Encoding",
            ));
        }
        (Some(n), false) if n > max_body => return Err(RequestError::BodyTooLarge),
        (Some(0), false) | (None, false) => Framing::None,
        (Some(n), false) => Framing::Length(n),
        (None, true) => Framing::Chunked,
    };
    Ok(Some((
        Head {
            method,
            target,
            version,
            headers,
            framing,
            keep_alive,
            expect_continue: expect_continue && framing != Framing::None,
        },
        used,
    )))
}

fn parse_content_length(value: &[u8]) -> Result<u64, RequestError> {
    let text = std::str::from_utf8(value)
        .map_err(|_| RequestError::Malformed("bad Content-Length"))?
        .trim();
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(RequestError::Malformed("bad Content-Length"));
    }
    // Too many digits to fit is too large to accept, not malformed.
    text.parse::<u64>().map_err(|_| RequestError::BodyTooLarge)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ChunkState {
    Size,
    Extension,
    SizeLf,
    Data,
    DataCr,
    DataLf,
    TrailerStart,
    TrailerLine,
    TrailerLf,
    FinalLf,
    Done,
}

/// An incremental decoder for a chunked request body (RFC 9112 §7.1). It is strict about CRLF,
/// because leniency that differs from a proxy in front is how requests get smuggled.
#[derive(Debug, Clone)]
pub struct ChunkedDecoder {
    state: ChunkState,
    remaining: u64,
    digits: usize,
    line_len: usize,
    trailer_len: usize,
}

impl Default for ChunkedDecoder {
    fn default() -> Self {
        ChunkedDecoder {
            state: ChunkState::Size,
            remaining: 0,
            digits: 0,
            line_len: 0,
            trailer_len: 0,
        }
    }
}

impl ChunkedDecoder {
    pub fn is_done(&self) -> bool {
        self.state == ChunkState::Done
    }

    /// Consumes bytes from `input`, appending decoded data to `out`. Returns how many bytes of
    /// `input` were used; it stops at the end of the body, leaving what follows (a pipelined
    /// request) unread.
    pub fn feed(
        &mut self,
        input: &[u8],
        out: &mut Vec<u8>,
        max_body: u64,
    ) -> Result<usize, RequestError> {
        let mut i = 0;
        while i < input.len() && self.state != ChunkState::Done {
            let byte = input[i];
            match self.state {
                ChunkState::Data => {
                    let available = (input.len() - i) as u64;
                    let take = available.min(self.remaining) as usize;
                    if (out.len() as u64).saturating_add(take as u64) > max_body {
                        return Err(RequestError::BodyTooLarge);
                    }
                    out.extend_from_slice(&input[i..i + take]);
                    self.remaining -= take as u64;
                    i += take;
                    if self.remaining == 0 {
                        self.state = ChunkState::DataCr;
                    }
                    continue;
                }
                ChunkState::Size => {
                    self.line_len += 1;
                    if let Some(digit) = (byte as char).to_digit(16) {
                        self.digits += 1;
                        if self.digits > 16 {
                            return Err(RequestError::Malformed("chunk size too long"));
                        }
                        self.remaining = (self.remaining << 4) | u64::from(digit);
                    } else if self.digits == 0 {
                        return Err(RequestError::Malformed("bad chunk size"));
                    } else if byte == b';' || byte == b' ' || byte == b'\t' {
                        self.state = ChunkState::Extension;
                    } else if byte == b'\r' {
                        self.state = ChunkState::SizeLf;
                    } else {
                        return Err(RequestError::Malformed("bad chunk size"));
                    }
                }
                ChunkState::Extension => {
                    self.line_len += 1;
                    if self.line_len > MAX_CHUNK_LINE {
                        return Err(RequestError::Malformed("chunk extension too long"));
                    }
                    match byte {
                        b'\r' => self.state = ChunkState::SizeLf,
                        b'\t' | b' '..=b'~' | 0x80..=0xff => {}
                        _ => return Err(RequestError::Malformed("bad chunk extension")),
                    }
                }
                ChunkState::SizeLf => {
                    if byte != b'\n' {
                        return Err(RequestError::Malformed("chunk size line not ended by CRLF"));
                    }
                    self.line_len = 0;
                    self.digits = 0;
                    if self.remaining == 0 {
                        self.state = ChunkState::TrailerStart;
                    } else {
                        // Saturating: a chunk size near u64::MAX must be refused, not wrap
                        // (property test `chunked_size_near_u64_max_is_refused`).
                        if (out.len() as u64).saturating_add(self.remaining) > max_body {
                            return Err(RequestError::BodyTooLarge);
                        }
                        self.state = ChunkState::Data;
                    }
                }
                ChunkState::DataCr => {
                    if byte != b'\r' {
                        return Err(RequestError::Malformed("chunk data not followed by CRLF"));
                    }
                    self.state = ChunkState::DataLf;
                }
                ChunkState::DataLf => {
                    if byte != b'\n' {
                        return Err(RequestError::Malformed("chunk data not followed by CRLF"));
                    }
                    self.state = ChunkState::Size;
                }
                ChunkState::TrailerStart => {
                    if byte == b'\r' {
                        self.state = ChunkState::FinalLf;
                    } else {
                        self.state = ChunkState::TrailerLine;
                        self.count_trailer()?;
                    }
                }
                ChunkState::TrailerLine => {
                    self.count_trailer()?;
                    match byte {
                        b'\r' => self.state = ChunkState::TrailerLf,
                        b'\n' => return Err(RequestError::Malformed("bare LF in trailer")),
                        _ => {}
                    }
                }
                ChunkState::TrailerLf => {
                    if byte != b'\n' {
                        return Err(RequestError::Malformed("trailer line not ended by CRLF"));
                    }
                    self.state = ChunkState::TrailerStart;
                }
                ChunkState::FinalLf => {
                    if byte != b'\n' {
                        return Err(RequestError::Malformed("chunked body not ended by CRLF"));
                    }
                    self.state = ChunkState::Done;
                }
                ChunkState::Done => {}
            }
            i += 1;
        }
        Ok(i)
    }

    fn count_trailer(&mut self) -> Result<(), RequestError> {
        self.trailer_len += 1;
        if self.trailer_len > MAX_TRAILER_BYTES {
            return Err(RequestError::Malformed("trailer too large"));
        }
        Ok(())
    }
}

/// A complete request as handlers see it.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    pub target: String,
    pub version: Version,
    pub headers: Vec<Header>,
    pub body: Vec<u8>,
    /// The bytes of the budget for requests in flight that the body holds (see
    /// [`super::budget`]); given back when the request is dropped.
    pub hold: super::budget::Hold,
    /// The connection's peer (for a unix socket, 127.0.0.1 port 0).
    pub peer: SocketAddr,
    /// The client, as [`super::client::client_of`] decided: the peer, or the address a trusted
    /// proxy forwarded. Everything that acts on "the client's address" uses this.
    pub client: IpAddr,
    /// The client reached us over https (TLS here, or at a trusted proxy).
    pub https: bool,
    /// Index of the listener the request came in on (see [`super::Server::start`]).
    pub listener: usize,
    /// When the first byte of the request arrived.
    pub received: Instant,
}

impl Head {
    /// The path part of the request target, as [`Request::path`] gives it.
    pub fn path(&self) -> &str {
        path_of(&self.target)
    }
}

/// The path part of a request target, without the query. An absolute-form target
/// (`http://host/path`, as some proxies and old clients send) yields its path.
fn path_of(target: &str) -> &str {
    let target = match strip_scheme(target) {
        Some(rest) => rest.find('/').map_or("/", |i| &rest[i..]),
        None => target,
    };
    target.split(['?', '#']).next().unwrap_or(target)
}

impl Request {
    /// The path part of the request target, without the query. An absolute-form target
    /// (`http://host/path`, as some proxies and old clients send) yields its path.
    pub fn path(&self) -> &str {
        path_of(&self.target)
    }

    pub fn query(&self) -> Option<&str> {
        self.target
            .split_once('?')
            .map(|(_, q)| q.split('#').next().unwrap_or(q))
    }

    /// The first value of a header, if it is valid UTF-8.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .and_then(|h| std::str::from_utf8(&h.value).ok())
            .map(str::trim)
    }
}

fn strip_scheme(target: &str) -> Option<&str> {
    let lower = target.get(..8)?.to_ascii_lowercase();
    if lower.starts_with("http://") {
        target.get(7..)
    } else if lower.starts_with("https://") {
        target.get(8..)
    } else {
        None
    }
}

/// A response from a handler. Framing headers (`Content-Length`, `Connection`, `Date`) are the
/// server's to write; any a handler sets are ignored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn new(status: u16) -> Self {
        Response {
            status,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// A plain-text response; the body gets a trailing newline for people using curl.
    pub fn text(status: u16, text: &str) -> Self {
        let mut body = text.as_bytes().to_vec();
        if !body.ends_with(b"\n") {
            body.push(b'\n');
        }
        Response::new(status).with_body("text/plain; charset=utf-8", body)
    }

    pub fn with_body(mut self, content_type: &str, body: Vec<u8>) -> Self {
        self.body = body;
        self.with_header("Content-Type", content_type)
    }

    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// What the `Connection` header of a response says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Persistence {
    /// HTTP/1.1 default: say nothing.
    KeepAlive,
    /// An HTTP/1.0 client that asked for keep-alive must be told it was granted.
    KeepAlive10,
    Close,
}

/// A response header that would have broken the framing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidHeader(pub String);

impl fmt::Display for InvalidHeader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid response header {:?}", self.0)
    }
}

const FRAMING_HEADERS: [&str; 5] = [
    "content-length",
    "transfer-encoding",
    "connection",
    "date",
    "server",
];

fn is_token(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// Header values may hold visible characters, spaces and tabs; CR, LF, NUL and other controls
/// would let a value end the header and inject another.
fn is_safe_value(value: &str) -> bool {
    value
        .bytes()
        .all(|b| b == b'\t' || (b >= 0x20 && b != 0x7f))
}

/// Writes `resp` as HTTP/1.1 into `out`. The status line is always `HTTP/1.1` and the length is
/// always given by `Content-Length`, never chunked: the OpenSRS PHP client accepts nothing else.
pub fn serialize(
    resp: &Response,
    head_only: bool,
    persistence: Persistence,
    date: &str,
    out: &mut Vec<u8>,
) -> Result<(), InvalidHeader> {
    if serialize_head(resp, head_only, persistence, date, out)? {
        out.extend_from_slice(&resp.body);
    }
    Ok(())
}

/// Writes the status line and headers of `resp` into `out`; `Ok(true)` when the body is to
/// follow them (not for HEAD, 1xx, 204 or 304), which the caller sends as it sees fit.
pub fn serialize_head(
    resp: &Response,
    head_only: bool,
    persistence: Persistence,
    date: &str,
    out: &mut Vec<u8>,
) -> Result<bool, InvalidHeader> {
    for (name, value) in &resp.headers {
        if !is_token(name) || !is_safe_value(value) {
            return Err(InvalidHeader(name.clone()));
        }
    }
    let status = resp.status;
    let reason = reason(status);
    out.reserve(256 + resp.body.len().min(16 * 1024));
    out.extend_from_slice(format!("HTTP/1.1 {status} {reason}\r\n").as_bytes());
    out.extend_from_slice(b"Date: ");
    out.extend_from_slice(date.as_bytes());
    out.extend_from_slice(b"\r\nServer: passlink\r\n");
    out.extend_from_slice(format!("Content-Length: {}\r\n", resp.body.len()).as_bytes());
    for (name, value) in &resp.headers {
        if FRAMING_HEADERS.iter().any(|f| name.eq_ignore_ascii_case(f)) {
            continue;
        }
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    match persistence {
        Persistence::KeepAlive => {}
        Persistence::KeepAlive10 => out.extend_from_slice(b"Connection: keep-alive\r\n"),
        Persistence::Close => out.extend_from_slice(b"Connection: close\r\n"),
    }
    out.extend_from_slice(b"\r\n");
    let bodiless = head_only || status == 204 || status == 304 || (100..200).contains(&status);
    Ok(!bodiless)
}

pub fn reason(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        304 => "Not Modified",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        410 => "Gone",
        411 => "Length Required",
        413 => "Content Too Large",
        415 => "Unsupported Media Type",
        417 => "Expectation Failed",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        503 => "Service Unavailable",
        _ => "Unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAX: u64 = 1024;

    fn head(text: &str) -> Result<Option<(Head, usize)>, RequestError> {
        parse_head(text.as_bytes(), MAX)
    }

    #[test]
    fn simple_get() {
        let (h, n) = head("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nrest")
            .unwrap()
            .unwrap();
        assert_eq!(n, 34);
        assert_eq!(h.method, "GET");
        assert_eq!(h.framing, Framing::None);
        assert!(h.keep_alive);
    }

    #[test]
    fn empty_and_bare_host_targets() {
        // An empty target is the root; the byte count is of the original head.
        let (h, n) = head("POST  HTTP/1.0\r\nContent-Length: 2\r\n\r\nab")
            .unwrap()
            .unwrap();
        assert_eq!((h.target.as_str(), n), ("/", 37));
        assert!(head("POST  HTTP/1.0\r\nContent-").unwrap().is_none());
        let (h, _) = head("POST example.com HTTP/1.0\r\n\r\n").unwrap().unwrap();
        assert_eq!(h.target, "example.com");
        assert!(head("POST   HTTP/1.0\r\n\r\n").is_err());
        assert!(head(" POST HTTP/1.0\r\n\r\n").is_err());
    }

    #[test]
    fn partial_then_too_large() {
        assert!(head("GET / HTTP/1.1\r\nHost: x\r\n").unwrap().is_none());
        let big = format!("GET / HTTP/1.1\r\nX: {}", "a".repeat(MAX_HEAD_BYTES));
        assert_eq!(head(&big).unwrap_err(), RequestError::HeadTooLarge);
    }

    #[test]
    fn too_many_headers() {
        let mut text = "GET / HTTP/1.1\r\n".to_string();
        for i in 0..100 {
            text.push_str(&format!("X-{i}: v\r\n"));
        }
        text.push_str("\r\n");
        assert_eq!(head(&text).unwrap_err(), RequestError::TooManyHeaders);
        assert_eq!(RequestError::TooManyHeaders.status(), 431);
    }

    #[test]
    fn framing_rules() {
        let both = "POST / HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n";
        assert_eq!(head(both).unwrap_err().status(), 400);
        let huge = "POST / HTTP/1.1\r\nContent-Length: 100000000000000\r\n\r\n";
        assert_eq!(head(huge).unwrap_err(), RequestError::BodyTooLarge);
        let overflow = "POST / HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n";
        assert_eq!(head(overflow).unwrap_err(), RequestError::BodyTooLarge);
        let negative = "POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n";
        assert_eq!(head(negative).unwrap_err().status(), 400);
        let differing = "POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n";
        assert_eq!(head(differing).unwrap_err().status(), 400);
        // Unknown or empty elements, alone or with Content-Length: 400, like other framing
        // errors (the server closes after every refusal).
        for te in [
            "gzip, chunked",
            ",",
            "",
            " , chunked",
            "chunked,",
            "chunked, chunked",
            "x",
        ] {
            for cl in ["", "Content-Length: 5\r\n"] {
                let text = format!("POST / HTTP/1.1\r\nTransfer-Encoding: {te}\r\n{cl}\r\n");
                let err = head(&text).unwrap_err();
                assert_eq!(err.status(), 400, "{te:?} {cl:?}");
            }
        }
        let (h, _) = head("POST / HTTP/1.1\r\nTransfer-Encoding: Chunked\r\n\r\n")
            .unwrap()
            .unwrap();
        assert_eq!(h.framing, Framing::Chunked);
    }

    #[test]
    fn http10_defaults_to_close() {
        let (h, _) = head("POST / HTTP/1.0\r\nContent-Length: 3\r\n\r\n")
            .unwrap()
            .unwrap();
        assert_eq!(h.version, Version::Http10);
        assert!(!h.keep_alive);
        let (h, _) = head("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n")
            .unwrap()
            .unwrap();
        assert!(h.keep_alive);
        let (h, _) = head("GET / HTTP/1.1\r\nConnection: close\r\n\r\n")
            .unwrap()
            .unwrap();
        assert!(!h.keep_alive);
    }

    fn decode_all(input: &[u8]) -> Result<(Vec<u8>, usize), RequestError> {
        let mut d = ChunkedDecoder::default();
        let mut out = Vec::new();
        let used = d.feed(input, &mut out, MAX)?;
        assert!(d.is_done(), "not done");
        Ok((out, used))
    }

    #[test]
    fn chunked_bodies() {
        let (body, used) =
            decode_all(b"4\r\nWiki\r\n5;x=y\r\npedia\r\n0\r\nT: v\r\n\r\nNEXT").unwrap();
        assert_eq!(body, b"Wikipedia");
        assert_eq!(used, 34);
        // Byte by byte gives the same.
        let input = b"3\r\nabc\r\n0\r\n\r\n";
        let mut d = ChunkedDecoder::default();
        let mut out = Vec::new();
        for b in input {
            assert_eq!(d.feed(&[*b], &mut out, MAX).unwrap(), 1);
        }
        assert!(d.is_done());
        assert_eq!(out, b"abc");
    }

    #[test]
    fn broken_chunks() {
        for bad in [
            &b"zz\r\n"[..],
            b"\r\n",
            b"3\nabc\r\n0\r\n\r\n",
            b"3\r\nabcX\r\n",
            b"11111111111111111\r\n",
            b"0\r\n\r\r",
        ] {
            let mut d = ChunkedDecoder::default();
            let err = d.feed(bad, &mut Vec::new(), MAX).unwrap_err();
            assert_eq!(err.status(), 400, "{bad:?}");
        }
        let mut d = ChunkedDecoder::default();
        let err = d.feed(b"ffff\r\n", &mut Vec::new(), MAX).unwrap_err();
        assert_eq!(err, RequestError::BodyTooLarge);
    }

    fn request(target: &str) -> Request {
        Request {
            method: "GET".into(),
            target: target.into(),
            version: Version::Http11,
            headers: Vec::new(),
            body: Vec::new(),
            hold: Default::default(),
            peer: SocketAddr::from(([127, 0, 0, 1], 1)),
            client: std::net::IpAddr::from([127, 0, 0, 1]),
            https: false,
            listener: 0,
            received: Instant::now(),
        }
    }

    #[test]
    fn paths() {
        assert_eq!(request("/a/b?x=1").path(), "/a/b");
        assert_eq!(request("/a/b?x=1").query(), Some("x=1"));
        assert_eq!(request("http://host:1/RPC2?q").path(), "/RPC2");
        assert_eq!(request("HTTP://host").path(), "/");
    }

    #[test]
    fn serialize_frames_and_refuses_injection() {
        let resp = Response::text(200, "ok").with_header("X-A", "1");
        let mut out = Vec::new();
        serialize(&resp, false, Persistence::Close, "D", &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
        assert!(text.contains("Content-Length: 3\r\n"));
        assert!(text.contains("Connection: close\r\n"));
        assert!(text.ends_with("\r\n\r\nok\n"));

        let evil = Response::new(200).with_header("X-A", "1\r\nSet-Cookie: a=b");
        assert!(serialize(&evil, false, Persistence::KeepAlive, "D", &mut Vec::new()).is_err());
        let evil_name = Response::new(200).with_header("X-A\r\nB", "1");
        assert!(
            serialize(
                &evil_name,
                false,
                Persistence::KeepAlive,
                "D",
                &mut Vec::new()
            )
            .is_err()
        );

        let mut out = Vec::new();
        serialize(&resp, true, Persistence::KeepAlive, "D", &mut out).unwrap();
        assert!(String::from_utf8(out).unwrap().ends_with(
            "Content-Length: 3\r\nContent-Type: text/plain; charset=utf-8\r\nX-A: 1\r\n\r\n"
        ));
    }
}
