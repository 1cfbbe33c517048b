//! SQLite WAL checkpoints, mostly off the group-commit writer thread.
//!
//! By default the connection that commits also checkpoints, whenever the WAL passes 1,000
//! pages: it copies those pages back into the database file and fsyncs it, on the writer
//! thread, where every waiter of the batch pays for it. Under ingestion that was dozens of
//! checkpoints a second (the WAL grows by ~150 MB a second at ~6,000 events/s).
//!
//! So the writer's connection checkpoints only past [`WRITER_CHECKPOINT_PAGES`]
//! ([`set_writer_threshold`]), and a thread of its own copies frames in the background in
//! between, on the other core: PASSIVE (it never blocks the writer or a reader), every
//! [`INTERVAL`], only after new commits. The writer's own checkpoint is still needed: a WAL
//! only starts over from its beginning when a write transaction begins right after a checkpoint
//! that copied everything, which a background thread racing a busy writer never sees (measured:
//! a WAL of 1.8 GB after 10 s of ingestion with background checkpoints alone). With both, the
//! WAL stays under ~45 MB (measured), and the writer's own checkpoint has fewer frames left to
//! copy. It is still the writer's longest pause: the p99 tail of repeated (product,
//! environment) pairs (docs/performance.md).
//!
//! Measured on the event path, 32 connections, unique pairs: 5,966 events/s with SQLite's
//! default, 6,699 with the larger threshold alone (but a 233 ms stall when it checkpoints),
//! 6,910 with both (docs/performance.md).
//!
//! Durability does not depend on checkpoints: a commit is durable once its WAL frames are
//! fsynced (`synchronous=FULL`); a checkpoint only moves them into the main file, and one
//! interrupted by a crash is redone from the WAL when the database next opens.

use super::pool::{AnyConnection, Manager};
use diesel::connection::SimpleConnection;
use diesel::QueryResult;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// How often the background thread checkpoints while writes go on.
pub const INTERVAL: Duration = Duration::from_millis(200);

/// WAL size, in pages, past which the writer checkpoints itself (SQLite's default: 1,000).
pub const WRITER_CHECKPOINT_PAGES: u32 = 10_000;

/// Sets the writer connection's checkpoint threshold; nothing on PostgreSQL. The writer calls
/// it on each connection it takes from the pool.
pub fn set_writer_threshold(conn: &mut AnyConnection) -> QueryResult<()> {
    match conn {
        AnyConnection::Sqlite(c) => c.batch_execute(&format!(
            "PRAGMA wal_autocheckpoint = {WRITER_CHECKPOINT_PAGES}"
        )),
        AnyConnection::Postgresql(_) => Ok(()),
    }
}

/// Starts the checkpoint thread. `commits` counts the writer's commits; the thread stops
/// once it holds the last reference (the writer has stopped), after a last checkpoint.
pub fn spawn(pool: r2d2::Pool<Manager>, commits: Arc<AtomicU64>) -> std::io::Result<()> {
    std::thread::Builder::new()
        .name("releaseboard-checkpoint".into())
        .spawn(move || {
            let mut seen = 0;
            loop {
                std::thread::sleep(INTERVAL);
                let stopping = Arc::strong_count(&commits) == 1;
                let now = commits.load(Ordering::Relaxed);
                if now != seen {
                    seen = now;
                    if let Err(e) = checkpoint(&pool) {
                        tracing::warn!(error = %e, "WAL checkpoint");
                    }
                }
                if stopping {
                    return;
                }
            }
        })?;
    Ok(())
}

fn checkpoint(pool: &r2d2::Pool<Manager>) -> anyhow::Result<()> {
    let mut conn = pool.get()?;
    conn.batch_execute("PRAGMA wal_checkpoint(PASSIVE)")?;
    Ok(())
}
