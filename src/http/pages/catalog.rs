//! Products and environments pages, and the environment type/position form.

use super::dashboard::DeploymentView;
use super::form::FormErrors;
use super::views::{ago, iso, page_number, safe_link, short_sha, when, Pager};
use super::{clear_flash, path_id, render, see_other, Frame, PageError};
use crate::app::state::AppState;
use crate::domain::catalog::EnvironmentChanges;
use crate::domain::{Entity, EnvType, Error};
use crate::http::gate::{Actor, Catalog};
use crate::service::catalog::{self, ProductPaging};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;

pub struct ProductRow {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
}

#[derive(Template)]
#[template(path = "products.html")]
struct ProductsPage {
    frame: Frame,
    products: Vec<ProductRow>,
}

pub async fn products(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let rows = catalog::products(&state.ctx).await?;
    let page = ProductsPage {
        frame: Frame::new(&req, "products"),
        products: rows
            .into_iter()
            .map(|p| ProductRow {
                id: p.id,
                name: p.name,
                description: p.description,
            })
            .collect(),
    };
    Ok(clear_flash(&req, render(StatusCode::OK, &page)))
}

pub struct VersionRowView {
    pub version: String,
    pub planned: bool,
    /// The first 8 characters, and the whole SHA for `title`.
    pub short_sha: Option<String>,
    pub scm_sha: Option<String>,
    pub branch: Option<String>,
    pub build_url: Option<String>,
    pub created: String,
    /// The releases holding this version: (id, name, status, status label).
    pub releases: Vec<(String, String, &'static str, &'static str)>,
}

/// What runs in one environment now, and since when.
pub struct RunningView {
    pub environment: String,
    pub kind: &'static str,
    /// (version, since as read, since as `datetime`, how long ago, deployment id).
    pub now: Option<(String, String, String, String, String)>,
}

#[derive(Template)]
#[template(path = "product.html")]
struct ProductPage {
    frame: Frame,
    name: String,
    description: Option<String>,
    running: Vec<RunningView>,
    versions: Vec<VersionRowView>,
    versions_total: i64,
    versions_pager: Pager,
    latest: Vec<DeploymentView>,
    deployments_total: i64,
    pager: Pager,
}

const PRODUCT_VERSIONS_SHOWN: i64 = 50;
const PRODUCT_DEPLOYMENTS_SHOWN: i64 = 50;

#[derive(Debug, Deserialize)]
pub struct ProductQuery {
    /// The page of the deployment history.
    page: Option<String>,
    /// The page of the versions.
    versions: Option<String>,
}

pub async fn product(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
    query: web::Query<ProductQuery>,
) -> Result<HttpResponse, PageError> {
    let id = path_id(&id, Entity::Product)?;
    let page = page_number(query.page.as_deref());
    let versions_page = page_number(query.versions.as_deref());
    let paging = ProductPaging {
        versions_limit: PRODUCT_VERSIONS_SHOWN,
        versions_offset: (versions_page - 1) * PRODUCT_VERSIONS_SHOWN,
        deployments_limit: PRODUCT_DEPLOYMENTS_SHOWN,
        deployments_offset: (page - 1) * PRODUCT_DEPLOYMENTS_SHOWN,
    };
    let data = catalog::product_page(&state.ctx, id.clone(), paging).await?;
    let now = chrono::Utc::now().naive_utc();
    let mut releases = data.releases;
    let path = format!("/products/{id}");
    let view = ProductPage {
        frame: Frame::new(&req, "products"),
        name: data.product.name,
        description: data.product.description,
        running: data
            .running
            .into_iter()
            .map(|(env, current)| RunningView {
                kind: env.kind().as_str(),
                environment: env.name,
                now: current.map(|c| {
                    (
                        c.version,
                        when(c.completed_at),
                        iso(c.completed_at),
                        ago(c.completed_at, now),
                        c.deployment_id,
                    )
                }),
            })
            .collect(),
        versions: data
            .versions
            .into_iter()
            .map(|v| VersionRowView {
                releases: releases
                    .remove(&v.version.id)
                    .unwrap_or_default()
                    .into_iter()
                    .map(|r| {
                        let s = r.status();
                        (r.id, r.name, s.as_str(), s.label())
                    })
                    .collect(),
                version: v.version.version,
                planned: v.version.planned,
                short_sha: v
                    .version
                    .scm_sha
                    .as_deref()
                    .map(|s| short_sha(s).to_string()),
                scm_sha: v.version.scm_sha,
                branch: v.version.scm_branch,
                build_url: safe_link(v.version.build_url),
                created: when(v.version.created_at),
            })
            .collect(),
        versions_total: data.versions_total,
        versions_pager: Pager::new_named(
            &path,
            &format!("page={page}"),
            "versions",
            versions_page,
            PRODUCT_VERSIONS_SHOWN,
            data.versions_total,
        ),
        latest: data.deployments.iter().map(DeploymentView::from).collect(),
        deployments_total: data.deployments_total,
        pager: Pager::new_named(
            &path,
            &format!("versions={versions_page}"),
            "page",
            page,
            PRODUCT_DEPLOYMENTS_SHOWN,
            data.deployments_total,
        ),
    };
    Ok(clear_flash(&req, render(StatusCode::OK, &view)))
}

