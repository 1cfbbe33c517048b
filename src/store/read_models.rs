//! The maintained read models (see the migration): kept up to date in the same transaction as
//! every deployment change, so that reads never scan the deployment history. What each holds is
//! defined in `domain::read_models`; these statements restate it one change at a time.
//!
//! - `version_env_heads`: latest non-aborted deployment per (version, environment) — a cell.
//! - `version_env_firsts`: first completion per (version, environment) — history page.
//! - `product_env_current`: per (product, environment), the deployment that completed last.
//! - `product_env_latest`: per (product, environment), the latest attempt of any status.

use super::prepared::{self, statement};
use super::rows::deployment_row;
use super::schema::{
    deployments, product_env_current, product_env_latest, version_env_firsts, version_env_heads,
};
use super::AnyConnection;
use crate::domain::deployment::Deployment;
use crate::domain::DeploymentStatus;
use diesel::prelude::*;

/// Brings the read models up to date after `d` was inserted (`created`) or changed.
///
/// Every statement is a single prepared upsert or conditional update: no read-then-write.
pub fn record(conn: &mut AnyConnection, d: &Deployment, created: bool) -> QueryResult<()> {
    let status = d.status;
    if created {
        // A new deployment is the most recent of its (version, environment) by definition.
        if status != DeploymentStatus::Aborted {
            set_version_head(conn, d)?;
        }
        prepared::execute::<UpsertLatest>(
            conn,
            &[
                (&d.product_id).into(),
                (&d.environment_id).into(),
                (&d.version_id).into(),
                (&d.id).into(),
                status.as_str().into(),
                d.created_at.into(),
            ],
        )?;
    } else {
        // Changes to older deployments do not touch the cell: the newest one decides it, so
        // both statements only match while `d` is the head.
        let cell = [
            (&d.version_id).into(),
            (&d.environment_id).into(),
            (&d.id).into(),
        ];
        if status == DeploymentStatus::Aborted {
            if prepared::execute::<DropHead>(conn, &cell)? > 0 {
                recompute_version_head(conn, &d.version_id, &d.environment_id)?;
            }
        } else {
            prepared::execute::<UpdateHead>(
                conn,
                &[
                    status.as_str().into(),
                    (&d.deployed_by).into(),
                    d.updated_at.into(),
                    cell[0],
                    cell[1],
                    cell[2],
                ],
            )?;
        }
        prepared::execute::<UpdateLatestStatus>(
            conn,
            &[
                status.as_str().into(),
                (&d.product_id).into(),
                (&d.environment_id).into(),
                (&d.id).into(),
            ],
        )?;
    }
    if status == DeploymentStatus::Completed {
        // It completed just now, later than any other: it is what runs there.
        prepared::execute::<UpsertCurrent>(
            conn,
            &[
                (&d.product_id).into(),
                (&d.environment_id).into(),
                (&d.version_id).into(),
                (&d.id).into(),
                d.updated_at.into(),
            ],
        )?;
        prepared::execute::<InsertFirstCompletion>(
            conn,
            &[
                (&d.version_id).into(),
                (&d.environment_id).into(),
                d.updated_at.into(),
            ],
        )?;
    }
    Ok(())
}

statement!(
    UpsertHead,
    "INSERT INTO version_env_heads (version_id, environment_id, product_id, deployment_id, \
     status, deployed_by, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) \
     ON CONFLICT (version_id, environment_id) DO UPDATE SET \
     deployment_id = excluded.deployment_id, status = excluded.status, \
     deployed_by = excluded.deployed_by, created_at = excluded.created_at, \
     updated_at = excluded.updated_at"
);
statement!(
    UpdateHead,
    "UPDATE version_env_heads SET status = ?, deployed_by = ?, updated_at = ? \
     WHERE version_id = ? AND environment_id = ? AND deployment_id = ?"
);
statement!(
    DropHead,
    "DELETE FROM version_env_heads \
     WHERE version_id = ? AND environment_id = ? AND deployment_id = ?"
);
statement!(
    UpsertLatest,
    "INSERT INTO product_env_latest (product_id, environment_id, version_id, deployment_id, \
     status, created_at) VALUES (?, ?, ?, ?, ?, ?) \
     ON CONFLICT (product_id, environment_id) DO UPDATE SET \
     version_id = excluded.version_id, deployment_id = excluded.deployment_id, \
     status = excluded.status, created_at = excluded.created_at"
);
statement!(
    UpdateLatestStatus,
    "UPDATE product_env_latest SET status = ? \
     WHERE product_id = ? AND environment_id = ? AND deployment_id = ?"
);
statement!(
    UpsertCurrent,
    "INSERT INTO product_env_current (product_id, environment_id, version_id, deployment_id, \
     completed_at) VALUES (?, ?, ?, ?, ?) \
     ON CONFLICT (product_id, environment_id) DO UPDATE SET \
     version_id = excluded.version_id, deployment_id = excluded.deployment_id, \
     completed_at = excluded.completed_at"
);
statement!(
    InsertFirstCompletion,
    "INSERT INTO version_env_firsts (version_id, environment_id, first_completed_at) \
     VALUES (?, ?, ?) ON CONFLICT (version_id, environment_id) DO NOTHING"
);

