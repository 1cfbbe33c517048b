//! Deployment history: filtered lists, one deployment with its event log.

use super::rows::{deployment_row, event_row};
use super::schema::{
    deployment_events, deployments, environments, products, release_versions, versions,
};
use super::{catalog, AnyConnection};
use crate::domain::deployment::{Deployment, LoggedEvent};
use crate::domain::DeploymentStatus;
use diesel::prelude::*;
use std::collections::HashMap;

/// A deployment with the names the API and the pages show next to it.
#[derive(Debug, Clone)]
pub struct DeploymentRow {
    pub deployment: Deployment,
    pub product_name: String,
    pub version: String,
    pub environment_name: String,
}

/// Filters of `GET /api/deployments/` and the deployments page.
#[derive(Debug, Clone, Default)]
pub struct DeploymentFilter {
    pub product: Option<String>,
    pub environment: Option<String>,
    pub status: Option<DeploymentStatus>,
    /// Only deployments of these versions (a release's).
    pub release_id: Option<String>,
    /// Only finished deployments (completed, failed, aborted): the deployments feed.
    pub terminal: bool,
    /// Pages that show no total (the dashboard) skip counting.
    pub skip_total: bool,
    pub limit: i64,
    pub offset: i64,
}

type Joined = (Deployment, String, String, String);

/// Deployments newest first, and the total before paging.
pub fn list(
    conn: &mut AnyConnection,
    f: &DeploymentFilter,
) -> QueryResult<(Vec<DeploymentRow>, i64)> {
    // Names are resolved to ids first, so that both the count and the page filter the
    // deployments table alone, on its own indexes, without joining a million rows.
    let product_id = match &f.product {
        Some(name) => match catalog::product_by_name(conn, name)? {
            Some(p) => Some(p.id),
            None => return Ok((Vec::new(), 0)),
        },
        None => None,
    };
    let environment_id = match &f.environment {
        Some(name) => match catalog::environment_by_name(conn, name)? {
            Some(e) => Some(e.id),
            None => return Ok((Vec::new(), 0)),
        },
        None => None,
    };
    let build = || {
        let mut q = deployments::table.into_boxed();
        if let Some(p) = &product_id {
            q = q.filter(deployments::product_id.eq(p.clone()));
        }
        if let Some(e) = &environment_id {
            q = q.filter(deployments::environment_id.eq(e.clone()));
        }
        if let Some(s) = f.status {
            q = q.filter(deployments::status.eq(s.as_str()));
        }
        if f.terminal {
            let terminal = DeploymentStatus::ALL
                .into_iter()
                .filter(|s| s.is_terminal())
                .map(DeploymentStatus::as_str);
            q = q.filter(deployments::status.eq_any(terminal));
        }
        if let Some(r) = &f.release_id {
            q = q.filter(
                deployments::version_id.eq_any(
                    release_versions::table
                        .filter(release_versions::release_id.eq(r.clone()))
                        .select(release_versions::version_id),
                ),
            );
        }
        q
    };
    let total = if f.skip_total {
        -1
    } else {
        build().count().get_result(conn)?
    };
    let page: Vec<Deployment> = build()
        .order((deployments::created_at.desc(), deployments::id.desc()))
        .limit(f.limit)
        .offset(f.offset)
        .select(deployment_row::COLUMNS)
        .load(conn)?;
    // The names of the page's rows, in two small lookups.
    let version_ids: Vec<&str> = page.iter().map(|d| d.version_id.as_str()).collect();
    let names: HashMap<String, (String, String)> = versions::table
        .inner_join(products::table)
        .filter(versions::id.eq_any(&version_ids))
        .select((versions::id, versions::version, products::name))
        .load::<(String, String, String)>(conn)?
        .into_iter()
        .map(|(id, v, p)| (id, (v, p)))
        .collect();
    let env_names: HashMap<String, String> = environments::table
        .select((environments::id, environments::name))
        .load::<(String, String)>(conn)?
        .into_iter()
        .collect();
    let rows = page
        .into_iter()
        .map(|d| {
            let (version, product_name) = names.get(&d.version_id).cloned().unwrap_or_default();
            let environment_name = env_names
                .get(&d.environment_id)
                .cloned()
                .unwrap_or_default();
            DeploymentRow {
                deployment: d,
                product_name,
                version,
                environment_name,
            }
        })
        .collect();
    Ok((rows, total))
}

fn to_row((deployment, product_name, version, environment_name): Joined) -> DeploymentRow {
    DeploymentRow {
        deployment,
        product_name,
        version,
        environment_name,
    }
}

pub fn get(conn: &mut AnyConnection, id: &str) -> QueryResult<Option<DeploymentRow>> {
    deployments::table
        .inner_join(products::table)
        .inner_join(versions::table)
        .inner_join(environments::table)
        .filter(deployments::id.eq(id))
        .select((
            deployment_row::COLUMNS,
            products::name,
            versions::version,
            environments::name,
        ))
        .first::<Joined>(conn)
        .optional()
        .map(|r| r.map(to_row))
}

/// The event log of one deployment, oldest first.
pub fn events(conn: &mut AnyConnection, deployment_id: &str) -> QueryResult<Vec<LoggedEvent>> {
    deployment_events::table
        .filter(deployment_events::deployment_id.eq(deployment_id))
        .order((
            deployment_events::created_at.asc(),
            deployment_events::id.asc(),
        ))
        .select(event_row::COLUMNS)
        .load(conn)
}
