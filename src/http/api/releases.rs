//! The releases API (SPEC §4): lifecycle, composition, matrix, audit trail.

use super::error::ApiError;
use super::extract::{double_option, path_id, JsonBody};
use super::json::{
    AuditOut, DeploymentOut, ExportOut, MatrixOut, ProgressOut, ReleaseDetailOut, ReleaseOut,
    VersionOut,
};
use super::{listed, Page};
use crate::app::state::AppState;
use crate::domain::release::{
    parse_status, NewRelease, Placement, RawNewRelease, RawReleaseChanges, ReleaseChanges,
    VersionRef,
};
use crate::domain::validate::{self, Checker};
use crate::domain::{Entity, Error};
use crate::http::gate::{Actor, Releases};
use crate::service::releases::{self, ReleaseFilter};
use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Deserialize, ToSchema)]
pub struct ReleaseIn {
    pub name: String,
    pub description: Option<String>,
    /// draft (default), in_progress, completed or cancelled.
    pub status: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub extra_metadata: Option<Value>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ReleasePatch {
    pub name: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub description: Option<Option<String>>,
    pub status: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub extra_metadata: Option<Value>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct AddVersionIn {
    pub version_id: Option<String>,
    pub product_name: Option<String>,
    pub version: Option<String>,
}

/// The version to set for the product of the path: `version_id`, or `version` (a version of
/// that product; created as planned when no pipeline has reported it yet).
#[derive(Debug, Deserialize, ToSchema)]
pub struct PlaceVersionIn {
    pub version_id: Option<String>,
    pub version: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// draft, in_progress, completed or cancelled.
    pub status: Option<String>,
    /// Name contains, ignoring case in any script.
    pub q: Option<String>,
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

fn release_id(raw: &str) -> Result<String, ApiError> {
    path_id(raw, Entity::Release)
}

#[utoipa::path(post, path = "/api/releases/", tag = "releases", request_body = ReleaseIn,
    responses((status = 201, body = ReleaseOut), (status = 409, description = "name taken"), (status = 422)))]
pub async fn create(
    actor: Actor<Releases>,
    state: web::Data<AppState>,
    body: JsonBody<ReleaseIn>,
) -> Result<HttpResponse, ApiError> {
    let b = &body.value;
    let new = NewRelease::parse(&RawNewRelease {
        name: &b.name,
        description: b.description.as_deref(),
        status: b.status.as_deref(),
        extra_metadata: b.extra_metadata.as_ref(),
    })?;
    let created = releases::create(&state.ctx, new, actor.name()).await?;
    Ok(HttpResponse::Created().json(ReleaseOut::from(&created)))
}

#[utoipa::path(get, path = "/api/releases/", tag = "releases", params(ListQuery),
    responses((status = 200, body = Vec<ReleaseOut>, headers(("X-Total-Count" = i64)))))]
pub async fn list(
    state: web::Data<AppState>,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = query.into_inner();
    let mut c = Checker::default();
    let statuses = match q.status.as_deref().map(str::trim) {
        Some(s) if !s.is_empty() => vec![parse_status(&mut c, s)],
        _ => vec![],
    };
    let page = Page::checked(&mut c, q.limit, q.offset);
    let name_contains = c.check("q", validate::search_term(q.q.as_deref()));
    c.finish(()).map_err(ApiError::in_query)?;
    let filter = ReleaseFilter {
        statuses,
        name_contains,
        limit: page.limit,
        offset: page.offset,
        by_completion: false,
    };
    let (rows, total) = releases::list(&state.ctx, filter).await?;
    Ok(listed(rows.iter().map(ReleaseOut::from).collect(), total))
}

#[utoipa::path(get, path = "/api/releases/{id}", tag = "releases", params(("id" = uuid::Uuid, Path, description = "the release's id")),
    responses((status = 200, body = ReleaseDetailOut), (status = 404)))]
pub async fn detail(
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let d = releases::detail(&state.ctx, release_id(&id)?).await?;
    Ok(HttpResponse::Ok().json(ReleaseDetailOut {
        release: ReleaseOut::from(&d.summary),
        versions: d.versions.iter().map(VersionOut::from).collect(),
        progress: ProgressOut::from(&d.matrix),
    }))
}

#[utoipa::path(patch, path = "/api/releases/{id}", tag = "releases", params(("id" = uuid::Uuid, Path, description = "the release's id")), request_body = ReleasePatch,
    responses((status = 200, body = ReleaseOut), (status = 404), (status = 409, description = "archived or name taken"), (status = 422)))]
pub async fn update(
    actor: Actor<Releases>,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: JsonBody<ReleasePatch>,
) -> Result<HttpResponse, ApiError> {
    let id = release_id(&id)?;
    let b = &body.value;
    let changes = ReleaseChanges::parse(&RawReleaseChanges {
        name: b.name.as_deref(),
        description: b.description.as_ref().map(|d| d.as_deref()),
        status: b.status.as_deref(),
        extra_metadata: b.extra_metadata.as_ref(),
    })?;
    let updated = releases::update(&state.ctx, id, changes, actor.name()).await?;
    Ok(HttpResponse::Ok().json(ReleaseOut::from(&updated)))
}

