//! SQLite WAL checkpoints, mostly off the group-commit writer thread.
//!
//! By default the connection that commits also checkpoints, whenever the WAL passes 1,000
//! pages: it copies those pages back into the database file and fsyncs it, on the writer
//! thread, where every waiter of the batch pays for it. Under ingestion that was dozens of
//! checkpoints a second (the WAL grows by ~150 MB a second at ~6,000 events/s).
//!
//! So a thread of its own copies frames in the background, on the other core: PASSIVE (it
//! never blocks the writer or a reader), every [`INTERVAL`], only after new commits. That
//! alone never bounds the WAL: a WAL only starts over from its beginning when a write
//! transaction begins right after a checkpoint that copied everything, which a background
//! thread racing a busy writer never sees (measured: 1.8 GB of WAL after 10 s). So once the
//! WAL passes [`RESTART_PAGES`], the background thread checkpoints once more (copying what came
//! in during the first pass) and raises the writer's `wal_restart` flag; the writer, between
//! two batches, after answering the last one, runs a PASSIVE checkpoint of its own ([`finish`])
//! that finds only the frames of the last few milliseconds, and its next transaction starts
//! the WAL over.
//!
//! Before this hand-off the writer checkpointed by itself at 10,000 pages, copying whatever
//! the background had not reached (up to 200 ms of frames): that pause was the p99 tail of
//! repeated (product, environment) pairs; docs/performance.md (fourth pass) has the figures,
//! and the WAL's high-water mark it costs. The writer's own automatic checkpoint stays as a safety net past [`WRITER_CHECKPOINT_PAGES`]
//! ([`set_writer_threshold`]), should the background thread fall behind.
//!
//! Durability does not depend on checkpoints: a commit is durable once its WAL frames are
//! fsynced (`synchronous=FULL`); a checkpoint only moves them into the main file, and one
//! interrupted by a crash is redone from the WAL when the database next opens.

use super::pool::{AnyConnection, Manager};
use super::writer::Signals;
use diesel::connection::SimpleConnection;
use diesel::sql_types::Integer;
use diesel::{QueryResult, QueryableByName, RunQueryDsl, SqliteConnection};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

/// How often the background thread checkpoints while writes go on.
pub const INTERVAL: Duration = Duration::from_millis(200);

/// WAL size, in pages, past which the writer checkpoints by itself after a commit (SQLite's
/// default: 1,000): only if the hand-off at [`RESTART_PAGES`] has not kept up.
pub const WRITER_CHECKPOINT_PAGES: u32 = 50_000;

/// WAL size, in frames, past which the background thread has the writer start it over.
pub const RESTART_PAGES: u32 = 10_000;

/// Sets the writer connection's checkpoint threshold. The writer calls it on each SQLite
/// connection it takes from the pool.
pub fn set_writer_threshold(conn: &mut SqliteConnection) -> QueryResult<()> {
    conn.batch_execute(&format!(
        "PRAGMA wal_autocheckpoint = {WRITER_CHECKPOINT_PAGES}"
    ))
}

/// Starts the checkpoint thread. It checkpoints after the writer's new commits, and stops once
/// it holds the last reference to `signals` (the writer has stopped), after a last checkpoint.
pub fn spawn(pool: r2d2::Pool<Manager>, signals: Arc<Signals>) -> std::io::Result<()> {
    std::thread::Builder::new()
        .name("releaseboard-checkpoint".into())
        .spawn(move || {
            let mut seen = 0;
            loop {
                std::thread::sleep(INTERVAL);
                let stopping = Arc::strong_count(&signals) == 1;
                let now = signals.commits.load(Ordering::Relaxed);
                if now != seen {
                    seen = now;
                    match checkpoint(&pool) {
                        // Copy what came in meanwhile, then let the writer copy the rest between
                        // two batches: then nothing is left and its next transaction starts
                        // the WAL over.
                        Ok(frames) if frames >= RESTART_PAGES => {
                            if let Err(e) = checkpoint(&pool) {
                                tracing::warn!(error = %e, "WAL checkpoint");
                            }
                            signals.wal_restart.store(true, Ordering::Relaxed);
                        }
                        Ok(_) => {}
                        Err(e) => tracing::warn!(error = %e, "WAL checkpoint"),
                    }
                }
                if stopping {
                    return;
                }
            }
        })?;
    Ok(())
}

/// The one kind of checkpoint run here: it never waits for, nor blocks, a reader or the writer.
const PASSIVE: &str = "PRAGMA wal_checkpoint(PASSIVE)";

/// One row of `PRAGMA wal_checkpoint`.
#[derive(QueryableByName)]
struct Checkpointed {
    /// Frames in the WAL (since it last started over).
    #[diesel(sql_type = Integer)]
    log: i32,
}

/// Runs a PASSIVE checkpoint; returns the WAL's length in frames.
fn checkpoint(pool: &r2d2::Pool<Manager>) -> anyhow::Result<u32> {
    let mut conn = pool.get()?;
    let row: Checkpointed = diesel::sql_query(PASSIVE).get_result(&mut **conn)?;
    Ok(u32::try_from(row.log).unwrap_or(0))
}

/// The writer's part: a PASSIVE checkpoint between two batches, which finds only the frames
/// committed since the background thread's last one. Nothing on PostgreSQL.
pub fn finish(conn: &mut AnyConnection) -> QueryResult<()> {
    match conn {
        AnyConnection::Sqlite(c) => c.batch_execute(PASSIVE),
        AnyConnection::Postgresql(_) => Ok(()),
    }
}
