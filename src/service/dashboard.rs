//! The dashboard's overview (`GET /`): active releases with their progress, what runs where,
//! and the latest deployments, in one read.

use super::matrix::{self, ReleaseMatrix};
use super::run;
use super::state::{self, StateMatrix};
use super::Context;
use crate::domain::{Error, ReleaseStatus};
use crate::store::deployments::{self, DeploymentFilter, DeploymentRow};
use crate::store::releases::{self, ReleaseFilter, ReleaseSummary};

pub struct Overview {
    /// The newest active (draft or in progress) releases, each with its matrix.
    pub active: Vec<(ReleaseSummary, ReleaseMatrix)>,
    pub active_total: i64,
    pub state: StateMatrix,
    pub latest: Vec<DeploymentRow>,
}

/// At most `active` active releases and `latest` deployments.
pub async fn overview(ctx: &Context, active: i64, latest: i64) -> Result<Overview, Error> {
    run::read(&ctx.db, move |conn| {
        let (rows, active_total) = releases::list(
            conn,
            &ReleaseFilter {
                statuses: vec![ReleaseStatus::InProgress, ReleaseStatus::Draft],
                limit: active,
                ..Default::default()
            },
        )?;
        let mut with_matrix = Vec::with_capacity(rows.len());
        for r in rows {
            let m = matrix::release_matrix(conn, &r.release.id)?;
            with_matrix.push((r, m));
        }
        let state = state::state_matrix(conn)?;
        let (latest, _) = deployments::list(
            conn,
            &DeploymentFilter {
                limit: latest,
                skip_total: true,
                ..Default::default()
            },
        )?;
        Ok(Overview {
            active: with_matrix,
            active_total,
            state,
            latest,
        })
    })
    .await
}
