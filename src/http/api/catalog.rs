//! Products, versions and environments (SPEC §5).

use super::error::ApiError;
use super::extract::{double_option, path_id, JsonBody};
use super::json::{EnvironmentOut, ProductOut, VersionOut};
use super::{listed, Page};
use crate::app::state::AppState;
use crate::domain::catalog::{
    parse_type, EnvironmentChanges, NewEnvironment, NewProduct, ProductChanges,
};
use crate::domain::validate::{self, Checker};
use crate::domain::Entity;
use crate::http::gate::{Actor, Catalog};
use crate::service::catalog::{self, VersionFilter};
use actix_web::{web, HttpResponse};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

// ---------------------------------------------------------------------------------------------
// Products

#[derive(Debug, Deserialize, ToSchema)]
pub struct ProductIn {
    pub name: String,
    pub description: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ProductPatch {
    pub name: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub description: Option<Option<String>>,
}

#[utoipa::path(get, path = "/api/products/", tag = "catalog", responses((status = 200, body = Vec<ProductOut>)))]
pub async fn list_products(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let rows = catalog::products(&state.ctx).await?;
    Ok(HttpResponse::Ok().json(rows.iter().map(ProductOut::from).collect::<Vec<_>>()))
}

#[utoipa::path(post, path = "/api/products/", tag = "catalog", request_body = ProductIn,
    responses((status = 201, body = ProductOut), (status = 409), (status = 422)))]
pub async fn create_product(
    _who: Actor<Catalog>,
    state: web::Data<AppState>,
    body: JsonBody<ProductIn>,
) -> Result<HttpResponse, ApiError> {
    let new = NewProduct::parse(&body.value.name, body.value.description.as_deref())?;
    let p = catalog::create_product(&state.ctx, new).await?;
    Ok(HttpResponse::Created().json(ProductOut::from(&p)))
}

#[utoipa::path(get, path = "/api/products/{id}", tag = "catalog", params(("id" = uuid::Uuid, Path, description = "the product's id")), responses((status = 200, body = ProductOut), (status = 404)))]
pub async fn get_product(
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let p = catalog::product_by_id(&state.ctx, path_id(&id, Entity::Product)?).await?;
    Ok(HttpResponse::Ok().json(ProductOut::from(&p)))
}

#[utoipa::path(patch, path = "/api/products/{id}", tag = "catalog", params(("id" = uuid::Uuid, Path, description = "the product's id")), request_body = ProductPatch,
    responses((status = 200, body = ProductOut), (status = 404), (status = 409), (status = 422)))]
pub async fn update_product(
    _who: Actor<Catalog>,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: JsonBody<ProductPatch>,
) -> Result<HttpResponse, ApiError> {
    let id = path_id(&id, Entity::Product)?;
    let b = &body.value;
    let changes = ProductChanges::parse(
        b.name.as_deref(),
        b.description.as_ref().map(|d| d.as_deref()),
    )?;
    let p = catalog::update_product(&state.ctx, id, changes).await?;
    Ok(HttpResponse::Ok().json(ProductOut::from(&p)))
}

#[utoipa::path(delete, path = "/api/products/{id}", tag = "catalog", params(("id" = uuid::Uuid, Path, description = "the product's id")),
    responses((status = 204), (status = 404), (status = 409, description = "a version is in a release")))]
pub async fn delete_product(
    _who: Actor<Catalog>,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    catalog::delete_product(&state.ctx, path_id(&id, Entity::Product)?).await?;
    Ok(HttpResponse::NoContent().finish())
}

// ---------------------------------------------------------------------------------------------
// Versions

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct VersionQuery {
    /// Product name.
    pub product: Option<String>,
    pub scm_sha: Option<String>,
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

#[utoipa::path(get, path = "/api/versions/", tag = "catalog", params(VersionQuery),
    responses((status = 200, body = Vec<VersionOut>, headers(("X-Total-Count" = i64)))))]
