//! The server: one I/O thread, a bounded queue and a fixed pool of workers.
//!
//! The I/O thread accepts connections and reads requests without blocking (mio readiness).
//! Only a request whose head and body have fully arrived goes on the queue, so a slow or idle
//! client costs a buffer, never a worker: 200 clients sending a byte a second cannot starve
//! anyone. Workers run the handler, write the response without blocking, and hand the
//! connection back; a response the socket could not take at once is finished by the I/O thread.
//! Every connection lives in exactly one place at a time (the I/O thread's table, the queue or
//! one worker), which is what keeps pipelined responses in order.
//!
//! What a client costs in memory is bounded by one budget ([`super::budget`]): the bytes of a
//! head as it arrives, a body's declared length before its first byte is read, and a reply the
//! client has not read yet. What does not fit is refused at once (503), or makes room by
//! closing the connection of a client that holds clearly more. Each connection gets a turn of
//! at most [`MOVES_PER_TURN`] reads at a time, so a fast sender delays nobody.

use std::collections::HashMap;
use std::fmt;
use std::io::{self, Read, Write};
use std::net::{IpAddr, Shutdown, SocketAddr};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, Sender, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use mio::net::{TcpListener, TcpStream, UnixListener, UnixStream};
use mio::{Events, Interest, Poll, Registry, Token, Waker};

use super::budget::{Budget, Hold, Refusal};
use super::client::{self, Cidr, Client, Hop};
use super::stats::Stats;
use super::tls::TlsAcceptor;
use super::wire::{
    self, ChunkedDecoder, Framing, Head, Persistence, Request, RequestError, Response, Version,
};
use crate::clock;
use crate::logging;

const WAKER: Token = Token(0);
/// What a connection on a unix socket is said to come from.
const UNIX_PEER: SocketAddr = SocketAddr::new(IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 0);
/// Listener `i` is registered as `Token(FIRST_LISTENER + i)`; connections come after them.
const FIRST_LISTENER: usize = 1;
/// How often deadlines are checked; timeouts are whole seconds, so this is precise enough.
const TICK: Duration = Duration::from_millis(100);
const LISTEN_BACKLOG: i32 = 1024;
const READ_CHUNK: usize = 16 * 1024;
/// A response body up to this size is copied after its head, so that it goes out in one
/// buffer; a larger one is sent from its own buffer (see [`Output`]).
const SMALL_BODY: usize = 16 * 1024;
/// The most state-machine moves (each reads at most one chunk) a connection makes before the
/// I/O thread turns to the others: a client sending as fast as loopback allows would otherwise
/// keep it for a whole 8 MiB body, or 4 MiB of lingering, while everyone else waits.
const MOVES_PER_TURN: usize = 16;
/// How much more than a requester a client must hold before its unfinished request is closed
/// to make room (see `IoLoop::evict_for`): a read buffer's worth, so that two clients holding
/// the same never close each other in turn.
const EVICTION_MARGIN: u64 = READ_CHUNK as u64;
/// After an error reply, input is read and dropped for this long (or this much) before the
/// socket closes, so the client gets to read the reply instead of a TCP reset.
const LINGER_TIME: Duration = Duration::from_secs(2);
const LINGER_BYTES: usize = 4 * 1024 * 1024;

/// Everything the server needs to know; built from `[server]` in the config.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    pub queue_depth: usize,
    pub max_connections: usize,
    pub max_connections_per_ip: u32,
    pub max_body_bytes: u64,
    /// Bytes of request heads and bodies held at once, across all connections (see
    /// [`super::budget`]); one client address may hold [`ServerOptions::per_client_buffered`].
    pub max_buffered_bytes: u64,
    /// A body must arrive at least this fast on average (bytes per second), besides never
    /// pausing longer than `read_timeout`: a body of `n` bytes has `read_timeout + n / rate`.
    pub body_min_rate: u64,
    pub head_timeout: Duration,
    pub read_timeout: Duration,
    pub write_timeout: Duration,
    pub keepalive_timeout: Duration,
    pub shutdown_grace: Duration,
    /// How a request path is written into the log (the app redacts tokens in paths).
    pub log_path: fn(&str) -> String,
    /// The largest body a request may send, by its listener, method and path (the routes' own
    /// limits). `max_body_bytes` applies as well. A declared length above it is refused with
    /// 413 before a byte of the body is read.
    pub body_limit: BodyLimit,
    /// Peers whose forwarding headers name the client (see [`client`]).
    pub trusted_proxies: Vec<Cidr>,
    /// The one header those peers name the client in; every other is ignored.
    pub client_ip_header: client::ClientIpHeader,
}

/// Per-request body limits, from the code that knows the routes (see
/// [`ServerOptions::body_limit`]): `(listener index, method, path)` to the largest body in
/// bytes, `u64::MAX` where a request has no limit of its own.
#[derive(Clone)]
pub struct BodyLimit(Arc<LimitFn>);

type LimitFn = dyn Fn(usize, &str, &str) -> u64 + Send + Sync;

impl BodyLimit {
    pub fn new(limit: impl Fn(usize, &str, &str) -> u64 + Send + Sync + 'static) -> BodyLimit {
        BodyLimit(Arc::new(limit))
    }

    /// No limit but `max_body_bytes`.
    pub fn none() -> BodyLimit {
        BodyLimit::new(|_, _, _| u64::MAX)
    }

    fn of(&self, listener: usize, method: &str, path: &str) -> u64 {
        (self.0)(listener, method, path)
    }
}

impl fmt::Debug for BodyLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BodyLimit")
    }
}

impl ServerOptions {
    /// What one client address may hold of `max_buffered_bytes`: a quarter, or one largest
    /// request (body and head) if that is more, so that any request a client may send fits.
    pub fn per_client_buffered(&self) -> u64 {
        // A largest request's body, its head, and what the read buffer may hold besides.
        let largest = self
            .max_body_bytes
            .saturating_add(2 * (wire::MAX_HEAD_BYTES + READ_CHUNK) as u64);
        (self.max_buffered_bytes / 4)
            .max(largest)
            .min(self.max_buffered_bytes)
    }
}

/// A socket the server accepts connections on.
pub enum Socket {
    Tcp(TcpListener),
    /// A unix socket: only a local reverse proxy reaches it, so it counts as a trusted one.
    Unix(UnixListener),
}

/// One listening socket and how its connections are served.
pub struct Listener {
    pub socket: Socket,
    /// Connections are TLS, with this (reloadable) certificate.
    pub tls: Option<Arc<TlsAcceptor>>,
    /// `Strict-Transport-Security: max-age=…` on every response (TLS listeners only).
    pub hsts_max_age: Option<u64>,
}

impl Listener {
    pub fn tcp(listener: TcpListener) -> Listener {
        Listener {
            socket: Socket::Tcp(listener),
            tls: None,
            hsts_max_age: None,
        }
    }

    /// The bound address; `None` for a unix socket.
    pub fn local_addr(&self) -> io::Result<Option<SocketAddr>> {
        match &self.socket {
            Socket::Tcp(l) => l.local_addr().map(Some),
            Socket::Unix(_) => Ok(None),
        }
    }
}

/// Binds a unix socket at `path`, replacing a stale socket file left by an earlier run (but
/// never another kind of file), readable and writable by owner and group: put the reverse
/// proxy's user in passlink's group.
pub fn bind_unix(path: &std::path::Path) -> io::Result<UnixListener> {
    use std::os::unix::fs::{FileTypeExt, PermissionsExt};
    if let Ok(meta) = std::fs::symlink_metadata(path) {
        if !meta.file_type().is_socket() {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!("{} exists and is not a socket", path.display()),
            ));
        }
        // A socket someone still answers on is theirs: only one left by a process that
        // ended is replaced.
        if std::os::unix::net::UnixStream::connect(path).is_ok() {
            return Err(io::Error::new(
                io::ErrorKind::AddrInUse,
                format!(
                    "{} is in use: another process accepts connections on it",
                    path.display()
                ),
            ));
        }
        std::fs::remove_file(path)?;
    }
    let listener = UnixListener::bind(path)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o660))?;
    Ok(listener)
}