#[utoipa::path(post, path = "/api/releases/{id}/versions", tag = "releases", params(("id" = uuid::Uuid, Path, description = "the release's id")), request_body = AddVersionIn,
    responses((status = 201, description = "added", body = VersionOut), (status = 200, description = "already there", body = VersionOut),
        (status = 404), (status = 409, description = "another version of the product is there, or the release is archived")))]
pub async fn add_version(
    actor: Actor<Releases>,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: JsonBody<AddVersionIn>,
) -> Result<HttpResponse, ApiError> {
    let id = release_id(&id)?;
    let b = &body.value;
    let which = VersionRef::parse(
        b.version_id.as_deref(),
        b.product_name.as_deref(),
        b.version.as_deref(),
    )?;
    let (row, added) = releases::add_version(&state.ctx, id, which, actor.name()).await?;
    let out = VersionOut::from(&row);
    Ok(if added {
        HttpResponse::Created().json(out)
    } else {
        HttpResponse::Ok().json(out)
    })
}

#[utoipa::path(put, path = "/api/releases/{id}/products/{product_name}", tag = "releases",
    params(("id" = uuid::Uuid, Path, description = "the release's id"), ("product_name" = String, Path, description = "the product whose version is set")),
    request_body = PlaceVersionIn,
    responses((status = 200, description = "replaced, or already that version", body = VersionOut), (status = 201, description = "the product was not in the release: added", body = VersionOut),
        (status = 404), (status = 409, description = "the release is archived"), (status = 422, description = "no version given, or a version of another product")))]
pub async fn place_version(
    actor: Actor<Releases>,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    body: JsonBody<PlaceVersionIn>,
) -> Result<HttpResponse, ApiError> {
    let (id, product) = path.into_inner();
    let id = release_id(&id)?;
    let b = &body.value;
    // The product of the path names the version when it is given as a string, and a
    // version given by id must be one of its versions.
    let product = validate::name(&product).map_err(|m| Error::invalid("product_name", m))?;
    let which = VersionRef::parse(
        b.version_id.as_deref(),
        Some(&product),
        b.version.as_deref(),
    )?;
    let (row, placement) =
        releases::place_version(&state.ctx, id, product, which, actor.name()).await?;
    let out = VersionOut::from(&row);
    Ok(match placement {
        Placement::Added => HttpResponse::Created().json(out),
        Placement::Unchanged | Placement::Replaced { .. } => HttpResponse::Ok().json(out),
    })
}

#[utoipa::path(delete, path = "/api/releases/{id}/versions/{version_id}", tag = "releases", params(("id" = uuid::Uuid, Path, description = "the release's id"), ("version_id" = uuid::Uuid, Path, description = "the version's id")),
    responses((status = 204), (status = 404), (status = 409, description = "archived")))]
pub async fn remove_version(
    actor: Actor<Releases>,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (id, version_id) = path.into_inner();
    let id = release_id(&id)?;
    let version_id = path_id(&version_id, Entity::Version)?;
    releases::remove_version(&state.ctx, id, version_id, actor.name()).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(get, path = "/api/releases/{id}/versions", tag = "releases", params(("id" = uuid::Uuid, Path, description = "the release's id")),
    responses((status = 200, body = Vec<VersionOut>), (status = 404)))]
pub async fn versions(
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let rows = releases::versions(&state.ctx, release_id(&id)?).await?;
    Ok(HttpResponse::Ok().json(rows.iter().map(VersionOut::from).collect::<Vec<_>>()))
}

#[utoipa::path(get, path = "/api/releases/{id}/deployments", tag = "releases", params(("id" = uuid::Uuid, Path, description = "the release's id"), PageQuery),
    responses((status = 200, body = Vec<DeploymentOut>), (status = 404)))]
pub async fn release_deployments(
    state: web::Data<AppState>,
    id: web::Path<String>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let id = release_id(&id)?;
    let page = Page::of(query.limit, query.offset).map_err(ApiError::in_query)?;
    let (rows, total) = releases::deployments(&state.ctx, id, page.limit, page.offset).await?;
    Ok(listed(
        rows.iter()
            .map(|r| DeploymentOut::from_row(r, None))
            .collect(),
        total,
    ))
}

#[utoipa::path(get, path = "/api/releases/{id}/matrix", tag = "releases", params(("id" = uuid::Uuid, Path, description = "the release's id")),
    responses((status = 200, body = MatrixOut), (status = 404)))]
pub async fn release_matrix(
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let m = releases::matrix(&state.ctx, release_id(&id)?).await?;
    Ok(HttpResponse::Ok().json(MatrixOut::from(&m)))
}

/// `GET /releases/{id}/export.json` (SPEC §11): served beside the release page, in the API's
/// shapes (its errors are the API's too).
pub async fn export(
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let e = releases::export(&state.ctx, release_id(&id)?).await?;
    Ok(HttpResponse::Ok().json(ExportOut::from(&e)))
}

#[utoipa::path(get, path = "/api/releases/{id}/audit", tag = "releases", params(("id" = uuid::Uuid, Path, description = "the release's id")),
    responses((status = 200, body = Vec<AuditOut>), (status = 404)))]
pub async fn audit(
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let rows = releases::audit_trail(&state.ctx, release_id(&id)?).await?;
    Ok(HttpResponse::Ok().json(rows.iter().map(AuditOut::from).collect::<Vec<_>>()))
}
