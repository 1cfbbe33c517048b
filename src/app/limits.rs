//! Connections the server keeps open at most. Each connection is a file descriptor: with
//! clients that send slowly (or never finish), an uncapped server runs out of them and refuses
//! everything, its database connections included ("Too many open files"). The soft file limit
//! is raised to the hard one at start-up, as servers commonly do, and the cap leaves room below
//! it for the database pool, the listener and the files served.

use rustix::process::{getrlimit, setrlimit, Resource};

/// Descriptors kept back for what is not a client connection: the database pool (twice, for
/// PostgreSQL's sockets and SQLite's file and journal), the listener, static files, logs.
fn reserved(db_pool_size: u32) -> u64 {
    64 + 2 * u64::from(db_pool_size)
}

/// The cap over all workers: the configured one, or what the file limit leaves (never fewer
/// than 16, never more than actix-web's own default of 25,000 per worker).
pub fn connection_cap(
    configured: Option<usize>,
    file_limit: Option<u64>,
    db_pool_size: u32,
    workers: usize,
) -> usize {
    if let Some(n) = configured {
        return n.max(1);
    }
    let ceiling = 25_000 * workers.max(1);
    match file_limit {
        None => ceiling,
        Some(limit) => {
            let free = limit.saturating_sub(reserved(db_pool_size));
            usize::try_from(free)
                .unwrap_or(usize::MAX)
                .clamp(16, ceiling)
        }
    }
}

/// Raises the soft open-file limit to the hard one (at most 2^20), and returns the soft limit
/// now in force (`None`: unlimited).
pub fn raise_file_limit() -> Option<u64> {
    let limit = getrlimit(Resource::Nofile);
    let wanted = limit.maximum.map_or(1 << 20, |m| m.min(1 << 20));
    if limit.current.is_some_and(|c| c < wanted) {
        let raised = rustix::process::Rlimit {
            current: Some(wanted),
            maximum: limit.maximum,
        };
        if setrlimit(Resource::Nofile, raised).is_ok() {
            return Some(wanted);
        }
    }
    limit.current
}

#[cfg(test)]
mod tests {
    use super::connection_cap;

    #[test]
    fn the_cap_leaves_room_below_the_file_limit() {
        // (configured, file limit, pool, workers, cap)
        let table = [
            (None, Some(1024), 16, 2, 1024 - 64 - 32),
            (None, Some(65_536), 16, 2, 50_000),
            (None, Some(100), 16, 2, 16),
            (None, None, 16, 4, 100_000),
            (Some(300), Some(1024), 16, 2, 300),
            (Some(0), Some(1024), 16, 2, 1),
        ];
        for (configured, limit, pool, workers, cap) in table {
            assert_eq!(
                connection_cap(configured, limit, pool, workers),
                cap,
                "{configured:?} {limit:?} {pool} {workers}"
            );
        }
    }
}
