//! The environment state matrix (SPEC §5 `/api/state/`, the dashboard): for each product and
//! environment, the version running there now and, when newer, the latest attempt.

use super::catalog;
use super::matrix::{current_versions, Current};
use super::models::{Environment, Product};
use super::schema::{product_env_latest, versions};
use super::AnyConnection;
use crate::domain::matrix as rules;
use crate::domain::DeploymentStatus;
use chrono::NaiveDateTime;
use diesel::prelude::*;
use std::collections::HashMap;

#[derive(Debug, Clone)]
pub struct LatestAttempt {
    pub version: String,
    pub status: DeploymentStatus,
    pub at: NaiveDateTime,
}

#[derive(Debug, Clone)]
pub struct StateCell {
    pub environment_name: String,
    pub current: Option<Current>,
    /// The latest attempt, when it is newer than the current version's deployment.
    pub latest: Option<LatestAttempt>,
}

#[derive(Debug, Clone)]
pub struct StateRow {
    pub product: Product,
    pub cells: Vec<StateCell>,
    /// The environments that run something do not all run the same version.
    pub drift: bool,
}

#[derive(Debug, Clone)]
pub struct StateMatrix {
    pub columns: Vec<Environment>,
    pub rows: Vec<StateRow>,
}

pub fn state_matrix(conn: &mut AnyConnection) -> QueryResult<StateMatrix> {
    let columns = catalog::list_environments(conn, None)?;
    let products = catalog::list_products(conn)?;
    let product_ids: Vec<String> = products.iter().map(|p| p.id.clone()).collect();
    let current = current_versions(conn, &product_ids)?;
    let latest = latest_attempts(conn)?;

    let rows = products
        .into_iter()
        .map(|product| {
            let cells: Vec<StateCell> = columns
                .iter()
                .map(|env| {
                    let key = (product.id.clone(), env.id.clone());
                    let cur = current.get(&key).cloned();
                    let newer = latest
                        .get(&key)
                        .filter(|(id, _)| cur.as_ref().map(|c| &c.deployment_id) != Some(id));
                    StateCell {
                        environment_name: env.name.clone(),
                        latest: newer.map(|(_, a)| a.clone()),
                        current: cur,
                    }
                })
                .collect();
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

/// The latest attempt per (product, environment), keyed to its deployment id.
fn latest_attempts(
    conn: &mut AnyConnection,
) -> QueryResult<HashMap<(String, String), (String, LatestAttempt)>> {
    let rows: Vec<(String, String, String, String, String, NaiveDateTime)> =
        product_env_latest::table
            .inner_join(versions::table)
            .select((
                product_env_latest::product_id,
                product_env_latest::environment_id,
                product_env_latest::deployment_id,
                versions::version,
                product_env_latest::status,
                product_env_latest::created_at,
            ))
            .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(p, e, id, version, status, created_at)| {
            let attempt = LatestAttempt {
                version,
                status: DeploymentStatus::from_db(&status).unwrap_or(DeploymentStatus::Pending),
                at: created_at,
            };
            ((p, e), (id, attempt))
        })
        .collect())
}
