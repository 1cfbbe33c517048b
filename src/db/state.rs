//! The environment state matrix (SPEC §5 `/api/state/`, the dashboard): for each product and
//! environment, the version running there now and, when newer, the latest attempt.

use super::catalog;
use super::matrix::{current_versions, Current};
use super::models::{Environment, Product};
use super::schema::{product_env_current, product_env_latest, versions};
use super::time::StoredTime;
use super::AnyConnection;
use crate::domain::matrix as rules;
use crate::domain::DeploymentStatus;
use chrono::NaiveDateTime;
use diesel::dsl::{exists, not};
use diesel::prelude::*;
use std::collections::HashMap;

#[derive(Debug, Clone)]
pub struct LatestAttempt {
    pub version: String,
    pub status: DeploymentStatus,
    pub at: NaiveDateTime,
}

/// One cell; its environment is the column of the same index in [`StateMatrix::columns`].
#[derive(Debug, Clone, Default)]
pub struct StateCell {
    pub current: Option<Current>,
    /// The latest attempt, when it is newer than the current version's deployment.
    pub latest: Option<LatestAttempt>,
}

#[derive(Debug, Clone)]
pub struct StateRow {
    pub product: Product,
    /// One per column, in column order.
    pub cells: Vec<StateCell>,
    /// The environments that run something do not all run the same version.
    pub drift: bool,
}

#[derive(Debug, Clone)]
pub struct StateMatrix {
    pub columns: Vec<Environment>,
    pub rows: Vec<StateRow>,
}

/// The whole matrix in four queries. Cells are filled in place in a products × environments
/// grid addressed by position, so the 20,000 cells of a 1,000 × 20 matrix cost no key
/// allocations and no clones: each loaded row moves into its cell.
pub fn state_matrix(conn: &mut AnyConnection) -> QueryResult<StateMatrix> {
    let columns = catalog::list_environments(conn, None)?;
    let products = catalog::list_products(conn)?;
    let width = columns.len();
    let mut grid: Vec<StateCell> = Vec::new();
    grid.resize_with(products.len() * width, StateCell::default);
    {
        let env_at: HashMap<&str, usize> = columns
            .iter()
            .enumerate()
            .map(|(i, e)| (e.id.as_str(), i))
            .collect();
        let product_at: HashMap<&str, usize> = products
            .iter()
            .enumerate()
            .map(|(i, p)| (p.id.as_str(), i))
            .collect();
        let slot = |p: &str, e: &str| Some(product_at.get(p)? * width + env_at.get(e)?);

        for (p, e, current) in current_versions(conn, None)? {
            if let Some(i) = slot(&p, &e) {
                grid[i].current = Some(current);
            }
        }

        // The latest attempt is shown only when it is not what runs there; the database
        // leaves those out, so the usual cell (its latest attempt completed and runs now)
        // costs no row here at all.
        let runs_there = exists(
            product_env_current::table
                .filter(product_env_current::product_id.eq(product_env_latest::product_id))
                .filter(product_env_current::environment_id.eq(product_env_latest::environment_id))
                .filter(product_env_current::deployment_id.eq(product_env_latest::deployment_id)),
        );
        let latest: Vec<(String, String, String, String, StoredTime)> = product_env_latest::table
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
        for (p, e, version, status, created_at) in latest {
            if let Some(i) = slot(&p, &e) {
                grid[i].latest = Some(LatestAttempt {
                    version,
                    status: DeploymentStatus::from_db(&status).unwrap_or(DeploymentStatus::Pending),
                    at: created_at.0,
                });
            }
        }
    }

    let mut cells = grid.into_iter();
    let rows = products
        .into_iter()
        .map(|product| {
            let cells: Vec<StateCell> = cells.by_ref().take(width).collect();
            let drift = rules::drift(
                cells
                    .iter()
                    .filter_map(|c| c.current.as_ref().map(|c| c.version_id.as_str())),
            );
            StateRow {
                product,
                cells,
                drift,
            }
        })
        .collect();
    Ok(StateMatrix { columns, rows })
}
