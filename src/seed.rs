//! `releaseboard seed`: a large, realistic dataset for benchmarks, written fast (batched
//! multi-row inserts in big transactions, bypassing the one-event-at-a-time API path).

use crate::db::ids::{new_id, now};
use crate::db::models::{Deployment, Release, ReleaseVersion, Version};
use crate::db::schema::{
    deployments, environments, products, release_versions, releases, versions,
};
use crate::db::{rebuild, AnyConnection, Db};
use crate::domain::{DeploymentStatus, EnvType, ReleaseStatus};
use crate::error::AppError;
use chrono::{Duration, NaiveDateTime};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;

/// What to generate.
#[derive(Debug, Clone, clap::Args)]
pub struct SeedOptions {
    /// Number of products.
    #[arg(long, default_value_t = 50)]
    pub products: usize,
    /// Number of environments (spread over dev, test, staging, production).
    #[arg(long, default_value_t = 10)]
    pub environments: usize,
    /// Number of releases (each with up to 50 products).
    #[arg(long, default_value_t = 1000)]
    pub releases: usize,
    /// Number of deployments.
    #[arg(long, default_value_t = 100_000)]
    pub deployments: usize,
}

/// Rows per INSERT statement: 18 columns × 1,000 stays under SQLite's 32,766 bind limit.
const BATCH: usize = 1000;
/// Rows per transaction.
const TX_ROWS: usize = 50_000;

/// A tiny deterministic generator (xorshift64*): the same options give the same dataset.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        // n is small; the modulo bias is irrelevant for a benchmark dataset.
        usize::try_from(self.next() % (n.max(1) as u64)).unwrap_or(0)
    }
}

fn env_name(i: usize, count: usize) -> (String, EnvType) {
    // Blocks of types in column order: the first quarter dev, then test, staging, production.
    let kind = EnvType::ALL[(i * 4 / count.max(1)).min(3)];
    (format!("{}-{:02}", kind.as_str(), i + 1), kind)
}

/// Generates the dataset into an empty database. Returns a one-line summary.
pub fn seed(db: &Db, o: &SeedOptions) -> Result<String, AppError> {
    let started = std::time::Instant::now();
    let mut conn = db.conn()?;
    let existing: i64 = products::table.count().get_result(&mut *conn)?;
    if existing > 0 {
        return Err(AppError::Conflict(
            "the database already has products; seed an empty database".into(),
        ));
    }
    if let AnyConnection::Sqlite(c) = &mut *conn {
        // A bulk load into a fresh file that can simply be run again if it fails: no fsync,
        // a rollback journal in memory instead of a WAL that every page would cross twice, a
        // cache big enough for the indexes, sorts in memory, and no foreign-key probes for
        // rows generated consistent. These last for this connection only; `serve` opens its
        // own with WAL, synchronous=FULL and foreign keys on.
        c.batch_execute(SQLITE_BULK_PRAGMAS)?;
    }
    let outcome = generate(&mut conn, o);
    if let AnyConnection::Sqlite(c) = &mut *conn {
        c.batch_execute(SQLITE_SERVE_PRAGMAS)?;
    }
    outcome?;
    Ok(format!(
        "seeded {} products × {} environments, {} versions, {} deployments, {} releases in {:.1}s",
        o.products,
        o.environments,
        o.products * versions_per_product(o),
        o.deployments,
        o.releases,
        started.elapsed().as_secs_f64()
    ))
}

const SQLITE_BULK_PRAGMAS: &str = "PRAGMA journal_mode = MEMORY;
PRAGMA synchronous = OFF;
PRAGMA cache_size = -262144;
PRAGMA temp_store = MEMORY;
PRAGMA foreign_keys = OFF;";

const SQLITE_SERVE_PRAGMAS: &str = "PRAGMA journal_mode = WAL;
PRAGMA foreign_keys = ON;";

/// Enough versions per product that history is deep: ~4 deployments per version and env.
fn versions_per_product(o: &SeedOptions) -> usize {
    (o.deployments / o.products.max(1) / o.environments.max(1) / 4).clamp(3, 2000)
}

