//! Mail: the durable `outbox` table, the one mailer thread that empties it, and delivery by
//! SMTP (mail-send) or, with no SMTP host configured, into a spool directory of `.eml` files.
//!
//! A message is a row before anything is sent, so an SMTP outage of any length or a crash loses
//! nothing: a row left in `sending` by a crash is sent again after the restart (at least once).

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::{Connection, params};

use crate::clock;
use crate::config::{SmtpConfig, SmtpSecurity};
use crate::db;
use crate::metrics::{Delivery, METRICS};

/// Shown in place of a delivered body: the body held a reset link, which must not outlive its
/// purpose in the database. (A failed message keeps its body, so `outbox retry` can send it.)
const SCRUBBED: &str = "(removed once the message was delivered: it held a reset link)";
/// The first retry waits this long (the config can lower it); each further one twice as long.
const MAX_RETRY_DELAY_SECS: i64 = 3600;

/// A message to enqueue.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Message {
    pub recipient: String,
    pub subject: String,
    pub text: String,
    pub html: Option<String>,
    /// The `From:` display name and address, when not the server's `[smtp] from` (a
    /// reseller's brand). The SMTP envelope sender stays the server's.
    pub from_name: Option<String>,
    pub from_address: Option<String>,
    pub reply_to: Option<String>,
    /// The body's language (`Content-Language`).
    pub language: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Pending,
    Sending,
    Sent,
    Failed,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Pending => "pending",
            State::Sending => "sending",
            State::Sent => "sent",
            State::Failed => "failed",
        }
    }

    pub fn parse(text: &str) -> Option<State> {
        [State::Pending, State::Sending, State::Sent, State::Failed]
            .into_iter()
            .find(|s| s.as_str() == text)
    }
}

/// Adds a message, due at once. Run it in the transaction that creates what the message is
/// about (a reset token), so both exist or neither does.
pub fn enqueue(conn: &Connection, message: &Message, now: i64) -> rusqlite::Result<i64> {
    enqueue_at(conn, message, now, now)
}

