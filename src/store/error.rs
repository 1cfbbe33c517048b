//! Storage's own errors. They say what failed in the database, the pool or the writer, never
//! how to answer a request: the service layer maps them (`service::failed`).

use diesel::result::{DatabaseErrorKind, Error as DieselError};

/// What went wrong in storage.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A statement failed.
    #[error(transparent)]
    Query(#[from] DieselError),
    /// No connection could be had from the pool.
    #[error("database pool: {0}")]
    Pool(String),
    /// Too many writes are waiting for the writer already; retry shortly.
    #[error("too many writes are waiting for the database; retry shortly")]
    QueueFull,
    /// A PostgreSQL advisory lock is held by another transaction and the current one may not
    /// wait for it (see `store::writer`): the writer runs the write again in its next batch.
    #[error("advisory lock held by another transaction")]
    LockBusy,
    /// The transaction holding the write could not commit.
    #[error("commit failed: {0}")]
    Commit(String),
    /// The writer thread is gone (the server is stopping) or dropped the write.
    #[error("the writer {0}")]
    Writer(&'static str),
}

impl StoreError {
    /// A lost race between concurrent transactions (PostgreSQL): worth running the transaction
    /// again, which then sees the winner's rows.
    pub fn is_race(&self) -> bool {
        matches!(self, StoreError::Query(e) if is_race(e))
    }

    /// The database chose this transaction to break a deadlock (PostgreSQL).
    pub fn is_deadlock(&self) -> bool {
        matches!(self, StoreError::Query(e) if is_deadlock(e))
    }

    /// A unique index refused a row.
    pub fn is_unique_violation(&self) -> bool {
        matches!(
            self,
            StoreError::Query(DieselError::DatabaseError(
                DatabaseErrorKind::UniqueViolation,
                _
            ))
        )
    }
}

/// A lost race between concurrent transactions. PostgreSQL's deadlock detector (SQLSTATE 40P01,
/// which diesel does not name) counts too: it picked this transaction to give way, and the
/// other one has gone on.
pub(crate) fn is_race(e: &DieselError) -> bool {
    match e {
        DieselError::DatabaseError(
            DatabaseErrorKind::UniqueViolation | DatabaseErrorKind::SerializationFailure,
            _,
        ) => true,
        other => is_deadlock(other),
    }
}

/// PostgreSQL's deadlock detector chose this statement's transaction to give way. diesel maps
/// SQLSTATE 40P01 to no kind of its own and exposes no SQLSTATE, so the server's message is all
/// that tells: the one place that reads an error's text, and a database error's, not ours. On a
/// server whose `lc_messages` translates it, a deadlock is reported instead of retried.
pub(crate) fn is_deadlock(e: &DieselError) -> bool {
    matches!(e, DieselError::DatabaseError(DatabaseErrorKind::Unknown, info)
        if info.message().starts_with("deadlock detected"))
}

/// Why a transaction (a read or a write) did not give its value: storage failed, or the work
/// itself stopped for a reason of its own (`E`, a broken rule), and everything it wrote was
/// rolled back.
#[derive(Debug)]
pub enum TxError<E> {
    Store(StoreError),
    Abort(E),
}

impl<E> From<StoreError> for TxError<E> {
    fn from(e: StoreError) -> Self {
        TxError::Store(e)
    }
}

impl<E> From<DieselError> for TxError<E> {
    fn from(e: DieselError) -> Self {
        TxError::Store(StoreError::Query(e))
    }
}

/// The result of work run in a transaction.
pub type TxResult<T, E> = Result<T, TxError<E>>;
