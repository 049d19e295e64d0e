//! The server: one I/O thread, a bounded queue and a fixed pool of workers.
//!
//! The I/O thread accepts connections and reads requests without blocking (mio readiness).
//! Only a request whose head and body have fully arrived goes on the queue, so a slow or idle
//! client costs a buffer, never a worker: 200 clients sending a byte a second cannot starve
//! anyone. Workers run the handler, write the response without blocking, and hand the
//! connection back; a response the socket could not take at once is finished by the I/O thread.
//! Every connection lives in exactly one place at a time (the I/O thread's table, the queue or
//! one worker), which is what keeps pipelined responses in order.

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::{IpAddr, Shutdown, SocketAddr};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, Sender, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token, Waker};

use super::stats::Stats;
use super::wire::{
    self, ChunkedDecoder, Framing, Head, Persistence, Request, RequestError, Response, Version,
};
use crate::clock;
use crate::logging;

const WAKER: Token = Token(0);
/// Listener `i` is registered as `Token(FIRST_LISTENER + i)`; connections come after them.
const FIRST_LISTENER: usize = 1;
/// How often deadlines are checked; timeouts are whole seconds, so this is precise enough.
const TICK: Duration = Duration::from_millis(100);
const LISTEN_BACKLOG: i32 = 1024;
const READ_CHUNK: usize = 16 * 1024;
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
    pub head_timeout: Duration,
    pub read_timeout: Duration,
    pub write_timeout: Duration,
    pub keepalive_timeout: Duration,
    pub shutdown_grace: Duration,
    /// How a request path is written into the log (the app redacts tokens in paths).
    pub log_path: fn(&str) -> String,
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
    local_addrs: Vec<SocketAddr>,
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
        mut listeners: Vec<TcpListener>,
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
            .map(TcpListener::local_addr)
            .collect::<io::Result<Vec<_>>>()?;
        let poll = Poll::new()?;
        for (i, listener) in listeners.iter_mut().enumerate() {
            poll.registry()
                .register(listener, Token(FIRST_LISTENER + i), Interest::READABLE)?;
        }
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
            };
            let handler = handler.clone();
            workers.push(
                std::thread::Builder::new()
                    .name(format!("worker-{n}"))
                    .spawn(move || worker.run(state, &*handler))?,
            );
        }
        drop(back_tx);

        let io = IoLoop {
            poll,
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

    /// The address of the first listener.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addrs[0]
    }

    /// The addresses of all listeners, in the order they were given.
    pub fn local_addrs(&self) -> &[SocketAddr] {
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
        body: Vec<u8>,
        chunked: Option<ChunkedDecoder>,
    },
    /// A response is partly written.
    Writing {
        out: Vec<u8>,
        pos: usize,
        then: After,
    },
    /// Our side is shut; dropping input until the client closes or the deadline passes.
    Lingering { dropped: usize },
}

struct Conn {
    stream: TcpStream,
    peer: SocketAddr,
    /// Index of the listener that accepted it.
    listener: usize,
    buf: Vec<u8>,
    state: State,
    deadline: Instant,
}

struct Job {
    conn: Conn,
    token: Token,
    request: Request,
    persistence: Persistence,
}

struct Returned {
    conn: Conn,
    token: Token,
    /// Output the socket did not take yet.
    pending: Vec<u8>,
    then: After,
    failed: bool,
}

