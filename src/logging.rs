//! One line per event on stderr. Under journald (`JOURNAL_STREAM` set) each line carries a
//! `<N>` syslog priority prefix and no timestamp, since journald records both itself;
//! elsewhere lines start with an RFC 3339 time and the level.

use std::io::Write;
use std::sync::OnceLock;

use log::{Level, LevelFilter, Log, Metadata, Record};

use crate::clock;

struct StderrLogger {
    journald: bool,
}

static LOGGER: OnceLock<StderrLogger> = OnceLock::new();

/// Installs the logger (once per process) and sets the level; later calls only change the level,
/// which is how a config reload applies a new one.
pub fn init(level: LevelFilter) {
    let logger = LOGGER.get_or_init(|| StderrLogger {
        journald: std::env::var_os("JOURNAL_STREAM").is_some(),
    });
    // Fails only when a logger is already set, which is the reload case.
    let _ = log::set_logger(logger);
    log::set_max_level(level);
}

/// A line that is printed whatever the level: the start-up announcement.
pub fn announce(message: &str) {
    let journald = LOGGER.get().is_some_and(|l| l.journald);
    write_line(journald, Level::Info, message);
}

fn write_line(journald: bool, level: Level, message: &str) {
    let line = if journald {
        let priority = match level {
            Level::Error => 3,
            Level::Warn => 4,
            Level::Info => 6,
            Level::Debug | Level::Trace => 7,
        };
        format!("<{priority}>{message}\n")
    } else {
        format!(
            "{} {:<5} {message}\n",
            clock::rfc3339(clock::unix_now()),
            level
        )
    };
    // One write per line so that lines from several threads never interleave; a closed stderr
    // must not take the server down, so the error is dropped.
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
}

impl Log for StderrLogger {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &Record<'_>) {
        if self.enabled(record.metadata()) {
            write_line(self.journald, record.level(), &record.args().to_string());
        }
    }

    fn flush(&self) {
        let _ = std::io::stderr().flush();
    }
}

/// Makes client-supplied text safe for one log line: control characters and non-ASCII are
/// escaped (no forged lines, no terminal escapes) and the length is capped.
pub fn sanitize(text: &str, max_chars: usize) -> String {
    let mut out = String::with_capacity(text.len().min(max_chars));
    for (count, c) in text.chars().enumerate() {
        if count >= max_chars {
            out.push_str("...");
            break;
        }
        if c.is_ascii_graphic() || c == ' ' {
            out.push(c);
        } else {
            out.extend(c.escape_default());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitize_escapes_and_truncates() {
        assert_eq!(sanitize("/a\r\nb", 100), "/a\\r\\nb");
        assert_eq!(sanitize("abcdef", 3), "abc...");
        assert_eq!(sanitize("\u{1b}[31m", 100), "\\u{1b}[31m");
    }
}
