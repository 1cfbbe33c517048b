//! Products and environments pages, and the environment type/position form.

use super::dashboard::DeploymentView;
use super::form::FormErrors;
use super::views::{safe_link, when};
use super::{clear_flash, path_id, render, see_other, Frame, PageError};
use crate::app::state::AppState;
use crate::domain::catalog::EnvironmentChanges;
use crate::domain::{Entity, EnvType, Error};
use crate::http::gate::{Actor, Catalog};
use crate::service::catalog;
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
    pub scm_sha: Option<String>,
    pub branch: Option<String>,
    pub build_url: Option<String>,
    pub created: String,
}

#[derive(Template)]
#[template(path = "product.html")]
struct ProductPage {
    frame: Frame,
    name: String,
    description: Option<String>,
    versions: Vec<VersionRowView>,
    versions_total: i64,
    latest: Vec<DeploymentView>,
}

const PRODUCT_VERSIONS_SHOWN: i64 = 50;
const PRODUCT_DEPLOYMENTS_SHOWN: i64 = 50;

pub async fn product(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let id = path_id(&id, Entity::Product)?;
    let data = catalog::product_page(
        &state.ctx,
        id,
        PRODUCT_VERSIONS_SHOWN,
        PRODUCT_DEPLOYMENTS_SHOWN,
    )
    .await?;
    let page = ProductPage {
        frame: Frame::new(&req, "products"),
        name: data.product.name,
        description: data.product.description,
        versions: data
            .versions
            .into_iter()
            .map(|v| VersionRowView {
                version: v.version.version,
                scm_sha: v.version.scm_sha,
                branch: v.version.scm_branch,
                build_url: safe_link(v.version.build_url),
                created: when(v.version.created_at),
            })
            .collect(),
        versions_total: data.versions_total,
        latest: data.deployments.iter().map(DeploymentView::from).collect(),
    };
    Ok(clear_flash(&req, render(StatusCode::OK, &page)))
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