fn generate(conn: &mut AnyConnection, o: &SeedOptions) -> Result<(), AppError> {
    let rng = &mut Rng(0x9E37_79B9_7F4A_7C15);
    let t0 = now() - Duration::seconds(i64::try_from(o.deployments).unwrap_or(0) + 3600);

    let envs: Vec<(String, EnvType)> = (0..o.environments)
        .map(|i| env_name(i, o.environments))
        .collect();
    let env_ids: Vec<String> = envs.iter().map(|_| new_id()).collect();
    let product_ids: Vec<String> = (0..o.products).map(|_| new_id()).collect();
    let per_product = versions_per_product(o);
    let mut version_ids: Vec<Vec<String>> = Vec::with_capacity(o.products);

    conn.transaction::<_, AppError, _>(|conn| {
        for (i, (name, kind)) in envs.iter().enumerate() {
            diesel::insert_into(environments::table)
                .values((
                    environments::id.eq(&env_ids[i]),
                    environments::name.eq(name),
                    environments::env_type.eq(kind.as_str()),
                    environments::position.eq(i32::try_from(i).unwrap_or(0)),
                    environments::created_at.eq(t0),
                    environments::updated_at.eq(t0),
                ))
                .execute(conn)?;
        }
        for (p, id) in product_ids.iter().enumerate() {
            diesel::insert_into(products::table)
                .values((
                    products::id.eq(id),
                    products::name.eq(format!("service-{p:04}")),
                    products::created_at.eq(t0),
                    products::updated_at.eq(t0),
                ))
                .execute(conn)?;
        }
        let mut rows = Vec::with_capacity(BATCH);
        for pid in product_ids.iter() {
            let mut ids = Vec::with_capacity(per_product);
            for v in 0..per_product {
                let id = new_id();
                ids.push(id.clone());
                rows.push(Version {
                    id,
                    product_id: pid.clone(),
                    version: format!("1.{}.{}", v / 10, v % 10),
                    scm_sha: Some(format!("{:040x}", rng.next())),
                    scm_branch: Some("main".into()),
                    scm_repository: None,
                    build_url: None,
                    build_number: Some(v.to_string()),
                    built_by: None,
                    source_system: Some("seed".into()),
                    extra_metadata: "{}".into(),
                    created_at: t0,
                    updated_at: t0,
                });
                if rows.len() == BATCH {
                    insert_versions(conn, &mut rows)?;
                }
            }
            version_ids.push(ids);
        }
        insert_versions(conn, &mut rows)?;
        Ok(())
    })?;

    // Secondary indexes are built once after each bulk load, from the loaded rows, rather than
    // kept up to date row by row through a million inserts in random key order.
    without_secondary_indexes(conn, &["deployments"], |conn| {
        load_deployments(conn, o, rng, t0, &product_ids, &env_ids, &version_ids)
    })?;
    // The read models, derived from the history in SQL (see `db::rebuild`).
    conn.transaction::<_, AppError, _>(|conn| Ok(rebuild::rebuild_read_models(conn)?))?;

    // Releases: each groups up to 50 products at one version; older ones are completed.
    let per_release = o.products.min(50);
    let mut rv_batch: Vec<ReleaseVersion> = Vec::with_capacity(BATCH);
    let mut r_batch: Vec<Release> = Vec::with_capacity(BATCH);
    without_secondary_indexes(conn, &["releases", "release_versions"], |conn| {
        conn.transaction::<_, AppError, _>(|conn| {
            for r in 0..o.releases {
                let id = new_id();
                let status = if r + 10 >= o.releases {
                    [ReleaseStatus::Draft, ReleaseStatus::InProgress][r % 2]
                } else if r % 20 == 7 {
                    ReleaseStatus::Cancelled
                } else {
                    ReleaseStatus::Completed
                };
                let at = t0 + Duration::seconds(i64::try_from(r).unwrap_or(0) * 60);
                r_batch.push(Release {
                    id: id.clone(),
                    name: format!("Release {:05}", r + 1),
                    description: Some("Seeded for benchmarks.".into()),
                    status: status.as_str().into(),
                    extra_metadata: "{}".into(),
                    created_at: at,
                    updated_at: at,
                    completed_at: (status == ReleaseStatus::Completed).then_some(at),
                });
                let first = rng.below(o.products.max(1));
                for j in 0..per_release {
                    let p = (first + j) % o.products;
                    let v = (r * per_product / o.releases.max(1)).min(per_product - 1);
                    rv_batch.push(ReleaseVersion {
                        release_id: id.clone(),
                        version_id: version_ids[p][v].clone(),
                        product_id: product_ids[p].clone(),
                        added_at: at,
                    });
                    if rv_batch.len() == BATCH {
                        flush_releases(conn, &mut r_batch, &mut rv_batch)?;
                    }
                }
            }
            flush_releases(conn, &mut r_batch, &mut rv_batch)?;
            Ok(())
        })
    })?;
    Ok(())
}