/// [`enqueue`], for delivery no earlier than `send_at`: an import paces its mails so that a
/// thousand users do not reach the SMTP server's limits in one minute.
pub fn enqueue_at(
    conn: &Connection,
    message: &Message,
    now: i64,
    send_at: i64,
) -> rusqlite::Result<i64> {
    conn.prepare_cached(
        "INSERT INTO outbox (recipient, subject, body_text, body_html, next_attempt_at, \
         created_at, from_name, from_address, reply_to, language) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?
    .execute(params![
        message.recipient,
        message.subject,
        message.text,
        message.html,
        send_at,
        now,
        message.from_name,
        message.from_address,
        message.reply_to,
        message.language
    ])?;
    Ok(conn.last_insert_rowid())
}

/// One outbox row as `passlink outbox list` shows it.
#[derive(Debug, Clone)]
pub struct Entry {
    pub id: i64,
    pub recipient: String,
    pub subject: String,
    pub state: String,
    pub attempts: i64,
    pub next_attempt_at: i64,
    pub last_error: Option<String>,
    pub created_at: i64,
    pub finished_at: Option<i64>,
}

pub fn list(conn: &Connection, state: Option<State>) -> rusqlite::Result<Vec<Entry>> {
    let mut stmt = conn.prepare(
        "SELECT id, recipient, subject, state, attempts, next_attempt_at, last_error, \
         created_at, finished_at FROM outbox WHERE ?1 IS NULL OR state = ?1 ORDER BY id",
    )?;
    let rows = stmt.query_map(params![state.map(State::as_str)], |r| {
        Ok(Entry {
            id: r.get(0)?,
            recipient: r.get(1)?,
            subject: r.get(2)?,
            state: r.get(3)?,
            attempts: r.get(4)?,
            next_attempt_at: r.get(5)?,
            last_error: r.get(6)?,
            created_at: r.get(7)?,
            finished_at: r.get(8)?,
        })
    })?;
    rows.collect()
}

/// How many messages are in each state, every state listed (for `/metrics`).
pub fn depth_by_state(conn: &Connection) -> rusqlite::Result<Vec<(State, u64)>> {
    let mut depth: Vec<(State, u64)> = [State::Pending, State::Sending, State::Sent, State::Failed]
        .into_iter()
        .map(|s| (s, 0))
        .collect();
    let mut stmt = conn.prepare_cached("SELECT state, count(*) FROM outbox GROUP BY state")?;
    let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
    for row in rows {
        let (state, n) = row?;
        if let Some(slot) = depth
            .iter_mut()
            .find(|(s, _)| Some(*s) == State::parse(&state))
        {
            slot.1 = u64::try_from(n).unwrap_or(0);
        }
    }
    Ok(depth)
}

/// Makes a pending or failed message due now. `false` if there is no such message or it was
/// sent.
pub fn retry(conn: &Connection, id: i64, now: i64) -> rusqlite::Result<bool> {
    Ok(conn.execute(
        "UPDATE outbox SET state = 'pending', next_attempt_at = ?2, finished_at = NULL \
         WHERE id = ?1 AND state IN ('pending', 'failed')",
        params![id, now],
    )? == 1)
}

/// Deletes sent messages finished before `before`.
pub fn purge_sent_before(conn: &Connection, before: i64) -> rusqlite::Result<usize> {
    conn.execute(
        "DELETE FROM outbox WHERE state = 'sent' AND finished_at < ?1",
        params![before],
    )
}

/// After a crash: a message that was being sent may or may not have gone out. Sending it again
/// is the safe side (a second reset mail is harmless; a lost one is not).
pub fn recover(conn: &Connection) -> rusqlite::Result<usize> {
    conn.execute(
        "UPDATE outbox SET state = 'pending', last_error = 'interrupted by a restart' \
         WHERE state = 'sending'",
        [],
    )
}

fn mark_sent(conn: &Connection, id: i64, now: i64) -> rusqlite::Result<()> {
    // The link leaves the file, not only the row: with secure_delete ON the pages this frees
    // (a long message's overflow pages) are zeroed too. Every connection has FAST
    // (`db::configure`), which zeroes freed bytes inside pages; ON only here, so that the
    // purges on this connection do not write a page of zeros for each page they free.
    conn.pragma_update(None, "secure_delete", "ON")?;
    let scrubbed = conn.execute(
        "UPDATE outbox SET state = 'sent', finished_at = ?2, body_text = ?3, body_html = NULL \
         WHERE id = ?1",
        params![id, now, SCRUBBED],
    );
    conn.pragma_update(None, "secure_delete", "FAST")?;
    scrubbed?;
    Ok(())
}

fn mark_failed(conn: &Connection, id: i64, error: &str, now: i64) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE outbox SET state = 'failed', last_error = ?2, finished_at = ?3 WHERE id = ?1",
        params![id, error, now],
    )?;
    Ok(())
}

fn reschedule(conn: &Connection, id: i64, error: &str, at: i64) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE outbox SET state = 'pending', last_error = ?2, next_attempt_at = ?3 WHERE id = ?1",
        params![id, error, at],
    )?;
    Ok(())
}

/// When to try again after `attempts` failed tries: `first`, then doubling, capped at an hour.
fn retry_delay(first: i64, attempts: i64) -> i64 {
    let shift = u32::try_from(attempts.saturating_sub(1).clamp(0, 20)).unwrap_or(20);
    first
        .saturating_mul(1 << shift)
        .min(MAX_RETRY_DELAY_SECS.max(first))
}

/// Why a delivery failed.
#[derive(Debug)]
pub enum DeliveryError {
    Build(std::io::Error),
    /// The server as `host:port`, and what went wrong there.
    Smtp {
        server: String,
        error: String,
    },
    Spool {
        dir: PathBuf,
        error: std::io::Error,
    },
    Timeout {
        server: String,
        secs: u64,
    },
}

impl fmt::Display for DeliveryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeliveryError::Build(e) => write!(f, "cannot build the message: {e}"),
            DeliveryError::Smtp { server, error } => {
                write!(f, "SMTP {server}: {error}")?;
                if error.contains("Connection refused") {
                    f.write_str(
                        " (nothing listens there: check smtp.host, smtp.port and smtp.security)",
                    )?;
                }
                Ok(())
            }
            DeliveryError::Spool { dir, error } => {
                write!(f, "spool {}: {error}", dir.display())?;
                if error.kind() == std::io::ErrorKind::PermissionDenied {
                    write!(f, " ({})", crate::owners::describe(dir))?;
                }
                Ok(())
            }
            DeliveryError::Timeout { server, secs } => {
                write!(f, "SMTP {server}: no answer within {secs} s")
            }
        }
    }
}