/// A connection's byte stream.
enum Stream {
    Tcp(TcpStream),
    Unix(UnixStream),
}

impl Stream {
    fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        match self {
            Stream::Tcp(s) => s.shutdown(how),
            Stream::Unix(s) => s.shutdown(how),
        }
    }
}

impl Read for &Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => (&*s).read(buf),
            Stream::Unix(s) => (&*s).read(buf),
        }
    }
}

impl Write for &Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => (&*s).write(buf),
            Stream::Unix(s) => (&*s).write(buf),
        }
    }

    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => (&*s).write_vectored(bufs),
            Stream::Unix(s) => (&*s).write_vectored(bufs),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl mio::event::Source for Stream {
    fn register(&mut self, r: &Registry, t: Token, i: Interest) -> io::Result<()> {
        match self {
            Stream::Tcp(s) => s.register(r, t, i),
            Stream::Unix(s) => s.register(r, t, i),
        }
    }

    fn reregister(&mut self, r: &Registry, t: Token, i: Interest) -> io::Result<()> {
        match self {
            Stream::Tcp(s) => s.reregister(r, t, i),
            Stream::Unix(s) => s.reregister(r, t, i),
        }
    }

    fn deregister(&mut self, r: &Registry) -> io::Result<()> {
        match self {
            Stream::Tcp(s) => s.deregister(r),
            Stream::Unix(s) => s.deregister(r),
        }
    }
}

/// Binds a listening socket with `SO_REUSEADDR` and a backlog of 1024. (std and mio use 128,
/// which a burst of connections overflows, costing clients seconds of SYN retries.)
pub fn bind(addr: SocketAddr) -> io::Result<TcpListener> {
    use socket2::{Domain, Socket, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, None)?;
    socket.set_reuse_address(true)?;
    socket.bind(&addr.into())?;
    socket.listen(LISTEN_BACKLOG)?;
    socket.set_nonblocking(true)?;
    Ok(TcpListener::from_std(socket.into()))
}

/// Stops a running server from any thread (the signal thread, a test).
#[derive(Clone)]
pub struct ShutdownHandle {
    flag: Arc<AtomicBool>,
    waker: Arc<Waker>,
    new_options: Arc<Mutex<Option<ServerOptions>>>,
}

impl ShutdownHandle {
    pub fn shutdown(&self) {
        self.flag.store(true, Ordering::SeqCst);
        // A failed wake only delays shutdown to the next tick.
        let _ = self.waker.wake();
    }

    /// Replaces the limits and timeouts (a config reload). They apply to what happens from
    /// now on; `queue_depth` is fixed at start and is ignored here.
    pub fn reload(&self, options: ServerOptions) {
        *self
            .new_options
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(options);
        let _ = self.waker.wake();
    }
}

pub struct Server {
    local_addrs: Vec<Option<SocketAddr>>,
    io_thread: JoinHandle<()>,
    workers: Vec<JoinHandle<()>>,
    shutdown: ShutdownHandle,
}

impl Server {
    /// Starts serving on `listeners` with one worker per element of `states`; each worker owns
    /// its state (a database connection) for its whole life. A request carries the index of
    /// the listener it came in on ([`Request::listener`]), so the handler can serve different
    /// things on different addresses.
    pub fn start<S, H>(
        mut listeners: Vec<Listener>,
        options: ServerOptions,
        stats: Arc<Stats>,
        states: Vec<S>,
        handler: H,
    ) -> io::Result<Server>
    where
        S: Send + 'static,
        H: Fn(&mut S, &Request) -> Response + Send + Sync + 'static,
    {
        let local_addrs = listeners
            .iter()
            .map(Listener::local_addr)
            .collect::<io::Result<Vec<_>>>()?;
        let poll = Poll::new()?;
        for (i, listener) in listeners.iter_mut().enumerate() {
            let token = Token(FIRST_LISTENER + i);
            match &mut listener.socket {
                Socket::Tcp(l) => poll.registry().register(l, token, Interest::READABLE)?,
                Socket::Unix(l) => poll.registry().register(l, token, Interest::READABLE)?,
            }
        }
        // HSTS only ever goes out over TLS.
        let hsts: Arc<Vec<Option<u64>>> = Arc::new(
            listeners
                .iter()
                .map(|l| l.hsts_max_age.filter(|_| l.tls.is_some()))
                .collect(),
        );
        let first_conn = FIRST_LISTENER + listeners.len();
        let waker = Arc::new(Waker::new(poll.registry(), WAKER)?);
        let flag = Arc::new(AtomicBool::new(false));
        let new_options = Arc::new(Mutex::new(None));
        let shutdown = ShutdownHandle {
            flag: flag.clone(),
            waker: waker.clone(),
            new_options: new_options.clone(),
        };

        let (job_tx, job_rx) = mpsc::sync_channel::<Job>(options.queue_depth);
        let job_rx = Arc::new(Mutex::new(job_rx));
        let (back_tx, back_rx) = mpsc::channel::<Returned>();
        let handler = Arc::new(handler);

        let mut workers = Vec::with_capacity(states.len());
        for (n, state) in states.into_iter().enumerate() {
            let worker = Worker {
                jobs: job_rx.clone(),
                back: back_tx.clone(),
                waker: waker.clone(),
                stopping: flag.clone(),
                log_path: options.log_path,
                hsts: hsts.clone(),
                stats: stats.clone(),
            };
            let handler = handler.clone();
            workers.push(
                std::thread::Builder::new()
                    .name(format!("worker-{n}"))
                    .spawn(move || worker.run(state, &*handler))?,
            );
        }
        drop(back_tx);

        let budget = Budget::new(options.max_buffered_bytes, options.per_client_buffered());
        stats.watch_budget(&budget);
        let io = IoLoop {
            poll,
            ready: Vec::new(),
            budget,
            listeners,
            conns: HashMap::new(),
            next_token: first_conn,
            per_ip: HashMap::new(),
            jobs: Some(job_tx),
            back: back_rx,
            in_workers: 0,
            options,
            new_options,
            stopping: flag,
            stop_deadline: None,
            accept_paused_until: None,
            stats,
        };
        let io_thread = std::thread::Builder::new()
            .name("http-io".into())
            .spawn(move || io.run())?;
        Ok(Server {
            local_addrs,
            io_thread,
            workers,
            shutdown,
        })
    }

    /// The address of the first TCP listener.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addrs
            .iter()
            .flatten()
            .next()
            .copied()
            .unwrap_or_else(|| SocketAddr::from(([0, 0, 0, 0], 0)))
    }

    /// The addresses of all listeners, in the order they were given (`None`: a unix socket).
    pub fn local_addrs(&self) -> &[Option<SocketAddr>] {
        &self.local_addrs
    }

    pub fn shutdown_handle(&self) -> ShutdownHandle {
        self.shutdown.clone()
    }

    /// Waits until the server has stopped: in-flight requests answered (or the grace period
    /// over) and every worker gone, so their database connections are closed.
    pub fn wait(self) {
        let _ = self.io_thread.join();
        for worker in self.workers {
            let _ = worker.join();
        }
    }
}

/// What to do once a response has been fully written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum After {
    KeepAlive,
    Close,
    /// Handshake output: go on reading, the handshake's deadline unchanged.
    Resume,
}

