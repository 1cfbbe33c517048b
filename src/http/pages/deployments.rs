//! `GET /deployments`: recent deployments, filterable by product, environment and status.

use super::dashboard::DeploymentView;
use super::views::{page_number, Pager};
use super::{clear_flash, render, Frame, PageError};
use crate::app::state::AppState;
use crate::domain::DeploymentStatus;
use crate::http::query_escape;
use crate::service::catalog::{self, DeploymentFilter};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;

const PER_PAGE: i64 = 50;

#[derive(Debug, Deserialize)]
pub struct Filters {
    product: Option<String>,
    environment: Option<String>,
    status: Option<String>,
    page: Option<String>,
}

#[derive(Template)]
#[template(path = "deployments.html")]
struct DeploymentsPage {
    frame: Frame,
    product: String,
    environment: String,
    status: String,
    products: Vec<String>,
    environments: Vec<String>,
    statuses: Vec<&'static str>,
    latest: Vec<DeploymentView>,
    total: i64,
    pager: Pager,
}

pub async fn list(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: web::Query<Filters>,
) -> Result<HttpResponse, PageError> {
    let clean = |s: &Option<String>| s.as_deref().unwrap_or("").trim().to_string();
    let (product, environment) = (clean(&query.product), clean(&query.environment));
    let status = DeploymentStatus::normalise(&clean(&query.status));
    let page = page_number(query.page.as_deref());
    let filter = DeploymentFilter {
        product: (!product.is_empty()).then(|| product.clone()),
        environment: (!environment.is_empty()).then(|| environment.clone()),
        status,
        release_id: None,
        skip_total: false,
        limit: PER_PAGE,
        offset: (page - 1) * PER_PAGE,
    };
    let (rows, total) = catalog::deployments(&state.ctx, filter).await?;
    let (products, environments) = catalog::names(&state.ctx).await?;
    let mut base = Vec::new();
    if !product.is_empty() {
        base.push(format!("product={}", query_escape(&product)));
    }
    if !environment.is_empty() {
        base.push(format!("environment={}", query_escape(&environment)));
    }
    if let Some(s) = status {
        base.push(format!("status={}", s.as_str()));
    }
    let page_view = DeploymentsPage {
        frame: Frame::new(&req, "deployments"),
        product,
        environment,
        status: status.map(|s| s.as_str().to_string()).unwrap_or_default(),
        products,
        environments,
        statuses: DeploymentStatus::ALL.iter().map(|s| s.as_str()).collect(),
        latest: rows.iter().map(DeploymentView::from).collect(),
        total,
        pager: Pager::new("/deployments", &base.join("&"), page, PER_PAGE, total),
    };
    Ok(clear_flash(&req, render(StatusCode::OK, &page_view)))
}