impl std::error::Error for DeliveryError {}

/// The RFC 5322 bytes of a message.
pub fn render(message: &Message, from: &str, now: i64) -> Result<Vec<u8>, DeliveryError> {
    let address = message
        .from_address
        .clone()
        .unwrap_or_else(|| from.to_string());
    let mut builder = mail_send::mail_builder::MessageBuilder::new();
    builder = match &message.from_name {
        Some(name) => builder.from((name.clone(), address)),
        None => builder.from(address),
    };
    if let Some(reply_to) = &message.reply_to {
        builder = builder.reply_to(reply_to.clone());
    }
    if let Some(language) = &message.language {
        builder = builder.header(
            "Content-Language",
            mail_send::mail_builder::headers::raw::Raw::new(language.clone()),
        );
    }
    let mut builder = builder
        .to(message.recipient.clone())
        .subject(message.subject.clone())
        .date(now)
        .text_body(message.text.clone());
    if let Some(html) = &message.html {
        builder = builder.html_body(html.clone());
    }
    builder.write_to_vec().map_err(DeliveryError::Build)
}

/// Where messages go.
#[derive(Debug, Clone)]
pub enum Transport {
    Smtp(SmtpConfig),
    /// `.eml` files in this directory.
    Spool(PathBuf),
}

impl Transport {
    pub fn from_config(smtp: &SmtpConfig, data_dir: &Path) -> Transport {
        match smtp.host {
            Some(_) => Transport::Smtp(smtp.clone()),
            None => Transport::Spool(data_dir.join("spool")),
        }
    }
}

fn deliver(
    runtime: &tokio::runtime::Runtime,
    transport: &Transport,
    from: &str,
    recipient: &str,
    bytes: &[u8],
    id: i64,
) -> Result<(), DeliveryError> {
    match transport {
        Transport::Spool(dir) => {
            spool(dir, &format!("{id:08}.eml"), bytes).map_err(|error| DeliveryError::Spool {
                dir: dir.clone(),
                error,
            })
        }
        Transport::Smtp(smtp) => {
            // The exchange's who and where, never its content (the message holds a live link)
            // or the SMTP password.
            log::debug!(
                "mail: message {id} to {recipient} via {}:{} ({:?}), {} bytes",
                smtp.host.as_deref().unwrap_or(""),
                smtp.effective_port(),
                smtp.security,
                bytes.len()
            );
            let result = runtime.block_on(send_smtp(smtp, from, recipient, bytes));
            log::debug!(
                "mail: message {id}: {}",
                match &result {
                    Ok(()) => "the server accepted it".to_string(),
                    Err(e) => e.to_string(),
                }
            );
            result
        }
    }
}

/// Writes `NNNNNN.eml` through a temporary name, so a reader never sees half a message. The
/// message holds a live reset link: the file is the owner's alone, whatever the umask.
fn spool(dir: &Path, name: &str, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    private_spool_dir(dir)?;
    let tmp = dir.join(format!(".{name}.tmp"));
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)?;
    // `mode` applies only to a file it creates; one left by a crash keeps its old mode.
    file.set_permissions(owner_only(0o600))?;
    file.write_all(bytes)?;
    file.sync_all()?;
    drop(file);
    std::fs::rename(&tmp, dir.join(name))
}

fn owner_only(mode: u32) -> std::fs::Permissions {
    std::os::unix::fs::PermissionsExt::from_mode(mode)
}

/// Creates the spool directory 0700 (the umask cannot widen that, only narrow it), or sets an
/// existing one to 0700, saying so if others could read it.
fn private_spool_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    let mode = std::fs::metadata(dir)?.permissions().mode() & 0o7777;
    if mode != 0o700 {
        std::fs::set_permissions(dir, owner_only(0o700))?;
        if mode & 0o077 != 0 {
            log::warn!(
                "mail: the spool directory {} was mode {mode:04o}, open to other users, and \
                 holds live reset links; it is 0700 now",
                dir.display()
            );
        }
    }
    Ok(())
}

