//! Deployment history: filtered lists, one deployment with its event log.

use super::models::{Deployment, DeploymentEvent};
use super::schema::{
    deployment_events, deployments, environments, products, release_versions, versions,
};
use super::AnyConnection;
use crate::domain::DeploymentStatus;
use diesel::prelude::*;

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
    pub limit: i64,
    pub offset: i64,
}

type Joined = (Deployment, String, String, String);

/// Deployments newest first, and the total before paging.
pub fn list(
    conn: &mut AnyConnection,
    f: &DeploymentFilter,
) -> QueryResult<(Vec<DeploymentRow>, i64)> {
    let build = || {
        let mut q = deployments::table
            .inner_join(products::table)
            .inner_join(versions::table)
            .inner_join(environments::table)
            .into_boxed();
        if let Some(p) = &f.product {
            q = q.filter(products::name.eq(p.clone()));
        }
        if let Some(e) = &f.environment {
            q = q.filter(environments::name.eq(e.clone()));
        }
        if let Some(s) = f.status {
            q = q.filter(deployments::status.eq(s.as_str()));
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
    let total = build().count().get_result(conn)?;
    let rows: Vec<Joined> = build()
        .order((deployments::created_at.desc(), deployments::id.desc()))
        .limit(f.limit)
        .offset(f.offset)
        .select((
            Deployment::as_select(),
            products::name,
            versions::version,
            environments::name,
        ))
        .load(conn)?;
    Ok((rows.into_iter().map(to_row).collect(), total))
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
            Deployment::as_select(),
            products::name,
            versions::version,
            environments::name,
        ))
        .first::<Joined>(conn)
        .optional()
        .map(|r| r.map(to_row))
}

/// The event log of one deployment, oldest first.
pub fn events(conn: &mut AnyConnection, deployment_id: &str) -> QueryResult<Vec<DeploymentEvent>> {
    deployment_events::table
        .filter(deployment_events::deployment_id.eq(deployment_id))
        .order((
            deployment_events::created_at.asc(),
            deployment_events::id.asc(),
        ))
        .select(DeploymentEvent::as_select())
        .load(conn)
}
