//! Storage: one schema and one set of migrations for SQLite and PostgreSQL, chosen at run time.
//! It knows nothing of HTTP and decides no rule: it finds and writes rows, and returns
//! `QueryResult` or its own [`StoreError`].
//!
//! Queries are written once against [`AnyConnection`], diesel's `MultiConnection` over both
//! backends (see docs/decisions.md for why). Calls are synchronous: the service layer runs
//! them on the blocking pool ([`Db::read_blocking`], [`Db::write_blocking`]) or hands writes
//! to the group-commit writer ([`writer::Writer`]), whose threads own their connections.
//!
//! - `pool`, `writer`, `checkpoint`: connections, transactions, group commit, SQLite's WAL;
//! - `registry`, `rows`, `prepared`: the column registry and statements that stay prepared;
//! - `ingest`: the fast write path of deployment events; `read_models`, `rebuild`: the tables
//!   kept up to date with it;
//! - `catalog`, `releases`, `deployments`, `access`, `idempotency`: each kind of record.

pub mod access;
pub mod bulk;
pub mod catalog;
pub mod checkpoint;
pub mod deployments;
pub mod error;
pub mod idempotency;
pub mod ids;
pub mod ingest;
pub mod models;
pub mod pool;
pub mod prepared;
pub mod read_models;
pub mod rebuild;
pub mod registry;
pub mod releases;
pub mod rows;
pub mod schema;
pub mod time;
pub mod writer;

pub use error::{StoreError, TxError, TxResult};
pub use pool::{AnyConnection, Backend, Db, DbTarget};