/// At start, with mail going to the spool: the directory and every message already in it
/// made private. (Those written by a passlink that did not do so, under umask 022, were 0644.)
pub fn prepare_spool(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    private_spool_dir(dir)?;
    let mut tightened = 0;
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let meta = entry.metadata()?;
        if meta.is_file() && meta.permissions().mode() & 0o077 != 0 {
            std::fs::set_permissions(entry.path(), owner_only(0o600))?;
            tightened += 1;
        }
    }
    if tightened > 0 {
        log::warn!(
            "mail: {tightened} file(s) in the spool {} were readable by other users; they are \
             0600 now",
            dir.display()
        );
    }
    Ok(())
}

/// `passlink mail test ADDRESS`: one message to `to` through the configured transport, each
/// step reported through `step` as it succeeds, so that an operator sees where delivery breaks
/// (the name, the connection, the SMTP session) instead of a deferred message a day later.
pub fn send_test(
    smtp: &SmtpConfig,
    data_dir: &Path,
    to: &str,
    step: &mut dyn FnMut(String),
) -> Result<(), DeliveryError> {
    let now = clock::unix_now();
    let host_name = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "this machine".into());
    let message = Message {
        recipient: to.to_string(),
        subject: "passlink test mail".into(),
        text: format!(
            "This is a test message from passlink on {host_name}, sent by `passlink mail test`.\n\
             If you can read it, reset mails reach this address.\n"
        ),
        ..Message::default()
    };
    let bytes = render(&message, &smtp.from, now)?;
    step(format!(
        "message built: from {} to {to}, {} bytes",
        smtp.from,
        bytes.len()
    ));
    match Transport::from_config(smtp, data_dir) {
        Transport::Spool(dir) => {
            let name = format!("test-{now}.eml");
            spool(&dir, &name, &bytes).map_err(|error| DeliveryError::Spool {
                dir: dir.clone(),
                error,
            })?;
            step(format!(
                "smtp.host is not set, so nothing is sent: the message is in {}",
                dir.join(name).display()
            ));
            Ok(())
        }
        Transport::Smtp(smtp) => {
            let host = smtp.host.clone().unwrap_or_default();
            let port = smtp.effective_port();
            let server = format!("{host}:{port}");
            let addrs: Vec<std::net::SocketAddr> =
                std::net::ToSocketAddrs::to_socket_addrs(&(host.as_str(), port))
                    .map_err(|e| DeliveryError::Smtp {
                        server: server.clone(),
                        error: format!("cannot resolve {host}: {e}"),
                    })?
                    .collect();
            let shown: Vec<String> = addrs.iter().map(ToString::to_string).collect();
            step(format!("{host} resolves to {}", shown.join(", ")));
            let timeout = Duration::from_secs(smtp.timeout_secs.get());
            let connected = addrs.iter().find_map(|a| {
                std::net::TcpStream::connect_timeout(a, timeout)
                    .ok()
                    .map(|_| *a)
            });
            let Some(connected) = connected else {
                return Err(DeliveryError::Smtp {
                    server,
                    error: "Connection refused or timed out at every address".into(),
                });
            };
            step(format!("TCP connection to {connected} opened"));
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(DeliveryError::Build)?;
            runtime.block_on(send_smtp(&smtp, &smtp.from, to, &bytes))?;
            let login = match &smtp.username {
                Some(user) => format!(", logged in as {user}"),
                None => String::new(),
            };
            step(format!(
                "SMTP session with {server} ({:?}{login}): the server accepted the message \
                 for {to}; look for it in that mailbox (and its spam folder)",
                smtp.security
            ));
            Ok(())
        }
    }
}

