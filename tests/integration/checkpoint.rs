//! SQLite's WAL under a writer that never pauses (`store::checkpoint`): background checkpoints
//! alone never let a WAL start over while commits keep coming, so past
//! `checkpoint::RESTART_PAGES` the background thread hands the restart to the writer, between
//! two batches. Without that hand-off the WAL grows until the writer's own safety-net
//! checkpoint at `WRITER_CHECKPOINT_PAGES`.
//!
//! SQLite-only machinery: this test always runs on a SQLite file.

use diesel::connection::SimpleConnection;
use diesel::RunQueryDsl;
use releaseboard::store::checkpoint::{RESTART_PAGES, WRITER_CHECKPOINT_PAGES};
use releaseboard::store::{Db, DbTarget};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Frames in the WAL, read from the WAL index (`-shm`) without touching the database: any
/// checkpoint run to ask would change what is measured. `mxFrame` is the fifth 32-bit word of
/// the index header, in the machine's byte order.
fn wal_frames(shm: &str) -> u32 {
    match std::fs::read(shm) {
        Ok(bytes) if bytes.len() >= 20 => {
            u32::from_ne_bytes([bytes[16], bytes[17], bytes[18], bytes[19]])
        }
        _ => 0,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_wal_starts_over_under_writes_that_never_pause() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("wal.db").to_string_lossy().into_owned();
    let shm = format!("{path}-shm");
    let mut db = Db::connect(&DbTarget::Sqlite(path), 4).expect("pool");
    db.migrate().expect("migrations");
    db.conn()
        .expect("a connection")
        .batch_execute("CREATE TABLE wal_filler (b BLOB NOT NULL)")
        .expect("filler table");
    db.start_writer(1).expect("writer");

    // Four clients writing 16 KiB (4+ pages) at a time, back to back: the writer's queue is
    // never empty, so there is never a quiet moment for a checkpoint to catch up on its own.
    let stop = Arc::new(AtomicBool::new(false));
    let mut clients = Vec::new();
    for _ in 0..4 {
        let (db, stop) = (db.clone(), stop.clone());
        clients.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let written = crate::common::write(&db, |conn| {
                    diesel::sql_query("INSERT INTO wal_filler (b) VALUES (zeroblob(16384))")
                        .execute(conn)?;
                    Ok(())
                })
                .await;
                if let Err(e) = written {
                    panic!("a write: {e:?}");
                }
            }
        }));
    }

    // Watch the WAL's length until it has passed the threshold and started over, or has grown
    // far past where the hand-off should have started it over.
    let ceiling = 4 * RESTART_PAGES;
    assert!(
        ceiling < WRITER_CHECKPOINT_PAGES,
        "the ceiling must be below the safety net"
    );
    let deadline = Instant::now() + Duration::from_secs(120);
    let (mut longest, mut restarted) = (0, false);
    while Instant::now() < deadline && longest < ceiling {
        let frames = wal_frames(&shm);
        if longest >= RESTART_PAGES && frames < RESTART_PAGES / 2 {
            restarted = true;
            break;
        }
        longest = longest.max(frames);
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    stop.store(true, Ordering::Relaxed);
    for client in clients {
        client.await.expect("a client");
    }

    assert!(
        longest >= RESTART_PAGES,
        "the writes never took the WAL past {RESTART_PAGES} frames (longest {longest})"
    );
    assert!(
        restarted,
        "the WAL did not start over: it reached {longest} frames (threshold {RESTART_PAGES})"
    );
    assert!(
        longest < ceiling,
        "the WAL reached {longest} frames before starting over"
    );
}
