//! Bulk loads (`releaseboard seed`): multi-row inserts built from the column registry, secondary
//! indexes dropped during a load and made again after it, and SQLite settings for a load.

use super::models::{Release, ReleaseVersion};
use super::prepared::{self, Arg};
use super::registry::{list, params};
use super::rows::{deployment_row, environment_row, product_row, version_row};
use super::schema::{products, release_versions, releases};
use super::AnyConnection;
use crate::domain::catalog::{Environment, Product, Version};
use crate::domain::deployment::Deployment;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;

/// Rows per INSERT statement: 18 columns × 1,000 stays under SQLite's 32,766 bind limit.
pub const ROWS_PER_INSERT: usize = 1000;

/// Whether the database holds any product or release yet (a bulk load, or the demo, goes only
/// into an empty one).
pub fn has_data(conn: &mut AnyConnection) -> QueryResult<bool> {
    let products: i64 = products::table.count().get_result(conn)?;
    let releases: i64 = releases::table.count().get_result(conn)?;
    Ok(products + releases > 0)
}

/// `INSERT INTO t (cols) VALUES (…), (…), …` of `rows.len()` rows.
fn insert_rows(
    conn: &mut AnyConnection,
    table: &str,
    names: &[&str],
    rows: &[Vec<Arg<'_>>],
) -> QueryResult<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let row = format!("({})", params(names.len()));
    let sql = format!(
        "INSERT INTO {table} ({}) VALUES {}",
        list(names),
        vec![row.as_str(); rows.len()].join(", ")
    );
    let args: Vec<Arg<'_>> = rows.iter().flatten().copied().collect();
    prepared::execute_dynamic(conn, &sql, &args)?;
    Ok(())
}

pub fn insert_environments(conn: &mut AnyConnection, rows: &[Environment]) -> QueryResult<()> {
    let args: Vec<Vec<Arg<'_>>> = rows
        .iter()
        .map(|r| environment_row::args(r).to_vec())
        .collect();
    insert_rows(conn, environment_row::TABLE, environment_row::NAMES, &args)
}

pub fn insert_products(conn: &mut AnyConnection, rows: &[Product]) -> QueryResult<()> {
    let args: Vec<Vec<Arg<'_>>> = rows.iter().map(|r| product_row::args(r).to_vec()).collect();
    insert_rows(conn, product_row::TABLE, product_row::NAMES, &args)
}

pub fn insert_versions(conn: &mut AnyConnection, rows: &[Version]) -> QueryResult<()> {
    let args: Vec<Vec<Arg<'_>>> = rows.iter().map(|r| version_row::args(r).to_vec()).collect();
    insert_rows(conn, version_row::TABLE, version_row::NAMES, &args)
}

pub fn insert_deployments(conn: &mut AnyConnection, rows: &[Deployment]) -> QueryResult<()> {
    let args: Vec<Vec<Arg<'_>>> = rows
        .iter()
        .map(|r| deployment_row::args(r).to_vec())
        .collect();
    insert_rows(conn, deployment_row::TABLE, deployment_row::NAMES, &args)
}

/// A multi-row INSERT of store models. `MultiConnection` cannot express one, so it goes to the
/// backend's own connection (the rows and the SQL are the same for both).
macro_rules! batch_insert {
    ($conn:expr, $table:expr, $rows:expr) => {
        match $conn {
            AnyConnection::Sqlite(c) => diesel::insert_into($table).values($rows).execute(c),
            AnyConnection::Postgresql(c) => diesel::insert_into($table).values($rows).execute(c),
        }
    };
}

/// Releases, then the links of their versions (which reference them).
pub fn insert_releases(
    conn: &mut AnyConnection,
    rows: &[Release],
    links: &[ReleaseVersion],
) -> QueryResult<()> {
    if !rows.is_empty() {
        batch_insert!(conn, releases::table, rows)?;
    }
    if !links.is_empty() {
        batch_insert!(conn, release_versions::table, links)?;
    }
    Ok(())
}

/// Runs a bulk load with the secondary indexes of `tables` dropped, and creates them again
/// afterwards, whatever the load's outcome: a failed load must not leave a crippled schema.
pub fn without_secondary_indexes<E, F>(
    conn: &mut AnyConnection,
    tables: &[&str],
    load: F,
) -> Result<(), E>
where
    E: From<diesel::result::Error>,
    F: FnOnce(&mut AnyConnection) -> Result<(), E>,
{
    let mut indexes = Vec::new();
    for table in tables {
        indexes.extend(secondary_indexes(conn, table)?);
    }
    for (name, _) in &indexes {
        conn.batch_execute(&format!("DROP INDEX {name}"))?;
    }
    let loaded = load(conn);
    for (_, create) in &indexes {
        conn.batch_execute(create)?;
    }
    loaded
}

/// The secondary indexes of a table as (name, the statement that creates it), to drop before a
/// bulk load and create again after it. The definitions come from the database itself, so they
/// are exactly what the migrations made.
fn secondary_indexes(conn: &mut AnyConnection, table: &str) -> QueryResult<Vec<(String, String)>> {
    use diesel::sql_types::Text;
    #[derive(QueryableByName)]
    struct IndexDef {
        #[diesel(sql_type = Text)]
        name: String,
        #[diesel(sql_type = Text)]
        definition: String,
    }
    let defs: Vec<IndexDef> = match conn {
        // `sql` is NULL for the automatic index of the primary key, which stays.
        AnyConnection::Sqlite(c) => diesel::sql_query(
            "SELECT name, sql AS definition FROM sqlite_master \
             WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL ORDER BY name",
        )
        .bind::<Text, _>(table)
        .load(c)?,
        AnyConnection::Postgresql(c) => diesel::sql_query(
            "SELECT ic.relname::text AS name, pg_get_indexdef(i.indexrelid) AS definition \
             FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid \
             WHERE i.indrelid = $1::regclass AND NOT i.indisprimary ORDER BY ic.relname",
        )
        .bind::<Text, _>(table)
        .load(c)?,
    };
    Ok(defs.into_iter().map(|d| (d.name, d.definition)).collect())
}

/// SQLite settings for a bulk load into a fresh file that can simply be run again if it fails:
/// no fsync, a rollback journal in memory instead of a WAL that every page would cross twice, a
/// cache big enough for the indexes, sorts in memory, and no foreign-key probes for rows
/// generated consistent. They last for this connection only; `serve` opens its own with WAL,
/// synchronous=FULL and foreign keys on. Nothing on PostgreSQL.
pub fn load_mode(conn: &mut AnyConnection) -> QueryResult<()> {
    match conn {
        AnyConnection::Sqlite(c) => c.batch_execute(
            "PRAGMA journal_mode = MEMORY;
             PRAGMA synchronous = OFF;
             PRAGMA cache_size = -262144;
             PRAGMA temp_store = MEMORY;
             PRAGMA foreign_keys = OFF;",
        ),
        AnyConnection::Postgresql(_) => Ok(()),
    }
}

/// Back to the settings a server's connection has (see [`load_mode`]).
pub fn serve_mode(conn: &mut AnyConnection) -> QueryResult<()> {
    match conn {
        AnyConnection::Sqlite(c) => {
            c.batch_execute("PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON;")
        }
        AnyConnection::Postgresql(_) => Ok(()),
    }
}
