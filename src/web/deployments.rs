//! `GET /deployments`: recent deployments, filterable by product, environment and status.

use super::dashboard::DeploymentView;
use super::views::{page_number, query_escape, Pager};
use super::{clear_flash, render, Frame, WebError};
use crate::db::catalog;
use crate::db::deployments::{self as deployments_db, DeploymentFilter};
use crate::domain::DeploymentStatus;
use crate::startup::AppState;
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
) -> Result<HttpResponse, WebError> {
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
    let (rows, total, products, environments) = state
        .db
        .read(move |conn| {
            let (rows, total) = deployments_db::list(conn, &filter)?;
            let products = catalog::list_products(conn)?
                .into_iter()
                .map(|p| p.name)
                .collect();
            let envs = catalog::list_environments(conn, None)?
                .into_iter()
                .map(|e| e.name)
                .collect();
            Ok((rows, total, products, envs))
        })
        .await?;
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
