//! Answers stored under an `Idempotency-Key` (SPEC §3), written in the transaction of the
//! change they answer, so that a retry can never apply a request twice. Whether a retry is
//! replayed or refused is the service's decision (`service::ingest`).

use super::ids::now;
use super::prepared::{self, statement};
use super::AnyConnection;
use diesel::sql_types::{Integer, Text};
use diesel::QueryResult;

/// What was answered the first time a key was used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    /// The digest of the request that was answered.
    pub request_hash: String,
    pub status: u16,
    pub body: String,
}

/// The answer stored under `key` in `scope`, if the key was used before.
pub fn lookup(conn: &mut AnyConnection, scope: &str, key: &str) -> QueryResult<Option<Stored>> {
    let found: Option<(String, i32, String)> = prepared::first::<
        IdempotencyLookup,
        (Text, Integer, Text),
        _,
    >(conn, &[scope.into(), key.into()])?;
    Ok(found.map(|(request_hash, status, body)| Stored {
        request_hash,
        status: u16::try_from(status).unwrap_or(200),
        body,
    }))
}

/// Stores the answer to a request made with an idempotency key, in the request's transaction.
pub fn store(
    conn: &mut AnyConnection,
    scope: &str,
    key: &str,
    request_hash: &str,
    status: u16,
    body: &str,
) -> QueryResult<()> {
    prepared::execute::<IdempotencyStore>(
        conn,
        &[
            scope.into(),
            key.into(),
            request_hash.into(),
            i32::from(status).into(),
            body.into(),
            now().into(),
        ],
    )?;
    Ok(())
}

statement!(
    IdempotencyLookup,
    "SELECT request_hash, response_status, response_body FROM idempotency_keys \
     WHERE scope = ? AND idem_key = ?"
);
statement!(
    IdempotencyStore,
    "INSERT INTO idempotency_keys \
     (scope, idem_key, request_hash, response_status, response_body, created_at) \
     VALUES (?, ?, ?, ?, ?, ?)"
);
