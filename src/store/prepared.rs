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
//! UPDATE`); `?` marks a bind parameter and becomes `$n` on PostgreSQL. Statements over whole
//! rows are built from the column registry (`store::registry`), once, on first use; a unit test
//! (`store::ingest::statements`) checks every statement's parameters against its arguments.

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
    fn sql() -> &'static str;
}

/// Declares a marker type for one statement: `statement!(Name, "SELECT … WHERE a = ?");`. The
/// SQL may be any expression that makes a `String` or a `&str` (built from the registry); it is
/// made once, on first use.
macro_rules! statement {
    ($(#[$doc:meta])* $name:ident, $sql:expr) => {
        $(#[$doc])*
        pub struct $name;
        impl $crate::store::prepared::Sql for $name {
            fn sql() -> &'static str {
                static SQL: std::sync::LazyLock<String> =
                    std::sync::LazyLock::new(|| String::from($sql));
                &SQL
            }
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
    fn walk_ast<'b>(&'b self, out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        bind(K::sql(), self.args, out)
    }
}

/// Writes `sql` with each `?` bound to the next of `args`.
fn bind<'b, DB>(sql: &'b str, args: &'b [Arg<'b>], mut out: AstPass<'_, 'b, DB>) -> QueryResult<()>
where
    DB: Backend + HasSqlType<Text> + HasSqlType<Timestamp> + HasSqlType<Bool> + HasSqlType<Integer>,
    str: ToSql<Text, DB>,
    i32: ToSql<Integer, DB>,
    StoredTime: ToSql<Timestamp, DB>,
    bool: ToSql<Bool, DB>,
{
    let mut parts = sql.split('?');
    if let Some(first) = parts.next() {
        out.push_sql(first);
    }
    for (arg, part) in args.iter().zip(parts) {
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

/// A statement whose SQL is made at run time (a bulk load's multi-row insert, whose length
/// varies): bound like a [`Stmt`], but never kept prepared.
pub struct Dynamic<'a> {
    sql: &'a str,
    args: &'a [Arg<'a>],
}

impl QueryId for Dynamic<'_> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl Query for Dynamic<'_> {
    type SqlType = ();
}

impl<Conn> RunQueryDsl<Conn> for Dynamic<'_> {}

impl<DB> QueryFragment<DB> for Dynamic<'_>
where
    DB: Backend + HasSqlType<Text> + HasSqlType<Timestamp> + HasSqlType<Bool> + HasSqlType<Integer>,
    str: ToSql<Text, DB>,
    i32: ToSql<Integer, DB>,
    StoredTime: ToSql<Timestamp, DB>,
    bool: ToSql<Bool, DB>,
{
    fn walk_ast<'b>(&'b self, out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        bind(self.sql, self.args, out)
    }
}

