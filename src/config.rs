//! One typed configuration, filled from flags and `RELEASEBOARD_*` / `DATABASE_URL`
//! (flags win), loaded once in `main` and passed down.

use crate::store::DbTarget;
use clap::Args;
use std::path::PathBuf;
use std::time::Duration;

/// Settings shared by every subcommand that opens the database or serves.
#[derive(Debug, Clone, Args)]
pub struct Settings {
    /// Address to listen on (port 0 picks a free port).
    #[arg(
        long,
        env = "RELEASEBOARD_BIND",
        default_value = "127.0.0.1:8080",
        global = true
    )]
    pub bind: String,

    /// Database: a file path or sqlite://path (SQLite), or postgres://… (PostgreSQL).
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "releaseboard.db",
        global = true,
        hide_env_values = true
    )]
    pub database_url: String,

    /// Directory of the static assets (CSS) served under /static.
    #[arg(long, env = "RELEASEBOARD_STATIC_DIR", global = true)]
    pub static_dir: Option<PathBuf>,

    /// Let anyone read the dashboard and the read API without signing in.
    #[arg(long, env = "RELEASEBOARD_PUBLIC_READ", default_value_t = true, global = true, action = clap::ArgAction::Set)]
    pub public_read: bool,

    /// Mark cookies `Secure` even on plain HTTP (set it when a TLS proxy does not send
    /// `X-Forwarded-Proto`). Requests that arrive over HTTPS always get `Secure` cookies.
    #[arg(long, env = "RELEASEBOARD_SECURE_COOKIES", default_value_t = false, global = true, action = clap::ArgAction::Set)]
    pub secure_cookies: bool,

    /// HTTP worker threads (default: one per core).
    #[arg(long, env = "RELEASEBOARD_WORKERS", global = true)]
    pub workers: Option<usize>,

    /// Maximum database connections in the pool.
    #[arg(
        long,
        env = "RELEASEBOARD_DB_POOL_SIZE",
        default_value_t = 16,
        global = true
    )]
    pub db_pool_size: u32,

    /// PostgreSQL: writer threads committing writes in parallel, each holding one pooled
    /// connection (at most the pool size less one). More can help when the database server
    /// has more cores.
    #[arg(
        long,
        env = "RELEASEBOARD_PG_WRITER_LANES",
        default_value_t = crate::store::writer::PG_LANES,
        global = true
    )]
    pub pg_writer_lanes: usize,

    /// Seconds a client has to send a request's headers, and then its body; past it the
    /// request is answered 408 and the connection closed (slow clients cannot hold
    /// connections).
    #[arg(
        long,
        env = "RELEASEBOARD_REQUEST_TIMEOUT",
        default_value_t = 30,
        global = true
    )]
    pub request_timeout: u64,

    /// Open connections at most, over all workers (default: what the process's file limit
    /// allows, less room for the database and files). Past it new connections wait to be
    /// accepted.
    #[arg(long, env = "RELEASEBOARD_MAX_CONNECTIONS", global = true)]
    pub max_connections: Option<usize>,
}

/// The configuration the application runs with.
#[derive(Debug, Clone)]
pub struct Config {
    pub bind: String,
    pub database: DbTarget,
    pub static_dir: PathBuf,
    pub public_read: bool,
    pub secure_cookies: bool,
    pub workers: usize,
    pub db_pool_size: u32,
    pub pg_writer_lanes: usize,
    /// For the headers, then for the body, of each request.
    pub request_timeout: Duration,
    pub max_connections: Option<usize>,
}

impl Config {
    pub fn from_settings(s: &Settings) -> Config {
        Config {
            bind: s.bind.clone(),
            database: DbTarget::parse(&s.database_url),
            static_dir: s.static_dir.clone().unwrap_or_else(default_static_dir),
            public_read: s.public_read,
            secure_cookies: s.secure_cookies,
            workers: s
                .workers
                .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get())),
            db_pool_size: s.db_pool_size.max(1),
            // Each lane holds a pooled connection for good: leave one for the reads.
            pg_writer_lanes: s
                .pg_writer_lanes
                .clamp(1, s.db_pool_size.saturating_sub(1).max(1) as usize),
            request_timeout: Duration::from_secs(s.request_timeout.max(1)),
            max_connections: s.max_connections,
        }
    }

    /// A configuration for tests and tools: the given database, port 0, defaults otherwise.
    pub fn for_database(database: DbTarget) -> Config {
        Config {
            bind: "127.0.0.1:0".into(),
            database,
            static_dir: default_static_dir(),
            public_read: true,
            secure_cookies: false,
            workers: 2,
            db_pool_size: 16,
            pg_writer_lanes: crate::store::writer::PG_LANES,
            request_timeout: Duration::from_secs(30),
            max_connections: None,
        }
    }
}

/// The `static/` folder of the source tree, so `cargo run` finds the CSS from anywhere.
fn default_static_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/static"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::Cli;
    use clap::Parser;

    fn lanes(args: &[&str]) -> usize {
        let cli = Cli::try_parse_from(std::iter::once("releaseboard").chain(args.iter().copied()))
            .expect("valid flags");
        Config::from_settings(&cli.settings).pg_writer_lanes
    }

    #[test]
    fn writer_lanes_leave_the_pool_a_connection_for_reads() {
        assert_eq!(lanes(&["--pg-writer-lanes", "6"]), 6);
        assert_eq!(lanes(&["--db-pool-size", "4", "--pg-writer-lanes", "8"]), 3);
        assert_eq!(lanes(&["--db-pool-size", "1", "--pg-writer-lanes", "8"]), 1);
        assert_eq!(lanes(&["--pg-writer-lanes", "0"]), 1);
    }
}
