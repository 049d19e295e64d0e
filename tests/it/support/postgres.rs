//! A real PostgreSQL server for a test: Debian's `initdb` and `pg_ctl` on a free loopback port,
//! with its data and socket in a temporary directory, stopped when dropped. PostgreSQL will
//! not run as root, so as root the cluster belongs to the `postgres` user (Debian's
//! `postgresql` package creates it) and every command runs as that user.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub struct Postgres {
    dir: tempfile::TempDir,
    pub port: u16,
}

/// Where Debian keeps the server binaries (`/usr/lib/postgresql/<major>/bin`).
fn bin(name: &str) -> PathBuf {
    let mut majors: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .expect("PostgreSQL is not installed: apt-get install postgresql")
        .flatten()
        .map(|e| e.path().join("bin"))
        .filter(|p| p.join(name).exists())
        .collect();
    majors.sort();
    majors
        .pop()
        .unwrap_or_else(|| panic!("no {name} under /usr/lib/postgresql/*/bin"))
        .join(name)
}

fn as_root() -> bool {
    // SAFETY-free: `id -u` instead of libc.
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// A command run as the cluster's owner.
fn command(program: &Path) -> Command {
    if as_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(program);
        c
    } else {
        Command::new(program)
    }
}

fn check(out: Output, what: &str) -> Output {
    assert!(
        out.status.success(),
        "{what} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

impl Postgres {
    pub fn start() -> Postgres {
        let dir = tempfile::tempdir().unwrap();
        if as_root() {
            check(
                Command::new("chown")
                    .args(["-R", "postgres:postgres"])
                    .arg(dir.path())
                    .output()
                    .unwrap(),
                "chown to postgres",
            );
        }
        let data = dir.path().join("data");
        check(
            command(&bin("initdb"))
                .args([
                    "-A", "trust", "-U", "postgres", "-E", "UTF8", "--locale", "C", "-D",
                ])
                .arg(&data)
                .output()
                .unwrap(),
            "initdb",
        );
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let options = format!(
            "-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories={} \
             -c fsync=off",
            dir.path().display()
        );
        check(
            command(&bin("pg_ctl"))
                .args(["-w", "-t", "60", "-D"])
                .arg(&data)
                .args(["-l"])
                .arg(dir.path().join("log"))
                .args(["-o", &options, "start"])
                .output()
                .unwrap(),
            "pg_ctl start",
        );
        let pg = Postgres { dir, port };
        pg.psql("postgres", "CREATE DATABASE pycs");
        pg
    }

    /// Runs `psql -c SQL` on `database` in `cwd` (where a `\copy … TO 'file'` writes), as the
    /// cluster's owner; returns standard output.
    pub fn psql_in(&self, database: &str, sql: &str, cwd: &Path, env: &[(&str, &str)]) -> String {
        let mut c = command(Path::new("/usr/bin/psql"));
        c.args(["-X", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p"])
            .arg(self.port.to_string())
            .args(["-U", "postgres", "-d", database, "-c", sql])
            .current_dir(cwd);
        for (k, v) in env {
            c.env(k, v);
        }
        String::from_utf8(check(c.output().unwrap(), &format!("psql {sql}")).stdout).unwrap()
    }

    pub fn psql(&self, database: &str, sql: &str) -> String {
        self.psql_in(database, sql, self.dir.path(), &[])
    }

    /// A directory the cluster's owner can write to (for `\copy` output).
    pub fn scratch(&self) -> PathBuf {
        let dir = self.dir.path().join("scratch");
        if !dir.exists() {
            std::fs::create_dir(&dir).unwrap();
            if as_root() {
                Command::new("chown")
                    .args(["postgres:postgres"])
                    .arg(&dir)
                    .status()
                    .unwrap();
            }
        }
        dir
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let _ = command(&bin("pg_ctl"))
            .args(["-m", "immediate", "-D"])
            .arg(self.dir.path().join("data"))
            .arg("stop")
            .output();
    }
}
