//! Hand-written statements that stay prepared.
//!
//! diesel keeps a statement prepared only when its SQL can be told apart by type: it never
//! caches `sql_query`, any `UPDATE`, an `ON CONFLICT` clause, or an insert whose `None` fields
//! change the column list, and through `MultiConnection` it rebuilds and hashes the SQL text of
//! every other query to find it in the cache. On the event path that re-preparing was about a
//! fifth of the writer thread's time (callgrind). A [`Stmt`] is fixed SQL with a marker type as
//! its cache key, run on the backend connection directly, so each statement is prepared once
//! per connection and then only bound and stepped.
//!
//! The SQL is portable (SQLite ≥ 3.24 and PostgreSQL both have `INSERT … ON CONFLICT … DO
//! UPDATE`); `?` marks a bind parameter and becomes `$n` on PostgreSQL.

use super::time::StoredTime;
use super::AnyConnection;
use chrono::NaiveDateTime;
use diesel::backend::Backend;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::query_dsl::LoadQuery;
use diesel::serialize::ToSql;
use diesel::sql_types::{Bool, HasSqlType, Integer, Nullable, Text, Timestamp};
use diesel::{PgConnection, QueryResult, RunQueryDsl, SqliteConnection};
use std::marker::PhantomData;

/// A statement's fixed SQL; implemented by the marker types [`statement!`] declares.
pub trait Sql: 'static {
    const SQL: &'static str;
}

/// Declares a marker type for one statement: `statement!(Name, "SELECT … WHERE a = ?");`
macro_rules! statement {
    ($(#[$doc:meta])* $name:ident, $sql:expr) => {
        $(#[$doc])*
        pub struct $name;
        impl $crate::db::prepared::Sql for $name {
            const SQL: &'static str = $sql;
        }
    };
}
pub(crate) use statement;

/// One bind parameter.
#[derive(Debug, Clone, Copy)]
pub enum Arg<'a> {
    Text(&'a str),
    OptText(Option<&'a str>),
    Time(StoredTime),
    OptTime(Option<StoredTime>),
    Bool(bool),
    Int(i32),
}

impl<'a> From<&'a str> for Arg<'a> {
    fn from(v: &'a str) -> Self {
        Arg::Text(v)
    }
}
impl<'a> From<&'a String> for Arg<'a> {
    fn from(v: &'a String) -> Self {
        Arg::Text(v)
    }
}
impl<'a> From<&'a Option<String>> for Arg<'a> {
    fn from(v: &'a Option<String>) -> Self {
        Arg::OptText(v.as_deref())
    }
}
impl<'a> From<Option<&'a str>> for Arg<'a> {
    fn from(v: Option<&'a str>) -> Self {
        Arg::OptText(v)
    }
}
impl From<NaiveDateTime> for Arg<'_> {
    fn from(v: NaiveDateTime) -> Self {
        Arg::Time(StoredTime(v))
    }
}
impl From<Option<NaiveDateTime>> for Arg<'_> {
    fn from(v: Option<NaiveDateTime>) -> Self {
        Arg::OptTime(v.map(StoredTime))
    }
}
impl From<i32> for Arg<'_> {
    fn from(v: i32) -> Self {
        Arg::Int(v)
    }
}
impl From<bool> for Arg<'_> {
    fn from(v: bool) -> Self {
        Arg::Bool(v)
    }
}

/// A statement `K` with its bind parameters; `ST` is the SQL type of a result row.
pub struct Stmt<'a, K, ST = ()> {
    args: &'a [Arg<'a>],
    marker: PhantomData<(K, ST)>,
}

impl<'a, K: Sql, ST> Stmt<'a, K, ST> {
    pub fn new(args: &'a [Arg<'a>]) -> Self {
        debug_assert_eq!(
            K::SQL.matches('?').count(),
            args.len(),
            "bind count of {}",
            K::SQL
        );
        Stmt {
            args,
            marker: PhantomData,
        }
    }
}

impl<K: Sql, ST: 'static> QueryId for Stmt<'_, K, ST> {
    type QueryId = K;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl<K, ST> Query for Stmt<'_, K, ST> {
    type SqlType = ST;
}

impl<Conn, K, ST> RunQueryDsl<Conn> for Stmt<'_, K, ST> {}

impl<K, ST, DB> QueryFragment<DB> for Stmt<'_, K, ST>
where
    K: Sql,
    DB: Backend + HasSqlType<Text> + HasSqlType<Timestamp> + HasSqlType<Bool> + HasSqlType<Integer>,
    str: ToSql<Text, DB>,
    i32: ToSql<Integer, DB>,
    StoredTime: ToSql<Timestamp, DB>,
    bool: ToSql<Bool, DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        let mut parts = K::SQL.split('?');
        if let Some(first) = parts.next() {
            out.push_sql(first);
        }
        for (arg, part) in self.args.iter().zip(parts) {
            match arg {
                Arg::Text(v) => out.push_bind_param::<Text, str>(*v)?,
                Arg::OptText(v) => out.push_bind_param::<Nullable<Text>, _>(v)?,
                Arg::Time(v) => out.push_bind_param::<Timestamp, _>(v)?,
                Arg::OptTime(v) => out.push_bind_param::<Nullable<Timestamp>, _>(v)?,
                Arg::Bool(v) => out.push_bind_param::<Bool, _>(v)?,
                Arg::Int(v) => out.push_bind_param::<Integer, _>(v)?,
            }
            out.push_sql(part);
        }
        Ok(())
    }
}

/// Runs a statement that returns no rows; the number of rows it changed.
pub fn execute<K: Sql>(conn: &mut AnyConnection, args: &[Arg<'_>]) -> QueryResult<usize> {
    let stmt = Stmt::<K, ()>::new(args);
    match conn {
        AnyConnection::Sqlite(c) => RunQueryDsl::execute(stmt, c),
        AnyConnection::Postgresql(c) => RunQueryDsl::execute(stmt, c),
    }
}

/// Runs a query and returns its first row, if any.
pub fn first<'a, K, ST, U>(conn: &mut AnyConnection, args: &'a [Arg<'a>]) -> QueryResult<Option<U>>
where
    K: Sql,
    ST: 'static,
    Stmt<'a, K, ST>: LoadQuery<'a, SqliteConnection, U> + LoadQuery<'a, PgConnection, U>,
{
    load_first(conn, Stmt::<K, ST>::new(args))
}

fn load_first<'a, K, ST, U>(
    conn: &mut AnyConnection,
    stmt: Stmt<'a, K, ST>,
) -> QueryResult<Option<U>>
where
    K: Sql,
    ST: 'static,
    Stmt<'a, K, ST>: LoadQuery<'a, SqliteConnection, U> + LoadQuery<'a, PgConnection, U>,
{
    let mut rows: Vec<U> = match conn {
        AnyConnection::Sqlite(c) => RunQueryDsl::load(stmt, c)?,
        AnyConnection::Postgresql(c) => RunQueryDsl::load(stmt, c)?,
    };
    Ok(if rows.is_empty() {
        None
    } else {
        Some(rows.swap_remove(0))
    })
}
