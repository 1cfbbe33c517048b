//! The release matrix (SPEC §4): loads what the domain rules need in a fixed number of
//! queries, whatever the size of the release, then lets `domain::matrix` decide every cell.

use super::catalog::{self, VersionRow};
use super::models::Environment;
use super::schema::{product_env_current, version_env_heads, versions};
use super::time::StoredTime;
use super::{releases, AnyConnection};
use crate::domain::matrix::{self as rules, ReadinessRow};
use crate::domain::{CellState, DeploymentStatus};
use crate::error::AppError;
use chrono::NaiveDateTime;
use diesel::prelude::*;
use std::collections::HashMap;

#[derive(Debug, Clone)]
pub struct MatrixCell {
    pub environment_name: String,
    pub state: CellState,
    /// The deployment that decided the state, if any.
    pub deployment_id: Option<String>,
    /// When that deployment last changed.
    pub at: Option<NaiveDateTime>,
    pub deployed_by: Option<String>,
    pub superseded_by: Option<String>,
}

#[derive(Debug, Clone)]
pub struct MatrixRow {
    pub product_id: String,
    pub product_name: String,
    pub version: String,
    pub version_id: String,
    pub cells: Vec<MatrixCell>,
}

#[derive(Debug, Clone)]
pub struct ColumnProgress {
    pub environment: Environment,
    pub deployed: usize,
    pub total: usize,
}

#[derive(Debug, Clone)]
pub struct ReleaseMatrix {
    /// Every environment, in column order.
    pub columns: Vec<Environment>,
    /// The release's versions, sorted by product name.
    pub rows: Vec<MatrixRow>,
    pub progress: Vec<ColumnProgress>,
    pub ready_to_complete: bool,
}

/// A deployment as the matrix needs it.
#[derive(Debug, Clone, Queryable)]
struct Attempt {
    id: String,
    version_id: String,
    environment_id: String,
    status: String,
    #[diesel(deserialize_as = StoredTime)]
    updated_at: NaiveDateTime,
    deployed_by: Option<String>,
}

/// Builds the matrix of one release.
pub fn release_matrix(
    conn: &mut AnyConnection,
    release_id: &str,
) -> Result<ReleaseMatrix, AppError> {
    let columns = catalog::list_environments(conn, None)?;
    let rows = releases::versions(conn, release_id)?;
    Ok(build(conn, columns, rows)?)
}

fn build(
    conn: &mut AnyConnection,
    columns: Vec<Environment>,
    rows: Vec<VersionRow>,
) -> QueryResult<ReleaseMatrix> {
    let version_ids: Vec<String> = rows.iter().map(|r| r.version.id.clone()).collect();
    let product_ids: Vec<String> = rows.iter().map(|r| r.version.product_id.clone()).collect();

    // Latest non-aborted attempt of each (version, environment), maintained by `heads`.
    let attempts: Vec<Attempt> = if version_ids.is_empty() {
        Vec::new()
    } else {
        version_env_heads::table
            .filter(version_env_heads::version_id.eq_any(&version_ids))
            .select((
                version_env_heads::deployment_id,
                version_env_heads::version_id,
                version_env_heads::environment_id,
                version_env_heads::status,
                version_env_heads::updated_at,
                version_env_heads::deployed_by,
            ))
            .load(conn)?
    };
    let latest: HashMap<(&str, &str), &Attempt> = attempts
        .iter()
        .map(|a| ((a.version_id.as_str(), a.environment_id.as_str()), a))
        .collect();

    let current = current_versions(conn, Some(&product_ids))?;
    // Looked up by borrowed keys: no key strings allocated per cell.
    let current: HashMap<(&str, &str), &Current> = current
        .iter()
        .map(|(p, e, c)| ((p.as_str(), e.as_str()), c))
        .collect();

    let mut matrix_rows = Vec::with_capacity(rows.len());
    let mut readiness = Vec::with_capacity(rows.len());
    for row in &rows {
        let v = &row.version;
        let mut cells = Vec::with_capacity(columns.len());
        let mut ever = Vec::with_capacity(columns.len());
        for env in &columns {
            let attempt = latest.get(&(v.id.as_str(), env.id.as_str())).copied();
            let state =
                CellState::from_latest(attempt.and_then(|a| DeploymentStatus::from_db(&a.status)));
            let now_running = current
                .get(&(v.product_id.as_str(), env.id.as_str()))
                .copied();
            ever.push(now_running.is_some());
            let superseded = rules::superseded_by(
                state,
                &v.id,
                // A deployed cell's attempt is completed: its updated_at is its completion.
                attempt.map(|a| &a.updated_at),
                now_running.map(|c| (c.version_id.as_str(), c.version.as_str(), &c.completed_at)),
            )
            .map(str::to_string);
            cells.push(MatrixCell {
                environment_name: env.name.clone(),
                state,
                deployment_id: attempt.map(|a| a.id.clone()),
                at: attempt.map(|a| a.updated_at),
                deployed_by: attempt.and_then(|a| a.deployed_by.clone()),
                superseded_by: superseded,
            });
        }
        readiness.push(ReadinessRow {
            cells: cells.iter().map(|c| c.state).collect(),
            product_ever_completed: ever,
        });
        matrix_rows.push(MatrixRow {
            product_id: v.product_id.clone(),
            product_name: row.product_name.clone(),
            version: v.version.clone(),
            version_id: v.id.clone(),
            cells,
        });
    }

    let kinds: Vec<_> = columns.iter().map(Environment::kind).collect();
    let ready_to_complete = rules::ready_to_complete(&kinds, &readiness);
    let cell_states: Vec<&[CellState]> = readiness.iter().map(|r| r.cells.as_slice()).collect();
    let progress = columns
        .iter()
        .enumerate()
        .map(|(i, env)| ColumnProgress {
            environment: env.clone(),
            deployed: rules::deployed_count(&cell_states, i),
            total: rows.len(),
        })
        .collect();
    Ok(ReleaseMatrix {
        columns,
        rows: matrix_rows,
        progress,
        ready_to_complete,
    })
}

/// The version running in an environment: that of the deployment that completed last.
#[derive(Debug, Clone)]
pub struct Current {
    pub version_id: String,
    pub version: String,
    /// When that deployment completed (server time).
    pub completed_at: NaiveDateTime,
    pub deployment_id: String,
}

/// For each (product, environment) with a completed deployment, what runs there now: the
/// deployment that *finished* last, whatever order they started in (maintained by `heads`).
/// Rows are `(product id, environment id, current)`; `None` means every product. Callers
/// index them as suits them (by borrowed key here, by grid position in `state`).
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
        ))
        .into_boxed();
    if let Some(ids) = product_ids {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        query = query.filter(product_env_current::product_id.eq_any(ids));
    }
    let rows: Vec<(String, String, String, String, StoredTime, String)> = query.load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(p, e, version_id, version, completed_at, deployment_id)| {
            let current = Current {
                version_id,
                version,
                completed_at: completed_at.0,
                deployment_id,
            };
            (p, e, current)
        })
        .collect())
}