async fn send_smtp(
    smtp: &SmtpConfig,
    from: &str,
    recipient: &str,
    bytes: &[u8],
) -> Result<(), DeliveryError> {
    use mail_send::SmtpClientBuilder;
    let host = smtp.host.clone().unwrap_or_default();
    let server = format!("{host}:{}", smtp.effective_port());
    let timeout = Duration::from_secs(smtp.timeout_secs.get());
    let mut builder = SmtpClientBuilder::new(host, smtp.effective_port())
        .map_err(|error| DeliveryError::Smtp {
            server: server.clone(),
            error,
        })?
        .implicit_tls(smtp.security == SmtpSecurity::Tls)
        .timeout(timeout);
    if let Some(helo) = &smtp.helo {
        builder = builder.helo_host(helo.clone());
    }
    if smtp.accept_invalid_certs {
        builder = builder.allow_invalid_certs();
    }
    if let (Some(user), Some(password)) = (&smtp.username, &smtp.password) {
        builder = builder.credentials((user.clone(), password.expose().to_string()));
    }
    let message = mail_send::smtp::message::Message::new(from, [recipient], bytes);
    // One deadline over the whole exchange: a server that accepts and then says nothing must
    // not hold the mailer for good.
    let exchange = async {
        match smtp.security {
            SmtpSecurity::None => builder.connect_plain().await?.send(message).await,
            _ => builder.connect().await?.send(message).await,
        }
    };
    match tokio::time::timeout(timeout * 3, exchange).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(DeliveryError::Smtp {
            server,
            error: e.to_string(),
        }),
        Err(_) => Err(DeliveryError::Timeout {
            server,
            secs: (timeout * 3).as_secs(),
        }),
    }
}

/// Wakes the mailer when a message is enqueued, and stops it.
#[derive(Clone, Default)]
pub struct Waker {
    inner: Arc<(Mutex<bool>, Condvar)>,
    stop: Arc<AtomicBool>,
}

impl Waker {
    pub fn wake(&self) {
        let (flag, cond) = &*self.inner;
        *flag.lock().unwrap_or_else(PoisonError::into_inner) = true;
        cond.notify_one();
    }

    pub fn stop(&self) {
        self.stop.store(true, Ordering::SeqCst);
        self.wake();
    }

    fn stopping(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    /// Sleeps until woken or `limit` passes.
    fn wait(&self, limit: Duration) {
        let (flag, cond) = &*self.inner;
        let guard = flag.lock().unwrap_or_else(PoisonError::into_inner);
        let (mut guard, _) = cond
            .wait_timeout_while(guard, limit, |woken| !*woken)
            .unwrap_or_else(PoisonError::into_inner);
        *guard = false;
    }
}

/// What the mailer thread needs; a config reload replaces it.
#[derive(Debug, Clone)]
pub struct MailerSettings {
    pub transport: Transport,
    pub from: String,
    pub retry_first_secs: i64,
    pub retry_horizon_secs: i64,
}

/// Work done on every pass before delivering (`crate::housekeeping`: address requests become
/// reset links and mails, and rows that served their purpose go).
pub type Chore = Box<dyn Fn(&mut Connection) + Send>;

/// The running mailer thread.
pub struct Mailer {
    waker: Waker,
    thread: JoinHandle<()>,
    done: std::sync::mpsc::Receiver<()>,
}

impl Mailer {
    /// Stops the thread, waiting at most `grace` for a delivery in progress. A message still
    /// being sent then stays `sending` and goes out again after the next start. `true` once
    /// the thread has ended, and its database connection is closed with it.
    pub fn stop(self, grace: Duration) -> bool {
        self.waker.stop();
        if self.done.recv_timeout(grace).is_ok() {
            self.thread.join().is_ok()
        } else {
            log::warn!("mail: a delivery is still in progress; it is retried at the next start");
            false
        }
    }
}

/// Starts the mailer thread on its own connection. It recovers interrupted messages, then
/// delivers due ones until [`Mailer::stop`].
pub fn start(
    mut conn: Connection,
    settings: Arc<std::sync::RwLock<MailerSettings>>,
    waker: Waker,
    chore: Chore,
) -> std::io::Result<Mailer> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let (done_tx, done) = std::sync::mpsc::channel();
    let thread_waker = waker.clone();
    let thread = std::thread::Builder::new()
        .name("mailer".into())
        .spawn(move || {
            let waker = thread_waker;
            match recover(&conn) {
                Ok(0) => {}
                Ok(n) => log::warn!("mail: {n} message(s) interrupted by a restart; sending again"),
                Err(e) => log::error!("mail: cannot recover interrupted messages: {e}"),
            }
            while !waker.stopping() {
                // Also the once-a-second look at the database file that notices it vanishing
                // when no request comes. Once it has, nothing here can be recorded: wait.
                if db::watch::problem().is_some() {
                    waker.wait(Duration::from_secs(1));
                    continue;
                }
                chore(&mut conn);
                let current = settings
                    .read()
                    .unwrap_or_else(PoisonError::into_inner)
                    .clone();
                while !waker.stopping() && deliver_batch(&mut conn, &runtime, &current, &waker) {}
                waker.wait(Duration::from_secs(1));
            }
            drop(conn);
            let _ = done_tx.send(());
        })?;
    Ok(Mailer {
        waker,
        thread,
        done,
    })
}

