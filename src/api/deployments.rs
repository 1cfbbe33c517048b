//! `GET /api/deployments/` and `GET /api/deployments/{id}` (SPEC §5).

use super::extract::{path_id, Checker};
use super::json::{DeploymentDetailOut, DeploymentOut, EventOut};
use super::Page;
use crate::db::deployments::{self, DeploymentFilter};
use crate::domain::DeploymentStatus;
use crate::error::AppError;
use crate::startup::AppState;
use actix_web::{web, HttpResponse};
use serde::Deserialize;
use utoipa::IntoParams;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/deployments", web::get().to(list))
        .route("/deployments/{id}", web::get().to(detail));
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct DeploymentQuery {
    pub product: Option<String>,
    pub environment: Option<String>,
    /// A canonical status or any alias of one.
    pub status: Option<String>,
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

/// Validates the filters shared by the API and the deployments page.
pub fn filter_from(q: &DeploymentQuery) -> Result<DeploymentFilter, AppError> {
    let mut c = Checker::default();
    let status = match q.status.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(s) => Some(
            c.check(
                "status",
                DeploymentStatus::normalise(s)
                    .ok_or_else(|| format!("unknown status '{s}'"))
                    .map(Some),
            ),
        ),
    }
    .flatten();
    let page = Page::checked(&mut c, q.limit, q.offset);
    c.finish().map_err(super::as_query_error)?;
    let nonempty = |s: &Option<String>| {
        s.as_ref()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
    };
    Ok(DeploymentFilter {
        product: nonempty(&q.product),
        environment: nonempty(&q.environment),
        status,
        release_id: None,
        skip_total: false,
        limit: page.limit,
        offset: page.offset,
    })
}

#[utoipa::path(get, path = "/api/deployments/", tag = "deployments", params(DeploymentQuery),
    responses((status = 200, body = Vec<DeploymentOut>, headers(("X-Total-Count" = i64)))))]
pub async fn list(
    state: web::Data<AppState>,
    query: web::Query<DeploymentQuery>,
) -> Result<HttpResponse, AppError> {
    let filter = filter_from(&query)?;
    let (rows, total) = state
        .db
        .read(move |conn| Ok(deployments::list(conn, &filter)?))
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header(("X-Total-Count", total.to_string()))
        .json(
            rows.iter()
                .map(|r| DeploymentOut::from_row(r, None))
                .collect::<Vec<_>>(),
        ))
}

#[utoipa::path(get, path = "/api/deployments/{id}", tag = "deployments",
    responses((status = 200, body = DeploymentDetailOut), (status = 404)))]
pub async fn detail(
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let id = path_id(&id, "deployment")?;
    let out = state
        .db
        .read(move |conn| {
            let row =
                deployments::get(conn, &id)?.ok_or_else(|| AppError::not_found("deployment"))?;
            let events = deployments::events(conn, &id)?;
            Ok(DeploymentDetailOut {
                deployment: DeploymentOut::from_row(&row, None),
                events: events.iter().map(EventOut::from).collect(),
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(out))
}
