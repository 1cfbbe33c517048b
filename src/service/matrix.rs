//! The release matrix (SPEC §4): loads what the domain rules need in a fixed number of
//! queries from the read models, whatever the size of the release, then lets `domain::matrix`
//! decide every cell, the progress and the readiness.

use crate::domain::catalog::Environment;
use crate::domain::matrix::{self as rules, ReadinessRow, Running};
use crate::domain::{CellState, DeploymentStatus};
use crate::store::catalog::{self, VersionRow};
use crate::store::read_models::{self, Current, Head};
use crate::store::{releases, AnyConnection};
use chrono::NaiveDateTime;
use diesel::QueryResult;
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
    /// The version running there now, when this deployed version no longer does.
    pub superseded_by: Option<String>,
    /// That version is older: the environment was rolled back (not counted as deployed).
    pub rolled_back: bool,
}

#[derive(Debug, Clone)]
pub struct MatrixRow {
    pub product_id: String,
    pub product_name: String,
    pub version: String,
    pub version_id: String,
    /// Added to a release before any pipeline reported it (SPEC §4).
    pub planned: bool,
    /// Deployed in each of its product's production targets (`domain::matrix`).
    pub at_production_targets: bool,
    /// Per column: has this row's product ever completed a deployment there?
    pub product_ever_completed: Vec<bool>,
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

/// Loads and builds the matrix of one release.
pub fn release_matrix(conn: &mut AnyConnection, release_id: &str) -> QueryResult<ReleaseMatrix> {
    let columns = catalog::list_environments(conn, None)?;
    let rows = releases::versions(conn, release_id)?;
    build(conn, columns, rows)
}

fn build(
    conn: &mut AnyConnection,
    columns: Vec<Environment>,
    rows: Vec<VersionRow>,
) -> QueryResult<ReleaseMatrix> {
    let version_ids: Vec<String> = rows.iter().map(|r| r.version.id.clone()).collect();
    let product_ids: Vec<String> = rows.iter().map(|r| r.version.product_id.clone()).collect();

    // Latest non-aborted attempt of each (version, environment), maintained by the writes.
    let attempts: Vec<Head> = read_models::heads_of(conn, &version_ids)?;
    let latest: HashMap<(&str, &str), &Head> = attempts
        .iter()
        .map(|a| ((a.version_id.as_str(), a.environment_id.as_str()), a))
        .collect();

    let current = read_models::current_versions(conn, Some(&product_ids))?;
    // Looked up by borrowed keys: no key strings allocated per cell.
    let current: HashMap<(&str, &str), &Current> = current
        .iter()
        .map(|(p, e, c)| ((p.as_str(), e.as_str()), c))
        .collect();

    let kinds: Vec<_> = columns.iter().map(Environment::kind).collect();
    let mut matrix_rows = Vec::with_capacity(rows.len());
    let mut readiness = Vec::with_capacity(rows.len());
    for row in &rows {
        let v = &row.version;
        let mut cells = Vec::with_capacity(columns.len());
        let mut ever = Vec::with_capacity(columns.len());
        let mut deployed = Vec::with_capacity(columns.len());
        for env in &columns {
            let attempt = latest.get(&(v.id.as_str(), env.id.as_str())).copied();
            let state =
                CellState::from_latest(attempt.and_then(|a| DeploymentStatus::from_db(&a.status)));
            let now_running = current
                .get(&(v.product_id.as_str(), env.id.as_str()))
                .copied();
            ever.push(now_running.is_some());
            let superseded = rules::superseded(
                state,
                &v.id,
                &v.created_at,
                // A deployed cell's attempt is completed: its updated_at is its completion.
                attempt.map(|a| &a.updated_at),
                now_running.map(|c| Running {
                    version_id: &c.version_id,
                    version: &c.version,
                    completed_at: &c.completed_at,
                    first_seen: &c.first_seen,
                }),
            );
            deployed.push(rules::counts_as_deployed(state, superseded.as_ref()));
            cells.push(MatrixCell {
                environment_name: env.name.clone(),
                state,
                deployment_id: attempt.map(|a| a.deployment_id.clone()),
                at: attempt.map(|a| a.updated_at),
                deployed_by: attempt.and_then(|a| a.deployed_by.clone()),
                superseded_by: superseded.map(|s| s.by.to_string()),
                rolled_back: superseded.is_some_and(|s| s.rolled_back),
            });
        }
        let row_readiness = ReadinessRow {
            deployed,
            product_ever_completed: ever,
        };
        let at_production_targets = rules::at_production_targets(&kinds, &row_readiness);
        let product_ever_completed = row_readiness.product_ever_completed.clone();
        readiness.push(row_readiness);
        matrix_rows.push(MatrixRow {
            product_id: v.product_id.clone(),
            product_name: row.product_name.clone(),
            version: v.version.clone(),
            version_id: v.id.clone(),
            planned: v.planned,
            at_production_targets,
            product_ever_completed,
            cells,
        });
    }

    let ready_to_complete = rules::ready_to_complete(&kinds, &readiness);
    let progress = columns
        .iter()
        .enumerate()
        .map(|(i, env)| ColumnProgress {
            environment: env.clone(),
            deployed: rules::deployed_count(&readiness, i),
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