/// Delivers the next due message. `false` when there was none (or the store failed).
/// Most messages claimed at once: a batch costs two commits whatever its size.
const BATCH: usize = 32;

/// What became of a claimed message.
enum Outcome {
    Sent,
    Retry {
        error: String,
        at: i64,
    },
    Failed(String),
    /// Not tried (an earlier one in the batch failed, or the mailer is stopping).
    Untried,
}

/// Takes up to `limit` due messages and marks them `sending`, in one transaction.
fn claim_batch(
    conn: &mut Connection,
    now: i64,
    limit: usize,
) -> rusqlite::Result<Vec<(i64, i64, i64, Message)>> {
    db::write(conn, |tx| {
        let rows = {
            let mut stmt = tx.prepare_cached(
                "SELECT id, created_at, attempts, recipient, subject, body_text, body_html, \
                 from_name, from_address, reply_to, language FROM outbox WHERE state = 'pending' AND next_attempt_at <= ?1 \
                 ORDER BY next_attempt_at, id LIMIT ?2",
            )?;
            stmt.query_map(params![now, i64::try_from(limit).unwrap_or(1)], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, i64>(2)? + 1,
                    Message {
                        recipient: r.get(3)?,
                        subject: r.get(4)?,
                        text: r.get(5)?,
                        html: r.get(6)?,
                        from_name: r.get(7)?,
                        from_address: r.get(8)?,
                        reply_to: r.get(9)?,
                        language: r.get(10)?,
                    },
                ))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?
        };
        let mut mark = tx.prepare_cached(
            "UPDATE outbox SET state = 'sending', attempts = attempts + 1 WHERE id = ?1",
        )?;
        for (id, ..) in &rows {
            mark.execute(params![id])?;
        }
        Ok(rows)
    })
}