pub async fn list_versions(
    state: web::Data<AppState>,
    query: web::Query<VersionQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = query.into_inner();
    let mut c = Checker::default();
    let page = Page::checked(&mut c, q.limit, q.offset);
    let filter = VersionFilter {
        product: c.check("product", validate::search_term(q.product.as_deref())),
        scm_sha: c.check("scm_sha", validate::search_term(q.scm_sha.as_deref())),
        limit: page.limit,
        offset: page.offset,
    };
    c.finish(()).map_err(ApiError::in_query)?;
    let (rows, total) = catalog::versions(&state.ctx, filter).await?;
    Ok(listed(rows.iter().map(VersionOut::from).collect(), total))
}

#[utoipa::path(get, path = "/api/versions/{id}", tag = "catalog", params(("id" = uuid::Uuid, Path, description = "the version's id")), responses((status = 200, body = VersionOut), (status = 404)))]
pub async fn get_version(
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let row = catalog::version(&state.ctx, path_id(&id, Entity::Version)?).await?;
    Ok(HttpResponse::Ok().json(VersionOut::from(&row)))
}

// ---------------------------------------------------------------------------------------------
// Environments

#[derive(Debug, Deserialize, ToSchema)]
pub struct EnvironmentIn {
    pub name: String,
    /// dev, test, staging or production; inferred from the name when absent.
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub position: Option<i32>,
    pub description: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct EnvironmentPatch {
    pub name: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub position: Option<i32>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub description: Option<Option<String>>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EnvironmentQuery {
    #[serde(rename = "type")]
    pub kind: Option<String>,
}

#[utoipa::path(get, path = "/api/environments/", tag = "catalog", params(EnvironmentQuery),
    responses((status = 200, description = "in column order", body = Vec<EnvironmentOut>)))]
pub async fn list_environments(
    state: web::Data<AppState>,
    query: web::Query<EnvironmentQuery>,
) -> Result<HttpResponse, ApiError> {
    let mut c = Checker::default();
    let kind = match query.kind.as_deref().map(str::trim) {
        Some(k) if !k.is_empty() => parse_type(&mut c, k),
        _ => None,
    };
    c.finish(()).map_err(ApiError::in_query)?;
    let rows = catalog::environments(&state.ctx, kind).await?;
    Ok(HttpResponse::Ok().json(rows.iter().map(EnvironmentOut::from).collect::<Vec<_>>()))
}

#[utoipa::path(post, path = "/api/environments/", tag = "catalog", request_body = EnvironmentIn,
    responses((status = 201, body = EnvironmentOut), (status = 409), (status = 422)))]
pub async fn create_environment(
    _who: Actor<Catalog>,
    state: web::Data<AppState>,
    body: JsonBody<EnvironmentIn>,
) -> Result<HttpResponse, ApiError> {
    let b = &body.value;
    let new = NewEnvironment::parse(
        &b.name,
        b.kind.as_deref(),
        b.position,
        b.description.as_deref(),
    )?;
    let e = catalog::create_environment(&state.ctx, new).await?;
    Ok(HttpResponse::Created().json(EnvironmentOut::from(&e)))
}

#[utoipa::path(get, path = "/api/environments/{id}", tag = "catalog", params(("id" = uuid::Uuid, Path, description = "the environment's id")), responses((status = 200, body = EnvironmentOut), (status = 404)))]
pub async fn get_environment(
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let e = catalog::environment_by_id(&state.ctx, path_id(&id, Entity::Environment)?).await?;
    Ok(HttpResponse::Ok().json(EnvironmentOut::from(&e)))
}

#[utoipa::path(patch, path = "/api/environments/{id}", tag = "catalog", params(("id" = uuid::Uuid, Path, description = "the environment's id")), request_body = EnvironmentPatch,
    responses((status = 200, body = EnvironmentOut), (status = 404), (status = 409), (status = 422)))]
pub async fn update_environment(
    _who: Actor<Catalog>,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: JsonBody<EnvironmentPatch>,
) -> Result<HttpResponse, ApiError> {
    let id = path_id(&id, Entity::Environment)?;
    let b = &body.value;
    let changes = EnvironmentChanges::parse(
        b.name.as_deref(),
        b.kind.as_deref(),
        b.position,
        b.description.as_ref().map(|d| d.as_deref()),
    )?;
    let e = catalog::update_environment(&state.ctx, id, changes).await?;
    Ok(HttpResponse::Ok().json(EnvironmentOut::from(&e)))
}