/// Deployments: time moves forward; each product's version climbs as time passes, so the
/// latest deployments are of the newest versions, as in real life.
fn load_deployments(
    conn: &mut AnyConnection,
    o: &SeedOptions,
    rng: &mut Rng,
    t0: NaiveDateTime,
    product_ids: &[String],
    env_ids: &[String],
    version_ids: &[Vec<String>],
) -> Result<(), AppError> {
    let per_product = versions_per_product(o);
    let mut batch: Vec<Deployment> = Vec::with_capacity(BATCH);
    let mut written = 0;
    while written < o.deployments {
        let chunk = TX_ROWS.min(o.deployments - written);
        conn.transaction::<_, AppError, _>(|conn| {
            for k in written..written + chunk {
                let p = rng.below(o.products);
                let e = rng.below(o.environments);
                let progress = k * per_product / o.deployments.max(1);
                let v = progress.saturating_sub(rng.below(2)).min(per_product - 1);
                let roll = rng.below(100);
                let status = match roll {
                    0..=84 => DeploymentStatus::Completed,
                    85..=92 => DeploymentStatus::Failed,
                    93..=96 => DeploymentStatus::Aborted,
                    _ => DeploymentStatus::Started,
                };
                let at: NaiveDateTime = t0 + Duration::seconds(i64::try_from(k).unwrap_or(0));
                let done = status.is_terminal().then(|| at + Duration::seconds(30));
                let d = Deployment {
                    id: new_id(),
                    product_id: product_ids[p].clone(),
                    version_id: version_ids[p][v].clone(),
                    environment_id: env_ids[e].clone(),
                    status: status.as_str().into(),
                    invoke_id: None,
                    deployed_by: Some("seed".into()),
                    deployed_by_name: None,
                    deployed_by_email: None,
                    build_url: None,
                    deploy_url: None,
                    build_number: None,
                    source_system: Some("seed".into()),
                    started_at: Some(at),
                    completed_at: done,
                    extra_metadata: "{}".into(),
                    created_at: at,
                    updated_at: done.unwrap_or(at),
                };
                batch.push(d);
                if batch.len() == BATCH {
                    insert_deployments(conn, &mut batch)?;
                }
            }
            insert_deployments(conn, &mut batch)?;
            Ok(())
        })?;
        written += chunk;
    }

    Ok(())
}

/// Runs a bulk load with the secondary indexes of `tables` dropped, and creates them again
/// afterwards, whatever the load's outcome: a failed seed must not leave a crippled schema.
fn without_secondary_indexes<F>(
    conn: &mut AnyConnection,
    tables: &[&str],
    load: F,
) -> Result<(), AppError>
where
    F: FnOnce(&mut AnyConnection) -> Result<(), AppError>,
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

/// A multi-row INSERT. `MultiConnection` cannot express one, so it goes to the backend's own
/// connection (the rows and the SQL are the same for both).
macro_rules! batch_insert {
    ($conn:expr, $table:expr, $rows:expr) => {
        match $conn {
            AnyConnection::Sqlite(c) => diesel::insert_into($table).values($rows).execute(c),
            AnyConnection::Postgresql(c) => diesel::insert_into($table).values($rows).execute(c),
        }
    };
}

fn insert_versions(conn: &mut AnyConnection, rows: &mut Vec<Version>) -> QueryResult<()> {
    if !rows.is_empty() {
        batch_insert!(conn, versions::table, &*rows)?;
        rows.clear();
    }
    Ok(())
}

fn insert_deployments(conn: &mut AnyConnection, rows: &mut Vec<Deployment>) -> QueryResult<()> {
    if !rows.is_empty() {
        batch_insert!(conn, deployments::table, &*rows)?;
        rows.clear();
    }
    Ok(())
}

fn flush_releases(
    conn: &mut AnyConnection,
    releases_rows: &mut Vec<Release>,
    links: &mut Vec<ReleaseVersion>,
) -> QueryResult<()> {
    // Releases first: release_versions references them.
    if !releases_rows.is_empty() {
        batch_insert!(conn, releases::table, &*releases_rows)?;
        releases_rows.clear();
    }
    if !links.is_empty() {
        batch_insert!(conn, release_versions::table, &*links)?;
        links.clear();
    }
    Ok(())
}