enum State {
    /// Waiting for the first byte of a request.
    Idle,
    /// Some of the head has arrived.
    Head { started: Instant },
    /// The head is parsed; collecting the body.
    Body {
        head: Box<Head>,
        started: Instant,
        /// Who sent it, decided from the head: the body's bytes are counted against it.
        client: Client,
        /// The budget the body's bytes are taken from; the body is never larger than this
        /// (its capacity is exactly what is held).
        hold: Hold,
        body: Vec<u8>,
        chunked: Option<ChunkedDecoder>,
        /// `Expect: 100-continue` is answered once the body's bytes are granted.
        continue_pending: bool,
        /// When the whole body must have arrived, at the slowest allowed rate.
        due: Instant,
        body_started: Instant,
        /// The largest body this request may have: its route's limit, at most
        /// `max_body_bytes`.
        max_body: u64,
    },
    /// A response is partly written.
    Writing { out: Output, then: After },
    /// Our side is shut; dropping input until the client closes or the deadline passes.
    Lingering { dropped: usize, limit: usize },
}

struct Conn {
    stream: Stream,
    /// For a unix socket, 127.0.0.1 port 0: a local process, not a network address.
    peer: SocketAddr,
    unix: bool,
    /// The address counted against `max_connections_per_ip`, if any (see [`client::cap_key`]).
    capped: Option<IpAddr>,
    /// Index of the listener that accepted it.
    listener: usize,
    /// Set on a TLS listener: bytes on the socket are records, `buf` holds plaintext.
    tls: Option<Box<rustls::ServerConnection>>,
    /// When it was accepted: the TLS handshake must finish within `head_timeout` of this.
    opened: Instant,
    buf: Vec<u8>,
    /// What `buf` holds of the budget: its capacity.
    buf_hold: Hold,
    /// How much input is read and dropped after an error reply before closing.
    linger_limit: usize,
    /// What a response the client has not read yet holds of the budget (the part the socket
    /// did not take at once): a client that asks for large replies and never reads them
    /// would otherwise hold them all.
    out_hold: Hold,
    state: State,
    deadline: Instant,
}

struct Job {
    conn: Conn,
    token: Token,
    work: Work,
}

enum Work {
    Request(Box<Request>, Persistence),
    /// Handshake records have arrived: run the handshake's crypto, off the I/O thread.
    Handshake,
}

struct Returned {
    conn: Conn,
    token: Token,
    /// Output the socket did not take yet.
    pending: Output,
    then: After,
    failed: bool,
}

struct IoLoop {
    poll: Poll,
    /// Connections whose turn ended before they ran out of input (see [`MOVES_PER_TURN`]).
    ready: Vec<Token>,
    /// Bytes of heads and bodies held by connections and requests in flight.
    budget: Arc<Budget>,
    /// Emptied at shutdown.
    listeners: Vec<Listener>,
    conns: HashMap<Token, Conn>,
    next_token: usize,
    per_ip: HashMap<IpAddr, u32>,
    jobs: Option<SyncSender<Job>>,
    back: Receiver<Returned>,
    /// Connections currently queued or held by a worker.
    in_workers: usize,
    options: ServerOptions,
    /// Set by [`ShutdownHandle::reload`]; taken by the loop.
    new_options: Arc<Mutex<Option<ServerOptions>>>,
    stopping: Arc<AtomicBool>,
    stop_deadline: Option<Instant>,
    accept_paused_until: Option<Instant>,
    stats: Arc<Stats>,
}

impl IoLoop {
    fn run(mut self) {
        let mut events = Events::with_capacity(1024);
        let mut next_tick = Instant::now() + TICK;
        loop {
            // Connections that still had input when their turn ended go on at once.
            let timeout = if self.ready.is_empty() {
                next_tick.saturating_duration_since(Instant::now())
            } else {
                Duration::ZERO
            };
            if let Err(e) = self.poll.poll(&mut events, Some(timeout))
                && e.kind() != io::ErrorKind::Interrupted
            {
                log::error!("http: poll failed: {e}");
                std::thread::sleep(TICK);
            }
            for event in events.iter() {
                match event.token() {
                    WAKER => {}
                    Token(n)
                        if n >= FIRST_LISTENER && n < FIRST_LISTENER + self.listeners.len() =>
                    {
                        self.accept(n - FIRST_LISTENER);
                    }
                    token => self.on_event(token),
                }
            }
            for token in std::mem::take(&mut self.ready) {
                self.drive(token);
            }
            self.take_back();
            if let Some(options) = self
                .new_options
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take()
            {
                self.options = ServerOptions {
                    queue_depth: self.options.queue_depth,
                    ..options
                };
                self.budget.set_limits(
                    self.options.max_buffered_bytes,
                    self.options.per_client_buffered(),
                );
            }
            if self.stopping.load(Ordering::SeqCst) && self.stop_deadline.is_none() {
                self.begin_shutdown();
            }
            let now = Instant::now();
            if now >= next_tick {
                next_tick = now + TICK;
                self.expire(now);
                if self.accept_paused_until.is_some_and(|t| now >= t) {
                    self.accept_paused_until = None;
                    for i in 0..self.listeners.len() {
                        self.accept(i);
                    }
                }
            }
            if let Some(deadline) = self.stop_deadline {
                let open = self.in_workers + self.conns.len();
                if open == 0 {
                    break;
                }
                if now >= deadline {
                    log::warn!("http: shutdown grace period over; dropping {open} connection(s)");
                    break;
                }
            }
        }
        // Closing the queue lets the workers finish what they hold and exit.
        self.jobs = None;
    }

    fn begin_shutdown(&mut self) {
        self.stop_deadline = Some(Instant::now() + self.options.shutdown_grace);
        for mut listener in self.listeners.drain(..) {
            let _ = match &mut listener.socket {
                Socket::Tcp(l) => self.poll.registry().deregister(l),
                Socket::Unix(l) => self.poll.registry().deregister(l),
            };
        }
        // Idle keep-alive connections have nothing in flight: close them now. Requests that are
        // arriving or being handled run to completion and are answered with "Connection: close".
        let idle: Vec<Token> = self
            .conns
            .iter()
            .filter(|(_, c)| matches!(c.state, State::Idle) && c.buf.is_empty())
            .map(|(t, _)| *t)
            .collect();
        for token in idle {
            self.close(token);
        }
        log::info!("http: shutting down; no longer accepting connections");
    }

