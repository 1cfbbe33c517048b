//! `GET /api/state/` (the environment state matrix) and `GET /api/health`.

use super::error::ApiError;
use super::json::EnvironmentOut;
use crate::app::state::AppState;
use crate::domain::DeploymentStatus;
use crate::http::utc;
use crate::service::catalog;
use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

// The state matrix answer borrows from the loaded matrix: at 1,000 products × 20 environments
// it has 20,000 cells, and copying their strings once more only to serialize them cost more than
// loading them.

#[derive(Debug, Serialize, ToSchema)]
pub struct LatestAttemptOut<'a> {
    pub version: &'a str,
    pub status: DeploymentStatus,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StateCellOut<'a> {
    pub environment_name: &'a str,
    /// The version of the most recent completed deployment, if any.
    pub current_version: Option<&'a str>,
    pub current_version_id: Option<&'a str>,
    pub deployed_at: Option<DateTime<Utc>>,
    /// The latest attempt, when it is newer than the current version's deployment.
    pub latest: Option<LatestAttemptOut<'a>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StateRowOut<'a> {
    pub product_id: &'a str,
    pub product_name: &'a str,
    /// Production runs other versions than the last stage before it (SPEC §6).
    pub drift: bool,
    pub cells: Vec<StateCellOut<'a>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StateOut<'a> {
    pub environments: Vec<EnvironmentOut>,
    pub products: Vec<StateRowOut<'a>>,
}

#[utoipa::path(get, path = "/api/state/", tag = "state", responses((status = 200, body = StateOut)))]
pub async fn get_state(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let m = catalog::state(&state.ctx).await?;
    let out = StateOut {
        environments: m.columns.iter().map(EnvironmentOut::from).collect(),
        products: m
            .rows
            .iter()
            .map(|r| StateRowOut {
                product_id: &r.product.id,
                product_name: &r.product.name,
                drift: r.drift,
                cells: m
                    .columns
                    .iter()
                    .zip(&r.cells)
                    .map(|(env, c)| StateCellOut {
                        environment_name: &env.name,
                        current_version: c.current.as_ref().map(|c| c.version.as_str()),
                        current_version_id: c.current.as_ref().map(|c| c.version_id.as_str()),
                        deployed_at: c.current.as_ref().map(|c| utc(c.completed_at)),
                        latest: c.latest.as_ref().map(|l| LatestAttemptOut {
                            version: &l.version,
                            status: l.status,
                            at: utc(l.at),
                        }),
                    })
                    .collect(),
            })
            .collect(),
    };
    Ok(HttpResponse::Ok().json(out))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HealthOut {
    pub status: String,
    /// sqlite or postgres.
    pub database: String,
}

#[utoipa::path(get, path = "/api/health", tag = "state",
    responses((status = 200, body = HealthOut), (status = 503, description = "database unreachable")))]
pub async fn health(state: web::Data<AppState>) -> HttpResponse {
    let (backend, reachable) = catalog::health(&state.ctx).await;
    let body = HealthOut {
        status: if reachable { "ok" } else { "unavailable" }.into(),
        database: backend.as_str().into(),
    };
    if reachable {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}