fn set_version_head(conn: &mut AnyConnection, d: &Deployment) -> QueryResult<()> {
    prepared::execute::<UpsertHead>(
        conn,
        &[
            (&d.version_id).into(),
            (&d.environment_id).into(),
            (&d.product_id).into(),
            (&d.id).into(),
            d.status.as_str().into(),
            (&d.deployed_by).into(),
            d.created_at.into(),
            d.updated_at.into(),
        ],
    )?;
    Ok(())
}

/// The head was aborted (and its row dropped): the cell falls back to the latest earlier
/// non-aborted deployment, or stays empty when there is none.
fn recompute_version_head(
    conn: &mut AnyConnection,
    version_id: &str,
    environment_id: &str,
) -> QueryResult<()> {
    let previous: Option<Deployment> = deployments::table
        .filter(deployments::version_id.eq(version_id))
        .filter(deployments::environment_id.eq(environment_id))
        .filter(deployments::status.ne(DeploymentStatus::Aborted.as_str()))
        .order((deployments::created_at.desc(), deployments::id.desc()))
        .select(deployment_row::COLUMNS)
        .first(conn)
        .optional()?;
    match previous {
        Some(p) => set_version_head(conn, &p),
        None => Ok(()),
    }
}

/// Removes every read-model row of a product (before its deployments are deleted).
pub fn forget_product(conn: &mut AnyConnection, product_id: &str) -> QueryResult<()> {
    diesel::delete(version_env_heads::table.filter(version_env_heads::product_id.eq(product_id)))
        .execute(conn)?;
    diesel::delete(
        version_env_firsts::table.filter(
            version_env_firsts::version_id.eq_any(
                super::schema::versions::table
                    .filter(super::schema::versions::product_id.eq(product_id))
                    .select(super::schema::versions::id),
            ),
        ),
    )
    .execute(conn)?;
    diesel::delete(
        product_env_current::table.filter(product_env_current::product_id.eq(product_id)),
    )
    .execute(conn)?;
    diesel::delete(product_env_latest::table.filter(product_env_latest::product_id.eq(product_id)))
        .execute(conn)?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Reading them

use super::schema::versions;
use super::time::StoredTime;
use chrono::NaiveDateTime;
use diesel::dsl::{exists, not};

/// A matrix cell's deployment: the latest non-aborted attempt of a version in an environment.
#[derive(Debug, Clone, Queryable)]
pub struct Head {
    pub deployment_id: String,
    pub version_id: String,
    pub environment_id: String,
    pub status: String,
    /// When that deployment last changed (for a completed one: when it completed).
    #[diesel(deserialize_as = StoredTime)]
    pub updated_at: NaiveDateTime,
    pub deployed_by: Option<String>,
}

/// The heads of these versions, in every environment.
pub fn heads_of(conn: &mut AnyConnection, version_ids: &[String]) -> QueryResult<Vec<Head>> {
    if version_ids.is_empty() {
        return Ok(Vec::new());
    }
    version_env_heads::table
        .filter(version_env_heads::version_id.eq_any(version_ids))
        .select((
            version_env_heads::deployment_id,
            version_env_heads::version_id,
            version_env_heads::environment_id,
            version_env_heads::status,
            version_env_heads::updated_at,
            version_env_heads::deployed_by,
        ))
        .load(conn)
}

/// When each of these versions first completed a deployment in each environment it reached
/// (of `environment_ids` only, when given): `(version id, environment id, first completion)`,
/// by the `version_env_firsts` key.
pub fn firsts_of(
    conn: &mut AnyConnection,
    version_ids: &[&str],
    environment_ids: Option<&[String]>,
) -> QueryResult<Vec<(String, String, NaiveDateTime)>> {
    let mut out = Vec::new();
    // Bounded bind lists: both backends cap the parameters of one statement.
    for chunk in version_ids.chunks(5_000) {
        let mut q = version_env_firsts::table
            .filter(version_env_firsts::version_id.eq_any(chunk))
            .into_boxed();
        if let Some(envs) = environment_ids {
            q = q.filter(version_env_firsts::environment_id.eq_any(envs));
        }
        let rows: Vec<(String, String, StoredTime)> = q
            .select((
                version_env_firsts::version_id,
                version_env_firsts::environment_id,
                version_env_firsts::first_completed_at,
            ))
            .load(conn)?;
        out.extend(rows.into_iter().map(|(v, e, t)| (v, e, t.0)));
    }
    Ok(out)
}

/// The version running in an environment: that of the deployment that completed last.
#[derive(Debug, Clone)]
pub struct Current {
    pub version_id: String,
    pub version: String,
    /// When that deployment completed (server time).
    pub completed_at: NaiveDateTime,
    pub deployment_id: String,
    /// When its version was first seen: tells a rollback from an upgrade (SPEC §4).
    pub first_seen: NaiveDateTime,
}

/// For each (product, environment) with a completed deployment, what runs there now: the
/// deployment that *finished* last, whatever order they started in. Rows are `(product id,
/// environment id, current)`; `None` means every product. Callers index them as suits them.
pub fn current_versions(
    conn: &mut AnyConnection,
    product_ids: Option<&[String]>,
) -> QueryResult<Vec<(String, String, Current)>> {
    let mut query = product_env_current::table
        .inner_join(versions::table)
        .select((
            product_env_current::product_id,
            product_env_current::environment_id,
            product_env_current::version_id,
            versions::version,
            product_env_current::completed_at,
            product_env_current::deployment_id,
            versions::created_at,
        ))
        .into_boxed();
    if let Some(ids) = product_ids {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        query = query.filter(product_env_current::product_id.eq_any(ids));
    }
    type Loaded = (
        String,
        String,
        String,
        String,
        StoredTime,
        String,
        StoredTime,
    );
    let rows: Vec<Loaded> = query.load(conn)?;
    Ok(rows
        .into_iter()
        .map(
            |(p, e, version_id, version, completed_at, deployment_id, seen)| {
                let current = Current {
                    version_id,
                    version,
                    completed_at: completed_at.0,
                    deployment_id,
                    first_seen: seen.0,
                };
                (p, e, current)
            },
        )
        .collect())
}

/// The latest attempt in an environment, when it is not what runs there.
#[derive(Debug, Clone)]
pub struct LatestAttempt {
    pub version: String,
    pub status: DeploymentStatus,
    pub at: NaiveDateTime,
}

/// Per (product, environment), the latest attempt where it is not the deployment that runs
/// there: the database leaves the usual cell (its latest attempt completed and runs now) out,
/// so it costs no row at all. Rows are `(product id, environment id, attempt)`.
pub fn attempts_not_running(
    conn: &mut AnyConnection,
) -> QueryResult<Vec<(String, String, LatestAttempt)>> {
    let runs_there = exists(
        product_env_current::table
            .filter(product_env_current::product_id.eq(product_env_latest::product_id))
            .filter(product_env_current::environment_id.eq(product_env_latest::environment_id))
            .filter(product_env_current::deployment_id.eq(product_env_latest::deployment_id)),
    );
    let rows: Vec<(String, String, String, String, StoredTime)> = product_env_latest::table
        .inner_join(versions::table)
        .filter(not(runs_there))
        .select((
            product_env_latest::product_id,
            product_env_latest::environment_id,
            versions::version,
            product_env_latest::status,
            product_env_latest::created_at,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(p, e, version, status, created_at)| {
            let attempt = LatestAttempt {
                version,
                status: DeploymentStatus::from_db(&status).unwrap_or(DeploymentStatus::Pending),
                at: created_at.0,
            };
            (p, e, attempt)
        })
        .collect())
}
