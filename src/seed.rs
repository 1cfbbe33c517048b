//! `releaseboard seed`: a large, realistic dataset for benchmarks, written fast (batched
//! multi-row inserts in big transactions, bypassing the one-event-at-a-time API path).

use crate::db::ids::{new_id, now};
use crate::db::models::{Deployment, Release, ReleaseVersion, Version};
use crate::db::schema::{
    deployments, environments, product_env_current, product_env_latest, products, release_versions,
    releases, version_env_firsts, version_env_heads, versions,
};
use crate::db::{AnyConnection, Db};
use crate::domain::{DeploymentStatus, EnvType, ReleaseStatus};
use crate::error::AppError;
use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use std::collections::HashMap;

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
    if let AnyConnection::Sqlite(c) = &mut *conn {
        // A bulk load that can simply be run again: no fsync per transaction. The server's
        // own connections keep synchronous=FULL.
        use diesel::connection::SimpleConnection;
        c.batch_execute("PRAGMA synchronous = OFF")?;
    }
    let existing: i64 = products::table.count().get_result(&mut *conn)?;
    if existing > 0 {
        return Err(AppError::Conflict(
            "the database already has products; seed an empty database".into(),
        ));
    }
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let t0 = now() - Duration::seconds(i64::try_from(o.deployments).unwrap_or(0) + 3600);

    let envs: Vec<(String, EnvType)> = (0..o.environments)
        .map(|i| env_name(i, o.environments))
        .collect();
    let env_ids: Vec<String> = envs.iter().map(|_| new_id()).collect();
    let product_ids: Vec<String> = (0..o.products).map(|_| new_id()).collect();
    // Enough versions per product that history is deep: ~4 deployments per version and env.
    let per_product =
        (o.deployments / o.products.max(1) / o.environments.max(1) / 4).clamp(3, 2000);
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

    // Deployments: time moves forward; each product's version climbs as time passes, so the
    // latest deployments are of the newest versions, as in real life.
    let mut batch: Vec<Deployment> = Vec::with_capacity(BATCH);
    let mut written = 0;
    // The read models of `db::heads`, computed as the history is generated (time only moves
    // forward here, so "latest" is simply "last seen").
    let mut models = ReadModels::default();
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
                models.observe(&d, p, v, e);
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

    conn.transaction::<_, AppError, _>(|conn| models.write(conn))?;

    // Releases: each groups up to 50 products at one version; older ones are completed.
    let per_release = o.products.min(50);
    let mut rv_batch: Vec<ReleaseVersion> = Vec::with_capacity(BATCH);
    let mut r_batch: Vec<Release> = Vec::with_capacity(BATCH);
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
    })?;

    Ok(format!(
        "seeded {} products × {} environments, {} versions, {} deployments, {} releases in {:.1}s",
        o.products,
        o.environments,
        o.products * per_product,
        o.deployments,
        o.releases,
        started.elapsed().as_secs_f64()
    ))
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

/// The read models of the generated history, keyed by indexes into the generated ids.
#[derive(Default)]
struct ReadModels {
    /// (product, version, environment) → latest non-aborted deployment.
    heads: HashMap<(usize, usize, usize), Deployment>,
    /// (version id, environment id) → first completion.
    firsts: HashMap<(String, String), NaiveDateTime>,
    /// (product, environment) → deployment that completed last.
    current: HashMap<(usize, usize), Deployment>,
    /// (product, environment) → latest attempt.
    latest: HashMap<(usize, usize), Deployment>,
}

impl ReadModels {
    fn observe(&mut self, d: &Deployment, p: usize, v: usize, e: usize) {
        let status = d.status();
        if status != DeploymentStatus::Aborted {
            self.heads.insert((p, v, e), d.clone());
        }
        if status == DeploymentStatus::Completed {
            self.firsts
                .entry((d.version_id.clone(), d.environment_id.clone()))
                .or_insert(d.updated_at);
            self.current.insert((p, e), d.clone());
        }
        self.latest.insert((p, e), d.clone());
    }

    fn write(&self, conn: &mut AnyConnection) -> Result<(), AppError> {
        let heads: Vec<_> = self
            .heads
            .values()
            .map(|d| {
                (
                    version_env_heads::version_id.eq(d.version_id.clone()),
                    version_env_heads::environment_id.eq(d.environment_id.clone()),
                    version_env_heads::product_id.eq(d.product_id.clone()),
                    version_env_heads::deployment_id.eq(d.id.clone()),
                    version_env_heads::status.eq(d.status.clone()),
                    version_env_heads::deployed_by.eq(d.deployed_by.clone()),
                    version_env_heads::created_at.eq(d.created_at),
                    version_env_heads::updated_at.eq(d.updated_at),
                )
            })
            .collect();
        for chunk in heads.chunks(BATCH) {
            batch_insert!(conn, version_env_heads::table, chunk)?;
        }
        let firsts: Vec<_> = self
            .firsts
            .iter()
            .map(|((v, e), t)| {
                (
                    version_env_firsts::version_id.eq(v.clone()),
                    version_env_firsts::environment_id.eq(e.clone()),
                    version_env_firsts::first_completed_at.eq(*t),
                )
            })
            .collect();
        for chunk in firsts.chunks(BATCH) {
            batch_insert!(conn, version_env_firsts::table, chunk)?;
        }
        let current: Vec<_> = self
            .current
            .values()
            .map(|d| {
                (
                    product_env_current::product_id.eq(d.product_id.clone()),
                    product_env_current::environment_id.eq(d.environment_id.clone()),
                    product_env_current::version_id.eq(d.version_id.clone()),
                    product_env_current::deployment_id.eq(d.id.clone()),
                    product_env_current::completed_at.eq(d.updated_at),
                )
            })
            .collect();
        for chunk in current.chunks(BATCH) {
            batch_insert!(conn, product_env_current::table, chunk)?;
        }
        let latest: Vec<_> = self
            .latest
            .values()
            .map(|d| {
                (
                    product_env_latest::product_id.eq(d.product_id.clone()),
                    product_env_latest::environment_id.eq(d.environment_id.clone()),
                    product_env_latest::version_id.eq(d.version_id.clone()),
                    product_env_latest::deployment_id.eq(d.id.clone()),
                    product_env_latest::status.eq(d.status.clone()),
                    product_env_latest::created_at.eq(d.created_at),
                )
            })
            .collect();
        for chunk in latest.chunks(BATCH) {
            batch_insert!(conn, product_env_latest::table, chunk)?;
        }
        Ok(())
    }
}