struct IoLoop {
    poll: Poll,
    /// Emptied at shutdown.
    listeners: Vec<TcpListener>,
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
            let timeout = next_tick.saturating_duration_since(Instant::now());
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
            let _ = self.poll.registry().deregister(&mut listener);
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
            match listener.accept() {
                Ok((stream, peer)) => self.admit(stream, peer, index),
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

    fn admit(&mut self, mut stream: TcpStream, peer: SocketAddr, listener: usize) {
        let ip = peer.ip();
        let from_ip = self.per_ip.get(&ip).copied().unwrap_or(0);
        if self.conns.len() + self.in_workers >= self.options.max_connections
            || from_ip >= self.options.max_connections_per_ip
        {
            // Best effort: a tiny reply that fits any socket buffer, then close.
            let _ = stream.write(OVERLOADED);
            self.stats.count_refused();
            log::info!(
                "request client={ip} method=- path=- status=503 bytes=0 ms=0.0 \
                 reason=\"too many connections\""
            );
            return;
        }
        let _ = stream.set_nodelay(true);
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
        *self.per_ip.entry(ip).or_insert(0) += 1;
        self.stats.opened();
        self.conns.insert(
            token,
            Conn {
                stream,
                peer,
                listener,
                buf: Vec::new(),
                state: State::Idle,
                deadline: Instant::now() + self.options.head_timeout,
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
        loop {
            match step(&mut conn, &self.options) {
                Step::Wait => break,
                Step::Again => continue,
                Step::Close => {
                    self.forget(token, conn);
                    return;
                }
                Step::Dispatch(request, persistence) => {
                    let Some(jobs) = self.jobs.as_ref() else {
                        self.forget(token, conn);
                        return;
                    };
                    let job = Job {
                        conn,
                        token,
                        request: *request,
                        persistence,
                    };
                    match jobs.try_send(job) {
                        Ok(()) => {
                            self.in_workers += 1;
                            return;
                        }
                        Err(TrySendError::Full(job)) | Err(TrySendError::Disconnected(job)) => {
                            conn = job.conn;
                            self.stats.count_queue_full();
                            let resp = Response::text(503, "server busy, try again shortly")
                                .with_header("Retry-After", "1");
                            log_request(&job.request, 503, 0, self.options.log_path);
                            reply_and_close(&mut conn, &resp, &self.options);
                        }
                    }
                }
            }
        }
        self.conns.insert(token, conn);
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
            if pending.is_empty() {
                finish_response(&mut conn, then, &self.options);
            } else {
                conn.state = State::Writing {
                    out: pending,
                    pos: 0,
                    then,
                };
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
        let ip = conn.peer.ip();
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
    Dispatch(Box<Request>, Persistence),
}

/// One move of a connection's state machine.
fn step(conn: &mut Conn, options: &ServerOptions) -> Step {
    match &mut conn.state {
        State::Writing { out, pos, then } => match write_some(&conn.stream, out, pos) {
            Ok(true) => {
                let then = *then;
                finish_response(conn, then, options);
                Step::Again
            }
            Ok(false) => Step::Wait,
            Err(_) => Step::Close,
        },
        State::Lingering { dropped } => {
            let mut scratch = [0u8; 8192];
            loop {
                match (&conn.stream).read(&mut scratch) {
                    Ok(0) => return Step::Close,
                    Ok(n) => {
                        *dropped += n;
                        if *dropped > LINGER_BYTES {
                            return Step::Close;
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
            match advance(conn, options) {
                Progress::NeedInput => {}
                Progress::Ready(request, persistence) => {
                    return Step::Dispatch(request, persistence);
                }
                Progress::Refused(error) => {
                    log_refusal(conn, error);
                    let resp = Response::text(error.status(), &error.to_string());
                    reply_and_close(conn, &resp, options);
                    return Step::Again;
                }
            }
            match fill(conn) {
                Ok(true) => Step::Again,
                Ok(false) => Step::Wait,
                // The client went away, possibly mid-request: nothing to answer.
                Err(_) => Step::Close,
            }
        }
    }
}

enum Progress {
    NeedInput,
    Ready(Box<Request>, Persistence),
    Refused(RequestError),
}

/// Moves a connection forward on the bytes already buffered.
fn advance(conn: &mut Conn, options: &ServerOptions) -> Progress {
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
        if head.expect_continue && conn.buf.is_empty() {
            // Best effort: a client that gets no 100 sends its body after its own timeout.
            let _ = (&conn.stream).write(b"HTTP/1.1 100 Continue\r\n\r\n");
        }
        let (body, chunked) = match head.framing {
            Framing::None => (Vec::new(), None),
            Framing::Length(n) => (Vec::with_capacity(n.min(64 * 1024) as usize), None),
            Framing::Chunked => (Vec::new(), Some(ChunkedDecoder::default())),
        };
        conn.state = State::Body {
            head: Box::new(head),
            started,
            body,
            chunked,
        };
        conn.deadline = now + options.read_timeout;
    }
    let State::Body {
        head,
        body,
        chunked,
        ..
    } = &mut conn.state
    else {
        return Progress::NeedInput;
    };
    let before = conn.buf.len();
    let complete = match (head.framing, chunked.as_mut()) {
        (Framing::Length(n), _) => {
            let want = (n as usize).saturating_sub(body.len());
            let take = want.min(conn.buf.len());
            body.extend_from_slice(&conn.buf[..take]);
            conn.buf.drain(..take);
            body.len() as u64 == n
        }
        (Framing::Chunked, Some(decoder)) => {
            match decoder.feed(&conn.buf, body, options.max_body_bytes) {
                Ok(used) => {
                    conn.buf.drain(..used);
                    decoder.is_done()
                }
                Err(e) => return Progress::Refused(e),
            }
        }
        _ => true,
    };
    if conn.buf.len() != before {
        conn.deadline = now + options.read_timeout;
    }
    if !complete {
        return Progress::NeedInput;
    }
    let State::Body {
        head,
        started,
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
        peer: conn.peer,
        listener: conn.listener,
        received: started,
    };
    Progress::Ready(Box::new(request), persistence)
}

/// Reads what the socket has, up to one chunk. `Ok(true)`: got bytes; `Ok(false)`: nothing
/// now; `Err`: closed or failed.
fn fill(conn: &mut Conn) -> io::Result<bool> {
    // Read into scratch space and keep only what arrived: a buffer sized for a whole chunk on
    // every idle keep-alive connection would cost 16 KiB each, for nothing.
    let mut scratch = [0u8; READ_CHUNK];
    loop {
        match (&conn.stream).read(&mut scratch) {
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => {
                conn.buf.extend_from_slice(&scratch[..n]);
                return Ok(true);
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
            Err(e) => return Err(e),
        }
    }
}

/// Writes as much as the socket takes. `Ok(true)` when all of `out` is written.
fn write_some(mut stream: &TcpStream, out: &[u8], pos: &mut usize) -> io::Result<bool> {
    while *pos < out.len() {
        match stream.write(&out[*pos..]) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => *pos += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(true)
}

/// After a complete response: wait for the next request, or shut our side and linger.
fn finish_response(conn: &mut Conn, then: After, options: &ServerOptions) {
    match then {
        After::KeepAlive => {
            if conn.buf.is_empty() {
                // Give back what a large request left behind; an idle connection holds nothing.
                conn.buf = Vec::new();
            }
            conn.state = State::Idle;
            conn.deadline = Instant::now() + options.keepalive_timeout;
        }
        After::Close => {
            let _ = conn.stream.shutdown(Shutdown::Write);
            conn.state = State::Lingering { dropped: 0 };
            conn.deadline = Instant::now() + LINGER_TIME;
        }
    }
}

/// Answers with an error and closes. Unread input (an unsent huge body) is never read as a body.
fn reply_and_close(conn: &mut Conn, resp: &Response, options: &ServerOptions) {
    let mut out = Vec::new();
    let date = clock::http_date(clock::unix_now());
    if wire::serialize(resp, false, Persistence::Close, &date, &mut out).is_err() {
        out.clear();
    }
    conn.buf.clear();
    conn.state = State::Writing {
        out,
        pos: 0,
        then: After::Close,
    };
    conn.deadline = Instant::now() + options.write_timeout;
}

fn log_refusal(conn: &Conn, error: RequestError) {
    log::info!(
        "request client={} method=- path=- status={} bytes=0 ms=0.0 reason=\"{error}\"",
        conn.peer.ip(),
        error.status()
    );
}

fn log_request(request: &Request, status: u16, bytes: usize, log_path: fn(&str) -> String) {
    log::info!(
        "request client={} method={} path={} status={status} bytes={bytes} ms={:.1}",
        request.peer.ip(),
        logging::sanitize(&request.method, 16),
        log_path(request.path()),
        request.received.elapsed().as_secs_f64() * 1000.0
    );
}

struct Worker {
    jobs: Arc<Mutex<Receiver<Job>>>,
    back: Sender<Returned>,
    waker: Arc<Waker>,
    stopping: Arc<AtomicBool>,
    log_path: fn(&str) -> String,
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
            conn,
            token,
            request,
            mut persistence,
        } = job;
        let response =
            catch_unwind(AssertUnwindSafe(|| handler(state, &request))).unwrap_or_else(|_| {
                log::error!(
                    "http: handler panicked on {} {}",
                    logging::sanitize(&request.method, 16),
                    (self.log_path)(request.path())
                );
                Response::text(500, "internal server error")
            });
        if self.stopping.load(Ordering::SeqCst) {
            persistence = Persistence::Close;
        }
        let head_only = request.method == "HEAD";
        let date = clock::http_date(clock::unix_now());
        let mut out = Vec::new();
        let mut status = response.status;
        if let Err(e) = wire::serialize(&response, head_only, persistence, &date, &mut out) {
            log::error!("http: {e}; answering 500 instead");
            out.clear();
            status = 500;
            let fallback = Response::text(500, "internal server error");
            let _ = wire::serialize(&fallback, head_only, persistence, &date, &mut out);
        }
        log_request(&request, status, response.body.len(), self.log_path);
        let then = if persistence == Persistence::Close {
            After::Close
        } else {
            After::KeepAlive
        };
        let mut pos = 0;
        let (pending, failed) = match write_some(&conn.stream, &out, &mut pos) {
            Ok(true) => (Vec::new(), false),
            Ok(false) => (out.split_off(pos), false),
            Err(_) => (Vec::new(), true),
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
            head_timeout: Duration::from_secs(5),
            read_timeout: Duration::from_secs(5),
            write_timeout: Duration::from_secs(5),
            keepalive_timeout: Duration::from_secs(5),
            shutdown_grace: Duration::from_secs(5),
            log_path: |p| p.to_string(),
        }
    }

    fn start(queue_depth: usize, handler: fn(&mut (), &Request) -> Response) -> Server {
        let listener = bind(SocketAddr::from(([127, 0, 0, 1], 0))).unwrap();
        Server::start(
            vec![listener],
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