/// Runs SQL made at run time with its parameters; the number of rows it changed.
pub fn execute_dynamic(
    conn: &mut AnyConnection,
    sql: &str,
    args: &[Arg<'_>],
) -> QueryResult<usize> {
    let stmt = Dynamic { sql, args };
    match conn {
        AnyConnection::Sqlite(c) => RunQueryDsl::execute(stmt, c),
        AnyConnection::Postgresql(c) => RunQueryDsl::execute(stmt, c),
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

/// Set-based statements (PostgreSQL): one statement for many rows, each of its parameters an
/// array holding one column of those rows (`unnest`), so that a group-commit batch pays a
/// statement's fixed costs — a round trip, executor start-up, triggers' set-up — once instead
/// of once per row (`store::ingest::batch`).
///
/// Each `?` of the SQL is followed by its array type, `?::text[]` or `?::timestamp[]`; that
/// says how the column is bound. The rows come in [`Table`]s, one per `unnest`, in the order
/// of their parameters in the SQL.
pub mod set {
    use super::{Arg, Sql};
    use crate::store::time::StoredTime;
    use diesel::pg::Pg;
    use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
    use diesel::query_dsl::LoadQuery;
    use diesel::result::Error as DieselError;
    use diesel::sql_types::{Array, Bool, Integer, Nullable, Text, Timestamp};
    use diesel::{PgConnection, QueryResult, RunQueryDsl};
    use std::marker::PhantomData;

    /// Rows of a fixed number of columns, bound as one array per column.
    pub struct Table<'a> {
        width: usize,
        rows: Vec<Arg<'a>>,
    }

    impl<'a> Table<'a> {
        /// No rows yet, of `N` columns each.
        pub fn new<const N: usize>() -> Self {
            Table {
                width: N,
                rows: Vec::new(),
            }
        }

        pub fn push<const N: usize>(&mut self, row: [Arg<'a>; N]) {
            assert_eq!(
                N, self.width,
                "a row of {N} columns in a table of {}",
                self.width
            );
            self.rows.extend(row);
        }

        pub fn is_empty(&self) -> bool {
            self.rows.is_empty()
        }

        fn column(&self, j: usize) -> impl Iterator<Item = &Arg<'a>> {
            self.rows.iter().skip(j).step_by(self.width)
        }
    }

    /// One array parameter.
    enum Column<'a> {
        Text(Vec<Option<&'a str>>),
        Time(Vec<Option<StoredTime>>),
        Bool(Vec<bool>),
        Int(Vec<i32>),
    }

    fn mismatch(sql: &str, at: usize) -> DieselError {
        DieselError::QueryBuilderError(
            format!("set-based statement: parameter {at} does not match its type in {sql}").into(),
        )
    }

    /// The array type the SQL declares for each of its parameters, in order (`"text[]"`,
    /// `"timestamp[]"`, `"boolean[]"`, `"integer[]"`), or `None` for a parameter declared
    /// otherwise.
    pub fn parameter_types(sql: &str) -> Vec<Option<&'static str>> {
        sql.split('?')
            .skip(1)
            .map(|rest| {
                ["text[]", "timestamp[]", "boolean[]", "integer[]"]
                    .into_iter()
                    .find(|t| rest.strip_prefix("::").is_some_and(|r| r.starts_with(t)))
            })
            .collect()
    }

    /// Column `j` of `table` as one kind of value (`pick`), or the mismatch of parameter `at`.
    fn values<'a, T>(
        table: &Table<'a>,
        j: usize,
        sql: &str,
        at: usize,
        pick: impl Fn(&Arg<'a>) -> Option<T>,
    ) -> QueryResult<Vec<T>> {
        table
            .column(j)
            .map(|a| pick(a).ok_or_else(|| mismatch(sql, at)))
            .collect()
    }

    /// The tables' columns as array parameters, typed as the SQL declares them.
    fn columns<'a>(sql: &str, tables: &[Table<'a>]) -> QueryResult<Vec<Column<'a>>> {
        let declared = parameter_types(sql);
        let width: usize = tables.iter().map(|t| t.width).sum();
        if declared.len() != width {
            return Err(mismatch(sql, width));
        }
        let mut out = Vec::with_capacity(width);
        let all = tables
            .iter()
            .flat_map(|t| (0..t.width).map(move |j| (t, j)));
        for (at, ((table, j), declared)) in all.zip(declared).enumerate() {
            let column = match declared {
                Some("timestamp[]") => Column::Time(values(table, j, sql, at, |a| match *a {
                    Arg::Time(t) => Some(Some(t)),
                    Arg::OptTime(t) => Some(t),
                    _ => None,
                })?),
                Some("text[]") => Column::Text(values(table, j, sql, at, |a| match *a {
                    Arg::Text(s) => Some(Some(s)),
                    Arg::OptText(s) => Some(s),
                    _ => None,
                })?),
                Some("boolean[]") => Column::Bool(values(table, j, sql, at, |a| match *a {
                    Arg::Bool(b) => Some(b),
                    _ => None,
                })?),
                Some("integer[]") => Column::Int(values(table, j, sql, at, |a| match *a {
                    Arg::Int(i) => Some(i),
                    _ => None,
                })?),
                _ => return Err(mismatch(sql, at)),
            };
            out.push(column);
        }
        Ok(out)
    }

    /// A set-based statement `K` with its array parameters; `ST` is the SQL type of a row.
    pub struct SetStmt<'a, K, ST> {
        columns: Vec<Column<'a>>,
        marker: PhantomData<(K, ST)>,
    }

    impl<K: Sql, ST: 'static> QueryId for SetStmt<'_, K, ST> {
        type QueryId = (K, ST);
        const HAS_STATIC_QUERY_ID: bool = true;
    }

    impl<K, ST> Query for SetStmt<'_, K, ST> {
        type SqlType = ST;
    }

    impl<Conn, K, ST> RunQueryDsl<Conn> for SetStmt<'_, K, ST> {}

    impl<K: Sql, ST> QueryFragment<Pg> for SetStmt<'_, K, ST> {
        fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
            let mut parts = K::sql().split('?');
            if let Some(first) = parts.next() {
                out.push_sql(first);
            }
            for (column, part) in self.columns.iter().zip(parts) {
                match column {
                    Column::Text(v) => out.push_bind_param::<Array<Nullable<Text>>, _>(v)?,
                    Column::Time(v) => out.push_bind_param::<Array<Nullable<Timestamp>>, _>(v)?,
                    Column::Bool(v) => out.push_bind_param::<Array<Bool>, _>(v)?,
                    Column::Int(v) => out.push_bind_param::<Array<Integer>, _>(v)?,
                }
                out.push_sql(part);
            }
            Ok(())
        }
    }

    fn stmt<'a, K: Sql, ST>(tables: &[Table<'a>]) -> QueryResult<SetStmt<'a, K, ST>> {
        Ok(SetStmt {
            columns: columns(K::sql(), tables)?,
            marker: PhantomData,
        })
    }

    /// Runs a set-based statement that returns no rows; the number of rows it changed.
    pub fn execute<K: Sql>(conn: &mut PgConnection, tables: &[Table<'_>]) -> QueryResult<usize> {
        RunQueryDsl::execute(stmt::<K, ()>(tables)?, conn)
    }

    /// Runs a set-based query and returns its rows.
    pub fn load<'a, K, ST, U>(conn: &mut PgConnection, tables: &[Table<'a>]) -> QueryResult<Vec<U>>
    where
        K: Sql,
        ST: 'static,
        SetStmt<'a, K, ST>: LoadQuery<'a, PgConnection, U>,
    {
        RunQueryDsl::load(stmt::<K, ST>(tables)?, conn)
    }
}
