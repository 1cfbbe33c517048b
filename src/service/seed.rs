//! `releaseboard seed`: a large, realistic dataset for benchmarks, written fast (batched
//! multi-row inserts in big transactions, bypassing the one-event-at-a-time path:
//! `store::bulk`), then the read models derived from it (`store::rebuild`).

use super::run::Tx;
use super::Context;
use crate::domain::catalog::{Environment, Product, Version};
use crate::domain::deployment::Deployment;
use crate::domain::{search, Conflict, DeploymentStatus, EnvType, Error, ReleaseStatus};
use crate::store::bulk::{self, ROWS_PER_INSERT as BATCH};
use crate::store::ids::{new_id, now};
use crate::store::models::{Release, ReleaseVersion};
use crate::store::{rebuild, AnyConnection, TxError};
use chrono::{Duration, NaiveDateTime};
use diesel::Connection;

/// What to generate.
#[derive(Debug, Clone)]
pub struct SeedOptions {
    pub products: usize,
    /// Spread over dev, test, staging, production.
    pub environments: usize,
    /// Each with up to 50 products.
    pub releases: usize,
    pub deployments: usize,
}

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
pub fn seed(ctx: &Context, o: &SeedOptions) -> Result<String, Error> {
    let started = std::time::Instant::now();
    let mut conn = ctx.db.conn().map_err(|e| super::run::failed(e.into()))?;
    let outcome = (|| -> Tx<()> {
        if bulk::has_data(&mut conn)? {
            return Err(Conflict::DatabaseNotEmpty.into());
        }
        bulk::load_mode(&mut conn)?;
        let generated = generate(&mut conn, o);
        bulk::serve_mode(&mut conn)?;
        generated
    })();
    outcome.map_err(super::run::failed)?;
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

/// Enough versions per product that history is deep: ~4 deployments per version and env.
fn versions_per_product(o: &SeedOptions) -> usize {
    (o.deployments / o.products.max(1) / o.environments.max(1) / 4).clamp(3, 2000)
}

fn generate(conn: &mut AnyConnection, o: &SeedOptions) -> Tx<()> {
    let rng = &mut Rng(0x9E37_79B9_7F4A_7C15);
    let t0 = now() - Duration::seconds(i64::try_from(o.deployments).unwrap_or(0) + 3600);

    let envs: Vec<Environment> = (0..o.environments)
        .map(|i| {
            let (name, kind) = env_name(i, o.environments);
            Environment::new(
                new_id(),
                &name,
                kind,
                i32::try_from(i).unwrap_or(0),
                None,
                t0,
            )
        })
        .collect();
    let env_ids: Vec<String> = envs.iter().map(|e| e.id.clone()).collect();
    let products: Vec<Product> = (0..o.products)
        .map(|p| Product::new(new_id(), &format!("service-{p:04}"), None, t0))
        .collect();
    let product_ids: Vec<String> = products.iter().map(|p| p.id.clone()).collect();
    let per_product = versions_per_product(o);
    let mut version_ids: Vec<Vec<String>> = Vec::with_capacity(o.products);

    conn.transaction::<_, TxError<Error>, _>(|conn| {
        bulk::insert_environments(conn, &envs)?;
        for chunk in products.chunks(BATCH) {
            bulk::insert_products(conn, chunk)?;
        }
        let mut rows = Vec::with_capacity(BATCH);
        for pid in product_ids.iter() {
            let mut ids = Vec::with_capacity(per_product);
            for v in 0..per_product {
                let id = new_id();
                ids.push(id.clone());
                let mut version = Version::new(
                    id,
                    pid,
                    &format!("1.{}.{}", v / 10, v % 10),
                    &Default::default(),
                    t0,
                );
                version.scm_sha = Some(format!("{:040x}", rng.next()));
                version.scm_branch = Some("main".into());
                version.build_number = Some(v.to_string());
                version.source_system = Some("seed".into());
                rows.push(version);
                if rows.len() == BATCH {
                    bulk::insert_versions(conn, &rows)?;
                    rows.clear();
                }
            }
            version_ids.push(ids);
        }
        bulk::insert_versions(conn, &rows)?;
        Ok(())
    })?;

    // Secondary indexes are built once after each bulk load, from the loaded rows, rather than
    // kept up to date row by row through a million inserts in random key order.
    bulk::without_secondary_indexes(conn, &["deployments"], |conn| {
        load_deployments(conn, o, rng, t0, &product_ids, &env_ids, &version_ids)
    })?;
    // The read models, derived from the history in SQL (see `store::rebuild`).
    conn.transaction::<_, TxError<Error>, _>(|conn| Ok(rebuild::rebuild_read_models(conn)?))?;

    // Releases: each groups up to 50 products at one version; older ones are completed.
    let per_release = o.products.min(50);
    let mut rv_batch: Vec<ReleaseVersion> = Vec::with_capacity(BATCH);
    let mut r_batch: Vec<Release> = Vec::with_capacity(BATCH);
    bulk::without_secondary_indexes(conn, &["releases", "release_versions"], |conn| {
        conn.transaction::<_, TxError<Error>, _>(|conn| {
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
                let name = format!("Release {:05}", r + 1);
                r_batch.push(Release {
                    id: id.clone(),
                    name_folded: Some(search::fold(&name)),
                    name,
                    description: Some("Seeded for benchmarks.".into()),
                    status: status.as_str().into(),
                    extra_metadata: "{}".into(),
                    created_at: at,
                    updated_at: at,
                    completed_at: status.completed_at(at),
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
                        bulk::insert_releases(conn, &r_batch, &rv_batch)?;
                        r_batch.clear();
                        rv_batch.clear();
                    }
                }
            }
            bulk::insert_releases(conn, &r_batch, &rv_batch)?;
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
) -> Tx<()> {
    let per_product = versions_per_product(o);
    let mut batch: Vec<Deployment> = Vec::with_capacity(BATCH);
    let mut written = 0;
    while written < o.deployments {
        let chunk = TX_ROWS.min(o.deployments - written);
        conn.transaction::<_, TxError<Error>, _>(|conn| {
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
                    status,
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
                    bulk::insert_deployments(conn, &batch)?;
                    batch.clear();
                }
            }
            bulk::insert_deployments(conn, &batch)?;
            batch.clear();
            Ok(())
        })?;
        written += chunk;
    }

    Ok(())
}
