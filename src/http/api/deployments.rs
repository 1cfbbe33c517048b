//! `GET /api/deployments/` and `GET /api/deployments/{id}` (SPEC §5).

use super::error::ApiError;
use super::extract::path_id;
use super::json::{DeploymentDetailOut, DeploymentOut, EventOut};
use super::{listed, Page};
use crate::app::state::AppState;
use crate::domain::deployment::parse_status;
use crate::domain::validate::{self, Checker};
use crate::domain::Entity;
use crate::service::catalog::{self, DeploymentFilter};
use actix_web::{web, HttpResponse};
use serde::Deserialize;
use utoipa::IntoParams;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeploymentQuery {
    pub product: Option<String>,
    pub environment: Option<String>,
    /// A canonical status or any alias of one.
    pub status: Option<String>,
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

impl DeploymentQuery {
    fn filter(&self) -> Result<DeploymentFilter, ApiError> {
        let mut c = Checker::default();
        let status = c
            .check("status", validate::search_term(self.status.as_deref()))
            .map(|s| parse_status(&mut c, &s, "pending, started, completed, failed or aborted"));
        let page = Page::checked(&mut c, self.limit, self.offset);
        let product = c.check("product", validate::search_term(self.product.as_deref()));
        let environment = c.check(
            "environment",
            validate::search_term(self.environment.as_deref()),
        );
        c.finish(()).map_err(ApiError::in_query)?;
        Ok(DeploymentFilter {
            product,
            environment,
            status,
            release_id: None,
            terminal: false,
            skip_total: false,
            limit: page.limit,
            offset: page.offset,
        })
    }
}

#[utoipa::path(get, path = "/api/deployments/", tag = "deployments", params(DeploymentQuery),
    responses((status = 200, body = Vec<DeploymentOut>, headers(("X-Total-Count" = i64)))))]
pub async fn list(
    state: web::Data<AppState>,
    query: web::Query<DeploymentQuery>,
) -> Result<HttpResponse, ApiError> {
    let (rows, total) = catalog::deployments(&state.ctx, query.filter()?).await?;
    Ok(listed(
        rows.iter()
            .map(|r| DeploymentOut::from_row(r, None))
            .collect(),
        total,
    ))
}

#[utoipa::path(get, path = "/api/deployments/{id}", tag = "deployments", params(("id" = uuid::Uuid, Path, description = "the deployment's id")),
    responses((status = 200, body = DeploymentDetailOut), (status = 404)))]
pub async fn detail(
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let (row, events) = catalog::deployment(&state.ctx, path_id(&id, Entity::Deployment)?).await?;
    Ok(HttpResponse::Ok().json(DeploymentDetailOut {
        deployment: DeploymentOut::from_row(&row, None),
        events: events.iter().map(EventOut::from).collect(),
    }))
}
