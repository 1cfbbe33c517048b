//! The environment state matrix (SPEC §5 `/api/state/`, the dashboard): for each product and
//! environment, the version running there now and, when newer, the latest attempt.

use crate::domain::catalog::{Environment, Product};
use crate::domain::matrix as rules;
use crate::store::read_models;

pub use crate::store::read_models::{Current, LatestAttempt};
use crate::store::{catalog, AnyConnection};
use diesel::QueryResult;
use std::collections::HashMap;

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
    /// Production runs other versions than the last stage before it (`domain::matrix::drift`).
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

        for (p, e, current) in read_models::current_versions(conn, None)? {
            if let Some(i) = slot(&p, &e) {
                grid[i].current = Some(current);
            }
        }
        // The latest attempt is shown only when it is not what runs there.
        for (p, e, attempt) in read_models::attempts_not_running(conn)? {
            if let Some(i) = slot(&p, &e) {
                grid[i].latest = Some(attempt);
            }
        }
    }

    let kinds: Vec<_> = columns.iter().map(Environment::kind).collect();
    let mut cells = grid.into_iter();
    let rows = products
        .into_iter()
        .map(|product| {
            let cells: Vec<StateCell> = cells.by_ref().take(width).collect();
            let running: Vec<Option<&str>> = cells
                .iter()
                .map(|c| c.current.as_ref().map(|c| c.version_id.as_str()))
                .collect();
            let drift = rules::drift(&kinds, &running);
            StateRow {
                product,
                cells,
                drift,
            }
        })
        .collect();
    Ok(StateMatrix { columns, rows })
}
