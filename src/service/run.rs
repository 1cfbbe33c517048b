//! The hop from a request's async task to the database: reads run on the blocking pool (a
//! diesel call never blocks the async runtime), writes are queued to the group-commit writer
//! (`store::writer`), or, before it is started (CLI commands), run on the blocking pool in a
//! transaction of their own. Storage errors become `domain::Error` here, once ([`failed`]).

use crate::domain::deployment::DeploymentEvent;
use crate::domain::{Conflict, Error, Missing};
use crate::store::ingest::Recorded;
use crate::store::{AnyConnection, Db, StoreError, TxError, TxResult};

/// What work in a transaction returns: its value, a storage error, or a use case's own error.
pub type Tx<T> = TxResult<T, Error>;

impl From<Error> for TxError<Error> {
    fn from(e: Error) -> Self {
        TxError::Abort(e)
    }
}

impl From<Conflict> for TxError<Error> {
    fn from(c: Conflict) -> Self {
        TxError::Abort(Error::Conflict(c))
    }
}

impl From<Missing> for TxError<Error> {
    fn from(m: Missing) -> Self {
        TxError::Abort(Error::NotFound(m))
    }
}

/// A transaction's failure as a use case reports it: its own error as it is; a full write
/// queue as [`Error::Busy`]; a race the retries could not settle as a conflict; anything else
/// storage reports as an internal error (logged by the face, never shown).
pub fn failed(e: TxError<Error>) -> Error {
    match e {
        TxError::Abort(e) => e,
        TxError::Store(StoreError::QueueFull) => Error::Busy,
        TxError::Store(e) if e.is_unique_violation() => Error::Conflict(Conflict::Concurrent),
        TxError::Store(e) => Error::internal(e),
    }
}

fn blocking_failed(e: tokio::task::JoinError) -> Error {
    Error::internal(anyhow::anyhow!("blocking task failed: {e}"))
}

/// Runs read-only queries on the blocking pool.
pub async fn read<T, F>(db: &Db, f: F) -> Result<T, Error>
where
    T: Send + 'static,
    F: FnOnce(&mut AnyConnection) -> Tx<T> + Send + 'static,
{
    let db = db.clone();
    tokio::task::spawn_blocking(move || db.read_blocking(f))
        .await
        .map_err(blocking_failed)?
        .map_err(failed)
}

/// Runs `f` in one write transaction (a savepoint of its own in a group commit). `f` may run
/// more than once on PostgreSQL when a concurrent transaction won a race, so it must not have
/// side effects outside the database.
pub async fn write<T, F>(db: &Db, f: F) -> Result<T, Error>
where
    T: Send + 'static,
    F: FnMut(&mut AnyConnection) -> Tx<T> + Send + 'static,
{
    match db.writer() {
        Some(writer) => writer.write(f).await.map_err(failed),
        None => blocking_write(db, f).await,
    }
}

/// Like [`write`], for the hot write path: in a group commit, `f` runs without a savepoint of
/// its own unless something in its batch fails (see `store::writer::Writer::write_bare`), so
/// it must take its advisory lock, if any, before it writes anything.
pub async fn write_bare<T, F>(db: &Db, f: F) -> Result<T, Error>
where
    T: Send + 'static,
    F: FnMut(&mut AnyConnection) -> Tx<T> + Send + 'static,
{
    match db.writer() {
        Some(writer) => writer.write_bare(f).await.map_err(failed),
        None => blocking_write(db, f).await,
    }
}

/// Records a deployment event in a transaction of its own or, in a group commit, with its
/// batch (see `store::writer::Writer::record_event`).
pub async fn record_event(db: &Db, event: DeploymentEvent) -> Result<Recorded, Error> {
    match db.writer() {
        Some(writer) => writer.record_event(event).await.map_err(failed),
        None => blocking_write(db, move |conn| crate::store::ingest::record(conn, &event)).await,
    }
}

async fn blocking_write<T, F>(db: &Db, f: F) -> Result<T, Error>
where
    T: Send + 'static,
    F: FnMut(&mut AnyConnection) -> Tx<T> + Send + 'static,
{
    let db = db.clone();
    tokio::task::spawn_blocking(move || db.write_blocking(f))
        .await
        .map_err(blocking_failed)?
        .map_err(failed)
}