/// Delivers a batch of due messages. `false` when there was none (or the store failed).
fn deliver_batch(
    conn: &mut Connection,
    runtime: &tokio::runtime::Runtime,
    settings: &MailerSettings,
    waker: &Waker,
) -> bool {
    let now = clock::unix_now();
    let batch = match claim_batch(conn, now, BATCH) {
        Ok(batch) if batch.is_empty() => return false,
        Ok(batch) => batch,
        // Another process (a CLI command) held the write lock past the busy timeout: nothing
        // is lost, the messages wait for the next round.
        Err(e) if db::is_busy(&e) => {
            log::warn!("mail: outbox busy ({e}); trying again shortly");
            return false;
        }
        Err(e) => {
            log::error!("mail: cannot read the outbox: {e}");
            return false;
        }
    };
    let mut outcomes = Vec::with_capacity(batch.len());
    let mut stop = false;
    for (id, created_at, attempts, message) in &batch {
        if stop || waker.stopping() {
            outcomes.push((*id, Outcome::Untried));
            continue;
        }
        let now = clock::unix_now();
        let result = render(message, &settings.from, now).and_then(|bytes| {
            deliver(
                runtime,
                &settings.transport,
                &settings.from,
                &message.recipient,
                &bytes,
                *id,
            )
        });
        let outcome = match result {
            Ok(()) => {
                METRICS.delivery(Delivery::Sent);
                log::info!("mail: message {id} delivered");
                Outcome::Sent
            }
            Err(e) => {
                // The server is down or refusing: the rest of the batch waits for the retry
                // instead of meeting the same failure (and timeout) one by one.
                stop = true;
                let error = e.to_string();
                let at = now + retry_delay(settings.retry_first_secs, *attempts);
                if at > created_at.saturating_add(settings.retry_horizon_secs) {
                    METRICS.delivery(Delivery::Failed);
                    log::error!(
                        "mail: message {id} failed for good after {attempts} attempt(s): {error}"
                    );
                    Outcome::Failed(error)
                } else {
                    METRICS.delivery(Delivery::Deferred);
                    log::warn!(
                        "mail: message {id} not delivered (attempt {attempts}): {error}; \
                         retrying at {}",
                        clock::rfc3339(at)
                    );
                    Outcome::Retry { error, at }
                }
            }
        };
        outcomes.push((*id, outcome));
    }
    let now = clock::unix_now();
    let stored = db::write(conn, |tx| -> rusqlite::Result<()> {
        for (id, outcome) in &outcomes {
            match outcome {
                Outcome::Sent => mark_sent(tx, *id, now)?,
                Outcome::Retry { error, at } => reschedule(tx, *id, error, *at)?,
                Outcome::Failed(error) => mark_failed(tx, *id, error, now)?,
                Outcome::Untried => {
                    tx.execute(
                        "UPDATE outbox SET state = 'pending', attempts = attempts - 1 \
                         WHERE id = ?1",
                        params![id],
                    )?;
                }
            }
        }
        Ok(())
    });
    if let Err(e) = stored {
        // The messages stay `sending` and are sent again after a restart.
        log::error!(
            "mail: cannot record the outcome of {} message(s): {e}",
            outcomes.len()
        );
    }
    !stop
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(to: &str) -> Message {
        Message {
            recipient: to.into(),
            subject: "Reset".into(),
            text: "Open https://example.org/reset/abc".into(),
            ..Message::default()
        }
    }

    #[test]
    fn claim_finish_and_scrub() {
        let (_dir, mut conn) = db::migrated_temp_db();
        let id = enqueue(&conn, &message("a@example.org"), 10).unwrap();
        assert!(
            claim_batch(&mut conn, 9, 8).unwrap().is_empty(),
            "not due yet"
        );
        let batch = claim_batch(&mut conn, 10, 8).unwrap();
        let (got, created, attempts, m) = &batch[0];
        assert_eq!(
            (*got, *created, *attempts, m.recipient.as_str()),
            (id, 10, 1, "a@example.org")
        );
        assert!(claim_batch(&mut conn, 10, 8).unwrap().is_empty(), "taken");
        // A crash now leaves it in `sending`; recovery makes it due again.
        assert_eq!(recover(&conn).unwrap(), 1);
        assert_eq!(claim_batch(&mut conn, 10, 8).unwrap()[0].0, id);
        mark_sent(&conn, id, 11).unwrap();
        let e = &list(&conn, Some(State::Sent)).unwrap()[0];
        assert_eq!((e.attempts, e.finished_at), (2, Some(11)));
        let body: String = conn
            .query_row("SELECT body_text FROM outbox", [], |r| r.get(0))
            .unwrap();
        assert!(!body.contains("/reset/"), "{body}");
        assert!(
            !retry(&conn, id, 12).unwrap(),
            "sent messages are not retried"
        );
        assert_eq!(purge_sent_before(&conn, 12).unwrap(), 1);
    }

    #[test]
    fn retries_back_off() {
        assert_eq!(retry_delay(30, 1), 30);
        assert_eq!(retry_delay(30, 2), 60);
        assert_eq!(retry_delay(30, 3), 120);
        assert_eq!(retry_delay(30, 50), 3600);
        assert_eq!(retry_delay(1, 1), 1);
    }

    #[test]
    fn spool_writes_whole_files() {
        let dir = tempfile::tempdir().unwrap();
        let bytes = render(&message("a@example.org"), "passlink@example.org", 0).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        assert!(text.contains("Subject: Reset"), "{text}");
        assert!(
            text.contains("To: <a@example.org>") || text.contains("To: a@example.org"),
            "{text}"
        );
        spool(dir.path(), "00000007.eml", &bytes).unwrap();
        let names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["00000007.eml"]);
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dir.path().join("00000007.eml")), 0o600);
    }

    #[test]
    fn an_open_spool_is_made_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let spool_dir = dir.path().join("spool");
        std::fs::create_dir(&spool_dir).unwrap();
        std::fs::set_permissions(&spool_dir, owner_only(0o755)).unwrap();
        let old = spool_dir.join("00000001.eml");
        std::fs::write(&old, "link").unwrap();
        std::fs::set_permissions(&old, owner_only(0o644)).unwrap();
        prepare_spool(&spool_dir).unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!((mode(&spool_dir), mode(&old)), (0o700, 0o600));
        // A spool that does not exist yet is created private.
        let fresh = dir.path().join("new/spool");
        spool(&fresh, "00000002.eml", b"x").unwrap();
        assert_eq!(mode(&fresh), 0o700);
    }
}
