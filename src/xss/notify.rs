//! rssCloud change notifications: the `notifications` table (who asked to be told about which
//! URLs), and the thread that delivers the callbacks with a small HTTP/1.0 client of its own.

use std::net::{IpAddr, TcpStream};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError};
use std::time::Duration;

use rusqlite::{Connection, params};

use crate::clock;
use crate::value::Value;
use crate::{soap, xmlrpc};

/// rssCloud's convention: registrations expire after 25 hours.
pub const NOTIFICATION_LIFETIME_SECS: i64 = 25 * 3600;

/// A change notification to deliver.
#[derive(Debug, Clone)]
pub struct Notification {
    pub host: String,
    pub port: u16,
    pub path: String,
    pub procedure: String,
    pub soap: bool,
    pub url: String,
}

/// A caller's registration for change notifications of some URLs.
pub struct Registration<'a> {
    /// The caller's own address: callbacks never go anywhere else.
    pub host: &'a str,
    pub port: i64,
    pub path: &'a str,
    pub procedure: &'a str,
    /// `xml-rpc` or `soap`.
    pub protocol: &'a str,
}

/// Registers (or renews) `registration` for each of `urls`, for 25 hours from `now`.
pub fn register(
    conn: &Connection,
    registration: &Registration<'_>,
    urls: &[String],
    now: i64,
) -> rusqlite::Result<()> {
    let r = registration;
    for url in urls {
        conn.execute(
            "INSERT INTO notifications (url, host, port, path, procedure, protocol, \
             expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) \
             ON CONFLICT (url, host, port, path, procedure) DO UPDATE SET \
             protocol = excluded.protocol, expires_at = excluded.expires_at",
            params![
                url,
                r.host,
                r.port,
                r.path,
                r.procedure,
                r.protocol,
                now + NOTIFICATION_LIFETIME_SECS
            ],
        )?;
    }
    Ok(())
}

/// Deletes registrations that have expired by `now` (housekeeping).
pub fn purge_expired(conn: &Connection, now: i64) -> rusqlite::Result<usize> {
    conn.execute(
        "DELETE FROM notifications WHERE expires_at <= ?1",
        params![now],
    )
}

/// Queues callbacks for registrations watching any of `urls`. Never blocks the request: a full
/// queue drops the notification with a log line.
pub fn notify_changes(conn: &Connection, notifier: &Notifier, urls: &[String]) {
    if urls.is_empty() {
        return;
    }
    let due = match pending_notifications(conn, urls, clock::unix_now()) {
        Ok(due) => due,
        Err(e) => {
            log::error!("notifications: {e}");
            return;
        }
    };
    for n in due {
        match notifier.queue.try_send(n) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                log::warn!("notifications: queue full, a change notification was dropped");
            }
            Err(TrySendError::Disconnected(_)) => return,
        }
    }
}

fn pending_notifications(
    conn: &Connection,
    urls: &[String],
    now: i64,
) -> rusqlite::Result<Vec<Notification>> {
    let mut stmt = conn.prepare_cached(
        "SELECT host, port, path, procedure, protocol FROM notifications \
         WHERE url = ?1 AND expires_at > ?2",
    )?;
    let mut out = Vec::new();
    for url in urls {
        let rows = stmt.query_map(params![url, now], |r| {
            Ok(Notification {
                host: r.get(0)?,
                port: u16::try_from(r.get::<_, i64>(1)?).unwrap_or(0),
                path: r.get(2)?,
                procedure: r.get(3)?,
                soap: r.get::<_, String>(4)? == "soap",
                url: url.clone(),
            })
        })?;
        for row in rows {
            out.push(row?);
        }
    }
    Ok(out)
}

/// The queue of the thread that delivers change notifications.
pub struct Notifier {
    queue: SyncSender<Notification>,
}

impl Notifier {
    /// Starts the delivering thread.
    pub fn start() -> std::io::Result<Notifier> {
        let (queue, rx) = std::sync::mpsc::sync_channel(1024);
        std::thread::Builder::new()
            .name("notifier".into())
            .spawn(move || run_notifier(&rx))?;
        Ok(Notifier { queue })
    }

    /// A notifier whose notifications go nowhere, for tests of what queues them.
    #[cfg(test)]
    pub fn disconnected() -> Notifier {
        Notifier {
            queue: std::sync::mpsc::sync_channel(1).0,
        }
    }
}

fn run_notifier(rx: &Receiver<Notification>) {
    while let Ok(n) = rx.recv() {
        if let Err(e) = deliver(&n) {
            log::info!(
                "notifications: callback to {}:{}{} failed: {e}",
                n.host,
                n.port,
                crate::logging::sanitize(&n.path, 100)
            );
        }
    }
}

/// POSTs one callback, with short timeouts: the receiver is a desktop client that may be gone.
fn deliver(n: &Notification) -> std::io::Result<()> {
    use std::io::{Read, Write};
    const TIMEOUT: Duration = Duration::from_secs(5);
    let ip: IpAddr = n
        .host
        .parse()
        .map_err(|_| std::io::Error::other("stored host is not an IP address"))?;
    let addr = std::net::SocketAddr::new(ip, n.port);
    let mut stream = TcpStream::connect_timeout(&addr, TIMEOUT)?;
    stream.set_read_timeout(Some(TIMEOUT))?;
    stream.set_write_timeout(Some(TIMEOUT))?;
    let url = Value::string(n.url.clone());
    let (body, soap_action) = if n.soap {
        let op = n.procedure.rsplit('.').next().unwrap_or(&n.procedure);
        (soap::encode_call(op, &[("url", url)]), true)
    } else {
        (xmlrpc::encode_call(&n.procedure, &[url]), false)
    };
    let host = match ip {
        IpAddr::V6(_) => format!("[{ip}]:{}", n.port),
        IpAddr::V4(_) => format!("{ip}:{}", n.port),
    };
    let mut head = format!(
        "POST {} HTTP/1.0\r\nHost: {host}\r\nUser-Agent: passlink/{}\r\n\
         Content-Type: text/xml\r\nContent-Length: {}\r\n",
        n.path,
        env!("CARGO_PKG_VERSION"),
        body.len()
    );
    if soap_action {
        head.push_str(&format!("SOAPAction: \"{}\"\r\n", n.procedure));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    stream.write_all(&body)?;
    let mut status = [0u8; 12];
    stream.read_exact(&mut status)?;
    if !status.starts_with(b"HTTP/1.") || &status[9..10] != b"2" {
        return Err(std::io::Error::other(format!(
            "answered {}",
            String::from_utf8_lossy(&status)
        )));
    }
    Ok(())
}