    fn accept(&mut self, index: usize) {
        if self.accept_paused_until.is_some() {
            return;
        }
        loop {
            let Some(listener) = self.listeners.get(index) else {
                return;
            };
            let accepted = match &listener.socket {
                Socket::Tcp(l) => l.accept().map(|(stream, peer)| {
                    let _ = stream.set_nodelay(true);
                    (Stream::Tcp(stream), peer, false)
                }),
                // A unix peer has no address; it is a local process (the reverse proxy).
                Socket::Unix(l) => l
                    .accept()
                    .map(|(stream, _)| (Stream::Unix(stream), UNIX_PEER, true)),
            };
            match accepted {
                Ok((stream, peer, unix)) => self.admit(stream, peer, unix, index),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    // Out of file descriptors, most likely. The pending connections stay in the
                    // backlog; try again on a later tick instead of spinning.
                    log::warn!("http: accept failed: {e}; pausing accepts briefly");
                    self.accept_paused_until = Some(Instant::now() + TICK);
                    return;
                }
            }
        }
    }

    fn admit(&mut self, mut stream: Stream, peer: SocketAddr, unix: bool, listener: usize) {
        let tls_acceptor = self.listeners.get(listener).and_then(|l| l.tls.clone());
        let capped = client::cap_key(&Hop {
            peer: peer.ip(),
            unix,
            tls: tls_acceptor.is_some(),
            trusted: &self.options.trusted_proxies,
        });
        let from_ip = capped
            .and_then(|ip| self.per_ip.get(&ip).copied())
            .unwrap_or(0);
        if self.conns.len() + self.in_workers >= self.options.max_connections
            || from_ip >= self.options.max_connections_per_ip
        {
            // Best effort: a tiny reply that fits any socket buffer, then close. A TLS client
            // could not read plaintext, so it is just closed.
            if tls_acceptor.is_none() {
                let _ = (&stream).write(OVERLOADED);
            }
            self.stats.count_refused();
            log::info!(
                "request client={} method=- path=- status=503 bytes=0 ms=0.0 \
                 reason=\"too many connections\"",
                peer.ip()
            );
            return;
        }
        let tls = match tls_acceptor.map(|a| a.accept()).transpose() {
            Ok(tls) => tls.map(Box::new),
            Err(e) => {
                log::error!("http: cannot start a TLS session: {e}");
                return;
            }
        };
        let token = Token(self.next_token);
        self.next_token += 1;
        if let Err(e) = self.poll.registry().register(
            &mut stream,
            token,
            Interest::READABLE | Interest::WRITABLE,
        ) {
            log::warn!("http: cannot register connection: {e}");
            return;
        }
        if let Some(ip) = capped {
            *self.per_ip.entry(ip).or_insert(0) += 1;
        }
        self.stats.opened();
        let now = Instant::now();
        self.conns.insert(
            token,
            Conn {
                stream,
                peer,
                unix,
                capped,
                listener,
                tls,
                opened: now,
                buf: Vec::new(),
                buf_hold: Hold::for_heads(&self.budget, capped),
                linger_limit: LINGER_BYTES,
                out_hold: Hold::new(&self.budget, capped),
                state: State::Idle,
                deadline: now + self.options.head_timeout,
            },
        );
    }

    fn on_event(&mut self, token: Token) {
        // Events for a connection that is with a worker are dropped: when it comes back, it is
        // read again without waiting for an event.
        if self.conns.contains_key(&token) {
            self.drive(token);
        }
    }

    /// Does whatever the connection can do now: write pending output, read, parse, dispatch.
    fn drive(&mut self, token: Token) {
        let Some(mut conn) = self.conns.remove(&token) else {
            return;
        };
        let mut moves = 0;
        loop {
            moves += 1;
            // Discarding what a refused client still sends is the least urgent work of all.
            let limit = match conn.state {
                State::Lingering { .. } => 1,
                _ => MOVES_PER_TURN,
            };
            if moves > limit {
                // Its turn is over; it still has input (readiness is edge-triggered, so it
                // must be remembered), and goes on after the others have had theirs.
                self.ready.push(token);
                break;
            }
            match step(&mut conn, &self.options, &self.budget) {
                Step::Wait => break,
                Step::Again => continue,
                Step::NeedBudget(need) => {
                    if let Err(refusal) = self.make_room(&conn, need) {
                        self.stats.count_memory_refusal();
                        log_refusal_why(&conn, 503, &refusal.to_string());
                        let resp = Response::text(503, &refusal.to_string())
                            .with_header("Retry-After", "1");
                        reply_and_close(&mut conn, &resp, &self.options);
                    }
                }
                Step::Close => {
                    self.forget(token, conn);
                    return;
                }
                Step::Dispatch(work) => {
                    let Some(jobs) = self.jobs.as_ref() else {
                        self.forget(token, conn);
                        return;
                    };
                    let job = Job { conn, token, work };
                    match jobs.try_send(job) {
                        Ok(()) => {
                            self.in_workers += 1;
                            return;
                        }
                        Err(TrySendError::Full(job)) | Err(TrySendError::Disconnected(job)) => {
                            conn = job.conn;
                            self.stats.count_queue_full();
                            match job.work {
                                Work::Request(request, _) => {
                                    let resp =
                                        Response::text(503, "server busy, try again shortly")
                                            .with_header("Retry-After", "1");
                                    log_request(&request, 503, 0, self.options.log_path);
                                    reply_and_close(&mut conn, &resp, &self.options);
                                }
                                // No session yet to answer in: the client retries.
                                Work::Handshake => {
                                    self.forget(token, conn);
                                    return;
                                }
                            }
                        }
                    }
                }
            }
        }
        self.conns.insert(token, conn);
    }

    /// Takes what `conn` needs from the budget, closing other connections' unfinished requests
    /// if that is what it takes: under memory pressure, the client holding the most gives way
    /// to one holding less, so a few addresses cannot starve everyone by sending most of huge
    /// bodies and stalling. `Err` when there is no such request to close, or when `conn`'s own
    /// client already holds its whole share.
    fn make_room(&mut self, conn: &Conn, need: Need) -> Result<(), Refusal> {
        let (hold, bytes) = match (need, &conn.state) {
            (Need::Body(bytes), State::Body { hold, .. }) => (hold.clone(), bytes),
            (Need::Buffer(bytes), _) => (conn.buf_hold.clone(), bytes),
            (Need::Output(bytes), _) => (conn.out_hold.clone(), bytes),
            // Nothing else asks for bytes.
            (Need::Body(_), _) => return Ok(()),
        };
        loop {
            match hold.grow(bytes) {
                Ok(()) => return Ok(()),
                Err(Refusal::Client) => return Err(Refusal::Client),
                Err(Refusal::Total) => {
                    let own = hold.client().map_or(0, |c| self.budget.used_by(c));
                    if !self.evict_for(hold.client(), own.saturating_add(bytes)) {
                        return Err(Refusal::Total);
                    }
                }
            }
        }
    }

    /// Closes the connection of the client that holds the most of the budget, provided it
    /// holds more than `than` and is not `requester`: an unfinished request (answered 503),
    /// or a response its client has not been reading. A trusted proxy's connections carry no
    /// one client; each counts as a holder of its own. `false` if there is none.
    fn evict_for(&mut self, requester: Option<IpAddr>, than: u64) -> bool {
        let mut victim: Option<(u64, u64, Token)> = None;
        for (token, conn) in &self.conns {
            let (client, held) = match &conn.state {
                State::Body { hold, .. } => (hold.client(), hold.bytes() + conn.buf_hold.bytes()),
                State::Head { .. } => (conn.buf_hold.client(), conn.buf_hold.bytes()),
                State::Writing { .. } => (conn.out_hold.client(), conn.out_hold.bytes()),
                // Pipelined bytes waiting on an idle connection: closing it costs nothing.
                State::Idle | State::Lingering { .. } => {
                    (conn.buf_hold.client(), conn.buf_hold.bytes())
                }
            };
            if client.is_some() && client == requester {
                continue;
            }
            let by_client = client.map_or(held, |c| self.budget.used_by(c));
            // Only a client holding clearly more gives way: requests of about the same size
            // are served first come, first served rather than closing one another in turn.
            if by_client <= than.saturating_add(EVICTION_MARGIN) || held == 0 {
                continue;
            }
            if victim.is_none_or(|(most, largest, _)| (by_client, held) > (most, largest)) {
                victim = Some((by_client, held, *token));
            }
        }
        let Some((_, _, token)) = victim else {
            return false;
        };
        let Some(mut conn) = self.conns.remove(&token) else {
            return false;
        };
        self.stats.count_memory_refusal();
        if matches!(conn.state, State::Writing { .. }) {
            // Its client stopped reading: there is no answering it, only closing.
            log_refusal_why(
                &conn,
                503,
                "closed to make room: this client held the most unread response data while the \
                 budget was full",
            );
            self.forget(token, conn);
            return true;
        }
        if matches!(conn.state, State::Idle | State::Lingering { .. }) {
            log_refusal_why(
                &conn,
                503,
                "closed to make room: an idle connection held buffered bytes while the budget \
                 was full",
            );
            self.forget(token, conn);
            return true;
        }
        log_refusal_why(
            &conn,
            503,
            "closed to make room: this client held the most request data while the budget was full",
        );
        let resp = Response::text(
            503,
            "server busy: another client needed the memory your unfinished request held; try again",
        )
        .with_header("Retry-After", "1");
        reply_and_close(&mut conn, &resp, &self.options);
        self.conns.insert(token, conn);
        self.drive(token);
        true
    }

    fn take_back(&mut self) {
        while let Ok(returned) = self.back.try_recv() {
            self.in_workers = self.in_workers.saturating_sub(1);
            let Returned {
                mut conn,
                token,
                pending,
                then,
                failed,
            } = returned;
            if failed {
                self.forget(token, conn);
                continue;
            }
            let stopping = self.stop_deadline.is_some();
            let then = if stopping { After::Close } else { then };
            if pending.is_done() {
                finish_response(&mut conn, then, &self.options);
            } else {
                let bytes = pending.held();
                if conn.out_hold.resize(bytes).is_err()
                    && let Err(refusal) = self.make_room(&conn, Need::Output(bytes))
                {
                    // The reply is built but there is no memory to keep it until its client
                    // reads it: the connection is closed, the client can ask again.
                    self.stats.count_memory_refusal();
                    log_refusal_why(&conn, 503, &format!("response dropped: {refusal}"));
                    self.forget(token, conn);
                    continue;
                }
                conn.state = State::Writing { out: pending, then };
                conn.deadline = Instant::now() + self.options.write_timeout;
            }
            self.conns.insert(token, conn);
            self.drive(token);
        }
    }

    fn expire(&mut self, now: Instant) {
        let due: Vec<Token> = self
            .conns
            .iter()
            .filter(|(_, c)| c.deadline <= now)
            .map(|(t, _)| *t)
            .collect();
        for token in due {
            let Some(mut conn) = self.conns.remove(&token) else {
                continue;
            };
            match conn.state {
                State::Head { .. } | State::Body { .. } => {
                    log_refusal(&conn, RequestError::Timeout);
                    let resp = Response::text(408, "request not received in time");
                    reply_and_close(&mut conn, &resp, &self.options);
                    self.conns.insert(token, conn);
                    self.drive(token);
                }
                // Idle past keep-alive, a client that stopped reading, or lingering over.
                State::Idle | State::Writing { .. } | State::Lingering { .. } => {
                    self.forget(token, conn);
                }
            }
        }
    }

    fn close(&mut self, token: Token) {
        if let Some(conn) = self.conns.remove(&token) {
            self.forget(token, conn);
        }
    }

    fn forget(&mut self, _token: Token, mut conn: Conn) {
        let _ = self.poll.registry().deregister(&mut conn.stream);
        self.stats.closed();
        let Some(ip) = conn.capped else {
            return;
        };
        if let Some(count) = self.per_ip.get_mut(&ip) {
            *count -= 1;
            if *count == 0 {
                self.per_ip.remove(&ip);
            }
        }
    }
}

