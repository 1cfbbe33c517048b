//! `GET /deployments`: recent deployments, filterable by product, environment and status;
//! `GET /deployments/{id}`: one deployment with its event log and the releases holding its
//! version; `GET /app/manage/deployments?view={id}`: Versioner's link to it (SPEC §6).

use super::dashboard::DeploymentView;
use super::views::{iso, page_number, pretty_json, safe_link, when, Pager};
use super::{clear_flash, path_id, render, Frame, PageError};
use crate::app::state::AppState;
use crate::domain::{validate, DeploymentStatus, Entity};
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
    let product = super::search_term("product", query.product.as_deref())?;
    let environment = super::search_term("environment", query.environment.as_deref())?;
    let status = DeploymentStatus::normalise(query.status.as_deref().unwrap_or(""));
    let page = page_number(query.page.as_deref());
    let filter = DeploymentFilter {
        product: (!product.is_empty()).then(|| product.clone()),
        environment: (!environment.is_empty()).then(|| environment.clone()),
        status,
        release_id: None,
        terminal: false,
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

/// One event of the log, as the deployment page lists it.
struct EventView {
    when: String,
    iso: String,
    reported: String,
    status: &'static str,
    applied: bool,
    payload: String,
}

/// A release holding the deployment's version.
struct HoldingRelease {
    id: String,
    name: String,
    status: &'static str,
    label: &'static str,
}

#[derive(Template)]
#[template(path = "deployment.html")]
struct DeploymentPage {
    frame: Frame,
    id: String,
    product: String,
    product_id: String,
    version: String,
    environment: String,
    status: &'static str,
    invoke_id: Option<String>,
    deployed_by: Option<String>,
    deployed_by_name: Option<String>,
    deployed_by_email: Option<String>,
    source_system: Option<String>,
    build_number: Option<String>,
    build_url: Option<String>,
    deploy_url: Option<String>,
    /// Label, human time, machine time.
    times: Vec<(&'static str, String, String)>,
    metadata: Option<String>,
    events: Vec<EventView>,
    releases: Vec<HoldingRelease>,
}

pub async fn show(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let id = path_id(&id, Entity::Deployment)?;
    let data = catalog::deployment_page(&state.ctx, id).await?;
    let d = data.row.deployment;
    let mut times = vec![("Reported", d.created_at), ("Last change", d.updated_at)];
    times.extend(d.started_at.map(|t| ("Started", t)));
    times.extend(d.completed_at.map(|t| ("Finished", t)));
    let page = DeploymentPage {
        frame: Frame::new(&req, "deployments"),
        product: data.row.product_name,
        product_id: d.product_id,
        version: data.row.version,
        environment: data.row.environment_name,
        status: d.status.as_str(),
        invoke_id: d.invoke_id,
        deployed_by: d.deployed_by,
        deployed_by_name: d.deployed_by_name,
        deployed_by_email: d.deployed_by_email,
        source_system: d.source_system,
        build_number: d.build_number,
        build_url: safe_link(d.build_url),
        deploy_url: safe_link(d.deploy_url),
        times: times
            .into_iter()
            .map(|(label, t)| (label, when(t), iso(t)))
            .collect(),
        metadata: pretty_json(&d.extra_metadata),
        events: data
            .events
            .iter()
            .map(|e| EventView {
                when: when(e.created_at),
                iso: iso(e.created_at),
                reported: e.reported_status.clone(),
                status: e.status.as_str(),
                applied: e.applied,
                payload: pretty_json(&e.payload).unwrap_or_else(|| e.payload.clone()),
            })
            .collect(),
        releases: data
            .releases
            .into_iter()
            .map(|r| {
                let status = r.status();
                HoldingRelease {
                    id: r.id,
                    name: r.name,
                    status: status.as_str(),
                    label: status.label(),
                }
            })
            .collect(),
        id: d.id,
    };
    Ok(clear_flash(&req, render(StatusCode::OK, &page)))
}

#[derive(Debug, Deserialize)]
pub struct VersionerView {
    view: Option<String>,
}

/// `GET /app/manage/deployments?view={id}`: the link Versioner's GitHub Action prints in its
/// job summary. A 303 to the deployment's page; without a usable id, to the deployments list.
pub async fn versioner_link(query: web::Query<VersionerView>) -> HttpResponse {
    let to = match query.view.as_deref().and_then(validate::id) {
        Some(id) => format!("/deployments/{id}"),
        None => "/deployments".to_string(),
    };
    HttpResponse::SeeOther()
        .insert_header((actix_web::http::header::LOCATION, to))
        .finish()
}
