//! Storage: one schema and one set of migrations for SQLite and PostgreSQL, chosen at run time.
//!
//! Queries are written once against [`AnyConnection`], diesel's `MultiConnection` over both
//! backends (see docs/decisions.md for why). Sync diesel calls never run on the async runtime:
//! [`Db::read`] and [`Db::write`] move them to the blocking thread pool.

pub mod access;
pub mod catalog;
pub mod checkpoint;
pub mod deployments;
pub mod event_batch;
pub mod events;
pub mod heads;
pub mod ids;
pub mod matrix;
pub mod models;
pub mod pool;
pub mod prepared;
pub mod rebuild;
pub mod releases;
pub mod schema;
pub mod state;
pub mod time;
pub mod writer;

pub use pool::{AnyConnection, Backend, Db, DbTarget};