const OVERLOADED: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\n\
Content-Length: 21\r\nRetry-After: 1\r\nConnection: close\r\n\r\ntoo many connections\n";

enum Step {
    /// Nothing more until the socket is ready again.
    Wait,
    /// The state changed; go round again.
    Again,
    Close,
    Dispatch(Work),
    /// More of the budget is needed (for the read buffer or the body) before going on.
    NeedBudget(Need),
}

/// What a connection needs from the budget, and for which of its holds.
#[derive(Debug, Clone, Copy)]
enum Need {
    /// Bytes already read into `buf` (at most one read's worth beyond the head limit).
    Buffer(u64),
    /// Bytes of a body not read yet.
    Body(u64),
    /// Bytes of a response the socket has not taken yet.
    Output(u64),
}

/// One move of a connection's state machine.
fn step(conn: &mut Conn, options: &ServerOptions, budget: &Arc<Budget>) -> Step {
    match &mut conn.state {
        State::Writing { out, then } => match out.write_to(&conn.stream) {
            Ok(true) => {
                let then = *then;
                let _ = conn.out_hold.resize(0);
                finish_response(conn, then, options);
                Step::Again
            }
            // What was charged stays charged until the end: `out` is freed only then.
            Ok(false) => Step::Wait,
            Err(_) => Step::Close,
        },
        State::Lingering { dropped, limit } => {
            let mut scratch = [0u8; 8192];
            let mut this_move = 0;
            loop {
                match (&conn.stream).read(&mut scratch) {
                    Ok(0) => return Step::Close,
                    Ok(n) => {
                        *dropped += n;
                        if *dropped > *limit {
                            return Step::Close;
                        }
                        this_move += n;
                        if this_move >= READ_CHUNK {
                            return Step::Again;
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Step::Wait,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(_) => return Step::Close,
                }
            }
        }
        State::Idle | State::Head { .. } | State::Body { .. } => {
            // Parse what is buffered before reading more: a pipelined request may be complete.
            match advance(conn, options, budget) {
                Progress::NeedInput => {}
                Progress::NeedBody(bytes) => return Step::NeedBudget(Need::Body(bytes)),
                Progress::Ready(request, persistence) => {
                    return Step::Dispatch(Work::Request(request, persistence));
                }
                Progress::Refused(error) => {
                    log_refusal(conn, error);
                    let resp = Response::text(error.status(), &error.to_string());
                    reply_and_close(conn, &resp, options);
                    return Step::Again;
                }
            }
            let filled = fill(conn);
            // What was read is held until parsed: it counts against the budget at once.
            let capacity = conn.buf.capacity() as u64;
            let held = conn.buf_hold.bytes();
            if capacity > held && conn.buf_hold.resize(capacity).is_err() {
                return Step::NeedBudget(Need::Buffer(capacity - held));
            }
            match filled {
                Ok(Filled::Data) => Step::Again,
                Ok(Filled::Nothing) => Step::Wait,
                Ok(Filled::Handshake) => Step::Dispatch(Work::Handshake),
                // The client went away, possibly mid-request, or sent what is not TLS:
                // nothing to answer.
                Err(_) => Step::Close,
            }
        }
    }
}

enum Progress {
    NeedInput,
    /// The body may not be read on until this many more bytes of the budget are held.
    NeedBody(u64),
    Ready(Box<Request>, Persistence),
    Refused(RequestError),
}

/// Bytes a chunked body's budget grows by at least: its size is not known in advance.
const CHUNKED_STEP: u64 = 64 * 1024;

/// Moves a connection forward on the bytes already buffered.
fn advance(conn: &mut Conn, options: &ServerOptions, budget: &Arc<Budget>) -> Progress {
    let now = Instant::now();
    if matches!(conn.state, State::Idle) {
        // Tolerate stray CRLFs between requests (RFC 9112 §2.2), as some old clients send.
        let blank = conn
            .buf
            .iter()
            .take_while(|b| **b == b'\r' || **b == b'\n')
            .count();
        conn.buf.drain(..blank);
        if conn.buf.is_empty() {
            settle_buffer(conn);
            return Progress::NeedInput;
        }
        conn.state = State::Head { started: now };
        conn.deadline = now + options.head_timeout;
    }
    if let State::Head { started } = conn.state {
        let parsed = match wire::parse_head(&conn.buf, options.max_body_bytes) {
            Ok(Some(parsed)) => parsed,
            Ok(None) => return Progress::NeedInput,
            Err(e) => return Progress::Refused(e),
        };
        let (head, used) = parsed;
        conn.buf.drain(..used);
        // A request without a body (most GETs) need not ask the route table.
        let max_body = match head.framing {
            Framing::None | Framing::Length(0) => options.max_body_bytes,
            Framing::Length(_) | Framing::Chunked => options
                .body_limit
                .of(conn.listener, &head.method, head.path())
                .min(options.max_body_bytes),
        };
        // Refused once the request is in its body state: the answer then reads and drops the
        // declared body, so a proxy that sends it at full speed gets the 413, not a reset.
        let too_large = matches!(head.framing, Framing::Length(n) if n > max_body);
        // The head is parsed: its bytes are no longer held (the body's are, from now on).
        settle_buffer(conn);
        // Who the client is comes from the head alone; the body's bytes count against it.
        let client = client::client_of(
            &Hop {
                peer: conn.peer.ip(),
                unix: conn.unix,
                tls: conn.tls.is_some(),
                trusted: &options.trusted_proxies,
            },
            options.client_ip_header,
            // A forwarding header that is not UTF-8 is not one we can read: it is skipped.
            head.headers
                .iter()
                .map(|h| (h.name.as_str(), std::str::from_utf8(&h.value).unwrap_or(""))),
        );
        // The body must arrive at the minimum rate on average: it has the pause limit, plus
        // the time its bytes take at that rate as they arrive.
        let due = now + options.read_timeout;
        // Not over TLS: a record the socket took only part of would break the session, and
        // the client sends its body anyway once its wait for 100 is over.
        let continue_pending = head.expect_continue && conn.tls.is_none();
        conn.state = State::Body {
            head: Box::new(head),
            started,
            client,
            hold: Hold::new(budget, Some(client.ip)),
            body: Vec::new(),
            chunked: None,
            continue_pending,
            due,
            body_started: now,
            max_body,
        };
        conn.deadline = (now + options.read_timeout).min(due);
        if too_large {
            return Progress::Refused(RequestError::BodyTooLarge);
        }
    }
    let State::Body {
        head,
        hold,
        body,
        chunked,
        continue_pending,
        due,
        body_started,
        max_body,
        ..
    } = &mut conn.state
    else {
        return Progress::NeedInput;
    };
    // Take the body's bytes from the budget before reading them, and size the buffer to
    // exactly what is held.
    let wanted = match head.framing {
        Framing::None => 0,
        Framing::Length(n) => n,
        Framing::Chunked => {
            // Decoding never yields more than it consumes, so what is buffered bounds it.
            let arriving = (body.len() + conn.buf.len()) as u64;
            if arriving <= hold.bytes() {
                hold.bytes()
            } else {
                arriving
                    .max(CHUNKED_STEP)
                    .max(hold.bytes().saturating_mul(2))
                    .min(*max_body)
            }
        }
    };
    if hold.bytes() < wanted {
        return Progress::NeedBody(wanted - hold.bytes());
    }
    if (body.capacity() as u64) < wanted {
        body.reserve_exact((wanted as usize).saturating_sub(body.len()));
    }
    if head.framing == Framing::Chunked && chunked.is_none() {
        *chunked = Some(ChunkedDecoder::default());
    }
    if std::mem::take(continue_pending) && conn.buf.is_empty() {
        // Best effort: a client that gets no 100 sends its body after its own timeout.
        let _ = (&conn.stream).write(b"HTTP/1.1 100 Continue\r\n\r\n");
    }
    let before = conn.buf.len();
    let complete = match (head.framing, chunked.as_mut()) {
        (Framing::Length(n), _) => {
            let want = (n as usize).saturating_sub(body.len());
            let take = want.min(conn.buf.len());
            body.extend_from_slice(&conn.buf[..take]);
            conn.buf.drain(..take);
            body.len() as u64 == n
        }
        // What is held covers all that is buffered (see `wanted`), so the body stays within it.
        (Framing::Chunked, Some(decoder)) => match decoder.feed(&conn.buf, body, *max_body) {
            Ok(used) => {
                conn.buf.drain(..used);
                decoder.is_done()
            }
            Err(e) => return Progress::Refused(e),
        },
        _ => true,
    };
    if conn.buf.len() != before {
        // At the minimum rate on average since the body began: what has arrived buys time.
        *due = *body_started
            + options.read_timeout
            + at_rate(body.len() as u64, options.body_min_rate);
        conn.deadline = (now + options.read_timeout).min(*due);
    }
    if !complete {
        return Progress::NeedInput;
    }
    let State::Body {
        head,
        started,
        client,
        hold,
        body,
        ..
    } = std::mem::replace(&mut conn.state, State::Idle)
    else {
        return Progress::NeedInput;
    };
    let head = *head;
    let persistence = match (head.keep_alive, head.version) {
        (false, _) => Persistence::Close,
        (true, Version::Http10) => Persistence::KeepAlive10,
        (true, Version::Http11) => Persistence::KeepAlive,
    };
    let request = Request {
        method: head.method,
        target: head.target,
        version: head.version,
        headers: head.headers,
        body,
        hold,
        peer: conn.peer,
        client: client.ip,
        https: client.https,
        listener: conn.listener,
        received: started,
    };
    Progress::Ready(Box::new(request), persistence)
}

/// How long `bytes` take at `rate` bytes per second (no time at all for a rate of 0, which
/// turns the minimum off).
fn at_rate(bytes: u64, rate: u64) -> Duration {
    if rate == 0 {
        return Duration::ZERO;
    }
    Duration::from_millis(bytes.saturating_mul(1000) / rate)
}

enum Filled {
    /// Plaintext was added to the buffer.
    Data,
    /// Nothing to read now.
    Nothing,
    /// TLS handshake records arrived; a worker must process them.
    Handshake,
}

/// Reads what the socket has, up to one chunk (decrypted, on a TLS connection). `Err`: closed
/// or failed.
fn fill(conn: &mut Conn) -> io::Result<Filled> {
    if let Some(tls) = conn.tls.as_deref_mut() {
        return fill_tls(tls, &conn.stream, &mut conn.buf);
    }
    // Read into scratch space and keep only what arrived: a buffer sized for a whole chunk on
    // every idle keep-alive connection would cost 16 KiB each, for nothing.
    let mut scratch = [0u8; READ_CHUNK];
    loop {
        match (&conn.stream).read(&mut scratch) {
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => {
                conn.buf.extend_from_slice(&scratch[..n]);
                return Ok(Filled::Data);
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(Filled::Nothing),
            Err(e) => return Err(e),
        }
    }
}

fn fill_tls(
    tls: &mut rustls::ServerConnection,
    stream: &Stream,
    buf: &mut Vec<u8>,
) -> io::Result<Filled> {
    // Plaintext already decrypted (it came with the handshake's last flight) goes first.
    if take_plaintext(tls, buf)? {
        return Ok(Filled::Data);
    }
    let read = loop {
        match tls.read_tls(&mut &*stream) {
            Ok(n) => break n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(Filled::Nothing),
            Err(e) => return Err(e),
        }
    };
    if read == 0 {
        return Err(io::ErrorKind::UnexpectedEof.into());
    }
    if tls.is_handshaking() {
        return Ok(Filled::Handshake);
    }
    let state = tls
        .process_new_packets()
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
    let closed = state.peer_has_closed();
    // Anything rustls wants to say now (a key update, an alert) goes out with the next
    // response, or here if the socket takes it.
    if tls.wants_write() {
        let _ = tls.write_tls(&mut &*stream);
    }
    if take_plaintext(tls, buf)? {
        return Ok(Filled::Data);
    }
    if closed {
        return Err(io::ErrorKind::UnexpectedEof.into());
    }
    // Only a partial record so far.
    Ok(Filled::Data)
}

/// Moves decrypted bytes into `buf`. `Ok(true)` if there were any.
fn take_plaintext(tls: &mut rustls::ServerConnection, buf: &mut Vec<u8>) -> io::Result<bool> {
    let mut scratch = [0u8; READ_CHUNK];
    let mut got = false;
    loop {
        match tls.reader().read(&mut scratch) {
            Ok(0) => return Ok(got),
            Ok(n) => {
                buf.extend_from_slice(&scratch[..n]);
                got = true;
                if buf.len() >= READ_CHUNK {
                    return Ok(true);
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(got),
            Err(e) => return Err(e),
        }
    }
}

/// The bytes that go on the wire for a response's `head` and `body`: on a plain connection
/// the two buffers themselves (the body is never copied); on a TLS connection, their
/// encryption (with close_notify if the connection ends after it).
fn seal(conn: &mut Conn, head: Vec<u8>, body: Vec<u8>, then: After) -> Output {
    let Some(tls) = conn.tls.as_deref_mut() else {
        return Output::new(head, body);
    };
    fn drain(tls: &mut rustls::ServerConnection, wire: &mut Vec<u8>) {
        while tls.wants_write() {
            if tls.write_tls(wire).is_err() {
                break;
            }
        }
    }
    // rustls holds at most 64 KiB of unsent records (its default buffer limit) and its writer
    // takes only what fits, so a larger response goes in pieces, the records moved out in
    // between: written in one go, it would be cut short at 64 KiB.
    let plain = head.len() + body.len();
    let mut wire = Vec::with_capacity(plain + plain / 128 + 64);
    for part in [&head, &body] {
        let mut rest = part.as_slice();
        while !rest.is_empty() {
            match tls.writer().write(rest) {
                Ok(0) | Err(_) => break,
                Ok(n) => rest = &rest[n..],
            }
            drain(tls, &mut wire);
        }
    }
    if then == After::Close {
        tls.send_close_notify();
    }
    drain(tls, &mut wire);
    Output::new(wire, Vec::new())
}

/// A response on its way out: its head and its body in buffers of their own, so that a large
/// body (a stored file) is sent from the buffer the handler made, never copied.
struct Output {
    head: Vec<u8>,
    body: Vec<u8>,
    /// Bytes of head and body written so far.
    pos: usize,
}

impl Output {
    fn new(head: Vec<u8>, body: Vec<u8>) -> Output {
        Output { head, body, pos: 0 }
    }

    fn empty() -> Output {
        Output::new(Vec::new(), Vec::new())
    }

    fn len(&self) -> usize {
        self.head.len() + self.body.len()
    }

    fn is_done(&self) -> bool {
        self.pos >= self.len()
    }

    /// The memory it holds.
    fn held(&self) -> u64 {
        (self.head.capacity() + self.body.capacity()) as u64
    }

    /// Writes as much as the socket takes, head and body in one system call where both are
    /// left. `Ok(true)` when all is written.
    fn write_to(&mut self, mut stream: &Stream) -> io::Result<bool> {
        while !self.is_done() {
            let written = if self.pos < self.head.len() {
                let parts = [
                    io::IoSlice::new(&self.head[self.pos..]),
                    io::IoSlice::new(&self.body),
                ];
                stream.write_vectored(&parts)
            } else {
                stream.write(&self.body[self.pos - self.head.len()..])
            };
            match written {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => self.pos += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(true)
    }
}

/// Gives back what the read buffer no longer needs: all of it when it is empty (an idle
/// connection holds nothing), else what is beyond its contents.
fn settle_buffer(conn: &mut Conn) {
    if conn.buf.is_empty() {
        if conn.buf.capacity() > 0 {
            conn.buf = Vec::new();
        }
    } else if conn.buf.capacity() > 2 * conn.buf.len() + 4096 {
        conn.buf.shrink_to_fit();
    }
    let capacity = conn.buf.capacity() as u64;
    if capacity < conn.buf_hold.bytes() {
        let _ = conn.buf_hold.resize(capacity);
    }
}

/// After a complete response: wait for the next request, or shut our side and linger.
fn finish_response(conn: &mut Conn, then: After, options: &ServerOptions) {
    match then {
        After::KeepAlive => {
            // Give back what a large request left behind.
            settle_buffer(conn);
            conn.state = State::Idle;
            conn.deadline = Instant::now() + options.keepalive_timeout;
        }
        After::Close => {
            let _ = conn.stream.shutdown(Shutdown::Write);
            conn.state = State::Lingering {
                dropped: 0,
                limit: std::mem::replace(&mut conn.linger_limit, LINGER_BYTES),
            };
            conn.deadline = Instant::now() + LINGER_TIME;
        }
        After::Resume => {
            conn.state = State::Idle;
            conn.deadline = conn.opened + options.head_timeout;
        }
    }
}

/// Answers with an error and closes. Unread input (an unsent huge body) is never read as a body.
fn reply_and_close(conn: &mut Conn, resp: &Response, options: &ServerOptions) {
    // A trusted proxy sends the rest of a refused body at full speed before it reads the
    // reply: it is all read and dropped (it is at most max_body_bytes), or the proxy would meet
    // a closed connection and tell its client 502 instead of this answer.
    if conn.capped.is_none()
        && let State::Body { head, body, .. } = &conn.state
    {
        let rest = match head.framing {
            Framing::Length(n) => (n as usize).saturating_sub(body.len()),
            Framing::Chunked => options.max_body_bytes as usize,
            Framing::None => 0,
        };
        conn.linger_limit = rest.max(LINGER_BYTES);
    }
    let mut out = Vec::new();
    let date = clock::http_date(clock::unix_now());
    if wire::serialize(resp, false, Persistence::Close, &date, &mut out).is_err() {
        out.clear();
    }
    let out = seal(conn, out, Vec::new(), After::Close);
    conn.buf = Vec::new();
    let _ = conn.buf_hold.resize(0);
    // Dropping an unfinished body gives its bytes back.
    conn.state = State::Writing {
        out,
        then: After::Close,
    };
    conn.deadline = Instant::now() + options.write_timeout;
}

fn log_refusal(conn: &Conn, error: RequestError) {
    log_refusal_why(conn, error.status(), &error.to_string());
}

fn log_refusal_why(conn: &Conn, status: u16, why: &str) {
    // The client, once its head has named it (through a trusted proxy); else the peer.
    let client = match &conn.state {
        State::Body { client, .. } => client.ip,
        _ => conn.peer.ip(),
    };
    log::info!(
        "request client={client} method=- path=- status={status} bytes=0 ms=0.0 reason=\"{why}\""
    );
}

fn log_request(request: &Request, status: u16, bytes: usize, log_path: fn(&str) -> String) {
    log::info!(
        "request client={} method={} path={} status={status} bytes={bytes} ms={:.1} proto={}",
        request.client,
        logging::sanitize(&request.method, 16),
        log_path(request.path()),
        request.received.elapsed().as_secs_f64() * 1000.0,
        // How the client reached us (TLS here, or as the trusted proxy reports it in the
        // scheme of its client_ip_header): lets an operator see that the scheme arrives.
        if request.https { "https" } else { "http" }
    );
}

struct Worker {
    jobs: Arc<Mutex<Receiver<Job>>>,
    back: Sender<Returned>,
    waker: Arc<Waker>,
    stopping: Arc<AtomicBool>,
    log_path: fn(&str) -> String,
    /// By listener index.
    hsts: Arc<Vec<Option<u64>>>,
    stats: Arc<Stats>,
}

impl Worker {
    fn run<S, H>(self, mut state: S, handler: &H)
    where
        H: Fn(&mut S, &Request) -> Response,
    {
        loop {
            let job = {
                let jobs = self.jobs.lock().unwrap_or_else(PoisonError::into_inner);
                jobs.recv()
            };
            let Ok(job) = job else {
                return;
            };
            let returned = self.serve(&mut state, handler, job);
            if self.back.send(returned).is_err() {
                return;
            }
            let _ = self.waker.wake();
        }
    }

    fn serve<S, H>(&self, state: &mut S, handler: &H, job: Job) -> Returned
    where
        H: Fn(&mut S, &Request) -> Response,
    {
        let Job {
            mut conn,
            token,
            work,
        } = job;
        let (request, mut persistence) = match work {
            Work::Request(request, persistence) => (request, persistence),
            Work::Handshake => return self.handshake(conn, token),
        };
        let mut response = catch_unwind(AssertUnwindSafe(|| handler(state, &request)))
            .unwrap_or_else(|_| {
                log::error!(
                    "http: handler panicked on {} {}",
                    logging::sanitize(&request.method, 16),
                    (self.log_path)(request.path())
                );
                Response::text(500, "internal server error")
            });
        if let Some(Some(max_age)) = self.hsts.get(conn.listener) {
            response =
                response.with_header("Strict-Transport-Security", format!("max-age={max_age}"));
        }
        if self.stopping.load(Ordering::SeqCst) {
            persistence = Persistence::Close;
        }
        let head_only = request.method == "HEAD";
        let date = clock::http_date(clock::unix_now());
        let mut head = Vec::new();
        let mut status = response.status;
        let with_body =
            match wire::serialize_head(&response, head_only, persistence, &date, &mut head) {
                Ok(with_body) => with_body,
                Err(e) => {
                    log::error!("http: {e}; answering 500 instead");
                    head.clear();
                    status = 500;
                    response = Response::text(500, "internal server error");
                    wire::serialize_head(&response, head_only, persistence, &date, &mut head)
                        .unwrap_or(false)
                }
            };
        log_request(&request, status, response.body.len(), self.log_path);
        // The request (its body, and the budget it holds) is done with.
        drop(request);
        let then = if persistence == Persistence::Close {
            After::Close
        } else {
            After::KeepAlive
        };
        let body = if with_body {
            std::mem::take(&mut response.body)
        } else {
            Vec::new()
        };
        // A small body goes in the head's buffer: one buffer, one write.
        let (head, body) = if body.len() <= SMALL_BODY {
            head.extend_from_slice(&body);
            (head, Vec::new())
        } else {
            (head, body)
        };
        let out = seal(&mut conn, head, body, then);
        self.send(conn, token, out, then)
    }

    /// Runs the TLS handshake's crypto on what has arrived, and sends its answer.
    fn handshake(&self, mut conn: Conn, token: Token) -> Returned {
        let Some(tls) = conn.tls.as_deref_mut() else {
            return self.send(conn, token, Output::empty(), After::Resume);
        };
        let processed = tls.process_new_packets();
        let mut out = Vec::new();
        while tls.wants_write() {
            if tls.write_tls(&mut out).is_err() {
                break;
            }
        }
        match processed {
            Ok(_) => self.send(conn, token, Output::new(out, Vec::new()), After::Resume),
            Err(e) => {
                // Plain HTTP on a TLS port, garbage, or a real protocol error: send the alert
                // if the socket takes it, and close this connection only.
                self.stats.count_tls_failure();
                log::info!(
                    "http: TLS handshake with {} failed: {e}",
                    if conn.unix {
                        "a unix-socket peer".to_string()
                    } else {
                        conn.peer.ip().to_string()
                    }
                );
                let _ = (&conn.stream).write(&out);
                Returned {
                    conn,
                    token,
                    pending: Output::empty(),
                    then: After::Close,
                    failed: true,
                }
            }
        }
    }

    /// Writes what the socket takes now; the I/O thread finishes the rest.
    fn send(&self, conn: Conn, token: Token, out: Output, then: After) -> Returned {
        let mut out = out;
        let (pending, failed) = match out.write_to(&conn.stream) {
            Ok(true) => (Output::empty(), false),
            Ok(false) => (out, false),
            Err(_) => (Output::empty(), true),
        };
        Returned {
            conn,
            token,
            pending,
            then,
            failed,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpStream;

    fn options(queue_depth: usize) -> ServerOptions {
        ServerOptions {
            queue_depth,
            max_connections: 100,
            max_connections_per_ip: 100,
            max_body_bytes: 1024,
            max_buffered_bytes: 1 << 20,
            body_min_rate: 1024,
            head_timeout: Duration::from_secs(5),
            read_timeout: Duration::from_secs(5),
            write_timeout: Duration::from_secs(5),
            keepalive_timeout: Duration::from_secs(5),
            shutdown_grace: Duration::from_secs(5),
            log_path: |p| p.to_string(),
            body_limit: BodyLimit::none(),
            trusted_proxies: Vec::new(),
            client_ip_header: client::ClientIpHeader::default(),
        }
    }

    fn start(queue_depth: usize, handler: fn(&mut (), &Request) -> Response) -> Server {
        let listener = bind(SocketAddr::from(([127, 0, 0, 1], 0))).unwrap();
        Server::start(
            vec![Listener::tcp(listener)],
            options(queue_depth),
            Arc::default(),
            vec![()],
            handler,
        )
        .unwrap()
    }

    fn get(addr: SocketAddr, path: &str) -> String {
        let mut stream = TcpStream::connect(addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        write!(
            stream,
            "GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut out = String::new();
        let _ = stream.read_to_string(&mut out);
        out
    }

    #[test]
    fn a_panicking_handler_becomes_500_and_the_worker_lives_on() {
        let server = start(8, |_, req| {
            if req.path() == "/panic" {
                panic!("handler bug");
            }
            Response::text(200, "fine")
        });
        let addr = server.local_addr();
        assert!(get(addr, "/panic").starts_with("HTTP/1.1 500 "));
        // The pool has exactly one worker: it must have survived to answer this.
        assert!(get(addr, "/ok").starts_with("HTTP/1.1 200 "));
        assert!(get(addr, "/panic").starts_with("HTTP/1.1 500 "));
        assert!(get(addr, "/ok").ends_with("fine\n"));
        server.shutdown_handle().shutdown();
        server.wait();
    }

    #[test]
    fn a_full_queue_answers_503_at_once() {
        let server = start(1, |_, req| {
            if req.path() == "/slow" {
                std::thread::sleep(Duration::from_millis(800));
            }
            Response::text(200, "done")
        });
        let addr = server.local_addr();
        // One request occupies the only worker, one waits in the queue of one...
        let busy: Vec<_> = (0..2)
            .map(|_| {
                let handle = std::thread::spawn(move || get(addr, "/slow"));
                std::thread::sleep(Duration::from_millis(100));
                handle
            })
            .collect();
        // ...so the third is refused without waiting.
        let start = Instant::now();
        let refused = get(addr, "/slow");
        assert!(refused.starts_with("HTTP/1.1 503 "), "{refused}");
        assert!(refused.contains("Retry-After: 1\r\n"), "{refused}");
        assert!(start.elapsed() < Duration::from_millis(500));
        for handle in busy {
            assert!(handle.join().unwrap().starts_with("HTTP/1.1 200 "));
        }
        server.shutdown_handle().shutdown();
        server.wait();
    }

    #[test]
    fn a_header_with_a_newline_becomes_500() {
        let server = start(8, |_, _| {
            Response::text(200, "x").with_header("Location", "/a\r\nSet-Cookie: evil=1")
        });
        let reply = get(server.local_addr(), "/");
        assert!(reply.starts_with("HTTP/1.1 500 "), "{reply}");
        assert!(!reply.contains("evil"), "{reply}");
        server.shutdown_handle().shutdown();
        server.wait();
    }
}