pub struct EnvironmentRow {
    pub id: String,
    pub name: String,
    pub kind: &'static str,
    pub position: i32,
    pub description: Option<String>,
    pub error: Option<String>,
}

#[derive(Template)]
#[template(path = "environments.html")]
struct EnvironmentsPage {
    frame: Frame,
    environments: Vec<EnvironmentRow>,
    types: Vec<&'static str>,
}

async fn environments_page(
    state: &AppState,
    frame: Frame,
    failed: Option<(String, String)>,
) -> Result<EnvironmentsPage, PageError> {
    let envs = catalog::environments(&state.ctx, None).await?;
    Ok(EnvironmentsPage {
        frame,
        environments: envs
            .into_iter()
            .map(|e| EnvironmentRow {
                error: failed
                    .as_ref()
                    .filter(|(id, _)| *id == e.id)
                    .map(|(_, msg)| msg.clone()),
                kind: e.kind().as_str(),
                id: e.id,
                name: e.name,
                position: e.position,
                description: e.description,
            })
            .collect(),
        types: EnvType::ALL.iter().map(|t| t.as_str()).collect(),
    })
}

pub async fn environments(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let page = environments_page(&state, Frame::new(&req, "environments"), None).await?;
    Ok(clear_flash(&req, render(StatusCode::OK, &page)))
}

#[derive(Debug, Deserialize)]
pub struct EnvironmentForm {
    #[serde(default, rename = "type")]
    kind: String,
    #[serde(default)]
    position: String,
}

pub async fn update_environment(
    _who: Actor<Catalog>,
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<String>,
    form: web::Form<EnvironmentForm>,
) -> Result<HttpResponse, PageError> {
    let id = path_id(&id, Entity::Environment)?;
    let attempt = async {
        let position =
            match form.position.trim() {
                "" => None,
                p => Some(p.parse::<i32>().map_err(|_| {
                    Error::invalid("position", "must be a whole number, e.g. 0, 1, 2")
                })?),
            };
        let kind = Some(form.kind.as_str()).filter(|k| !k.trim().is_empty());
        let changes = EnvironmentChanges::parse(None, kind, position, None)?;
        catalog::update_environment(&state.ctx, id.clone(), changes).await
    };
    match attempt.await {
        Ok(e) => Ok(see_other(
            &req,
            "/environments",
            &format!("Environment “{}” saved.", e.name),
        )),
        Err(e) => {
            let (status, errors) = FormErrors::from_error(e, "type")?;
            let msg = ["type", "position"]
                .iter()
                .filter_map(|f| errors.get(f).map(|m| format!("{f}: {m}")))
                .collect::<Vec<_>>()
                .join("; ");
            let page = environments_page(
                &state,
                Frame::without_flash(&req, "environments"),
                Some((id, msg)),
            )
            .await?;
            Ok(render(status, &page))
        }
    }
}
